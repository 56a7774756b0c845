import { describe, expect, it } from 'vitest';
import { parseMac } from '../../../src/drivers/e1000/mac-address.ts';
import { buildMulticastTable, multicastHash, multicastTableBit } from '../../../src/drivers/e1000/multicast-table.ts';

// Expected values worked out by hand from the SDM's rule for RCTL.MO = 00: the hash is address
// bits 47:36, bit 0 being the LSB of the first byte, i.e. (byte5 << 4) | (byte4 >> 4).
describe('multicast hash (MO = 00)', () => {
  it.each([
    ['01:00:5e:00:00:01', 0x010, 0, 16], // IPv4 all-hosts: byte5 = 0x01, byte4 = 0x00
    ['01:00:5e:00:00:fb', 0xfb0, 125, 16], // mDNS: byte5 = 0xfb
    ['33:33:ff:12:34:56', 0x563, 43, 3], // IPv6 solicited-node: byte5 = 0x56, byte4 high nibble = 0x3
    ['01:80:c2:00:00:00', 0x000, 0, 0], // STP
    ['ff:ff:ff:ff:ff:ff', 0xfff, 127, 31],
  ])('%s hashes to 0x%s → MTA[%i] bit %i', (mac, hash, register, bit) => {
    expect(multicastHash(parseMac(mac))).toBe(hash);
    expect(multicastTableBit(hash)).toEqual({ register, bit });
  });

  it('ignores the first four bytes and the low nibble of byte 4', () => {
    expect(multicastHash(parseMac('01:00:5e:7f:3a:fb'))).toBe(multicastHash(parseMac('33:33:00:00:30:fb')));
  });

  it('builds a table with exactly the bits of the given addresses, bit 31 stored unsigned', () => {
    const table = buildMulticastTable([parseMac('01:00:5e:00:00:01'), parseMac('33:33:ff:12:34:56'), parseMac('ff:ff:ff:ff:ff:ff')]);
    const set = [...table.entries()].filter(([, v]) => v !== 0);
    expect(set).toEqual([
      [0, 1 << 16],
      [43, 1 << 3],
      [127, 0x8000_0000],
    ]);
  });
});
