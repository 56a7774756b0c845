// Test side: a protobuf wire-format decoder written from the encoding spec, independent of
// src/timeline/protobuf-writer.ts, to check that what the Perfetto writer emits decodes.

export interface ProtobufField {
  readonly field: number;
  readonly wire: number;
  /** Varint as bigint; fixed64 as the 8 bytes; length-delimited as the bytes. */
  readonly value: bigint | Uint8Array;
}

export function decodeMessage(bytes: Uint8Array): ProtobufField[] {
  const out: ProtobufField[] = [];
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (at >= bytes.length) throw new Error(`truncated varint at byte ${at}`);
      const b = bytes[at++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new Error(`varint longer than 10 bytes at byte ${at}`);
    }
  };
  while (at < bytes.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 1) {
      if (at + 8 > bytes.length) throw new Error(`truncated fixed64 at byte ${at}`);
      out.push({ field, wire, value: bytes.subarray(at, at + 8) });
      at += 8;
    } else if (wire === 2) {
      const n = Number(varint());
      if (at + n > bytes.length) throw new Error(`length-delimited field ${field} runs past the end (${n} bytes at ${at} of ${bytes.length})`);
      out.push({ field, wire, value: bytes.subarray(at, at + n) });
      at += n;
    } else throw new Error(`unsupported wire type ${wire} for field ${field} at byte ${at}`);
  }
  return out;
}

export function fieldsOf(fields: ProtobufField[], n: number): ProtobufField[] {
  return fields.filter((f) => f.field === n);
}

export function one(fields: ProtobufField[], n: number): ProtobufField | undefined {
  const all = fieldsOf(fields, n);
  if (all.length > 1) throw new Error(`field ${n} occurs ${all.length} times`);
  return all[0];
}

export function asString(f: ProtobufField | undefined): string | undefined {
  return f && f.value instanceof Uint8Array ? Buffer.from(f.value).toString('utf8') : undefined;
}

export function asNumber(f: ProtobufField | undefined): number | undefined {
  return f && typeof f.value === 'bigint' ? Number(f.value) : undefined;
}

export function asSigned(f: ProtobufField | undefined): bigint | undefined {
  return f && typeof f.value === 'bigint' ? BigInt.asIntN(64, f.value) : undefined;
}

export function asDouble(f: ProtobufField | undefined): number | undefined {
  return f && f.value instanceof Uint8Array && f.wire === 1 ? new DataView(f.value.buffer, f.value.byteOffset, 8).getFloat64(0, true) : undefined;
}

export function asMessage(f: ProtobufField | undefined): ProtobufField[] {
  if (!f || !(f.value instanceof Uint8Array)) throw new Error(`field ${f?.field} is not a message`);
  return decodeMessage(f.value);
}
