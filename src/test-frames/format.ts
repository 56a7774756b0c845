/**
 * The self-verifying test frame: what the host's `send` control method and the wire peer's
 * generator put on the wire, and what the peer's verifier checks. Both ends share this module.
 */
import { crc32 } from 'node:zlib';
import { ETHERNET_HEADER_LENGTH, ETHERTYPE_LOCAL_EXPERIMENTAL, MAX_JUMBO_FRAME_LENGTH, tryParseMac } from '../util/ethernet.ts';
import { SeededRandom, mix32 } from '../util/seeded-random.ts';
import { TestFrameError } from './errors.ts';

/** A MAC given either as text or as 6 bytes. */
export type MacAddress = string | Uint8Array;

export function macBytes(mac: MacAddress): Buffer {
  const bytes = typeof mac === 'string' ? tryParseMac(mac) : mac.length === 6 ? mac : undefined;
  if (!bytes)
    throw new TestFrameError(`not a MAC address: ${typeof mac === 'string' ? JSON.stringify(mac) : `${mac.length} bytes`}`, { mac: typeof mac === 'string' ? mac : mac.length });
  return Buffer.from(bytes);
}

/*
 * Test frame layout (network byte order), after the 14-byte Ethernet header:
 *   +0  u32 magic 'DQLT'          +4  u8 version (1)   +5 u8 flags (0)   +6 u16 stream id
 *   +8  u32 sequence number       +12 u16 frame length (bytes the sender wrote, without padding/FCS)
 *   +14 u16 reserved (0)          +16 u32 CRC-32 of header bytes +0..+15
 *   +20 u32 CRC-32 of frame[0, length) skipping this field
 *   +24 payload: bytes of a fixed pseudo-random tape starting at an offset derived from (stream, seq)
 * The separate header CRC lets the verifier trust (stream, seq) of a frame whose payload is damaged,
 * so such a frame counts as corrupted and not also as lost. The length field lets it ignore NIC
 * padding (short frames padded to 60) and a trailing FCS (e1000 without RCTL.SECRC).
 */
export const TEST_FRAME_MAGIC = 0x44514c54;
export const TEST_FRAME_VERSION = 1;
export const TEST_HEADER_LENGTH = 24;
/** Shortest test frame: Ethernet header + test header, no payload. */
export const MIN_TEST_FRAME_LENGTH = ETHERNET_HEADER_LENGTH + TEST_HEADER_LENGTH;
/** Longest test frame the generator builds (the jumbo limit). */
export const MAX_TEST_FRAME_LENGTH = MAX_JUMBO_FRAME_LENGTH;

const H = ETHERNET_HEADER_LENGTH;
const OFF_MAGIC = H;
const OFF_VERSION = H + 4;
const OFF_FLAGS = H + 5;
const OFF_STREAM = H + 6;
const OFF_SEQ = H + 8;
const OFF_LENGTH = H + 12;
const OFF_RESERVED = H + 14;
const OFF_HEADER_CRC = H + 16;
const OFF_FRAME_CRC = H + 20;
const OFF_PAYLOAD = H + TEST_HEADER_LENGTH;

const TAPE_WINDOW = 0x10000;
/** Payload source: fixed, so sender and receiver derive the same bytes from (stream, seq) alone. */
const PATTERN_TAPE: Buffer = (() => {
  const rnd = new SeededRandom(TEST_FRAME_MAGIC);
  const tape = Buffer.allocUnsafe((TAPE_WINDOW + MAX_TEST_FRAME_LENGTH + 3) & ~3);
  for (let i = 0; i < tape.length; i += 4) tape.writeUInt32LE(rnd.nextU32(), i);
  return tape;
})();

function patternOffset(stream: number, seq: number): number {
  return mix32(seq ^ Math.imul(stream + 1, 0x9e3779b9)) & (TAPE_WINDOW - 1);
}

/** The payload bytes a test frame (stream, seq) carries from TEST_HEADER end on. */
export function expectedPayload(stream: number, seq: number, payloadLength: number): Buffer {
  const start = patternOffset(stream, seq);
  return PATTERN_TAPE.subarray(start, start + payloadLength);
}

/** CRC-32 (IEEE 802.3, zlib's) of the frame around its own CRC field: a running CRC skips it. */
function frameCrc(frame: Uint8Array, length: number): number {
  const before = crc32(frame.subarray(0, OFF_FRAME_CRC));
  return crc32(frame.subarray(OFF_FRAME_CRC + 4, length), before) >>> 0;
}

