import { describe, expect, it } from 'vitest';
import { formatMac, isMulticastMac, tryParseMac } from '../../../src/util/ethernet.ts';
import { InvalidArgumentError } from '../../../src/util/errors.ts';
import { SeededRandom } from '../../../src/util/seeded-random.ts';

describe('MAC text', () => {
  it('parses colon or dash separated hex, either case, and formats lower-case with colons', () => {
    expect([...tryParseMac('52:54:00:12:34:56')!]).toEqual([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
    expect(formatMac(tryParseMac('02-AB-cd-00-00-0F')!)).toBe('02:ab:cd:00:00:0f');
    expect(formatMac(Uint8Array.of(1, 2, 3, 4, 5, 6, 7))).toBe('01:02:03:04:05:06');
  });

  it('refuses what is not six two-digit groups with one kind of separator', () => {
    for (const bad of ['52:54:00:12:34', '52:54:00:12:34:zz', '52:54:00:12:34:567', '52:54-00:12:34:56', '', '525400123456']) {
      expect(tryParseMac(bad), bad).toBeUndefined();
    }
    expect(() => formatMac(new Uint8Array(5))).toThrow(InvalidArgumentError);
  });

  it('knows the group bit', () => {
    expect(isMulticastMac(tryParseMac('01:00:5e:00:00:01')!)).toBe(true);
    expect(isMulticastMac(tryParseMac('52:54:00:12:34:56')!)).toBe(false);
  });
});

describe('SeededRandom (mulberry32)', () => {
  it('replays the same sequence for a seed and rejects a non-finite seed', () => {
    const take = (seed: number) =>
      Array.from(
        { length: 4 },
        (
          (r) => () =>
            r.nextU32()
        )(new SeededRandom(seed)),
      );
    expect(take(7)).toEqual(take(7));
    expect(take(7)).not.toEqual(take(8));
    expect(() => new SeededRandom(Number.NaN)).toThrow(InvalidArgumentError);
  });
});
