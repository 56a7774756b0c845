/**
 * `Buffer.prototype.copy` on any Uint8Array: `copyBytes.call(source, target, targetStart,
 * sourceStart, sourceEnd)`. It is no cheaper than `target.set(source.subarray(...))` for part of a
 * source: Node 20's `Buffer#copy` makes a view of the range too (its `_copyActual`). 64 B from part
 * of a SharedArrayBuffer slot took 50–80 ns, against 16 ns from a whole Buffer. `copyPrefix`
 * (below) copies from a source's start without allocating; it is faster from about 256 B on
 * (64 ns against 114 ns at 1,514 B), and `copyRange` picks between the two.
 */
export const copyBytes = Buffer.prototype.copy as (this: Uint8Array, target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number) => number;

const fillWithPattern = Buffer.prototype.fill as (this: Uint8Array, value: Uint8Array, offset: number, end: number) => Uint8Array;

/**
 * target[targetOffset, +length) = source[0, length), without a view: Buffer#fill with a longer
 * Uint8Array pattern copies the pattern's prefix (a documented behaviour of fill, a memcpy in
 * Node). Caller has checked the bounds.
 */
export function copyPrefix(target: Uint8Array, targetOffset: number, source: Uint8Array, length: number): void {
  if (length === source.length) {
    target.set(source, targetOffset);
  } else if (length > 0) {
    fillWithPattern.call(target, source, targetOffset, targetOffset + length);
  }
}

/** From this length on copyPrefix beats Buffer#copy (measured on Node 20, x64, 2 KiB slots). */
export const PREFIX_COPY_MIN = 256;

/** target[targetOffset, +length) = source[sourceStart, +length), by the cheaper of the two above. Caller has checked the bounds. */
export function copyRange(source: Uint8Array, sourceStart: number, length: number, target: Uint8Array, targetOffset: number): void {
  if (sourceStart === 0 && length >= PREFIX_COPY_MIN) copyPrefix(target, targetOffset, source, length);
  else copyBytes.call(source, target, targetOffset, sourceStart, sourceStart + length);
}