export interface TestFrameFields {
  dst: MacAddress;
  src: MacAddress;
  /** Default ETHERTYPE_LOCAL_EXPERIMENTAL (0x88B5). */
  etherType?: number;
  stream: number;
  seq: number;
  /** Total frame length without FCS, MIN_TEST_FRAME_LENGTH..MAX_TEST_FRAME_LENGTH. */
  length: number;
}

export function checkTestLength(length: number): void {
  if (!Number.isInteger(length) || length < MIN_TEST_FRAME_LENGTH || length > MAX_TEST_FRAME_LENGTH) {
    throw new TestFrameError(`test frame length ${length} outside ${MIN_TEST_FRAME_LENGTH}..${MAX_TEST_FRAME_LENGTH}`, {
      length,
      min: MIN_TEST_FRAME_LENGTH,
      max: MAX_TEST_FRAME_LENGTH,
    });
  }
}

/** Build one self-verifying test frame. */
export function buildTestFrame(fields: TestFrameFields): Buffer {
  return buildWithMacs(macBytes(fields.dst), macBytes(fields.src), fields);
}

/** buildTestFrame with the addresses already as bytes (the generator's hot path). */
export function buildWithMacs(dst: Buffer, src: Buffer, f: Omit<TestFrameFields, 'dst' | 'src'>): Buffer {
  checkTestLength(f.length);
  const etherType = f.etherType ?? ETHERTYPE_LOCAL_EXPERIMENTAL;
  if (!Number.isInteger(f.stream) || f.stream < 0 || f.stream > 0xffff) {
    throw new TestFrameError('stream id must be 0..65535', { stream: f.stream });
  }
  const frame = Buffer.allocUnsafe(f.length);
  dst.copy(frame, 0);
  src.copy(frame, 6);
  frame.writeUInt16BE(etherType, 12);
  frame.writeUInt32BE(TEST_FRAME_MAGIC, OFF_MAGIC);
  frame[OFF_VERSION] = TEST_FRAME_VERSION;
  frame[OFF_FLAGS] = 0;
  frame.writeUInt16BE(f.stream, OFF_STREAM);
  frame.writeUInt32BE(f.seq >>> 0, OFF_SEQ);
  frame.writeUInt16BE(f.length, OFF_LENGTH);
  frame.writeUInt16BE(0, OFF_RESERVED);
  frame.writeUInt32BE(crc32(frame.subarray(OFF_MAGIC, OFF_HEADER_CRC)) >>> 0, OFF_HEADER_CRC);
  expectedPayload(f.stream, f.seq >>> 0, f.length - OFF_PAYLOAD).copy(frame, OFF_PAYLOAD);
  frame.writeUInt32BE(frameCrc(frame, f.length), OFF_FRAME_CRC);
  return frame;
}

/** What a received frame is, judged from its bytes alone. */
export type ParsedTestFrame =
  | { kind: 'foreign' }
  /** Ours (EtherType and magic match) but the header CRC fails: stream and seq cannot be trusted. */
  | { kind: 'damaged-header' }
  /** Header trustworthy; `intact` says whether length, CRC and payload pattern also check out. */
  | { kind: 'test'; stream: number; seq: number; length: number; intact: boolean };

/** Classify a frame; trailing bytes beyond the header's length (padding, FCS) are ignored. */
export function parseTestFrame(frame: Uint8Array, etherType = ETHERTYPE_LOCAL_EXPERIMENTAL): ParsedTestFrame {
  if (frame.length < MIN_TEST_FRAME_LENGTH) return { kind: 'foreign' };
  const buf = Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.length);
  if (buf.readUInt16BE(12) !== etherType || buf.readUInt32BE(OFF_MAGIC) !== TEST_FRAME_MAGIC) {
    return { kind: 'foreign' };
  }
  if (crc32(buf.subarray(OFF_MAGIC, OFF_HEADER_CRC)) >>> 0 !== buf.readUInt32BE(OFF_HEADER_CRC)) {
    return { kind: 'damaged-header' };
  }
  if (buf[OFF_VERSION] !== TEST_FRAME_VERSION) return { kind: 'foreign' };
  const stream = buf.readUInt16BE(OFF_STREAM);
  const seq = buf.readUInt32BE(OFF_SEQ);
  const length = buf.readUInt16BE(OFF_LENGTH);
  const intact =
    length >= MIN_TEST_FRAME_LENGTH &&
    length <= buf.length &&
    frameCrc(buf, length) === buf.readUInt32BE(OFF_FRAME_CRC) &&
    expectedPayload(stream, seq, length - OFF_PAYLOAD).equals(buf.subarray(OFF_PAYLOAD, length));
  return { kind: 'test', stream, seq, length, intact };
}
