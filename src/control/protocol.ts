import { Packr } from 'msgpackr';
import { DirqlError } from '../util/errors.ts';
import { ControlProtocolError } from './errors.ts';

/**
 * Wire protocol of the control plane: msgpack maps inside length-prefixed frames (framing.ts).
 * Bump PROTOCOL_VERSION on any incompatible change; `hello` compares it on both sides.
 *
 *   client → host   { t: 'req', id, method, params }
 *   host → client   { t: 'res', id, ok: true, result } | { t: 'res', id, ok: false, error }
 *   host → client   { t: 'evt', topic, payload, dropped? }
 *
 * `id` is the client's (unsigned 32-bit, unique among its pending calls); a reply to a message
 * whose id could not be read carries id null. Binary values (Buffer, Uint8Array) travel as msgpack
 * bin and arrive as Buffer.
 */
export const PROTOCOL_VERSION = 1;

/** Methods every host answers itself; handle() refuses these names. */
export const BUILTIN_METHODS = ['hello', 'subscribe', 'unsubscribe'] as const;

export interface HelloParams {
  protocol: number;
  client?: string;
}

export interface HelloResult {
  protocol: number;
  pid: number;
  driver: string;
  socketPath: string;
  /** Methods registered by the host (built-ins excluded), sorted. */
  methods: string[];
  /** Topics the host publishes (what `subscribe` accepts), sorted. Absent from hosts before it was added. */
  topics?: string[];
  /** Host uptime in milliseconds at the time of the hello. */
  uptimeMs: number;
}

export interface WireError {
  name: string;
  message: string;
  context: Record<string, unknown>;
  stack?: string;
}

export interface RequestMessage {
  t: 'req';
  id: number;
  method: string;
  params: unknown;
}
export type ResponseMessage = { t: 'res'; id: number | null; ok: true; result: unknown } | { t: 'res'; id: number | null; ok: false; error: WireError };
export interface EventMessage {
  t: 'evt';
  topic: string;
  payload: unknown;
  /** Events of this topic dropped for this client (it was not reading) since the last one delivered. */
  dropped?: number;
}
export type HostMessage = ResponseMessage | EventMessage;

// Records (shared structure definitions) would make both ends stateful; plain maps keep every frame self-describing.
const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeMessage(message: RequestMessage | HostMessage): Buffer {
  return packr.pack(message);
}

const MAX_ID = 0xffff_ffff;
const MAX_NAME = 256;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_ID;
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME;
}

function unpack(payload: Buffer): unknown {
  try {
    return packr.unpack(payload);
  } catch (err) {
    throw new ControlProtocolError('control message is not valid msgpack', { reason: 'undecodable', bytes: payload.length }, { cause: err });
  }
}

/**
 * Decode and validate a message a client sent. A ControlProtocolError thrown here carries
 * `context.id` when the id could be read, so the host can answer that call.
 */
export function decodeRequest(payload: Buffer): RequestMessage {
  const msg = unpack(payload);
  if (!isRecord(msg)) throw new ControlProtocolError('control message is not a map', { reason: 'not a map', id: null });
  const id = isId(msg.id) ? msg.id : null;
  if (msg.t !== 'req') throw new ControlProtocolError(`expected a request (t: 'req'), got t: ${JSON.stringify(msg.t)}`, { reason: 'bad type', id });
  if (id === null) throw new ControlProtocolError('request id must be an unsigned 32-bit integer', { reason: 'bad id', id });
  if (!isName(msg.method)) throw new ControlProtocolError('request method must be a non-empty string', { reason: 'bad method', id });
  return { t: 'req', id, method: msg.method, params: msg.params };
}

function isWireError(value: unknown): value is WireError {
  return (
    isRecord(value) &&
    typeof value.name === 'string' &&
    typeof value.message === 'string' &&
    isRecord(value.context) &&
    (value.stack === undefined || typeof value.stack === 'string')
  );
}

/** Decode and validate a message the host sent. */
export function decodeHostMessage(payload: Buffer): HostMessage {
  const msg = unpack(payload);
  if (!isRecord(msg)) throw new ControlProtocolError('host message is not a map', { reason: 'not a map' });
  if (msg.t === 'evt') {
    if (!isName(msg.topic)) throw new ControlProtocolError('event topic must be a non-empty string', { reason: 'bad topic' });
    const dropped = msg.dropped;
    if (dropped !== undefined && !isId(dropped)) throw new ControlProtocolError('event dropped count must be a count', { reason: 'bad dropped' });
    return dropped === undefined ? { t: 'evt', topic: msg.topic, payload: msg.payload } : { t: 'evt', topic: msg.topic, payload: msg.payload, dropped };
  }
  if (msg.t === 'res') {
    const id = msg.id === null ? null : isId(msg.id) ? msg.id : undefined;
    if (id === undefined) throw new ControlProtocolError('response id must be an unsigned 32-bit integer or null', { reason: 'bad id' });
    if (msg.ok === true) return { t: 'res', id, ok: true, result: msg.result };
    if (msg.ok === false && isWireError(msg.error)) return { t: 'res', id, ok: false, error: msg.error };
    throw new ControlProtocolError('response must carry ok: true and a result, or ok: false and an error', { reason: 'bad response', id });
  }
  throw new ControlProtocolError(`unknown host message type ${JSON.stringify(msg.t)}`, { reason: 'bad type' });
}

/** Make a value msgpack-safe for an error context: anything the packer refuses becomes its string form. */
function encodable(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return value;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return value;
    case 'object':
      if (Buffer.isBuffer(value) || value instanceof Uint8Array || value instanceof Date) return value;
      if (depth >= 8) return String(value);
      if (value instanceof Error) return { name: value.name, message: value.message };
      if (Array.isArray(value)) return value.map((v) => encodable(v, depth + 1));
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encodable(v, depth + 1)]));
    default:
      return String(value);
  }
}

/** Node system errors carry what went wrong in properties (ENOENT on which path, which syscall). */
function systemErrorFields(err: Error): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const key of ['code', 'errno', 'syscall', 'path', 'address', 'port'] as const) {
    const value = (err as unknown as Record<string, unknown>)[key];
    if (value !== undefined) fields[key] = encodable(value);
  }
  return fields;
}

/** What a thrown value looks like on the wire: class name, message, context (DirqlError), host stack. */
export function toWireError(err: unknown): WireError {
  if (err instanceof Error) {
    const context = err instanceof DirqlError ? (encodable(err.context) as Record<string, unknown>) : systemErrorFields(err);
    if (err.cause !== undefined && context.cause === undefined) context.cause = encodable(err.cause);
    return { name: err.name, message: err.message, context, ...(err.stack ? { stack: err.stack } : {}) };
  }
  return { name: 'Error', message: `non-Error value thrown: ${String(err)}`, context: { thrown: encodable(err) } };
}
