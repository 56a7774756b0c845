/**
 * Attach mode without containers: a launcher runs QEMU (qemu/launcher.ts), a host started with
 * `dirql up --attach DIR` drives it and echoes a verified stream, is SIGKILLed, and a second host
 * attaches to the fresh QEMU the launcher started and passes frames again. Once the launcher stops
 * nothing of it is left: no QEMU, no socket, no RAM file.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPeerSession, sessionClean } from '../../harness/peer-session.ts';
import type { QemuOffer } from '../../qemu/attach-protocol.ts';
import { QemuLauncher } from '../../qemu/launcher.ts';
import { DriverHost } from '../../src/host/driver-host.ts';
import { startEcho } from '../../src/host/echo.ts';
import { AttachError } from '../../src/platform/errors.ts';
import { qemuPids, shmFilesOf } from './support/leftovers.ts';

const ROOT = join(import.meta.dirname, '../..');

/** Resolves with the first stdout line matching `pattern` (rejects if the process ends first). */
function lineFrom(child: ResultPromise, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const line = buffered.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) {
        child.stdout?.off('data', onData);
        resolve(line);
      }
    };
    child.stdout?.on('data', onData);
    void child.then((r) => reject(new Error(`the host ended before ${pattern}: exit ${r.exitCode}; ${String(r.stderr ?? '').slice(-500)}`)));
  });
}

function nextOffer(launcher: QemuLauncher): Promise<QemuOffer> {
  return new Promise((resolve) => launcher.once('ready', resolve));
}

async function streamThrough(offer: QemuOffer, frames: number): Promise<void> {
  if (offer.netdev.kind !== 'dgram') throw new Error('the launcher runs a dgram wire');
  const report = await runPeerSession({ qemuPort: offer.netdev.qemuPort, port: offer.netdev.peerPort, send: frames, size: 'mixed', window: 64 });
  expect(report).toMatchObject({ generated: frames, received: { ok: frames, lost: 0 } });
  expect(sessionClean(report)).toBe(true);
}

describe('a host attaches to a QEMU it did not start', () => {
  let dir: string;
  let work: string;
  let launcher: QemuLauncher;
  let shmBefore: string[];

  beforeAll(async () => {
    shmBefore = readdirSync('/dev/shm');
    work = mkdtempSync(join(tmpdir(), 'dirql-attach-'));
    dir = join(work, 'qemu');
    launcher = await QemuLauncher.start({ dir, nic: { model: 'e1000', properties: { mitigation: true } } });
  });

  afterAll(async () => {
    await launcher?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('passes frames, survives a SIGKILLed host with a fresh QEMU, passes frames for the next host, and leaves nothing behind', async () => {
    const first = launcher.offer!;
    expect(existsSync(join(dir, 'qemu.json'))).toBe(true);
    const firstQemu = launcher.qemuPid!;
    const readyFile = join(work, 'health', 'ready');

    const child = execa('node', ['bin/dirql.mjs', 'up', '--hold', '--echo', '--attach', dir, '--ready-file', readyFile], {
      cwd: ROOT,
      reject: false,
      env: { DIRQL_LOG: 'warn' },
    });
    const attached = new Promise((resolve) => launcher.once('attached', resolve));
    await lineFrom(child, /holding/);
    await attached;
    // Held: the ready file is the healthcheck's, and the launcher's ready file is gone (the QEMU is taken).
    expect(existsSync(readyFile)).toBe(true);
    expect(existsSync(join(dir, 'qemu.json'))).toBe(false);
    await streamThrough(first, 1000);

    const fresh = nextOffer(launcher);
    child.kill('SIGKILL');
    await child;
    const second = await fresh;
    expect(second.generation).toBe(first.generation + 1);
    expect(qemuPids()).not.toContain(firstQemu);
    expect(existsSync(join(dir, first.ramFile))).toBe(false);

    const host = await DriverHost.start({ attach: dir, bugCheckDir: join(work, 'crash') });
    const echo = startEcho(host);
    try {
      expect(host.machine.stub.dir).toBe(dir);
      expect(host.machine.wire).toEqual({
        qemuPort: second.netdev.kind === 'dgram' ? second.netdev.qemuPort : 0,
        peerPort: second.netdev.kind === 'dgram' ? second.netdev.peerPort : 0,
      });
      await streamThrough(second, 1000);
    } finally {
      echo.stop();
      const third = nextOffer(launcher);
      await host.stop();
      // A host that stops cleanly gets the same treatment: its QEMU goes, a fresh one waits.
      expect((await third).generation).toBe(second.generation + 1);
    }

    const lastQemu = launcher.qemuPid!;
    await launcher.stop();
    expect(qemuPids()).not.toContain(lastQemu);
    expect(readdirSync(dir)).toEqual([]);
    // Only this process's RAM files (the launcher's): another test file may be running a QEMU of its own meanwhile.
    expect(shmFilesOf(process.pid).filter((n) => !shmBefore.includes(n))).toEqual([]);
  });

  it('attaching where no launcher runs is an AttachError naming the directory and how to start one', async () => {
    const empty = join(work, 'nobody');
    const err = await DriverHost.start({ attach: empty }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AttachError);
    expect((err as AttachError).message).toContain(empty);
    expect((err as AttachError).message).toMatch(/dirql qemu --listen/);
  });
});
