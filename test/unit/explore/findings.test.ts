/** The lockset verifier's record-mode findings reach an explore's results: the JSON, each failing run, JUnit, merged shards. */
import { describe, expect, it } from 'vitest';
import { explore, mergeResults, parseShard, toJUnit } from '../../../src/explore/index.ts';
import { Irql } from '../../../src/kernel/index.ts';
import { sampleScenario } from '../../fixtures/broken/scenarios.ts';
import { BROKEN_SAMPLES } from '../../fixtures/broken/samples.ts';

const sample1 = BROKEN_SAMPLES.find((s) => s.id === 1)!;

describe('lockset findings in explore results', () => {
  it('a passing run in record mode carries its findings: both sites with stacks, the location, the rule, the IRQLs, the first seed and how many runs', async () => {
    const r = await explore(sampleScenario('sample1 record', sample1.broken, { lockset: 'record' }), { runs: 5 });
    expect(r.failures).toEqual([]);
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0]!;
    expect(f).toMatchObject({ rule: 1, location: 'sample.IMS', seed: 1, runs: 5 });
    expect([f.first.irql, f.second.irql].sort()).toEqual([Irql.PASSIVE_LEVEL, 5]);
    for (const side of [f.first, f.second]) expect(side.stack).toMatch(/fixtures\/broken\//);
    // What --json writes keeps them.
    expect((JSON.parse(JSON.stringify(r)) as typeof r).findings[0]!.first.stack).toBe(f.first.stack);
    const xml = toJUnit(r);
    expect(xml).toContain('<system-out>lockset rule 1 on sample.IMS (first seed 1, 5 runs)');
  });

  it('a failing run names the finding that stopped it, and shards merge findings by location, adding their runs', async () => {
    const stop = await explore(sampleScenario('sample1 stop', sample1.broken), { runs: 2 });
    expect(stop.failures).toHaveLength(2);
    expect(stop.failures[0]!.findings?.map((f) => f.location)).toEqual(['sample.IMS']);
    const scenario = sampleScenario('sample1 record', sample1.broken, { lockset: 'record' });
    const parts = [await explore(scenario, { runs: 6, shard: parseShard('1/2') }), await explore(scenario, { runs: 6, shard: parseShard('2/2') })];
    const merged = mergeResults(parts);
    expect(merged.findings).toHaveLength(1);
    expect(merged.findings[0]).toMatchObject({ location: 'sample.IMS', seed: 1, runs: 6 });
  });

  it('a fixed twin has none', async () => {
    const r = await explore(sampleScenario('sample1 fixed', sample1.fixed, { lockset: 'record' }), { runs: 5 });
    expect(r.findings).toEqual([]);
    expect(toJUnit(r)).not.toContain('<system-out>');
  });
});
