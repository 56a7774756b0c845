/**
 * Frames that carry their own sequence number and a payload derived from it, so a reader can
 * tell lost, reordered and corrupted frames apart.
 */
export function frameLengthFor(seq: number): number {
  return 60 + ((seq * 37) % 1455); // 60 .. 1514, varying
}

export function fillSequencedFrame(target: Uint8Array, seq: number, length: number): void {
  target[0] = seq & 0xff;
  target[1] = (seq >>> 8) & 0xff;
  target[2] = (seq >>> 16) & 0xff;
  target[3] = (seq >>> 24) & 0xff;
  for (let i = 4; i < length; i++) target[i] = (seq + i * 7) & 0xff;
}

/** undefined when the frame is the expected one, intact; otherwise what is wrong. */
export function checkSequencedFrame(view: Uint8Array, length: number, expectedSeq: number): string | undefined {
  const seq = (view[0]! | (view[1]! << 8) | (view[2]! << 16) | (view[3]! << 24)) >>> 0;
  if (seq !== expectedSeq) return `expected seq ${expectedSeq}, got ${seq}`;
  if (length !== frameLengthFor(seq)) return `seq ${seq}: length ${length}, expected ${frameLengthFor(seq)}`;
  for (let i = 4; i < length; i++) {
    if (view[i] !== ((seq + i * 7) & 0xff)) return `seq ${seq}: byte ${i} corrupted`;
  }
  return undefined;
}
