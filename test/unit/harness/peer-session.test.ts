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
import { formatReport, runPeerSession, sessionClean, type PeerSessionReport } from '../../../harness/peer-session.ts';
import { dirql } from '../../support/dirql-cli.ts';

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
      qemuPort: reflectorPort,
      send: 500,
      size: 120,
      window: 32,
      expect: 500,
      idleMs: 100,
      faults: { drop: { every: 10 } },
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

/** Stands in for a host that sends nothing back (no --echo, or a dead wire): it only counts. */
async function blackHole(): Promise<{ port: number; received: () => number; close: () => void }> {
  const socket = dgram.createSocket('udp4');
  let received = 0;
  socket.on('message', () => received++);
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { port: socket.address().port, received: () => received, close: () => socket.close() };
}

describe('the peer as a judge: nothing back is not a pass', () => {
  it('a stream of which nothing came back counts every frame as lost, and the session is not clean', async () => {
    const hole = await blackHole();
    try {
      const report = await runPeerSession({ qemuPort: hole.port, send: 300, size: 100, idleMs: 100 });
      expect(hole.received()).toBe(300);
      expect(report.wire).toMatchObject({ framesSent: 300, framesReceived: 0 });
      expect(report).toMatchObject({ expected: 300, stream: 0, stoppedBy: 'idle' });
      expect(report.received).toMatchObject({ ok: 0, lost: 300 });
      expect(sessionClean(report)).toBe(false);
      expect(formatReport(report)).toMatch(/lost 300/);
    } finally {
      hole.close();
    }
  });

  it('a stream that came back short counts the missing tail; --expect 0 judges a send-only run clean', async () => {
    const hole = await blackHole();
    try {
      const sendOnly = await runPeerSession({ qemuPort: hole.port, send: 50, size: 80, expect: 0, idleMs: 50 });
      expect(sendOnly).toMatchObject({ expected: 0, stoppedBy: 'expect' });
      expect(sendOnly.received.lost).toBe(0);
      expect(sessionClean(sendOnly)).toBe(true);
    } finally {
      hole.close();
    }
    const short = await runPeerSession({ qemuPort: reflectorPort, send: 100, size: 80, window: 16, expect: 120, idleMs: 100 });
    expect(short.received).toMatchObject({ ok: 100, lost: 20 });
    expect(sessionClean(short)).toBe(false);
  });

  it('receive only: --expect N with nothing arriving is N lost', async () => {
    const report = await runPeerSession({ qemuPort: reflectorPort, expect: 40, idleMs: 50 });
    expect(report.wire.framesReceived).toBe(0);
    expect(report.received.lost).toBe(40);
    expect(sessionClean(report)).toBe(false);
  });

  it('the CLI and `dirql peer` exit 1 when nothing came back, printing the loss', async () => {
    const hole = await blackHole();
    try {
      const args = ['--qemu-port', String(hole.port), '--send', '200', '--size', '64', '--idle-ms', '100'];
      const cli = (await run(process.execPath, ['--import', 'tsx', CLI, ...args, '--json']).catch((e: unknown) => e)) as { code: number; stdout: string };
      expect(cli.code).toBe(1);
      expect((JSON.parse(cli.stdout) as PeerSessionReport).received).toMatchObject({ ok: 0, lost: 200 });
      const viaDirql = await dirql(['peer', ...args]);
      expect(viaDirql.exitCode).toBe(1);
      expect(viaDirql.stdout).toMatch(/expected {2}200 frames of stream 0/);
      expect(viaDirql.stdout).toMatch(/ok 0 {2}lost 200/);
    } finally {
      hole.close();
    }
  });
});

describe('harness CLI', () => {
  it('parses flags into session options', () => {
    expect(
      parsePeerArgs(['--qemu-port', '5000', '--port', '5001', '--send', '10', '--size', '60-200', '--pcap', 'x.pcap', '--drop-every', '3', '--fault-seed', '9']),
    ).toMatchObject({
      qemuPort: 5000,
      port: 5001,
      send: 10,
      size: { min: 60, max: 200 },
      pcap: 'x.pcap',
      faults: { drop: { every: 3 }, seed: 9 },
      json: false,
    });
    expect(parsePeerArgs(['--qemu-port', '1', '--size', 'mixed']).size).toBe('mixed');
    expect(parsePeerArgs(['--qemu-port', '1', '--size', '1514']).size).toBe(1514);
  });

  it('takes --control with a socket or alone (the default socket), never beside --qemu-port', () => {
    expect(parsePeerArgs(['--control', '/tmp/x.sock', '--send', '3'])).toMatchObject({ control: '/tmp/x.sock', send: 3 });
    expect(parsePeerArgs(['--control'])).toMatchObject({ control: '' });
    expect(parsePeerArgs(['--control', '--send', '3'])).toMatchObject({ control: '', send: 3 });
    expect(() => parsePeerArgs(['--control', '--qemu-port', '5000'])).toThrow(/exclude each other/);
  });

  it('rejects a missing or invalid --qemu-port and a bad probability', () => {
    expect(() => parsePeerArgs(['--send', '3'])).toThrow(HarnessConfigError);
    expect(() => parsePeerArgs(['--qemu-port', '70000'])).toThrow(HarnessConfigError);
    expect(() => parsePeerArgs(['--qemu-port', '1', '--drop-p', '2'])).toThrow(HarnessConfigError);
    expect(() => parsePeerArgs(['--qemu-port', '1', '--bogus'])).toThrow(TypeError);
  });

  it('runs as a process against a live peer, prints JSON counters and exits 0 when clean', async () => {
    const { stdout } = await run(process.execPath, [
      '--import',
      'tsx',
      CLI,
      '--qemu-port',
      String(reflectorPort),
      '--send',
      '300',
      '--size',
      '100',
      '--window',
      '32',
      '--expect',
      '300',
      '--json',
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
    expect(err.stderr).toContain('--qemu-port (or --control) is required');
  });
});
