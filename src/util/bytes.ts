/**
 * `Buffer.prototype.copy` on any Uint8Array: `copyBytes.call(source, target, targetStart,
 * sourceStart, sourceEnd)`. It is no cheaper than `target.set(source.subarray(...))` for part of a
 * source: Node 20's `Buffer#copy` makes a view of the range too (its `_copyActual`), about 60 ns
 * for a 64 B copy. Only a whole source, or `copyPrefix` (src/ring/copy.ts) from its start, copies
 * without allocating.
 */
export const copyBytes = Buffer.prototype.copy as (this: Uint8Array, target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number) => number;
