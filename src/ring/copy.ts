/**
 * Allocation-free byte copies for the hot path.
 *
 * `subarray()` allocates a view per call, so the ring never uses it per frame. Small frames are
 * copied as Int32 words (fastest below a few hundred bytes in V8); larger ones with `copyPrefix`
 * (src/util/bytes.ts).
 */
export { copyPrefix } from '../util/bytes.ts';

/** Below this length the word loop beats the native call (measured on Node 20, x64). */
export const WORD_COPY_MAX = 256;

/**
 * dst32 words from dstWord on = src32 words from srcWord on, `length` bytes, with the trailing
 * 1–3 bytes through the byte views. Both starts must be word-aligned byte offsets (word index × 4).
 */
export function copyWords(dst32: Int32Array, dst8: Uint8Array, dstWord: number, src32: Int32Array, src8: Uint8Array, srcWord: number, length: number): void {
  const words = length >>> 2;
  const unrolledEnd = srcWord + (words & ~3);
  const end = srcWord + words;
  let s = srcWord;
  let d = dstWord;
  while (s < unrolledEnd) {
    dst32[d] = src32[s]!;
    dst32[d + 1] = src32[s + 1]!;
    dst32[d + 2] = src32[s + 2]!;
    dst32[d + 3] = src32[s + 3]!;
    s += 4;
    d += 4;
  }
  while (s < end) dst32[d++] = src32[s++]!;
  for (let b = words << 2; b < length; b++) dst8[dstWord * 4 + b] = src8[srcWord * 4 + b]!;
}
