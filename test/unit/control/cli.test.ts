import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../src/control/cli.ts';
import { ControlServer } from '../../../src/control/server.ts';
import { DirqlError } from '../../../src/util/errors.ts';

class QmpCommandError extends DirqlError {}

let dir: string;
let socketPath: string;
let server: ControlServer;

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['--socket', socketPath, ...argv], { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirql-ctl-cli-'));
  socketPath = path.join(dir, 'host.sock');
  server = new ControlServer({ socketPath, driver: 'e1000', topics: ['link', 'frame'] });
  await server.start();
});

afterEach(async () => {
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('dirqlctl', () => {
  it('status prints the handshake and the host status record', async () => {
    server.handle('status', () => ({ link: 'up', mac: '52:54:00:12:34:56' }));
    const { code, out } = await run('status');
    expect(code).toBe(0);
    expect(out).toContain(`pid:      ${process.pid}`);
    expect(out).toContain('driver:   e1000');
    expect(out).toMatch(/status:\n {2}link: up\n {2}mac: {2}52:54:00:12:34:56/);
  });

  it('link down and send pass their params to the host methods', async () => {
    const calls: unknown[] = [];
    server.handle('link', (p) => (calls.push(['link', p]), { ok: true }));
    server.handle('send', (p) => (calls.push(['send', p]), { sent: 3 }));
    expect((await run('link', 'down')).code).toBe(0);
    const sent = await run('send', '--size', '64', '--count', '3');
    expect(sent).toMatchObject({ code: 0, out: 'sent: 3' });
    expect(calls).toEqual([
      ['link', { up: false }],
      ['send', { size: 64, count: 3 }],
    ]);
  });

  it('prints a host error with its class, message and context, and exits 1', async () => {
    server.handle('link', () => {
      throw new QmpCommandError('set_link failed', { command: 'set_link' });
    });
    const { code, err } = await run('link', 'up');
    expect(code).toBe(1);
    expect(err).toBe('dirqlctl: link: QmpCommandError: set_link failed\n  command: set_link');
  });

  it('names the methods the host has when asked for one it lacks', async () => {
    server.handle('status', () => ({}));
    const { code, err } = await run('stats');
    expect(code).toBe(1);
    expect(err).toContain('ControlUnknownMethodError: the host has no control method "stats"');
    expect(err).toContain('available: [status]');
  });

  it('watch prints events of its topic until it has seen --count of them', async () => {
    const watching = run('watch', 'frame', '--count', '2');
    await expect.poll(() => server.publish('frame', { dir: 'tx', data: Buffer.from([0xde, 0xad]) }), { interval: 5 }).toBe(1);
    server.publish('frame', { dir: 'rx', data: Buffer.from([0xbe, 0xef]) });
    const { code, out, err } = await watching;
    expect(code).toBe(0);
    expect(err).not.toContain('closed');
    const lines = out.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} frame \{dir: "tx", data: <2 bytes: de ad>\}$/);
    expect(lines[1]).toMatch(/frame \{dir: "rx", data: <2 bytes: be ef>\}$/);
  });

  it('watch of a topic the host does not publish exits 1 naming the topics it has', async () => {
    const { code, err } = await run('watch', 'nonsense');
    expect(code).toBe(1);
    expect(err).toContain('the host publishes no topic "nonsense"');
    expect(err).toContain('available: [frame, link]');
  });

  it('watch ends with status 4 (connection lost) when the host goes away', async () => {
    const watching = run('watch', 'link');
    await expect.poll(() => server.publish('link', { up: true }), { interval: 5 }).toBe(1);
    await server.stop();
    const { code, out, err } = await watching;
    expect(code).toBe(4);
    expect(out).toContain('link {up: true}');
    expect(err).toContain('the host closed the control connection');
  });

  it('ping times the requested number of round trips', async () => {
    const { code, out } = await run('--json', 'ping', '--count', '20');
    expect(code).toBe(0);
    const result = JSON.parse(out);
    expect(result.calls).toBe(20);
    expect(result.minUs).toBeGreaterThan(0);
    expect(result.minUs).toBeLessThanOrEqual(result.medianUs);
    expect(result.medianUs).toBeLessThanOrEqual(result.maxUs);
    expect(server.stats().requests).toBe(21); // the handshake plus 20 pings
  });

  it('stats starts with a summary line before the detail; --json has none', async () => {
    const ring = (n: number) => ({ enqueued: n, dequeued: n });
    server.handle('stats', () => ({ framework: 'ndis6', rings: { rx: ring(5), tx: ring(2) }, calls: { isr: 0, dpc: 1, dpcWithoutIsr: 1 }, receiveDrops: { total: 0 } }));
    const { code, out } = await run('stats');
    expect(code).toBe(0);
    expect(out.split('\n')[0]).toContain('summary: ndis6  rx 5  tx 2  ISRs 0  DPCs 1 (1 queued by the driver itself, not by an ISR');
    expect(out).toContain('framework:');
    expect(JSON.parse((await run('--json', 'stats')).out)).toMatchObject({ framework: 'ndis6' });
  });

  it('remove calls surprise-remove and prints what the driver ran', async () => {
    server.handle('surprise-remove', () => ({ bdf: '00:02.0', callbacks: [{ handler: 'MiniportHaltEx(NdisHaltDeviceSurpriseRemoved)', irql: 'PASSIVE_LEVEL' }] }));
    const { code, out } = await run('remove');
    expect(code).toBe(0);
    expect(out).toContain('MiniportHaltEx(NdisHaltDeviceSurpriseRemoved)');
    expect((await run('surprise-remove')).code).toBe(0);
  });

  it('--json prints machine-readable output', async () => {
    server.handle('stats', () => ({ frames: 10n, last: Buffer.from([1, 2]) }));
    const { out } = await run('--json', 'stats');
    expect(JSON.parse(out)).toEqual({ frames: 10, last: '0102' });
  });

  it('exits 3 with the start hint when no host listens', async () => {
    await server.stop();
    const { code, err } = await run('status');
    expect(code).toBe(3);
    expect(err).toBe(`dirqlctl: no dirql host is listening at ${socketPath}; start one with \`npm start -- --hold --control\``);
  });

  it('exits 2 on usage errors without contacting the host', async () => {
    expect((await run('link', 'sideways')).code).toBe(2);
    expect((await run('send', '--size', '0', '--count', '1')).code).toBe(2);
    expect((await run('frobnicate')).code).toBe(2);
    expect(server.stats().requests).toBe(0);
  });
});
