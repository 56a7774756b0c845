/**
 * `dirql peer --control`: the wire peer asks a running host for its wire's ports over the control
 * socket, then sends a verified stream through QEMU's e1000 and the driver (echoed back) and back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePeerArgs, resolveHostPorts } from '../../harness/cli.ts';
import { HarnessConfigError } from '../../harness/errors.ts';
import { runPeerSession, sessionClean } from '../../harness/peer-session.ts';
import type { ControlServer } from '../../src/control/index.ts';
import { startControl } from '../../src/host/control.ts';
import { DriverHost } from '../../src/host/driver-host.ts';
import { startEcho } from '../../src/host/echo.ts';

describe('the wire peer finds the host through its control socket', () => {
  let dir: string;
  let host: DriverHost;
  let control: ControlServer;
  let echo: ReturnType<typeof startEcho>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dirql-peer-control-'));
    host = await DriverHost.start({ bugCheckDir: join(dir, 'crash') });
    echo = startEcho(host);
    control = await startControl(host, { socketPath: join(dir, 'host.sock') });
  });

  afterAll(async () => {
    echo?.stop();
    await control?.stop();
    await host?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--control SOCKET fills in both ports from the host, and a stream goes through the driver and back clean', async () => {
    const opts = await resolveHostPorts(parsePeerArgs(['--control', control.socketPath, '--send', '500', '--size', 'mixed', '--window', '64']));
    expect(opts.qemuPort).toBe(host.machine.wire.qemuPort);
    expect(opts.port).toBe(host.machine.wire.peerPort);
    const { json: _j, help: _h, control: _c, ...session } = opts;
    const report = await runPeerSession(session);
    expect(report).toMatchObject({ generated: 500, received: { ok: 500, lost: 0 } });
    expect(sessionClean(report)).toBe(true);
    expect(echo.echoed).toBeGreaterThanOrEqual(500);
  });

  it('a socket no host answers on is a config error naming --control and how to start a host', async () => {
    await expect(resolveHostPorts(parsePeerArgs(['--control', join(dir, 'nobody.sock')]))).rejects.toThrow(HarnessConfigError);
    await expect(resolveHostPorts(parsePeerArgs(['--control', join(dir, 'nobody.sock')]))).rejects.toThrow(/--control: no host answers.*dirql up --hold --control/);
  });
});
