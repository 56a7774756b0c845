import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';

// The test frame's checksums are node:zlib's crc32 (Node >= 20.15; engines says >= 20.19).
describe('zlib.crc32, as the test frames use it', () => {
  it('gives the IEEE 802.3 check value for "123456789"', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('continues a running CRC across split input (how the frame CRC skips its own field)', () => {
    const data = randomBytes(1000);
    expect(crc32(data.subarray(400), crc32(data.subarray(0, 400)))).toBe(crc32(data));
  });
});
