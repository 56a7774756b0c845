import * as zlib from 'node:zlib';

/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum Ethernet uses.
 * `previous` continues a running CRC, so a field can be skipped by checksumming the bytes around it.
 * Uses node:zlib's native crc32 when the runtime has it (Node >= 20.15 / 22.2), else a table.
 */
export type Crc32 = (data: Uint8Array, previous?: number) => number;

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Table-driven CRC-32; the fallback, and the reference the native one is tested against. */
export const crc32Table: Crc32 = (data, previous = 0) => {
  let crc = ~previous >>> 0;
  for (let i = 0; i < data.length; i++) {
    crc = TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  }
  return ~crc >>> 0;
};

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** True when node:zlib provides crc32 and `crc32` uses it. */
export const crc32IsNative: boolean = typeof nativeCrc32 === 'function';

export const crc32: Crc32 = crc32IsNative
  ? (data, previous = 0) => nativeCrc32!(data, previous) >>> 0
  : crc32Table;
