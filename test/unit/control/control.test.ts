import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlClient } from '../../../src/control/client.ts';
import { ControlClosedError, ControlNotRunningError, ControlRemoteError, ControlSocketInUseError, ControlTimeoutError } from '../../../src/control/errors.ts';
import { connectIpc } from '../../../src/control/ipc-transport.ts';
import { ControlServer } from '../../../src/control/server.ts';
import { DirqlError } from '../../../src/util/errors.ts';
import { PROTOCOL_VERSION, decodeHostMessage, encodeMessage } from '../../../src/control/protocol.ts';

class LinkFaultError extends DirqlError {}

/** The topics the test servers publish ('other' and 'sync' only ever serve as ordering markers). */
const TEST_TOPICS = ['link', 'stats', 'frame', 'other', 'sync'];

let dir: string;
let socketPath: string;
const servers: ControlServer[] = [];
const clients: ControlClient[] = [];

async function startServer(opts: ConstructorParameters<typeof ControlServer>[0] = {}): Promise<ControlServer> {
  const server = new ControlServer({ socketPath, driver: 'test-driver', topics: TEST_TOPICS, ...opts });
  servers.push(server);
  await server.start();
  return server;
}

async function connect(opts: Parameters<typeof ControlClient.connect>[0] = {}): Promise<ControlClient> {
  const client = await ControlClient.connect({ socketPath, ...opts });
  clients.push(client);
  return client;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirql-ctl-test-'));
  socketPath = path.join(dir, 'host.sock');
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('ControlServer and ControlClient', () => {
  it('shakes hands with the protocol version, host pid and driver name', async () => {
    const server = await startServer();
    server.handle('status', () => ({}));
    const client = await connect();
    expect(client.hello).toMatchObject({ protocol: PROTOCOL_VERSION, pid: process.pid, driver: 'test-driver', socketPath, methods: ['status'] });
  });

  it('carries a 1514-byte binary frame to the host and back intact', async () => {
    const server = await startServer();
    server.handle('echo', (params: { frame: Buffer }) => ({ frame: params.frame, length: params.frame.length, isBuffer: Buffer.isBuffer(params.frame) }));
    const client = await connect();
    const frame = Buffer.alloc(1514);
    for (let i = 0; i < frame.length; i++) frame[i] = (i * 7 + 3) & 0xff;
    const reply = await client.call<{ frame: Buffer; length: number; isBuffer: boolean }>('echo', { frame });
    expect(reply.isBuffer).toBe(true);
    expect(reply.length).toBe(1514);
    expect(Buffer.isBuffer(reply.frame)).toBe(true);
    expect(reply.frame.equals(frame)).toBe(true);
  });

  it('answers 1,000 concurrent calls, each with its own result', async () => {
    const server = await startServer();
    server.handle('square', async (params: { n: number }) => {
      // Uneven delays make replies leave out of order (the behaviour under test, not an absence check).
      if (params.n % 3 === 0) await new Promise((r) => setTimeout(r, 1));
      return { n: params.n, square: params.n * params.n };
    });
    const client = await connect();
    const ns = Array.from({ length: 1000 }, (_, i) => i);
    const replies = await Promise.all(ns.map((n) => client.call<{ n: number; square: number }>('square', { n })));
    expect(replies).toEqual(ns.map((n) => ({ n, square: n * n })));
  });

  it('delivers events only to clients subscribed to the topic', async () => {
    const server = await startServer();
    const linkWatcher = await connect();
    const statsWatcher = await connect();
    const bystander = await connect();
    const got: Record<string, unknown[]> = { link: [], stats: [], bystander: [] };
    await linkWatcher.subscribe('link', (payload) => got.link!.push(payload));
    await statsWatcher.subscribe('stats', (payload) => got.stats!.push(payload));
    bystander.on('close', () => got.bystander!.push('closed'));

    expect(server.publish('link', { up: false })).toBe(1);
    expect(server.publish('stats', { rx: 1n })).toBe(1);
    expect(server.publish('frame', { data: Buffer.alloc(4) })).toBe(0);
    // A call after the publishes returns after their events were read (one ordered stream).
    await Promise.all([linkWatcher, statsWatcher, bystander].map((c) => c.call('subscribe', { topic: 'other' })));
    expect(got).toEqual({ link: [{ up: false }], stats: [{ rx: 1n }], bystander: [] });
  });

  it('stops sending a topic once its last listener unsubscribed', async () => {
    const server = await startServer();
    const client = await connect();
    const events: unknown[] = [];
    const unsubscribe = await client.subscribe('link', (p) => events.push(p));
    expect(server.publish('link', 1)).toBe(1);
    await client.call('subscribe', { topic: 'sync' }); // the event is read before this reply
    await unsubscribe();
    expect(server.publish('link', 2)).toBe(0);
    expect(events).toEqual([1]);
  });

  it('drops events for a client that stops reading, and tells it how many on the next one', async () => {
    const server = await startServer({ eventHighWaterBytes: 64 * 1024 });
    const raw = await connectIpc(socketPath);
    const messages: Array<{ t: string; payload?: unknown; dropped?: number }> = [];
    raw.onFrame = (payload) => messages.push(decodeHostMessage(payload) as never);
    raw.send(encodeMessage({ t: 'req', id: 1, method: 'hello', params: { protocol: PROTOCOL_VERSION } }));
    raw.send(encodeMessage({ t: 'req', id: 2, method: 'subscribe', params: { topic: 'frame' } }));
    await expect.poll(() => messages.length).toBe(2);
    raw.pause();
    const big = Buffer.alloc(64 * 1024, 1);
    for (let i = 0; i < 100 && server.stats().eventsDropped === 0; i++) server.publish('frame', big);
    const { eventsDelivered, eventsDropped } = server.stats();
    expect(eventsDropped).toBeGreaterThan(0);
    raw.resume();
    await expect.poll(() => messages.length - 2, { timeout: 5000 }).toBe(eventsDelivered);
    expect(messages.slice(2).every((m) => m.dropped === undefined)).toBe(true);
    expect(server.publish('frame', 'after')).toBe(1);
    await expect.poll(() => messages.length - 2).toBe(eventsDelivered + 1);
    expect(messages.at(-1)).toEqual({ t: 'evt', topic: 'frame', payload: 'after', dropped: eventsDropped });
    raw.close();
  });

  it('rethrows a handler error on the client as ControlRemoteError with its name and context', async () => {
    const server = await startServer();
    server.handle('link', () => {
      throw new LinkFaultError('QMP set_link failed', { netdev: 'n0', command: 'set_link' }, { cause: new Error('socket closed') });
    });
    const client = await connect();
    const err = await rejection(client.call('link', { up: false }));
    expect(err).toBeInstanceOf(ControlRemoteError);
    const remote = err as ControlRemoteError;
    expect(remote.remoteName).toBe('LinkFaultError');
    expect(remote.message).toBe('QMP set_link failed');
    expect(remote.method).toBe('link');
    expect(remote.context).toMatchObject({ netdev: 'n0', command: 'set_link', cause: { name: 'Error', message: 'socket closed' } });
    expect(remote.remoteStack).toContain('LinkFaultError');
  });

  it('answers an unknown method with a typed error that lists the methods it has', async () => {
    const server = await startServer();
    server.handle('stats', () => ({}));
    const client = await connect();
    const err = (await rejection(client.call('reboot'))) as ControlRemoteError;
    expect(err).toBeInstanceOf(ControlRemoteError);
    expect(err.remoteName).toBe('ControlUnknownMethodError');
    expect(err.context).toEqual({ method: 'reboot', available: ['stats'] });
  });

  it('answers params its validator refuses with ControlInvalidParamsError, without calling the handler', async () => {
    const server = await startServer();
    let called = false;
    server.handle(
      'send',
      () => {
        called = true;
      },
      {
        validate: (p) => {
          if (typeof (p as { size?: unknown })?.size !== 'number') throw new Error('size must be a number');
          return p;
        },
      },
    );
    const client = await connect();
    const err = (await rejection(client.call('send', { size: 'big' }))) as ControlRemoteError;
    expect(err.remoteName).toBe('ControlInvalidParamsError');
    expect(err.message).toContain('size must be a number');
    expect(called).toBe(false);
  });

  it('times out a call the host does not answer, and ignores the late reply', async () => {
    const server = await startServer();
    let release!: () => void;
    server.handle('slow', () => new Promise<string>((resolve) => (release = () => resolve('late'))));
    server.handle('fast', () => 'fast');
    const client = await connect();
    const err = await rejection(client.call('slow', undefined, { timeoutMs: 50 }));
    expect(err).toBeInstanceOf(ControlTimeoutError);
    expect((err as ControlTimeoutError).context).toMatchObject({ method: 'slow', timeoutMs: 50 });
    release();
    expect(await client.call('fast')).toBe('fast');
  });

  it('survives malformed messages: error replies, then normal service', async () => {
    const server = await startServer();
    server.handle('ping', () => 'pong');
    const raw = await connectIpc(socketPath);
    const replies: unknown[] = [];
    raw.onFrame = (payload) => replies.push(decodeHostMessage(payload));
    raw.send(Buffer.from([0xc1, 0xff, 0x00])); // not msgpack
    raw.send(encodeMessage({ t: 'req', id: 5, method: '' as string, params: null })); // empty method
    raw.send(encodeMessage({ t: 'req', id: 6, method: 'ping', params: null })); // before hello
    raw.send(encodeMessage({ t: 'req', id: 7, method: 'hello', params: { protocol: PROTOCOL_VERSION } }));
    raw.send(encodeMessage({ t: 'req', id: 8, method: 'ping', params: null }));
    await expect.poll(() => replies.length).toBe(5);
    raw.close();
    expect(replies).toMatchObject([
      { t: 'res', id: null, ok: false, error: { name: 'ControlProtocolError', context: { reason: 'undecodable' } } },
      { t: 'res', id: 5, ok: false, error: { name: 'ControlProtocolError', context: { reason: 'bad method' } } },
      { t: 'res', id: 6, ok: false, error: { name: 'ControlProtocolError', context: { reason: 'no hello' } } },
      { t: 'res', id: 7, ok: true, result: { protocol: PROTOCOL_VERSION } },
      { t: 'res', id: 8, ok: true, result: 'pong' },
    ]);
    const client = await connect();
    expect(await client.call('ping')).toBe('pong');
  });

  it('closes a connection that sends an oversized frame and keeps serving others', async () => {
    const server = await startServer({ maxFrameBytes: 1024 });
    server.handle('ping', () => 'pong');
    const raw = await connectIpc(socketPath);
    const replies: unknown[] = [];
    let closed = false;
    raw.onFrame = (payload) => replies.push(decodeHostMessage(payload));
    raw.onClose = () => (closed = true);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(4096);
    raw.send(Buffer.alloc(0)); // a valid empty frame first: undecodable, answered
    (raw as unknown as { write: (b: Buffer) => void }).write(header);
    await expect.poll(() => closed).toBe(true);
    expect(replies).toMatchObject([
      { ok: false, error: { context: { reason: 'undecodable' } } },
      { ok: false, error: { name: 'ControlProtocolError', context: { reason: 'frame too large', length: 4096 } } },
    ]);
    const client = await connect();
    expect(await client.call('ping')).toBe('pong');
  });

  it('refuses a client speaking another protocol version with a clear error', async () => {
    await startServer();
    const raw = await connectIpc(socketPath);
    const replies: unknown[] = [];
    raw.onFrame = (payload) => replies.push(decodeHostMessage(payload));
    raw.send(encodeMessage({ t: 'req', id: 1, method: 'hello', params: { protocol: PROTOCOL_VERSION + 1 } }));
    await expect.poll(() => replies.length).toBe(1);
    raw.close();
    expect(replies[0]).toMatchObject({
      ok: false,
      error: { name: 'ControlVersionMismatchError', context: { clientProtocol: PROTOCOL_VERSION + 1, hostProtocol: PROTOCOL_VERSION, hostPid: process.pid } },
    });
  });

  it('rejects pending calls with ControlClosedError when the host stops', async () => {
    const server = await startServer();
    let entered!: () => void;
    const handling = new Promise<void>((resolve) => {
      entered = resolve;
    });
    server.handle('hang', () => {
      entered();
      return new Promise(() => {});
    });
    const client = await connect();
    const closed = new Promise<Error | undefined>((resolve) => client.once('close', resolve));
    const pending = client.call('hang');
    await handling;
    await server.stop();
    expect(await rejection(pending)).toBeInstanceOf(ControlClosedError);
    await closed;
    expect(await rejection(client.call('hang'))).toBeInstanceOf(ControlClosedError);
  });

  it('listens on a socket only its owner can use, and removes it when stopped', async () => {
    const server = await startServer();
    await connect();
    expect(fs.lstatSync(socketPath).isSocket()).toBe(true);
    expect(fs.statSync(socketPath).mode & 0o777).toBe(0o600);
    await server.stop();
    expect(fs.existsSync(socketPath)).toBe(false);
  });

  it('refuses to start a second server on a socket a live server answers on', async () => {
    const first = await startServer();
    first.handle('ping', () => 'first');
    const err = await rejection(new ControlServer({ socketPath }).start());
    expect(err).toBeInstanceOf(ControlSocketInUseError);
    const client = await connect();
    expect(await client.call('ping')).toBe('first');
  });

  it('takes over a stale socket left by a host killed with SIGKILL', async () => {
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => console.log('up'))`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(fs.lstatSync(socketPath).isSocket()).toBe(true);
    expect(await rejection(ControlClient.connect({ socketPath }))).toBeInstanceOf(ControlNotRunningError);

    const server = await startServer();
    server.handle('ping', () => 'new host');
    const client = await connect();
    expect(await client.call('ping')).toBe('new host');
  });

  it('tells the user how to start a host when nobody listens', async () => {
    const err = await rejection(ControlClient.connect({ socketPath }));
    expect(err).toBeInstanceOf(ControlNotRunningError);
    expect(err.message).toBe(`no dirql host is listening at ${socketPath}; start one with \`npm start -- --hold --control\``);
    expect((err as ControlNotRunningError).context).toMatchObject({ socketPath, code: 'ENOENT' });
  });
});

