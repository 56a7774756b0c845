import { describe, expect, it } from 'vitest';
import { formatMac } from '../../../harness/ethernet.ts';
import { FrameVerifier, MIN_TEST_FRAME_LENGTH, TestFrameError, TrafficGenerator, buildTestFrame, parseTestFrame } from '../../../harness/traffic.ts';

const gen = (opts: ConstructorParameters<typeof TrafficGenerator>[0] = {}) => new TrafficGenerator(opts);

function verify(frames: Buffer[], verifier = new FrameVerifier()) {
  for (const f of frames) verifier.accept(f);
  return verifier;
}

describe('TrafficGenerator', () => {
  it('builds frames with the given MACs, EtherType, stream and consecutive sequence numbers', () => {
    const frames = gen({ dst: '52:54:00:12:34:56', src: '02:00:00:00:00:09', stream: 7, startSeq: 40, size: 100 }).take(3);
    for (const [i, f] of frames.entries()) {
      expect(f.length).toBe(100);
      expect(formatMac(f.subarray(0, 6))).toBe('52:54:00:12:34:56');
      expect(formatMac(f.subarray(6, 12))).toBe('02:00:00:00:00:09');
      expect(f.readUInt16BE(12)).toBe(0x88b5);
      expect(parseTestFrame(f)).toEqual({ kind: 'test', stream: 7, seq: 40 + i, length: 100, intact: true });
    }
  });

  it('mixed sizes stay within 60..1514, vary, and repeat for the same seed', () => {
    const a = gen({ seed: 42 })
      .take(2000)
      .map((f) => f.length);
    const b = gen({ seed: 42 })
      .take(2000)
      .map((f) => f.length);
    const c = gen({ seed: 43 })
      .take(2000)
      .map((f) => f.length);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(60);
    expect(Math.max(...a)).toBeLessThanOrEqual(1514);
    expect(new Set(a).size).toBeGreaterThan(500);
  });

  it('the payload depends on (stream, seq): same numbers give the same bytes', () => {
    const one = buildTestFrame({ dst: '01:02:03:04:05:06', src: '02:00:00:00:00:01', stream: 3, seq: 9, length: 200 });
    const two = buildTestFrame({ dst: '01:02:03:04:05:06', src: '02:00:00:00:00:01', stream: 3, seq: 9, length: 200 });
    const other = buildTestFrame({ dst: '01:02:03:04:05:06', src: '02:00:00:00:00:01', stream: 3, seq: 10, length: 200 });
    expect(one.equals(two)).toBe(true);
    expect(one.subarray(38).equals(other.subarray(38))).toBe(false);
  });

  it('rejects lengths that cannot hold the test header', () => {
    expect(() => gen({ size: MIN_TEST_FRAME_LENGTH - 1 })).toThrow(TestFrameError);
    expect(() => gen({ size: 9019 })).toThrow(TestFrameError);
    expect(() => gen({ dst: '52:54:00:12:34' })).toThrow(TestFrameError);
  });
});

