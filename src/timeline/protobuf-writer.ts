// The protobuf wire format, just what the Perfetto writer needs: varints, fixed64 doubles,
// length-delimited strings and nested messages. No npm package writes Perfetto's protobuf, and the
// few fields we emit do not justify a schema compiler.

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;

const TWO_64 = 1n << 64n;

/** Builds one message; nested messages are built by their own writer and added with `message`. */
export class ProtobufWriter {
  private readonly chunks: Uint8Array[] = [];
  /** Key and varint bytes not yet moved into `chunks`. */
  private pending: number[] = [];

  /** A varint field (uint32/uint64/int64/enum/bool). Negative values are encoded as int64 (ten bytes). */
  varint(field: number, value: number | bigint | boolean): this {
    this.key(field, WIRE_VARINT);
    this.rawVarint(typeof value === 'boolean' ? (value ? 1 : 0) : value);
    return this;
  }

  double(field: number, value: number): this {
    this.key(field, WIRE_FIXED64);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
    this.bytes(b);
    return this;
  }

  string(field: number, value: string): this {
    return this.lengthDelimited(field, Buffer.from(value, 'utf8'));
  }

  message(field: number, inner: ProtobufWriter): this {
    return this.lengthDelimited(field, inner.finish());
  }

  /** The encoded message. */
  finish(): Uint8Array {
    this.flushPending();
    return Buffer.concat(this.chunks);
  }

  private lengthDelimited(field: number, data: Uint8Array): this {
    this.key(field, WIRE_LENGTH_DELIMITED);
    this.rawVarint(data.length);
    this.bytes(data);
    return this;
  }

  private key(field: number, wire: number): void {
    if (!Number.isInteger(field) || field < 1 || field > 536_870_911) throw new RangeError(`protobuf field number out of range: ${field}`);
    this.rawVarint(field * 8 + wire);
  }

  private rawVarint(value: number | bigint): void {
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) throw new RangeError(`varint needs a safe integer, got ${value}`);
      if (value < 0) {
        this.rawVarint(BigInt(value));
        return;
      }
      // Arithmetic, not bit operators: those truncate to 32 bits.
      while (value >= 0x80) {
        this.pending.push((value % 0x80) | 0x80);
        value = Math.floor(value / 0x80);
      }
      this.pending.push(value);
      return;
    }
    let v = value < 0n ? value + TWO_64 : value;
    if (v < 0n || v >= TWO_64) throw new RangeError(`varint out of 64-bit range: ${value}`);
    while (v >= 0x80n) {
      this.pending.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.pending.push(Number(v));
  }

  private bytes(data: Uint8Array): void {
    this.flushPending();
    this.chunks.push(data);
  }

  private flushPending(): void {
    if (this.pending.length === 0) return;
    this.chunks.push(Uint8Array.from(this.pending));
    this.pending = [];
  }
}
