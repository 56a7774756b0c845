import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PREFIX_COPY_MIN, copyPrefix, copyRange } from '../../../src/util/bytes.ts';

describe('copyRange', () => {
  it('copies exactly the range, from any start, to any offset, whichever copy it picks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2048 }),
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 0, max: 64 }),
        fc.boolean(),
        (length, sourceStart, targetOffset, shared) => {
          const backing = shared ? new SharedArrayBuffer(sourceStart + length + 7) : new ArrayBuffer(sourceStart + length + 7);
          const source = new Uint8Array(backing);
          for (let i = 0; i < source.length; i++) source[i] = (i * 31 + 7) & 0xff;
          const target = new Uint8Array(targetOffset + length + 5).fill(0xee);
          copyRange(source, sourceStart, length, target, targetOffset);
          expect(Buffer.from(target.subarray(targetOffset, targetOffset + length))).toEqual(Buffer.from(source.subarray(sourceStart, sourceStart + length)));
          expect(target.subarray(0, targetOffset).every((b) => b === 0xee)).toBe(true);
          expect(target.subarray(targetOffset + length).every((b) => b === 0xee)).toBe(true);
        },
      ),
    );
  });

  it('copyPrefix of a whole source and of a prefix longer than the threshold', () => {
    const source = Buffer.from(Array.from({ length: PREFIX_COPY_MIN + 10 }, (_, i) => i & 0xff));
    const target = Buffer.alloc(source.length + 4, 0xaa);
    copyPrefix(target, 2, source, source.length);
    expect(target.subarray(2, 2 + source.length)).toEqual(source);
    const prefix = Buffer.alloc(source.length + 4, 0xaa);
    copyPrefix(prefix, 1, source, PREFIX_COPY_MIN);
    expect(prefix.subarray(1, 1 + PREFIX_COPY_MIN)).toEqual(source.subarray(0, PREFIX_COPY_MIN));
    expect(prefix[1 + PREFIX_COPY_MIN]).toBe(0xaa);
  });
});
