import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ChunkFile } from '../../../src/record/chunk-file.ts';
import { RECORD_PREFIX, RecordEncoder, packr } from '../../../src/record/encoder.ts';

/** Everything one encoder writes, the chunks concatenated in order. */
function encode(write: (e: RecordEncoder) => void, chunkSize?: number): Buffer {
  const chunks: Buffer[] = [];
  const e = new RecordEncoder((chunk, done) => {
    chunks.push(Buffer.from(chunk));
    done();
  }, chunkSize);
  write(e);
  e.flush();
  return Buffer.concat(chunks);
}

/** The framing the reader expects for `value`: length, crc32, msgpackr's `pack()`. */
function framed(value: unknown): Buffer {
  const body = packr.pack(value);
  const prefix = Buffer.alloc(RECORD_PREFIX);
  prefix.writeUInt32LE(body.length, 0);
  prefix.writeUInt32LE(crc32(body), 4);
  return Buffer.concat([prefix, body]);
}

/** Buffer equality without a deep compare of each byte (slow on large buffers); a mismatch names the first differing offset. */
function expectSame(got: Buffer, want: Buffer): void {
  if (got.equals(want)) return;
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  expect({ length: got.length, firstDifference: i }).toEqual({ length: want.length, firstDifference: -1 });
}

/** A read's runs as kind 11 holds them: `u32le offset`, `u32le length`, the bytes. */
function changesOf(data: Uint8Array, runs: readonly number[]): Buffer {
  const parts: Buffer[] = [];
  for (let r = 0; r < runs.length; r += 2) {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(runs[r]!, 0);
    head.writeUInt32LE(runs[r + 1]!, 4);
    parts.push(head, Buffer.from(data.subarray(runs[r]!, runs[r]! + runs[r + 1]!)));
  }
  return Buffer.concat(parts);
}

const numbers = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xfeed_0000, 0xffff_ffff, 2 ** 32, 2 ** 40 + 3, -1, -0x20, -0x21, -0x80, -0x81, -0x8000, -0x8001, -(2 ** 31), 0.5];
const strings = [
  '',
  'OK',
  'readl 0xfebc0008',
  'x'.repeat(31),
  'x'.repeat(32),
  'y'.repeat(255),
  'y'.repeat(256),
  'z'.repeat(70_000),
  'écrit ✓',
  'é'.repeat(16),
  'é'.repeat(128),
  '✓'.repeat(21_846),
];
const sizes = [0, 1, 255, 256, 65_535, 65_536, 200_000];

describe('RecordEncoder writes the bytes pack() makes', () => {
  it.each(strings)('a qtest line of %#', (line) => {
    expectSame(
      encode((e) => e.string(1, line)),
      framed([1, line]),
    );
  });

  it.each(numbers)('an IRQ edge on line %s', (line) => {
    expectSame(
      encode((e) => e.irq(3, line, true)),
      framed([3, line, true]),
    );
    expectSame(
      encode((e) => e.irq(3, line, false)),
      framed([3, line, false]),
    );
  });

  it.each(numbers)('a memory read at %s', (addr) => {
    const bytes = Uint8Array.from({ length: 64 }, (_, i) => i * 7);
    expectSame(
      encode((e) => e.memoryChanges(11, addr, bytes, [0, 64])),
      framed([11, addr, 64, changesOf(bytes, [0, 64])]),
    );
  });

  it.each(sizes)('a frame of %s bytes', (n) => {
    const bytes = Uint8Array.from({ length: n }, (_, i) => i & 0xff);
    expectSame(
      encode((e) => e.frames(9, 'send', [bytes])),
      framed([9, 'send', [bytes]]),
    );
  });

  it.each([0, 1, 15, 16, 300])('a send of %s frames', (count) => {
    const frames = Array.from({ length: count }, (_, i) => Uint8Array.from({ length: 60 + i }, (_, j) => j ^ i));
    expectSame(
      encode((e) => e.frames(9, 'send', frames)),
      framed([9, 'send', frames]),
    );
  });

  it('a subarray is written as its own bytes, not its buffer', () => {
    const whole = Uint8Array.from({ length: 100 }, (_, i) => i);
    const part = whole.subarray(10, 20);
    expectSame(
      encode((e) => e.frames(9, 'send', [part])),
      framed([9, 'send', [Uint8Array.from(part)]]),
    );
  });

  it('records in sequence, across chunks and larger than a chunk, keep their order and bytes', () => {
    const big = Uint8Array.from({ length: 5000 }, (_, i) => (i * 13) & 0xff);
    const expected: Buffer[] = [];
    const got = encode((e) => {
      for (let i = 0; i < 200; i++) {
        e.string(1, `writel 0x${i.toString(16)} 0x1`);
        expected.push(framed([1, `writel 0x${i.toString(16)} 0x1`]));
        if (i % 50 === 7) {
          e.frames(9, 'send', [big]);
          expected.push(framed([9, 'send', [big]]));
        }
        e.packed([6, 'of 2: dpc', i % 2]);
        expected.push(framed([6, 'of 2: dpc', i % 2]));
      }
    }, 1024);
    expectSame(got, Buffer.concat(expected));
  });

  it('does not reuse a chunk before the sink is done with it', () => {
    const held: { chunk: Buffer; copy: Buffer; done: () => void }[] = [];
    const e = new RecordEncoder((chunk, done) => held.push({ chunk, copy: Buffer.from(chunk), done }), 256);
    for (let i = 0; i < 100; i++) e.string(1, `line ${i} `.padEnd(40, '.'));
    e.flush();
    expect(held.length).toBeGreaterThan(5);
    for (const h of held) expectSame(h.chunk, h.copy);
    for (const h of held) h.done();
    for (let i = 0; i < 100; i++) e.string(1, 'after');
    e.flush();
  });
});

describe('ChunkFile', () => {
  it('writes chunks in order and resolves close() once they are on disk', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirql-chunk-'));
    const file = path.join(dir, 'a.rec');
    const out = new ChunkFile(file);
    const parts = Array.from({ length: 50 }, (_, i) => Buffer.alloc(10_000 + i, i));
    let done = 0;
    for (const p of parts) out.write(p, () => done++);
    await out.close();
    expect(done).toBe(parts.length);
    expectSame(fs.readFileSync(file), Buffer.concat(parts));
    fs.rmSync(dir, { recursive: true });
  });

  it('rejects close() with the error that stopped it, and hands every chunk back', async () => {
    const file = path.join(os.tmpdir(), `dirql-no-such-dir-${process.pid}`, 'a.rec');
    const out = new ChunkFile(file);
    let done = 0;
    out.write(Buffer.alloc(10), () => done++);
    out.write(Buffer.alloc(10), () => done++);
    await expect(out.close()).rejects.toMatchObject({ code: 'ENOENT' });
    expect(done).toBe(2);
  });
});

describe('RecordEncoder.memoryChanges', () => {
  it.each([
    [0, []],
    [0xfeed0000, [0, 4, 100, 60]],
    [2 ** 33, [0, 2048]],
  ])('writes what pack() makes of [11, addr, length, changes] (addr %s)', (addr, runs) => {
    const data = Uint8Array.from({ length: 2048 }, (_, i) => (i * 5) & 0xff);
    expectSame(
      encode((e) => e.memoryChanges(11, addr, data, runs as number[])),
      framed([11, addr, data.byteLength, changesOf(data, runs as number[])]),
    );
  });
});
