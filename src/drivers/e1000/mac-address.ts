import { E1000ConfigError } from './errors.ts';

/** Parses "52:54:00:12:34:56" (or with '-') into 6 bytes. */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new E1000ConfigError(`not a MAC address: ${JSON.stringify(text)}`, { mac: text });
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/** Lower-case, colon-separated. */
export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The group bit: least significant bit of the first byte (the first bit on the wire). */
export function isMulticast(mac: Uint8Array): boolean {
  return (mac[0]! & 1) === 1;
}

/** RAL/RAH values for an address (RAH without the AV bit). */
export function macToReceiveAddress(mac: Uint8Array): { low: number; high: number } {
  return {
    low: (mac[0]! | (mac[1]! << 8) | (mac[2]! << 16) | (mac[3]! << 24)) >>> 0,
    high: mac[4]! | (mac[5]! << 8),
  };
}

/** The address held in RAL/RAH (the AV bit and address-select bits of RAH are ignored). */
export function receiveAddressToMac(low: number, high: number): Uint8Array {
  return Uint8Array.of(low & 0xff, (low >>> 8) & 0xff, (low >>> 16) & 0xff, low >>> 24, high & 0xff, (high >>> 8) & 0xff);
}

/** EEPROM words 0–2 hold the address, first byte in the low half of word 0. */
export function eepromWordsToMac(words: readonly [number, number, number]): Uint8Array {
  const mac = new Uint8Array(6);
  for (let i = 0; i < 3; i++) {
    mac[2 * i] = words[i]! & 0xff;
    mac[2 * i + 1] = (words[i]! >>> 8) & 0xff;
  }
  return mac;
}
