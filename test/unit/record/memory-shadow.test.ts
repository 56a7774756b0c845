import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordKind, RecordingWriter, readRecording } from '../../../src/record/format.ts';
import { MemoryShadow } from '../../../src/record/memory-shadow.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A read's runs encoded as the recording holds them (offset, length, bytes). */
function encode(data: Uint8Array, runs: readonly number[]): Uint8Array {
  const parts: Buffer[] = [];
  for (let r = 0; r < runs.length; r += 2) {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(runs[r]!, 0);
    head.writeUInt32LE(runs[r + 1]!, 4);
    parts.push(head, Buffer.from(data.subarray(runs[r]!, runs[r]! + runs[r + 1]!)));
  }
  return Buffer.concat(parts);
}

/** A sequence of reads of one small memory: each at an address and length, the memory changed in between. */
const reads = fc.array(
  fc.record({
    addr: fc.integer({ min: 0, max: 600 }),
    length: fc.integer({ min: 0, max: 400 }),
    writes: fc.array(fc.record({ at: fc.integer({ min: 0, max: 1000 }), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }), { maxLength: 6 }),
    /** Where in a larger buffer the read's bytes sit (their alignment). */
    offset: fc.integer({ min: 0, max: 7 }),
  }),
  { maxLength: 30 },
);

/** Applies `writes` to `memory`, then reads `length` bytes at `addr` into a buffer at `offset` (the read's alignment). */
function changeAndRead(memory: Uint8Array, writes: readonly { at: number; bytes: Uint8Array }[], addr: number, length: number, offset: number): Uint8Array {
  for (const w of writes) memory.set(w.bytes.subarray(0, memory.length - w.at), w.at);
  const holder = new Uint8Array(offset + length);
  holder.set(memory.subarray(addr, addr + length), offset);
  return holder.subarray(offset);
}

describe('MemoryShadow', () => {
  it('gives every read back whole from the runs that changed (any addresses, lengths, alignments, changes)', () => {
    fc.assert(
      fc.property(reads, (seq) => {
        const memory = new Uint8Array(1100);
        const writer = new MemoryShadow();
        const reader = new MemoryShadow();
        const runs: number[] = [];
        for (const r of seq) {
          const data = changeAndRead(memory, r.writes, r.addr, r.length, r.offset);
          writer.changes(r.addr, data, runs);
          for (let i = 2; i < runs.length; i += 2) expect(runs[i]!).toBeGreaterThan(runs[i - 2]! + runs[i - 1]! - 1);
          expect(Buffer.from(reader.apply(r.addr, r.length, encode(data, runs)))).toEqual(Buffer.from(data));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('records only what changed: a second read of a 2 KiB buffer with a new 64 B frame costs that frame', () => {
    const shadow = new MemoryShadow();
    const runs: number[] = [];
    const span = new Uint8Array(63 * 2048);
    shadow.changes(0x10000, span, runs);
    expect(runs).toEqual([]);
    for (let f = 0; f < 63; f++) span.fill(f + 1, f * 2048, f * 2048 + 64);
    shadow.changes(0x10000, span, runs);
    expect(runs.length / 2).toBe(63);
    for (let r = 0; r < runs.length; r += 2) expect(runs[r + 1]).toBe(64);
    shadow.changes(0x10000, span, runs);
    expect(runs).toEqual([]);
  });

  it('with the parts a read names as used, gives those parts back exact and records nothing of the rest (any parts, alignments, changes)', () => {
    const parted = fc.array(
      fc.record({
        writes: fc.array(fc.record({ at: fc.integer({ min: 0, max: 1000 }), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }), { maxLength: 6 }),
        cuts: fc.uniqueArray(fc.integer({ min: 0, max: 400 }), { maxLength: 8 }),
        offset: fc.integer({ min: 0, max: 7 }),
      }),
      { maxLength: 20 },
    );
    fc.assert(
      fc.property(parted, (seq) => {
        const addr = 0x100;
        const length = 400;
        const memory = new Uint8Array(1100);
        const writer = new MemoryShadow();
        const reader = new MemoryShadow();
        const runs: number[] = [];
        for (const r of seq) {
          const data = changeAndRead(memory, r.writes, addr, length, r.offset);
          // Sorted cuts pair up into parts [c0, c1), [c2, c3), …
          const cuts = [...r.cuts].sort((x, y) => x - y);
          const used: number[] = [];
          for (let c = 0; c + 1 < cuts.length; c += 2) used.push(cuts[c]!, cuts[c + 1]! - cuts[c]!);
          writer.changes(addr, data, runs, used);
          for (let i = 0; i < runs.length; i += 2) {
            expect(used.some((_, u) => u % 2 === 0 && runs[i]! >= used[u]! && runs[i]! + runs[i + 1]! <= used[u]! + used[u + 1]!)).toBe(true);
          }
          const back = reader.apply(addr, length, encode(data, runs));
          for (let u = 0; u < used.length; u += 2)
            expect(Buffer.from(back.subarray(used[u]!, used[u]! + used[u + 1]!))).toEqual(Buffer.from(data.subarray(used[u]!, used[u]! + used[u + 1]!)));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('with the frames of an RX span named as used, a new frame costs the frame and not its slot', () => {
    const shadow = new MemoryShadow();
    const runs: number[] = [];
    const span = new Uint8Array(4 * 2048);
    const used = [0, 64, 2048, 64, 4096, 64, 6144, 64];
    span.fill(9, 100, 2000);
    shadow.changes(0x10000, span, runs, used);
    expect(runs).toEqual([]);
    span.fill(1, 2048, 2048 + 64);
    shadow.changes(0x10000, span, runs, used);
    expect(runs).toEqual([2048, 64]);
  });

  it('refuses a run outside its read', () => {
    const bad = Buffer.alloc(12);
    bad.writeUInt32LE(8, 0);
    bad.writeUInt32LE(4, 4);
    expect(() => new MemoryShadow().apply(0, 10, bad)).toThrow(RangeError);
    expect(() => new MemoryShadow().apply(0, 10, Buffer.alloc(5))).toThrow(/cut inside a run header/);
  });
});

describe('a recording of memory reads', () => {
  it('reads back each read whole, smaller than the reads it holds', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirql-shadow-'));
    const file = path.join(dir, 'r.rec');
    const w = new RecordingWriter(file, { dirqlVersion: '0', config: {}, driverHash: 'x', startedAt: '' });
    const span = new Uint8Array(32 * 2048);
    const expected: Uint8Array[] = [];
    for (let batch = 0; batch < 20; batch++) {
      for (let f = 0; f < 32; f++) span.fill((batch * 32 + f) & 0xff, f * 2048, f * 2048 + 60);
      w.memoryRead(0x40000, span);
      expected.push(span.slice());
    }
    w.event([RecordKind.MemoryRead, 0x40000 + 100, span.subarray(100, 200)]);
    expected.push(span.slice(100, 200));
    await w.close({ counters: {} });
    const rec = readRecording(file);
    const got = rec.events.filter((e) => e[0] === RecordKind.MemoryRead).map((e) => Buffer.from(e[2] as Uint8Array));
    expect(got.length).toBe(expected.length);
    got.forEach((b, i) => expect(b.equals(Buffer.from(expected[i]!)), `read ${i}`).toBe(true));
    expect(fs.statSync(file).size).toBeLessThan(20 * 32 * 200);
    fs.rmSync(dir, { recursive: true });
  });
});
