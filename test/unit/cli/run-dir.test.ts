import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { outputsFromConfig, checkConfig } from '../../../src/cli/config.ts';
import {
  DEFAULT_OUTPUT_DIR,
  RUN_JSON,
  RUN_PCAP,
  RUN_RECORDING,
  RunDirectory,
  placeOutputs,
  planRecording,
  runDirectoryPath,
  shownPath,
  traceInto,
  utcStamp,
} from '../../../src/cli/run-dir.ts';

const root = mkdtempSync(join(tmpdir(), 'dirql-run-dir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const start = new Date('2026-12-03T18:29:33.456Z');

describe('the run directory path', () => {
  it('is <outputDir>/runs/<UTC timestamp>-<pid>, outputDir ./dirql-out by default', () => {
    expect(utcStamp(start)).toBe('20261203T182933Z');
    expect(runDirectoryPath({ cwd: '/proj', start, pid: 4242 })).toBe(`/proj/${DEFAULT_OUTPUT_DIR}/runs/20261203T182933Z-4242`);
    expect(runDirectoryPath({ outputDir: 'out', cwd: '/proj', start, pid: 1 })).toBe('/proj/out/runs/20261203T182933Z-1');
    expect(runDirectoryPath({ outputDir: '/var/dirql', cwd: '/proj', start, pid: 1 })).toBe('/var/dirql/runs/20261203T182933Z-1');
  });

  it('two processes started in the same second get different directories', () => {
    expect(runDirectoryPath({ cwd: '/p', start, pid: 1 })).not.toBe(runDirectoryPath({ cwd: '/p', start, pid: 2 }));
  });

  it('is shown relative to the current directory when inside it', () => {
    expect(shownPath('/proj/dirql-out/runs/x', '/proj')).toBe('dirql-out/runs/x');
    expect(shownPath('/elsewhere/runs/x', '/proj')).toBe('/elsewhere/runs/x');
  });

  it("the config's outputDir and pcap resolve against the config file", () => {
    const config = checkConfig({ outputDir: 'out', pcap: 'caps/edge.pcapng' }, '/proj/dirql.config.json');
    expect(outputsFromConfig(config, '/proj/dirql.config.json')).toEqual({ outputDir: '/proj/out', pcap: '/proj/caps/edge.pcapng' });
    expect(outputsFromConfig(checkConfig({ pcap: true }, '/p/c.json'), '/p/c.json')).toEqual({ pcap: true });
    expect(outputsFromConfig(checkConfig({ pcap: false }, '/p/c.json'), '/p/c.json')).toEqual({});
    expect(() => checkConfig({ pcap: 3 }, '/p/c.json')).toThrow("'pcap' must be true, false or a file path (got 3)");
  });
});

describe('where outputs go in the host options', () => {
  it('bug check reports in the run directory; the pcap there when no path is given; a given path stands', () => {
    expect(placeOutputs({ processors: 2 }, undefined, '/r')).toEqual({ bugCheckDir: '/r', processors: 2 });
    expect(placeOutputs({}, true, '/r')).toEqual({ bugCheckDir: '/r', pcap: `/r/${RUN_PCAP}` });
    expect(placeOutputs({}, '/tmp/x.pcapng', '/r')).toEqual({ bugCheckDir: '/r', pcap: '/tmp/x.pcapng' });
    expect(placeOutputs({ bugCheckDir: '/mine' }, undefined, '/r')).toEqual({ bugCheckDir: '/mine' });
  });

  it('a timeline asked for without a path goes there too', () => {
    expect(placeOutputs({ trace: true }, undefined, '/r')).toEqual({ bugCheckDir: '/r', trace: { path: '/r' } });
    expect(traceInto({ trace: { path: '/t' } }, '/r')).toEqual({ trace: { path: '/t' } });
    expect(traceInto({ trace: true }, '/r')).toEqual({ trace: { path: '/r' } });
  });
});

describe('run.json', () => {
  it('is written at start without an exit, then with the exit, stop time and the files', () => {
    const cwd = process.cwd();
    const qemu = join(root, 'fake-qemu');
    writeFileSync(qemu, '#!/bin/sh\necho "QEMU emulator version 7.2.0"\n', { mode: 0o755 });
    const dir = RunDirectory.create({ command: 'dirql up', outputDir: join(root, 'out'), qemuBinary: qemu, start });
    expect(dir.path).toBe(join(root, 'out', 'runs', `20261203T182933Z-${process.pid}`));
    const read = () => JSON.parse(readFileSync(join(dir.path, RUN_JSON), 'utf8')) as Record<string, unknown>;
    expect(read()).toMatchObject({
      command: 'dirql up',
      pid: process.pid,
      cwd,
      startedAt: start.toISOString(),
      versions: { node: process.version, qemu: 'QEMU emulator version 7.2.0' },
    });
    expect(read()).not.toHaveProperty('exit');
    dir.started({ processors: 2, driver: { framework: 'ndis6' } as never });
    writeFileSync(join(dir.path, 'DRIVER_IRQL_NOT_LESS_OR_EQUAL.txt'), 'report');
    dir.finish({ code: 1, reason: 'device lost' });
    dir.finish({ code: 0, reason: 'ignored' });
    const info = read();
    expect(info).toMatchObject({ options: { processors: 2, driver: '<module object>' }, exit: { code: 1, reason: 'device lost' }, files: ['DRIVER_IRQL_NOT_LESS_OR_EQUAL.txt'] });
    expect(typeof info.stoppedAt).toBe('string');
    expect((info.versions as { dirql: string }).dirql).toMatch(/^\d+\.\d+\.\d+/);
    expect(existsSync(join(root, 'out', 'runs'))).toBe(true);
  });
});

describe('where the session recording goes', () => {
  it('--record without a file, or DIRQL_RECORD=on: session.rec in the run directory; a path stands; on-failure is marked; nothing asked, nothing', () => {
    const dir = '/proj/dirql-out/runs/x';
    expect(planRecording(true, dir, undefined)).toEqual({ file: join(dir, RUN_RECORDING), onFailure: false });
    expect(planRecording(undefined, dir, 'on')).toEqual({ file: join(dir, RUN_RECORDING), onFailure: false });
    expect(planRecording(undefined, dir, 'on-failure')).toEqual({ file: join(dir, RUN_RECORDING), onFailure: true });
    expect(planRecording('on-failure', dir, undefined)).toEqual({ file: join(dir, RUN_RECORDING), onFailure: true });
    expect(planRecording('/tmp/s.rec', dir, 'on')).toEqual({ file: '/tmp/s.rec', onFailure: false });
    expect(planRecording(undefined, dir, '')).toBeUndefined();
    expect(planRecording(undefined, dir, undefined)).toBeUndefined();
  });

  for (const [code, kept] of [
    [0, false],
    [1, true],
  ] as const) {
    it(`on-failure: a run that exits ${code} ${kept ? 'keeps' : 'removes'} its recording, and run.json lists what is left`, () => {
      const dir = RunDirectory.create({ command: 'dirql run', outputDir: join(root, `rec-${code}`), qemuBinary: '/nonexistent/qemu' });
      const file = join(dir.path, RUN_RECORDING);
      dir.recordTo({ file, onFailure: true });
      writeFileSync(file, 'DIRQLREC');
      dir.finish({ code, reason: code === 0 ? 'passed' : 'failed: x' });
      expect(existsSync(file)).toBe(kept);
      expect(dir.keptRecording).toBe(kept ? file : undefined);
      expect((JSON.parse(readFileSync(join(dir.path, RUN_JSON), 'utf8')) as { files: string[] }).files).toEqual(kept ? [RUN_RECORDING] : []);
    });
  }
});
