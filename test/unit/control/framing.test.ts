import { describe, expect, it } from 'vitest';
import { ControlProtocolError } from '../../../src/control/errors.ts';
import { FrameDecoder, encodeFrame } from '../../../src/control/framing.ts';

function decode(decoder: FrameDecoder, chunk: Buffer): Buffer[] {
  const out: Buffer[] = [];
  decoder.push(chunk, (payload) => out.push(payload));
  return out;
}

function payloads(...sizes: number[]): Buffer[] {
  return sizes.map((size, n) => Buffer.alloc(size, n + 1));
}

describe('FrameDecoder', () => {
  it('splits several frames that arrive in one chunk', () => {
    const input = payloads(0, 1, 300);
    const out = decode(new FrameDecoder(), Buffer.concat(input.map(encodeFrame)));
    expect(out).toEqual(input);
  });

  it('reassembles frames delivered one byte at a time, header included', () => {
    const input = payloads(5, 1514, 2);
    const stream = Buffer.concat(input.map(encodeFrame));
    const decoder = new FrameDecoder();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...decode(decoder, stream.subarray(i, i + 1)));
    expect(out).toEqual(input);
    expect(decoder.buffered).toBe(0);
  });

  it('does not deliver a frame twice when its consumer throws', () => {
    const input = payloads(3, 4);
    const decoder = new FrameDecoder();
    const seen: Buffer[] = [];
    expect(() =>
      decoder.push(encodeFrame(input[0]!), (p) => {
        seen.push(p);
        throw new Error('consumer failed');
      }),
    ).toThrow('consumer failed');
    decoder.push(encodeFrame(input[1]!), (p) => seen.push(p));
    expect(seen).toEqual(input);
  });

  it('keeps the tail of a chunk that ends mid-frame for the next chunk', () => {
    const input = payloads(10, 20);
    const stream = Buffer.concat(input.map(encodeFrame));
    const decoder = new FrameDecoder();
    expect(decode(decoder, stream.subarray(0, 20))).toEqual([input[0]]);
    expect(decoder.buffered).toBe(6);
    expect(decode(decoder, stream.subarray(20))).toEqual([input[1]]);
  });

  it('rejects a length above the limit with a typed error, after the frames before it', () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(101);
    const before = Buffer.alloc(100, 9);
    const delivered: Buffer[] = [];
    let caught: unknown;
    try {
      new FrameDecoder({ maxFrameBytes: 100 }).push(Buffer.concat([encodeFrame(before), header]), (p) => delivered.push(p));
    } catch (err) {
      caught = err;
    }
    expect(delivered).toEqual([before]);
    expect(caught).toBeInstanceOf(ControlProtocolError);
    expect((caught as ControlProtocolError).context).toMatchObject({ length: 101, maxFrameBytes: 100 });
  });
});