describe('control server hardening', () => {
  /** A raw connection that records what the host sends and whether it closed. */
  async function rawClient(): Promise<{ raw: Awaited<ReturnType<typeof connectIpc>>; replies: unknown[]; closed: () => boolean }> {
    const raw = await connectIpc(socketPath);
    const replies: unknown[] = [];
    let closed = false;
    raw.onFrame = (payload) => replies.push(decodeHostMessage(payload));
    raw.onClose = () => (closed = true);
    return { raw, replies, closed: () => closed };
  }

  it('refuses a subscription to a topic the host does not publish, naming those it does; hello lists them', async () => {
    await startServer({ topics: ['link', 'stats'] });
    const client = await connect();
    expect(client.hello.topics).toEqual(['link', 'stats']);
    const err = await rejection(client.subscribe('frame', () => undefined));
    expect(err).toBeInstanceOf(ControlRemoteError);
    expect(err).toMatchObject({ remoteName: 'ControlInvalidParamsError', context: { topic: 'frame', available: ['link', 'stats'] } });
  });

  it('publish to a topic the server does not offer is a programming error', async () => {
    const server = await startServer({ topics: ['link'] });
    expect(() => server.publish('frame', 1)).toThrow(/"frame" is not a topic/);
  });

  it('closes a connection that does not say hello in time, telling it why', async () => {
    const server = await startServer({ helloTimeoutMs: 100 });
    const { replies, closed } = await rawClient();
    await expect.poll(closed, { timeout: 3000 }).toBe(true);
    expect(replies).toMatchObject([{ ok: false, id: null, error: { name: 'ControlProtocolError', message: /no hello within 100 ms/ } }]);
    expect(server.stats().connectionsTimedOut).toBe(1);
  });

  it('connections that never say hello cannot lock the CLI out: the oldest are shed for new ones', async () => {
    const server = await startServer({ maxPendingHello: 4, helloTimeoutMs: 60_000 });
    server.handle('ping', () => 'pong');
    const idle = await Promise.all(Array.from({ length: 12 }, () => rawClient()));
    await expect.poll(() => idle.filter((c) => c.closed()).length, { timeout: 3000 }).toBeGreaterThanOrEqual(8);
    const client = await connect();
    expect(await client.call('ping')).toBe('pong');
    expect(server.stats().connectionsShed).toBeGreaterThanOrEqual(9);
    for (const c of idle) c.raw.close();
  });

  it('drops a connection whose message stays half-sent, and keeps serving others', async () => {
    const server = await startServer({ partialFrameTimeoutMs: 100 });
    server.handle('ping', () => 'pong');
    const { raw, replies, closed } = await rawClient();
    raw.send(encodeMessage({ t: 'req', id: 1, method: 'hello', params: { protocol: PROTOCOL_VERSION } }));
    await expect.poll(() => replies.length).toBe(1);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(100);
    (raw as unknown as { write: (b: Buffer) => void }).write(Buffer.concat([header, Buffer.alloc(10)]));
    await expect.poll(closed, { timeout: 3000 }).toBe(true);
    expect(replies[1]).toMatchObject({ ok: false, error: { message: /half-sent for 100 ms/ } });
    expect(server.stats().connectionsTimedOut).toBe(1);
    const client = await connect();
    expect(await client.call('ping')).toBe('pong');
  });

  it('closes a client idle past the idle timeout, but not one watching a topic', async () => {
    // The watcher subscribes first: between its hello and its subscribe it is idle too, and on a
    // loaded machine that gap must not reach the timeout.
    const server = await startServer({ idleTimeoutMs: 500 });
    const watcher = await connect();
    await watcher.subscribe('link', () => undefined);
    const idle = await connect();
    const closed = new Promise<void>((resolve) => idle.once('close', () => resolve()));
    await closed;
    expect(server.stats().connectionsTimedOut).toBe(1);
    expect(server.publish('link', { up: true })).toBe(1);
  });
});
