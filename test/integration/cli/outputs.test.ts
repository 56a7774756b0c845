/**
 * Where `dirql up` and `dirql run` put their outputs (real QEMU): one run directory each under
 * <outputDir>/runs/, named on start and at exit, holding the bug check report, the pcap and run.json;
 * and a missing QEMU binary is a configuration error (exit 2) that leaves no directory behind.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPcapng } from '../../../src/capture/pcapng.ts';
import { RUN_JSON, RUN_PCAP, RUN_RECORDING, type RunInfo } from '../../../src/cli/run-dir.ts';
import { dirql } from '../../support/dirql-cli.ts';

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', name);
const root = mkdtempSync(join(tmpdir(), 'dirql-outputs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function dirIn(name: string, files: Record<string, string> = {}): string {
  const cwd = join(root, name);
  mkdirSync(cwd, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(cwd, file), text);
  return cwd;
}

const runJson = (dir: string) => JSON.parse(readFileSync(join(dir, RUN_JSON), 'utf8')) as RunInfo;

describe('the run directory (real QEMU)', () => {
  it("dirql run: a bug check's report lands in <./dirql-out>/runs/<UTC time>-<pid>/, named in the output and in run.json", async () => {
    const cwd = dirIn('run');
    const r = await dirql(['run', fixture('bugcheck.scenario.ts')], { cwd });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^PASS a bug check lands in the run directory .* bug check DRIVER_IRQL_NOT_LESS_OR_EQUAL as expected$/m);
    const shown = /^outputs in (dirql-out\/runs\/\d{8}T\d{6}Z-(\d+))$/m.exec(r.stdout);
    expect(shown, r.stdout).not.toBeNull();
    const dir = join(cwd, shown![1]!);
    const reports = readdirSync(dir).filter((f) => f.startsWith('bugcheck-'));
    expect(reports.map((f) => f.replace(/^bugcheck-.*\./, ''))).toEqual(expect.arrayContaining(['txt', 'json']));
    expect(
      readFileSync(
        join(
          dir,
          reports.find((f) => f.endsWith('.txt'))!,
        ),
        'utf8',
      ),
    ).toContain('DRIVER_IRQL_NOT_LESS_OR_EQUAL');
    const info = runJson(dir);
    expect(info).toMatchObject({ command: 'dirql run', pid: Number(shown![2]), exit: { code: 0, reason: 'passed' } });
    expect(info.files).toEqual(expect.arrayContaining(reports));
    expect(Date.parse(info.stoppedAt!)).toBeGreaterThanOrEqual(Date.parse(info.startedAt));
    // Nothing else in the working directory.
    expect(readdirSync(cwd)).toEqual(['dirql-out']);
  });

  it("dirql up --pcap with the config's outputDir: the directory is named at start and at exit and holds the pcap and run.json", async () => {
    const cwd = dirIn('up', { 'dirql.config.json': JSON.stringify({ outputDir: 'out' }) });
    const r = await dirql(['up', '--pcap'], { cwd });
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const first = /^dirql: outputs in (out\/runs\/\d{8}T\d{6}Z-\d+)$/.exec(lines[0]!);
    expect(first, r.stdout).not.toBeNull();
    expect(lines.filter((l) => l !== '').at(-1)).toBe(lines[0]);
    const dir = join(cwd, first![1]!);
    expect(r.stdout).toContain(`dirql: upper-edge capture ${first![1]}/${RUN_PCAP}: 0 indicated, 0 sent; nothing lost`);
    const pcap = readPcapng(join(dir, RUN_PCAP));
    expect(pcap.interfaces.map((i) => i.name)).toEqual(['rx (indicated)', 'tx (sent)']);
    expect(runJson(dir)).toMatchObject({ command: 'dirql up', config: join(cwd, 'dirql.config.json'), exit: { code: 0, reason: 'stopped' }, files: [RUN_PCAP] });
    expect(runJson(dir).versions.qemu).toMatch(/^QEMU emulator version /);
    expect(existsSync(join(cwd, 'dirql-out'))).toBe(false);
  });
});

describe('the session recording in the run directory (real QEMU, then REPLAY without it)', () => {
  it('dirql run <scenario> --record: session.rec in the run directory, named in the output, and dirql replay reaches the same counters', async () => {
    const cwd = dirIn('record');
    const r = await dirql(['run', fixture('link-up.scenario.ts'), '--record'], { cwd });
    expect(r.exitCode, r.stderr).toBe(0);
    const shown = /^recording (dirql-out\/runs\/\d{8}T\d{6}Z-\d+)\/session\.rec \(replay it without QEMU: dirql replay \1\/session\.rec\)$/m.exec(r.stdout);
    expect(shown, r.stdout).not.toBeNull();
    expect(runJson(join(cwd, shown![1]!)).files).toEqual([RUN_RECORDING]);
    const replayed = await dirql(['replay', join(cwd, shown![1]!, RUN_RECORDING)], { cwd });
    expect(replayed.exitCode, replayed.stderr + replayed.stdout).toBe(0);
    expect(replayed.stdout).toMatch(/REPLAY/);
    expect(readdirSync(cwd)).toEqual(['dirql-out']);
  });

  it('DIRQL_RECORD=on-failure: a passing run leaves no recording, a failing one keeps it and prints its path', async () => {
    const cwd = dirIn('on-failure');
    const passed = await dirql(['run', fixture('link-up.scenario.ts')], { cwd, env: { DIRQL_RECORD: 'on-failure' } });
    expect(passed.exitCode, passed.stderr).toBe(0);
    expect(passed.stdout).not.toMatch(/^recording /m);
    const passedDir = /^outputs in (\S+)$/m.exec(passed.stdout)![1]!;
    expect(existsSync(join(cwd, passedDir, RUN_RECORDING))).toBe(false);

    const failed = await dirql(['run', fixture('wrong-mac.scenario.ts')], { cwd, env: { DIRQL_RECORD: 'on-failure' } });
    expect(failed.exitCode).toBe(1);
    const kept = /^recording (\S+) \(replay it without QEMU/m.exec(failed.stdout);
    expect(kept, failed.stdout).not.toBeNull();
    expect(existsSync(join(cwd, kept![1]!))).toBe(true);
    expect(runJson(join(cwd, /^outputs in (\S+)$/m.exec(failed.stdout)![1]!)).files).toEqual([RUN_RECORDING]);
  });
});

describe('a missing QEMU binary is a configuration error', () => {
  for (const command of [['run', fixture('link-up.scenario.ts')], ['up']]) {
    it(`dirql ${command[0]} with DIRQL_QEMU naming a missing binary: exit 2, the binary and how to install QEMU, no run directory`, async () => {
      const cwd = dirIn(`no-qemu-${command[0]}`);
      const r = await dirql(command, { cwd, env: { DIRQL_QEMU: '/nonexistent/qemu-system-x86_64' } });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toBe(
        'dirql: no QEMU binary: /nonexistent/qemu-system-x86_64 does not exist or is not executable (named by DIRQL_QEMU); install QEMU (Debian/Ubuntu: apt-get install qemu-system-x86; Fedora: dnf install qemu-system-x86; macOS: brew install qemu), or fix DIRQL_QEMU',
      );
      expect(r.stdout).toBe('');
      expect(readdirSync(cwd)).toEqual([]);
    });
  }
});
