import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { explore, hashDecisions, makeStrategy, mergeResults, parseShard, shardSeeds, toJUnit, type ScheduleFile } from '../../../src/explore/index.ts';
import { SCENARIOS } from '../../fixtures/broken/scenarios.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('explore: a failing run replays', () => {
  it('writes the schedule and the timeline of a failure found by seed X; --replay X and --replay <file> fail the same way', async () => {
    dir = mkdtempSync(join(tmpdir(), 'dirql-explore-test-'));
    const found = await explore(SCENARIOS.race!, { strategy: 'random', runs: 10, outDir: dir });
    const f = found.failures[0]!;
    expect(f.replayed).toBe(true);
    expect(existsSync(f.timeline!.html) && existsSync(f.timeline!.perfetto)).toBe(true);
    const file = JSON.parse(readFileSync(f.schedule!, 'utf8')) as ScheduleFile;
    expect(file).toMatchObject({ strategy: 'random', seed: f.seed, hash: f.hash });

    const bySeed = await explore(SCENARIOS.race!, { strategy: 'random', replay: { seed: f.seed } });
    expect(bySeed.runs).toBe(1);
    expect(bySeed.failures).toMatchObject([{ seed: f.seed, hash: f.hash, message: f.message }]);
    const byFile = await explore(SCENARIOS.race!, { replay: { schedule: file } });
    expect(byFile.failures).toMatchObject([{ seed: f.seed, hash: f.hash, message: f.message }]);
  });

  it('a pct seed and a pb index replay too', async () => {
    const pct = await explore(SCENARIOS.race!, { strategy: 'pct', runs: 20 });
    const s = pct.failures[0]!;
    expect((await explore(SCENARIOS.race!, { strategy: 'pct', replay: { seed: s.seed } })).failures[0]?.hash).toBe(s.hash);
    const pb = await explore(SCENARIOS.race!, { strategy: 'pb' });
    const p = pb.failures[0]!;
    expect((await explore(SCENARIOS.race!, { strategy: 'pb', replay: { seed: p.seed } })).failures[0]?.hash).toBe(p.hash);
  });

  it('the same seed gives the same decisions', () => {
    const a = makeStrategy('random').policyFor(42)!;
    const b = makeStrategy('random').policyFor(42)!;
    for (let i = 0; i < 50; i++) expect(a.decide('deliver', ['line 9', 'thread:x@0'])).toBe(b.decide('deliver', ['line 9', 'thread:x@0']));
    expect(hashDecisions(a.decisions)).toBe(hashDecisions(b.decisions));
  });
});

describe('explore --shard', () => {
  it('shards split the seed space: their union is the unsharded run, with no overlap', () => {
    const all = shardSeeds(1, 1000);
    const shards = [1, 2, 3].map((i) => shardSeeds(1, 1000, parseShard(`${i}/3`)));
    const union = shards.flat();
    expect(new Set(union).size).toBe(union.length);
    expect(union.sort((a, b) => a - b)).toEqual(all);
    expect(() => parseShard('0/3')).toThrow(/1 <= i <= n/);
    expect(() => parseShard('4/3')).toThrow(/1 <= i <= n/);
  });

  it('merged shard results are the unsharded result: runs, failing seeds, distinct interleavings', async () => {
    const whole = await explore(SCENARIOS.race!, { strategy: 'random', runs: 60 });
    const parts = [];
    for (let i = 1; i <= 3; i++) parts.push(await explore(SCENARIOS.race!, { strategy: 'random', runs: 60, shard: parseShard(`${i}/3`) }));
    const merged = mergeResults(parts);
    expect(merged.runs).toBe(whole.runs);
    expect(merged.failures.map((f) => [f.seed, f.hash])).toEqual(whole.failures.map((f) => [f.seed, f.hash]));
    expect(merged.distinct).toBe(whole.distinct);
    expect(merged.shards).toEqual(['1/3', '2/3', '3/3']);
    const xml = toJUnit(merged);
    expect(xml).toContain(`failures="${whole.failures.length}"`);
    expect(xml).toContain(`name="seed ${whole.failures[0]!.seed}"`);
  });

  it('pb is not sharded (it enumerates one space in order)', async () => {
    await expect(explore(SCENARIOS.race!, { strategy: 'pb', shard: parseShard('1/2') })).rejects.toThrow(/pb enumerates/);
  });
});
