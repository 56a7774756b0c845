/**
 * A NIC's register map as names and offsets, for the kernel trace and bug-check reports:
 * `registerNames({ IDR0: 0x00, MAR0: 0x08, CR: 0x37 })` gives the `registerName` a driver module
 * exports ("CR" for 0x37, undefined for offsets the map does not name).
 */
export function registerNames(map: Readonly<Record<string, number>>): (offset: number) => string | undefined {
  const byOffset = new Map<number, string>();
  for (const [name, offset] of Object.entries(map)) {
    if (!byOffset.has(offset)) byOffset.set(offset, name);
  }
  return (offset) => byOffset.get(offset);
}

/** A station address as `52:54:00:12:34:56` from its six bytes (IDR0–5, RAL/RAH, an EEPROM's words). */
export function formatMacAddress(bytes: ArrayLike<number>): string {
  if (bytes.length !== 6) throw new RangeError(`a MAC address has 6 bytes, not ${bytes.length}`);
  return Array.from(bytes, (b) => (b & 0xff).toString(16).padStart(2, '0')).join(':');
}

/** The six bytes of `52:54:00:12:34:56`. */
export function parseMacAddress(mac: string): Uint8Array {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) throw new RangeError(`'${mac}' is not a MAC address like 52:54:00:12:34:56`);
  return Uint8Array.from(mac.split(':'), (h) => Number.parseInt(h, 16));
}
