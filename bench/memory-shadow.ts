/**
 * What a recording's memory shadow (src/record/memory-shadow.ts) costs per received 64 B frame:
 * spans of 16 RX buffers of 2 KiB, each with a new 64 B frame at its start, as the e1000 driver
 * reads a received batch: the whole span compared, and only the frames in it (the e1000 ring names
 * them as the parts it uses, GuestMemory.readInto). Prints µs per 2 KiB buffer for each.
 *
 *   node --import tsx bench/memory-shadow.ts
 */
import { MemoryShadow } from '../src/record/memory-shadow.ts';

const BUFFERS = 16;
const BUFFER = 2048;
const FRAME = 64;
const spans = Array.from({ length: 64 }, (_, r) => {
  const span = new Uint8Array(BUFFERS * BUFFER);
  for (let k = 0; k < BUFFERS; k++) for (let i = 0; i < FRAME; i++) span[k * BUFFER + i] = (r * 7 + i * 13 + k) & 255;
  return span;
});
const used = Array.from({ length: BUFFERS }, (_, k) => [k * BUFFER, FRAME]).flat();
const runs: number[] = [];
for (const [what, parts] of [
  ['whole span', undefined],
  ['frames named as used', used],
] as const) {
  const shadow = new MemoryShadow();
  const pass = (n: number): void => {
    for (let i = 0; i < n; i++) shadow.changes(0x10000, spans[i & 63]!, runs, parts);
  };
  pass(5_000);
  const N = 50_000;
  const t0 = performance.now();
  pass(N);
  const us = ((performance.now() - t0) * 1000) / N / BUFFERS;
  console.log(`memory shadow, ${what}: ${us.toFixed(3)} µs per ${BUFFER} B buffer holding a new ${FRAME} B frame`);
}
