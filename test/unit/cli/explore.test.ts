import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dirql, REPO } from '../../support/dirql-cli.ts';

const RACE = join(REPO, 'test/fixtures/broken/scenarios.ts#race');
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('dirql explore', () => {
  it('prints a failing seed, writes its schedule and timeline, and --replay <seed> / <file> fail again; shards merge', async () => {
    dir = mkdtempSync(join(tmpdir(), 'dirql-explore-cli-'));
    const out = join(dir, 'run');
    const r = await dirql(['explore', RACE, '--runs', '10', '--out', out, '--json', join(dir, 'all.json'), '--junit', join(dir, 'all.xml')]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/random, 10 runs, \d+ failed, \d+ distinct interleavings, \d+ runs\/s/);
    expect(r.stderr).toMatch(/FAIL seed 5 /);
    const files = readdirSync(out);
    expect(files).toEqual(expect.arrayContaining(['random-seed-5.schedule.json', 'random-seed-5.html', 'random-seed-5.perfetto-trace']));
    expect(readFileSync(join(dir, 'all.xml'), 'utf8')).toContain('name="seed 5"');

    const bySeed = await dirql(['explore', RACE, '--replay', '5', '--out', out]);
    expect(bySeed.exitCode).toBe(1);
    expect(bySeed.stdout).toContain('1 runs, 1 failed');
    const byFile = await dirql(['explore', RACE, '--replay', join(out, 'random-seed-5.schedule.json'), '--out', out]);
    expect(byFile.exitCode).toBe(1);
    expect(byFile.stderr).toMatch(/FAIL seed 5 .*TX ring overflow/);

    for (const i of [1, 2]) await dirql(['explore', RACE, '--runs', '10', '--shard', `${i}/2`, '--json', join(dir, `s${i}.json`), '--out', out]);
    const merged = await dirql(['explore', '--merge', join(dir, 's1.json'), join(dir, 's2.json'), '--json', join(dir, 'merged.json')]);
    const all = JSON.parse(readFileSync(join(dir, 'all.json'), 'utf8')) as { runs: number; distinct: number; failures: { seed: number }[] };
    const m = JSON.parse(readFileSync(join(dir, 'merged.json'), 'utf8')) as typeof all;
    expect(merged.exitCode).toBe(1);
    expect([m.runs, m.distinct, m.failures.map((f) => f.seed)]).toEqual([all.runs, all.distinct, all.failures.map((f) => f.seed)]);
  });

  it('a bad shard or a missing scenario is a usage error (exit 2)', async () => {
    expect((await dirql(['explore', RACE, '--shard', '3/2'])).exitCode).toBe(2);
    expect((await dirql(['explore', join(REPO, 'test/fixtures/broken/scenarios.ts#nope')])).exitCode).toBe(2);
  });
});
