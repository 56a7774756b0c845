/**
 * `Buffer.prototype.copy` on any Uint8Array: `copyBytes.call(source, target, targetStart,
 * sourceStart, sourceEnd)`. It is no cheaper than `target.set(source.subarray(...))` for part of a
 * source: Node 20's `Buffer#copy` makes a view of the range too (its `_copyActual`). 64 B from part
 * of a SharedArrayBuffer slot took 50–80 ns, against 16 ns from a whole Buffer. `copyPrefix`
 * (src/ring/copy.ts) copies from a source's start without allocating; it is faster from about
 * 256 B on (64 ns against 114 ns at 1,514 B).
 */
export const copyBytes = Buffer.prototype.copy as (this: Uint8Array, target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number) => number;
