/**
 * `Buffer.prototype.copy` on any Uint8Array: `copyBytes.call(source, target, targetStart,
 * sourceStart, sourceEnd)`. The hot paths use it instead of `target.set(source.subarray(...))`,
 * which allocates a view per copy.
 */
export const copyBytes = Buffer.prototype.copy as (this: Uint8Array, target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number) => number;
