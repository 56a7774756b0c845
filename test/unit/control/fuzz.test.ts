import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it, vi } from 'vitest';
import { ControlProtocolError } from '../../../src/control/errors.ts';
import { FrameDecoder, encodeFrame } from '../../../src/control/framing.ts';
import { decodeHostMessage, decodeRequest, encodeMessage } from '../../../src/control/protocol.ts';

const packr = new Packr({ useRecords: false, moreTypes: false });

/** Split `bytes` at the given cut points (sorted, deduplicated, inside the buffer). */
function chunks(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, bytes.length]) {
    out.push(bytes.subarray(from, c));
    from = c;
  }
  return out;
}

// Property-based checks of what a client (or anything that reaches the socket) can send the host.
describe('control plane fuzz (fast-check)', () => {
  it('FrameDecoder: any frames, cut into any chunks, come out whole and in order', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 40 }), (payloads, cuts) => {
        const stream = Buffer.concat(payloads.map((p) => encodeFrame(p)));
        const decoder = new FrameDecoder();
        const out: Buffer[] = [];
        for (const c of chunks(stream, cuts)) decoder.push(c, (p) => out.push(Buffer.from(p)));
        expect(out).toEqual(payloads.map((p) => Buffer.from(p)));
        expect(decoder.buffered).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('FrameDecoder: arbitrary bytes either decode or fail with ControlProtocolError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        const decoder = new FrameDecoder({ maxFrameBytes: 1024 });
        try {
          for (const c of chunks(Buffer.from(bytes), cuts)) decoder.push(c, () => undefined);
        } catch (err) {
          expect(err).toBeInstanceOf(ControlProtocolError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('FrameDecoder is linear: a 32 MiB message in 64 KiB chunks is joined once, not re-copied per chunk', () => {
    const payload = Buffer.alloc(32 * 1024 * 1024, 7);
    const stream = encodeFrame(payload);
    const decoder = new FrameDecoder();
    const concat = vi.spyOn(Buffer, 'concat');
    let got = 0;
    try {
      for (let at = 0; at < stream.length; at += 64 * 1024) decoder.push(stream.subarray(at, at + 64 * 1024), (p) => (got = p.length));
      expect(concat).toHaveBeenCalledTimes(1);
    } finally {
      concat.mockRestore();
    }
    expect(got).toBe(payload.length);
  });

  it('decodeRequest: any msgpack value is a valid request or a ControlProtocolError', () => {
    const request = fc.record(
      {
        t: fc.oneof(fc.constant('req'), fc.string()),
        id: fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.string(), fc.constant(null)),
        method: fc.oneof(fc.string({ maxLength: 300 }), fc.integer()),
        params: fc.anything(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.anything(), request), (value) => {
        let bytes: Buffer;
        try {
          bytes = packr.pack(value);
        } catch {
          return; // not encodable: cannot reach the host
        }
        try {
          const req = decodeRequest(bytes);
          expect(req.t).toBe('req');
          expect(Number.isInteger(req.id) && req.id >= 0 && req.id <= 0xffff_ffff).toBe(true);
          expect(typeof req.method === 'string' && req.method.length > 0 && req.method.length <= 256).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(ControlProtocolError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('decodeRequest and decodeHostMessage: random bytes never throw anything but ControlProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        for (const decode of [decodeRequest, decodeHostMessage]) {
          try {
            decode(Buffer.from(bytes));
          } catch (err) {
            expect(err).toBeInstanceOf(ControlProtocolError);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a request survives encode → frame → any chunking → decode unchanged', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffff_ffff }), fc.string({ minLength: 1, maxLength: 64 }), fc.jsonValue(), fc.array(fc.nat(), { maxLength: 8 }), (id, method, params, cuts) => {
        const stream = encodeFrame(encodeMessage({ t: 'req', id, method, params }));
        const decoder = new FrameDecoder();
        const out: unknown[] = [];
        for (const c of chunks(stream, cuts)) decoder.push(c, (p) => out.push(decodeRequest(Buffer.from(p))));
        expect(out).toEqual([{ t: 'req', id, method, params: packr.unpack(packr.pack(params)) }]);
      }),
      { numRuns: 1000 },
    );
  });
});
