import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src/control/cli.ts';
import { DIRQL_BIN, dirql } from '../../support/dirql-cli.ts';
import { qemuPids } from '../support/leftovers.ts';

// Outputs of these hosts (device-lost reports) go to a directory of the test's own, never the repo.
const cwd = mkdtempSync(join(tmpdir(), 'dirql-up-live-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** A held `dirql up` off a terminal, its output read as it comes; `until` waits for a pattern on a stream. */
function heldUp(args: string[], env: Record<string, string> = {}) {
  const child: ResultPromise = execa(process.execPath, [DIRQL_BIN, 'up', '--hold', ...args], { cwd, reject: false, timeout: 60_000, env: { DIRQL_LOG: 'silent', ...env } });
  const text = { stdout: '', stderr: '' };
  const waiters: Array<() => void> = [];
  for (const name of ['stdout', 'stderr'] as const) {
    child[name]!.on('data', (d: Buffer) => {
      text[name] += d.toString();
      for (const w of waiters.splice(0)) w();
    });
  }
  const until = (name: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(text[name]);
        if (m) return resolve(m);
        if (child.exitCode !== null) return reject(new Error(`dirql up exited (${child.exitCode}) before ${pattern}:\n${text.stdout}\n${text.stderr}`));
        waiters.push(check);
      };
      void child.once('exit', () => waiters.splice(0).forEach((w) => w()));
      check();
    });
  return { child, text, until };
}

describe('dirql up, held (real QEMU)', () => {
  it('--status prints plain status lines; ctl remove surprise-removes the NIC, one line says so, the host stays up; Ctrl-C prints the counters; the --record file replays the removal', async () => {
    const file = join(cwd, 'removal.rec');
    const up = heldUp(['--control', '--status', '--no-responder', '--record', file]);
    const socket = (await up.until('stdout', /^dirql: control socket (\S+)/m))[1]!;
    await up.until('stderr', /^link up {2}rx \d+\/s {2}tx \d+\/s {2}ISR \d+\/s {2}DPC \d+\/s {2}drops 0$/m);

    const out: string[] = [];
    const err: string[] = [];
    expect(await runCli(['--socket', socket, 'remove'], { out: (t) => out.push(t), err: (t) => err.push(t) }), err.join('\n')).toBe(0);
    expect(out.join('\n')).toContain('handler: MiniportDevicePnPEventNotify');
    const removed = await up.until('stderr', /^dirql: NIC (\S+) surprise-removed: the driver ran (.*); the host stays up/m);
    expect(removed[2]).toMatch(/^MiniportDevicePnPEventNotify \(PASSIVE_LEVEL\), MiniportPause \(PASSIVE_LEVEL\), MiniportHaltEx \(PASSIVE_LEVEL\)/);
    // Still up and answering: the status record shows the removal, the status line too.
    const status: string[] = [];
    expect(await runCli(['--socket', socket, '--json', 'status'], { out: (t) => status.push(t), err: () => {} })).toBe(0);
    expect((JSON.parse(status.join('\n')) as { status: { surpriseRemoved: { bdf: string } } }).status.surpriseRemoved.bdf).toBe(removed[1]);
    await up.until('stderr', /NIC surprise-removed$/m);

    up.child.kill('SIGINT');
    const r = await up.child;
    expect(r.exitCode, up.text.stderr).toBe(0);
    expect(up.text.stderr).toMatch(/^dirql: counters at exit\n {2}frames: \d+ received .*\n {2}calls: ISRs \d+, DPCs \d+.*\n {2}drops: 0; the NIC was surprise-removed at /m);
    // Off a terminal: no escape codes.
    expect(up.text.stderr).not.toContain('\x1b');

    // REPLAY, no QEMU: the status reads and the removal come again where they did.
    const replayed = await dirql(['replay', file]);
    expect(replayed.exitCode, replayed.stdout + replayed.stderr).toBe(0);
    expect(replayed.stdout).toMatch(/^REPLAY \(no QEMU\) of .*: SAME/m);
    expect(replayed.stdout).toMatch(
      /^REPLAY surprise removal of \S+: MiniportDevicePnPEventNotify at PASSIVE_LEVEL, MiniportPause at PASSIVE_LEVEL, MiniportHaltEx at PASSIVE_LEVEL$/m,
    );
  });

  it('QEMU killed under it: one device-lost line, no JSON log lines, exit 1, no QEMU left', async () => {
    // The default log level, as a user runs it.
    const up = heldUp([], { DIRQL_LOG: 'warn' });
    const qemuPid = Number((await up.until('stdout', /QEMU pid (\d+)/))[1]);
    await up.until('stdout', /holding/);
    process.kill(qemuPid, 'SIGKILL');
    const r = await up.child;
    expect(r.exitCode, up.text.stderr).toBe(1);
    const lines = up.text.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('  '));
    expect(lines.filter((l) => l.startsWith('{'))).toEqual([]);
    expect(lines.filter((l) => l.startsWith('dirql: device lost: '))).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^dirql: device lost: QEMU \\(pid ${qemuPid}\\) was killed by SIGKILL.*\\(report: ${cwd}/`));
    expect(qemuPids()).not.toContain(qemuPid);
  });

  it("--netdev user --ip dhcp: the responder answers for the address slirp's DHCP server leased", async () => {
    const up = heldUp(['--netdev', 'user', '--ip', 'dhcp']);
    expect((await up.until('stdout', /^dirql: DHCP lease (\S+) from (\S+), for \d+ s$/m)).slice(1)).toEqual(['10.0.2.15/24', '10.0.2.2']);
    await up.until('stdout', /^dirql: answering ARP and ping for 10\.0\.2\.15\/24 at 52:54:00:12:34:56$/m);
    await up.until('stdout', /holding/);
    up.child.kill('SIGINT');
    expect((await up.child).exitCode, up.text.stderr).toBe(0);
  });
});
