import { MTA_REGISTER_COUNT } from './registers.ts';

/**
 * The 12-bit Multicast Table Array index of a destination address with RCTL.MO = 00 (SDM 13.5.1,
 * "Multicast Offset"): bits 47:36 of the address, where bit 0 is the least significant bit of the
 * first byte. Those are byte 5 (bits 47:40) and the high nibble of byte 4 (bits 39:36).
 */
export function multicastHash(mac: Uint8Array): number {
  return ((mac[5]! << 4) | (mac[4]! >>> 4)) & 0xfff;
}

/** Register (MTA[n], n = hash bits 11:5) and bit (hash bits 4:0) that accept a hash. */
export function multicastTableBit(hash: number): { register: number; bit: number } {
  return { register: hash >>> 5, bit: hash & 0x1f };
}

/** The 128 MTA register values that accept exactly the hashes of `addresses` (and their aliases). */
export function buildMulticastTable(addresses: readonly Uint8Array[]): Uint32Array {
  const table = new Uint32Array(MTA_REGISTER_COUNT);
  for (const mac of addresses) {
    const { register, bit } = multicastTableBit(multicastHash(mac));
    table[register] = (table[register]! | (1 << bit)) >>> 0;
  }
  return table;
}
