import fs from 'node:fs';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { ControlProtocolError, ControlUnknownMethodError } from '../../../src/control/errors.ts';
import { decodeHostMessage, decodeRequest, encodeMessage, toWireError } from '../../../src/control/protocol.ts';

const raw = new Packr({ useRecords: false });

function protocolError(fn: () => unknown): ControlProtocolError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ControlProtocolError);
    return err as ControlProtocolError;
  }
  throw new Error('expected a ControlProtocolError');
}

describe('control protocol', () => {
  it('round-trips a request with binary params as a Buffer', () => {
    const data = Buffer.from([0, 1, 0xfe, 0xff]);
    const decoded = decodeRequest(encodeMessage({ t: 'req', id: 7, method: 'send', params: { data, n: 2n ** 60n } }));
    expect(decoded).toEqual({ t: 'req', id: 7, method: 'send', params: { data, n: 2n ** 60n } });
    expect(Buffer.isBuffer((decoded.params as { data: unknown }).data)).toBe(true);
  });

  it('rejects bytes that are not msgpack', () => {
    expect(protocolError(() => decodeRequest(Buffer.from([0x92, 0x01]))).context.reason).toBe('undecodable');
  });

  it('rejects a request without a method but keeps its id for the reply', () => {
    const err = protocolError(() => decodeRequest(raw.pack({ t: 'req', id: 12 })));
    expect(err.context).toMatchObject({ reason: 'bad method', id: 12 });
  });

  it('rejects requests with negative, fractional or missing ids', () => {
    for (const id of [-1, 1.5, undefined, 'x', 2 ** 32]) {
      expect(protocolError(() => decodeRequest(raw.pack({ t: 'req', id, method: 'm' }))).context.reason).toBe('bad id');
    }
  });

  it('rejects messages that are not maps, and host messages sent as requests', () => {
    expect(protocolError(() => decodeRequest(raw.pack([1, 2]))).context.reason).toBe('not a map');
    expect(protocolError(() => decodeRequest(raw.pack({ t: 'evt', topic: 'x' }))).context.reason).toBe('bad type');
  });

  it('validates host replies and events', () => {
    expect(decodeHostMessage(encodeMessage({ t: 'evt', topic: 'link', payload: { up: true }, dropped: 3 }))).toEqual({
      t: 'evt',
      topic: 'link',
      payload: { up: true },
      dropped: 3,
    });
    expect(protocolError(() => decodeHostMessage(raw.pack({ t: 'res', id: 1, ok: false, error: 'boom' }))).context.reason).toBe('bad response');
  });

  it('keeps the code, syscall and path of a Node system error', () => {
    let thrown: unknown;
    try {
      fs.readFileSync('/nonexistent/dirql');
    } catch (err) {
      thrown = err;
    }
    expect(toWireError(thrown).context).toMatchObject({ code: 'ENOENT', syscall: 'open', path: '/nonexistent/dirql' });
  });

  it('turns a typed error into name, message and an encodable context', () => {
    const err = new ControlUnknownMethodError('no such method', { method: 'x', fn: () => 1, sym: Symbol('s'), nested: { big: 5n } });
    const wire = toWireError(err);
    expect(wire.name).toBe('ControlUnknownMethodError');
    expect(wire.message).toBe('no such method');
    expect(wire.context).toMatchObject({ method: 'x', sym: 'Symbol(s)', nested: { big: 5n } });
    expect(typeof wire.context.fn).toBe('string');
    expect(() => encodeMessage({ t: 'res', id: 1, ok: false, error: wire })).not.toThrow();
  });
});
