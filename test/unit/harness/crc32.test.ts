import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crc32, crc32IsNative, crc32Table } from '../../../harness/crc32.ts';

describe('crc32', () => {
  it('gives the IEEE 802.3 check value for "123456789"', () => {
    const data = Buffer.from('123456789');
    expect(crc32Table(data)).toBe(0xcbf43926);
    expect(crc32(data)).toBe(0xcbf43926);
  });

  it('uses node:zlib crc32 on this runtime (Node 20.20 has it)', () => {
    expect(crc32IsNative).toBe(true);
  });

  it('table implementation matches the native one on random data of many lengths', () => {
    for (let len = 0; len < 300; len += 7) {
      const data = randomBytes(len);
      expect(crc32Table(data)).toBe(crc32(data));
    }
  });

  it('continues a running CRC across split input', () => {
    const data = randomBytes(1000);
    const whole = crc32(data);
    expect(crc32(data.subarray(400), crc32(data.subarray(0, 400)))).toBe(whole);
    expect(crc32Table(data.subarray(400), crc32Table(data.subarray(0, 400)))).toBe(whole);
  });
});
