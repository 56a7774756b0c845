import * as dgram from 'node:dgram';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePeerArgs } from '../../../harness/cli.ts';
import { HarnessConfigError } from '../../../harness/errors.ts';
import { readPcap } from '../../../harness/pcap.ts';
import { runPeerSession, sessionClean, type PeerSessionReport } from '../../../harness/peer-session.ts';

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '../../../harness/cli.ts');

/** Stands in for a host that sends every frame straight back (a raw socket, not a WirePeer). */
let reflector: dgram.Socket;
let reflectorPort: number;
beforeEach(async () => {
  reflector = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  reflector.on('message', (msg, from) => reflector.send(msg, from.port, from.address));
  await new Promise<void>((r) => reflector.bind(0, '127.0.0.1', () => r()));
  reflectorPort = reflector.address().port;
});
afterEach(() => {
  reflector.close();
});

describe('runPeerSession', () => {
  it('sends a windowed stream and verifies every frame that comes back', async () => {
    const report = await runPeerSession({ qemuPort: reflectorPort, send: 2000, window: 64, expect: 2000, idleMs: 500 });
    expect(report.stoppedBy).toBe('expect');
    expect(report.wire).toMatchObject({ framesSent: 2000, framesReceived: 2000, sendErrors: 0 });
    expect(report.received).toEqual({ ok: 2000, lost: 0, reordered: 0, duplicated: 0, corrupted: 0, foreign: 0 });
    expect(sessionClean(report)).toBe(true);
  });

  it('reports injected drops as lost and is then not clean', async () => {
    const report = await runPeerSession({
      qemuPort: reflectorPort, send: 500, size: 120, window: 32, expect: 500, idleMs: 100, faults: { drop: { every: 10 } },
    });
    expect(report.faults).toMatchObject({ offered: 500, dropped: 50 });
    expect(report.received).toMatchObject({ ok: 450, lost: 50 });
    expect(report.stoppedBy).toBe('idle');
    expect(sessionClean(report)).toBe(false);
  });

  it('writes the session to a pcap file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirql-session-'));
    try {
      const file = path.join(dir, 's.pcap');
      await runPeerSession({ qemuPort: reflectorPort, send: 40, size: 80, window: 8, expect: 40, pcap: file });
      const records = readPcap(file).records;
      expect(records).toHaveLength(80);
      expect(records.every((r) => r.data.length === 80)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops at durationMs when nothing arrives', async () => {
    const report = await runPeerSession({ qemuPort: reflectorPort, durationMs: 50, idleMs: 10_000 });
    expect(report.stoppedBy).toBe('duration');
    expect(report.wire.framesReceived).toBe(0);
  });
});

describe('harness CLI', () => {
  it('parses flags into session options', () => {
    expect(
      parsePeerArgs(['--qemu-port', '5000', '--port', '5001', '--send', '10', '--size', '60-200', '--pcap', 'x.pcap', '--drop-every', '3', '--fault-seed', '9']),
    ).toMatchObject({
      qemuPort: 5000, port: 5001, send: 10, size: { min: 60, max: 200 }, pcap: 'x.pcap', faults: { drop: { every: 3 }, seed: 9 }, json: false,
    });
    expect(parsePeerArgs(['--qemu-port', '1', '--size', 'mixed']).size).toBe('mixed');
    expect(parsePeerArgs(['--qemu-port', '1', '--size', '1514']).size).toBe(1514);
  });

  it('rejects a missing or invalid --qemu-port and a bad probability', () => {
    expect(() => parsePeerArgs(['--send', '3'])).toThrow(HarnessConfigError);
    expect(() => parsePeerArgs(['--qemu-port', '70000'])).toThrow(HarnessConfigError);
    expect(() => parsePeerArgs(['--qemu-port', '1', '--drop-p', '2'])).toThrow(HarnessConfigError);
    expect(() => parsePeerArgs(['--qemu-port', '1', '--bogus'])).toThrow(TypeError);
  });

  it('runs as a process against a live peer, prints JSON counters and exits 0 when clean', async () => {
    const { stdout } = await run(process.execPath, [
      '--import', 'tsx', CLI, '--qemu-port', String(reflectorPort), '--send', '300', '--size', '100', '--window', '32', '--expect', '300', '--json',
    ]);
    const report = JSON.parse(stdout) as PeerSessionReport;
    expect(report.qemuPort).toBe(reflectorPort);
    expect(report.received).toMatchObject({ ok: 300, lost: 0, corrupted: 0 });
  });

  it('exits 2 with usage on a bad command line', async () => {
    const err = (await run(process.execPath, ['--import', 'tsx', CLI, '--send', '1']).catch((e: unknown) => e)) as {
      code: number;
      stderr: string;
    };
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('--qemu-port is required');
  });
});
