import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PerfettoField as F } from '../../../src/timeline/index.ts';
import { dirql } from '../../support/dirql-cli.ts';
import { asMessage, asString, decodeMessage, one } from '../../support/protobuf-reader.ts';

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', name);

/** The names of the tracks a Perfetto file describes. */
async function trackNames(file: string): Promise<string[]> {
  const names: string[] = [];
  for (const f of decodeMessage(await readFile(file))) {
    const d = one(asMessage(f), F.TracePacket.trackDescriptor);
    const name = d ? asString(one(asMessage(d), F.TrackDescriptor.name)) : undefined;
    if (name) names.push(name);
  }
  return names;
}

describe('--trace (real QEMU)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dirql-cli-trace-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('dirql up --trace <dir> writes <framework>-<time>.perfetto-trace and .html there and prints both paths', async () => {
    const out = join(dir, 'up');
    const r = await dirql(['up', '--processors', '2', '--trace', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    const m = /^dirql: timeline (\S+\.perfetto-trace) \(open at ui\.perfetto\.dev\) and (\S+\.html)$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const files = (await readdir(out)).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^ndis6-\d{4}-\d\d-\d\dT[\d-]+Z\.html$/);
    expect(files[1]).toBe(files[0]!.replace(/\.html$/, '.perfetto-trace'));
    expect(m![1]).toBe(join(out, files[1]!));
    expect(m![2]).toBe(join(out, files[0]!));
    expect(await trackNames(m![1]!)).toEqual(expect.arrayContaining(['CPU 0', 'CPU 0 IRQL', 'CPU 1', 'CPU 1 IRQL', 'IRQ lines']));
    expect(await readFile(m![2]!, 'utf8')).toMatch(/^<!doctype html>/);
  });

  it('dirql run <scenario> --trace <file> writes the two files under that name', async () => {
    const r = await dirql(['run', fixture('link-up.scenario.ts'), '--trace', join(dir, 'run', 'link.html')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`timeline ${join(dir, 'run', 'link.perfetto-trace')} (open at ui.perfetto.dev) and ${join(dir, 'run', 'link.html')}`);
    expect(r.stdout).toMatch(/^PASS link up and ISRs counted /m);
    expect((await readdir(join(dir, 'run'))).sort()).toEqual(['link.html', 'link.perfetto-trace']);
    expect(await readFile(join(dir, 'run', 'link.html'), 'utf8')).toContain('<title>link-up-and-isrs-counted-');
  });
});
