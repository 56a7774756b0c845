/**
 * Guest memory as the recording's reads have seen it (zero before the first), so that a memory
 * read is recorded as the bytes that changed since (kind 11) rather than all it returned. A 64 B
 * frame received lands in a 2 KiB buffer and the driver reads the batch's buffers as one span: of
 * its ~2 KiB a frame, only the frame and its descriptor differ from the last time the span was read.
 * The e1000 ring names the frames as the parts of the span it uses (GuestMemory.readInto), and only
 * those are compared: the slots' tails cost nothing. Writer and reader keep the same shadow, so the
 * reader returns every read's full bytes (kind 4): the parts as read, the rest as last recorded.
 *
 * Changes are encoded as runs, each `u32le offset` (from the read's address), `u32le length`, then
 * the bytes; runs are in increasing offset and do not overlap.
 */
export class MemoryShadow {
  private bytes = new Uint8Array(0);

  /**
   * The runs by which `data`, read at `addr`, differs from the shadow; the shadow then holds `data`.
   * With `used` (offset, length pairs in increasing order, as GuestMemory.readInto takes them), only
   * those parts are compared and kept: the caller promised to look at nothing else.
   */
  changes(addr: number, data: Uint8Array, runs: number[], used?: readonly number[]): void {
    runs.length = 0;
    const n = data.byteLength;
    this.ensure(addr + n);
    const old = this.bytes;
    // Four bytes at a time where both sides are aligned (one pair of views a read, not a part).
    const aligned = (addr & 3) === 0 && (data.byteOffset & 3) === 0;
    const a = aligned ? new Int32Array(data.buffer, data.byteOffset, n >>> 2) : undefined;
    const b = aligned ? new Int32Array(old.buffer, old.byteOffset + addr, n >>> 2) : undefined;
    if (used === undefined) scan(data, old, addr, a, b, 0, n, runs);
    else for (let u = 0; u < used.length; u += 2) scan(data, old, addr, a, b, used[u]!, used[u]! + used[u + 1]!, runs);
    for (let r = 0; r < runs.length; r += 2) {
      const at = runs[r]!;
      const len = runs[r + 1]!;
      // A frame's run is short: copying its words costs less than a subarray and a set.
      if (a !== undefined && b !== undefined && ((at | len) & 3) === 0 && len <= 256) for (let w = at >>> 2, end = (at + len) >>> 2; w < end; w++) b[w] = a[w]!;
      else old.set(data.subarray(at, at + len), addr + at);
    }
  }

  /** A read recorded whole (kind 4): the shadow holds its bytes. */
  seen(addr: number, data: Uint8Array): void {
    this.ensure(addr + data.byteLength);
    this.bytes.set(data, addr);
  }

  /** Applies a read's recorded runs and returns a copy of what the read returned. */
  apply(addr: number, length: number, encoded: Uint8Array): Uint8Array {
    this.ensure(addr + length);
    const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
    let at = 0;
    while (at < encoded.byteLength) {
      if (at + 8 > encoded.byteLength) throw new RangeError(`memory changes cut inside a run header at ${at}`);
      const offset = view.getUint32(at, true);
      const n = view.getUint32(at + 4, true);
      at += 8;
      if (offset + n > length || at + n > encoded.byteLength) throw new RangeError(`memory change run ${offset}+${n} outside its read of ${length} bytes`);
      this.bytes.set(encoded.subarray(at, at + n), addr + offset);
      at += n;
    }
    return this.bytes.slice(addr, addr + length);
  }

  private ensure(end: number): void {
    if (end <= this.bytes.byteLength) return;
    let size = Math.max(this.bytes.byteLength, 1 << 20);
    while (size < end) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes);
    this.bytes = grown;
  }
}

/** Equal words that end a run of changes (16 bytes: two run headers' worth). */
const GAP = 4;

/** The encoded size of `runs` (offset, length pairs). */
export function changesSize(runs: readonly number[]): number {
  let size = 0;
  for (let r = 1; r < runs.length; r += 2) size += 8 + runs[r]!;
  return size;
}

/**
 * Appends the runs by which bytes [from, to) of `data` differ from the shadow `old` at `addr`; `a`
 * and `b` are the word views of both when aligned.
 */
function scan(data: Uint8Array, old: Uint8Array, addr: number, a: Int32Array | undefined, b: Int32Array | undefined, from: number, to: number, runs: number[]): void {
  let i = from;
  if (a !== undefined && b !== undefined && (from & 3) === 0) {
    const first = from >>> 2;
    const last = to >>> 2;
    for (let w = first; w < last; w++) {
      // Most of a read is unchanged: skip it four words a test.
      while (w + 4 <= last && ((a[w]! ^ b[w]!) | (a[w + 1]! ^ b[w + 1]!) | (a[w + 2]! ^ b[w + 2]!) | (a[w + 3]! ^ b[w + 3]!)) === 0) w += 4;
      while (w < last && a[w] === b[w]) w++;
      if (w === last) break;
      const start = w;
      // A run ends after GAP equal words, so that short equal stretches do not each cost a header.
      let end = ++w;
      for (; w < last && w - end < GAP; w++) if (a[w] !== b[w]) end = w + 1;
      runs.push(start << 2, (end - start) << 2);
      w = end;
    }
    i = last << 2;
  }
  for (; i < to; i++) {
    if (data[i] === old[addr + i]) continue;
    const prev = runs.length - 2;
    if (prev >= 0 && runs[prev]! + runs[prev + 1]! === i) runs[prev + 1]!++;
    else runs.push(i, 1);
  }
}
