import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { QemuBinaryMissingError } from '../../../qemu/errors.ts';
import { DriverHost } from '../../../src/host/driver-host.ts';
import { DIRQL_BIN } from '../../support/dirql-cli.ts';
import { shmFilesOf } from '../support/leftovers.ts';

const root = mkdtempSync(join(tmpdir(), 'dirql-preflight-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** QEMU processes whose command line names `dir` (their sockets live under the TMPDIR given). */
function qemuUnder(dir: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', `qemu.*${dir}`], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
  } catch (err) {
    if ((err as { status?: number }).status === 1) return [];
    throw err;
  }
}

/**
 * `dirql up` in a directory of its own with its own TMPDIR and control directory: whatever it
 * started (QEMU's socket directory, a control socket, a RAM file) would be found there afterwards.
 */
async function upIn(name: string, files: Record<string, string>, env: Record<string, string> = {}) {
  const cwd = join(root, name);
  const tmp = join(cwd, 'tmp');
  const control = join(cwd, 'ctl');
  mkdirSync(tmp, { recursive: true });
  mkdirSync(control, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(cwd, file), text);
  const child = execa(process.execPath, [DIRQL_BIN, 'up', '--hold', '--control'], {
    cwd,
    reject: false,
    timeout: 30_000,
    env: { DIRQL_LOG: 'silent', TMPDIR: tmp, DIRQL_CONTROL_DIR: control, ...env },
  });
  const r = await child;
  // tsx keeps its compile cache there too (tsx-<uid>); QEMU's socket directories are dirql-*.
  expect(readdirSync(tmp).filter((n) => n.startsWith('dirql-'))).toEqual([]);
  expect(readdirSync(control)).toEqual([]);
  expect(shmFilesOf(child.pid!)).toEqual([]);
  expect(qemuUnder(tmp)).toEqual([]);
  return r;
}

describe('a clear error before anything starts', () => {
  it('DIRQL_QEMU naming a missing file: exit 2, the variable and how to install QEMU, nothing left', async () => {
    const r = await upIn('env', {}, { DIRQL_QEMU: '/nonexistent/qemu-system-x86_64' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      'dirql: no QEMU binary: /nonexistent/qemu-system-x86_64 does not exist or is not executable (named by DIRQL_QEMU); install QEMU (Debian/Ubuntu: apt-get install qemu-system-x86; Fedora: dnf install qemu-system-x86; macOS: brew install qemu), or fix DIRQL_QEMU',
    );
    expect(r.stdout).toBe('');
  });

  it("the config key 'qemuBinary' naming a file that is not executable: exit 2 naming the key and the file", async () => {
    const r = await upIn('config', { 'dirql.config.json': JSON.stringify({ qemuBinary: './qemu' }), qemu: 'not a program' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`no QEMU binary: ${join(root, 'config', 'qemu')} does not exist or is not executable (named by the config key 'qemuBinary' in `);
    expect(r.stderr).toContain('apt-get install qemu-system-x86');
    expect(r.stderr).toMatch(/\(see `dirql up --help`\)$/);
  });

  it('a bad config key: exit 2 naming the key, nothing started', async () => {
    const r = await upIn('bad-key', { 'dirql.config.json': JSON.stringify({ processors: 0 }) });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^dirql up: error: .*dirql\.config\.json: 'processors' must be an integer in 1\.\.64 \(got 0\)$/m);
  });

  it('DriverHost.start rejects with QemuBinaryMissingError (binary and where it was named) before QEMU runs', async () => {
    const fake = join(root, 'not-executable');
    writeFileSync(fake, '');
    chmodSync(fake, 0o644);
    const err = await DriverHost.start({ machine: { qemuBinary: fake } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QemuBinaryMissingError);
    expect((err as QemuBinaryMissingError).context).toEqual({ binary: fake, from: 'machine.qemuBinary' });
  });
});