describe('FrameVerifier', () => {
  it('counts an undisturbed stream as all ok', () => {
    const v = verify(gen({ seed: 5 }).take(500));
    expect(v.summary(500)).toEqual({ ok: 500, lost: 0, reordered: 0, duplicated: 0, corrupted: 0, foreign: 0 });
  });

  it('accepts frames padded to 60 bytes and followed by 4 FCS bytes, using the header length', () => {
    const short = gen({ size: MIN_TEST_FRAME_LENGTH }).take(2);
    const padded = Buffer.concat([short[0]!, Buffer.alloc(60 - short[0]!.length)]);
    const withFcs = Buffer.concat([short[1]!, Buffer.alloc(60 - short[1]!.length), Buffer.from([0xde, 0xad, 0xbe, 0xef])]);
    const v = new FrameVerifier();
    expect(v.accept(padded)).toBe('ok');
    expect(v.accept(withFcs)).toBe('ok');
    expect(v.counters.corrupted).toBe(0);
  });

  it('detects a missing frame as lost', () => {
    const frames = gen().take(10);
    frames.splice(4, 1);
    expect(verify(frames).summary(10)).toMatchObject({ ok: 9, lost: 1, reordered: 0, duplicated: 0 });
  });

  it('counts frames missing at the end of the stream only when told how many to expect', () => {
    const v = verify(gen().take(8));
    expect(v.counters.lost).toBe(0);
    expect(v.summary(10).lost).toBe(2);
    expect(
      v.summary(
        new Map([
          [0, 10],
          [1, 5],
        ]),
      ).lost,
    ).toBe(7);
  });

  it('detects a swapped pair as one reordered frame and no loss', () => {
    const frames = gen().take(10);
    [frames[3], frames[4]] = [frames[4]!, frames[3]!];
    const v = new FrameVerifier();
    const verdicts = frames.map((f) => v.accept(f));
    expect(verdicts[4]).toBe('reordered');
    expect(v.summary(10)).toMatchObject({ ok: 10, lost: 0, reordered: 1, duplicated: 0 });
  });

  it('detects a repeated frame as duplicated', () => {
    const frames = gen().take(10);
    frames.splice(6, 0, frames[5]!);
    expect(verify(frames).summary(10)).toMatchObject({ ok: 10, lost: 0, duplicated: 1 });
  });

  it('counts a payload-damaged frame as corrupted, not lost', () => {
    const frames = gen({ size: 300 }).take(10);
    frames[2] = Buffer.from(frames[2]!);
    frames[2][200]! ^= 0x01;
    const v = new FrameVerifier();
    expect(frames.map((f) => v.accept(f))[2]).toBe('corrupted');
    expect(v.summary(10)).toMatchObject({ ok: 9, lost: 0, corrupted: 1 });
  });

  it('a damaged header cannot be attributed: corrupted and its sequence number lost', () => {
    const frames = gen({ size: 300 }).take(10);
    frames[2] = Buffer.from(frames[2]!);
    frames[2][14 + 8 + 3]! ^= 0x80; // low byte of seq
    expect(verify(frames).summary(10)).toMatchObject({ ok: 9, lost: 1, corrupted: 1 });
  });

  it('detects a frame truncated below its header length as corrupted', () => {
    const frames = gen({ size: 300 }).take(3);
    frames[1] = frames[1]!.subarray(0, 200);
    expect(verify(frames).summary(3)).toMatchObject({ ok: 2, corrupted: 1, lost: 0 });
  });

  it('classifies other EtherTypes, other payloads and runts as foreign', () => {
    const v = new FrameVerifier();
    const ip = gen().next();
    ip.writeUInt16BE(0x0800, 12);
    expect(v.accept(ip)).toBe('foreign');
    const noMagic = Buffer.alloc(100);
    noMagic.writeUInt16BE(0x88b5, 12);
    expect(v.accept(noMagic)).toBe('foreign');
    expect(v.accept(Buffer.alloc(20))).toBe('foreign');
    expect(v.counters).toMatchObject({ foreign: 3, ok: 0 });
  });

  it('tracks streams independently', () => {
    const a = gen({ stream: 1 }).take(5);
    const b = gen({ stream: 2 }).take(5);
    b.splice(2, 1);
    const interleaved = a.flatMap((f, i) => (b[i] ? [f, b[i]!] : [f]));
    const v = verify(interleaved);
    expect(v.summary(5)).toMatchObject({ ok: 9, lost: 1, reordered: 0 });
    expect(v.streams()).toEqual([
      { stream: 1, highest: 4, missing: 0 },
      { stream: 2, highest: 4, missing: 1 },
    ]);
  });

  it("with expectStart 'first' counts from the first arrival", () => {
    const frames = gen({ startSeq: 100 }).take(5);
    expect(verify(frames, new FrameVerifier({ expectStart: 'first' })).summary(5)).toMatchObject({ ok: 5, lost: 0 });
    expect(verify(frames).counters.lost).toBe(100);
  });
});
