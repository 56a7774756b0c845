import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QmpClient, type QmpEvent } from '../../../src/transport/qmp-client.ts';
import { QmpDisconnectedError, QmpError, QmpProtocolError, QmpTimeoutError } from '../../../src/transport/qmp-errors.ts';
import { waitUntil } from '../../support/wait.ts';

const GREETING = { QMP: { version: { qemu: { major: 7, minor: 2, micro: 22 }, package: 'test' }, capabilities: ['oob'] } };

/** A scripted QMP server on a unix socket: `reply` decides what goes back for each parsed command. */
class FakeQmp {
  readonly received: Array<Record<string, unknown>> = [];
  server: net.Server;
  peer: net.Socket | undefined;
  reply: (cmd: Record<string, unknown>, sock: net.Socket) => void = (cmd, sock) => sock.write(JSON.stringify({ return: {}, id: cmd.id }) + '\r\n');

  constructor(
    readonly socketPath: string,
    private readonly greeting: string | null = JSON.stringify(GREETING) + '\r\n',
  ) {
    this.server = net.createServer((sock) => {
      this.peer = sock;
      if (this.greeting) sock.write(this.greeting);
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const cmd = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
          buf = buf.slice(nl + 1);
          this.received.push(cmd);
          this.reply(cmd, sock);
        }
      });
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.socketPath, resolve));
  }

  close(): Promise<void> {
    this.peer?.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function connectTo(p: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(p, () => resolve(s));
    s.once('error', reject);
  });
}

describe('QmpClient framing', () => {
  let dir: string;
  let fake: FakeQmp;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qmp-test-'));
    fake = new FakeQmp(path.join(dir, 'qmp.sock'));
    await fake.listen();
  });
  afterEach(async () => {
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads the greeting and negotiates qmp_capabilities before resolving', async () => {
    const qmp = await QmpClient.connect(await connectTo(fake.socketPath));
    expect(qmp.greeting.version.qemu).toEqual({ major: 7, minor: 2, micro: 22 });
    expect(fake.received).toHaveLength(1);
    expect(fake.received[0]!.execute).toBe('qmp_capabilities');
    qmp.close();
  });

  it('matches replies to commands by id even when they come back out of order', async () => {
    const held: Array<Record<string, unknown>> = [];
    const qmp = await QmpClient.connect(await connectTo(fake.socketPath));
    fake.reply = (cmd, sock) => {
      held.push(cmd);
      if (held.length === 2) {
        for (const c of held.reverse()) {
          sock.write(JSON.stringify({ return: { echo: (c.arguments as { path: string }).path }, id: c.id }) + '\r\n');
        }
      }
    };
    const a = qmp.execute('qom-get', { path: '/a', property: 'x' });
    const b = qmp.execute('qom-get', { path: '/b', property: 'x' });
    expect(await a).toEqual({ echo: '/a' });
    expect(await b).toEqual({ echo: '/b' });
    qmp.close();
  });

  it('sends arguments and returns the typed result of the command', async () => {
    const qmp = await QmpClient.connect(await connectTo(fake.socketPath));
    fake.reply = (cmd, sock) => sock.write(JSON.stringify({ return: { status: 'running', running: true }, id: cmd.id }) + '\r\n');
    const status = await qmp.execute('query-status');
    expect(status.running).toBe(true);
    await qmp.execute('set_link', { name: 'nic0', up: false });
    expect(fake.received.at(-1)).toMatchObject({ execute: 'set_link', arguments: { name: 'nic0', up: false } });
    qmp.close();
  });

  it('rejects with QmpError naming the command and the error class', async () => {
    const qmp = await QmpClient.connect(await connectTo(fake.socketPath));
    fake.reply = (cmd, sock) => sock.write(JSON.stringify({ error: { class: 'DeviceNotFound', desc: "Device 'x' not found" }, id: cmd.id }) + '\n');
    const err = await qmp.execute('device_del', { id: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpError);
    expect((err as QmpError).context.command).toBe('device_del');
    expect((err as QmpError).errorClass).toBe('DeviceNotFound');
    expect((err as QmpError).message).toContain("Device 'x' not found");
    qmp.close();
  });

  it('emits events that arrive between a command and its reply, split across packets', async () => {
    const qmp = await QmpClient.connect(await connectTo(fake.socketPath));
    const events: QmpEvent[] = [];
    qmp.on('event', (e) => events.push(e));
    fake.reply = (cmd, sock) => {
      const ev = JSON.stringify({ event: 'RESET', data: { guest: false }, timestamp: { seconds: 1, microseconds: 2 } }) + '\r\n';
      const rep = JSON.stringify({ return: {}, id: cmd.id }) + '\r\n';
      const all = ev + rep;
      sock.write(all.slice(0, 17));
      // Not an absence check: the gap makes the rest arrive as a packet of its own.
      setTimeout(() => sock.write(all.slice(17)), 5);
    };
    const reset = qmp.waitForEvent('RESET');
    await qmp.execute('system_reset');
    expect((await reset).data).toEqual({ guest: false });
    expect(events.map((e) => e.event)).toEqual(['RESET']);
    qmp.close();
  });

  it('rejects every pending command with QmpDisconnectedError when the socket closes', async () => {
    const qmp = await QmpClient.connect(await connectTo(fake.socketPath));
    let received = 0;
    fake.reply = () => {
      received++;
    };
    const a = qmp.execute('query-status').catch((e: unknown) => e);
    const b = qmp.execute('system_reset').catch((e: unknown) => e);
    await waitUntil('both commands at the server', () => received === 2);
    fake.peer!.destroy();
    const [ea, eb] = await Promise.all([a, b]);
    expect(ea).toBeInstanceOf(QmpDisconnectedError);
    expect((ea as QmpDisconnectedError).context.command).toBe('query-status');
    expect(eb).toBeInstanceOf(QmpDisconnectedError);
    expect((eb as QmpDisconnectedError).context.command).toBe('system_reset');
    expect(qmp.closed).toBe(true);
    await expect(qmp.execute('query-status')).rejects.toBeInstanceOf(QmpDisconnectedError);
  });

  it('closes with QmpProtocolError on a line that is not JSON', async () => {
    const qmp = await QmpClient.connect(await connectTo(fake.socketPath));
    fake.reply = (_cmd, sock) => sock.write('this is not json\n');
    await expect(qmp.execute('query-status')).rejects.toBeInstanceOf(QmpProtocolError);
    expect(qmp.closed).toBe(true);
  });

  it('times out a command that gets no reply', async () => {
    const qmp = await QmpClient.connect(await connectTo(fake.socketPath), { commandTimeoutMs: 50 });
    fake.reply = () => undefined;
    await expect(qmp.execute('query-status')).rejects.toBeInstanceOf(QmpTimeoutError);
    qmp.close();
  });
});

describe('QmpClient without a greeting', () => {
  it('rejects connect with QmpTimeoutError when no greeting arrives', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qmp-test-'));
    const fake = new FakeQmp(path.join(dir, 'qmp.sock'), null);
    await fake.listen();
    try {
      await expect(QmpClient.connect(await connectTo(fake.socketPath), { greetingTimeoutMs: 50 })).rejects.toBeInstanceOf(QmpTimeoutError);
    } finally {
      await fake.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
