/**
 * REPLAY of sessions recorded on two processors (no QEMU): the scheduler's turns are barriers in the
 * recorded order (src/record/README.md), so each seed's replay reaches the recorded counters, every time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { replay } from '../../src/record/replay.ts';
import { recordExchange } from './support/e1000-exchange.ts';

const dir = mkdtempSync(join(tmpdir(), 'dirql-replay-mp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(['ndis6', 'ndis5', 'kmdf'])('REPLAY of a %s session recorded on two processors', (framework) => {
  it.each([1, 7, 11])(
    'seed %i replays to the recorded counters, twice alike',
    async (seed) => {
      const file = join(dir, `${framework}-${seed}.rec`);
      await recordExchange(framework, file, 300, 2, seed);
      const first = await replay(file);
      expect(first.divergence).toBeUndefined();
      expect(first.finished).toBe(true);
      expect(first.counters).toEqual(first.recordedCounters);
      expect(first.outcome).toBe('same');
      const second = await replay(file);
      expect(second.outcome).toBe('same');
      expect(second.counters).toEqual(first.counters);
    },
    60_000,
  );
});

describe('REPLAY of a longer session on four processors', () => {
  it('2,000 frames each way through NDIS 6 on four processors replay to the recorded counters', async () => {
    const file = join(dir, 'ndis6-4p.rec');
    await recordExchange('ndis6', file, 2000, 4, 4);
    const r = await replay(file);
    expect(r.divergence).toBeUndefined();
    expect(r.finished).toBe(true);
    expect(r.counters).toEqual(r.recordedCounters);
    expect(r.outcome).toBe('same');
    expect((r.counters as { delivered: number }).delivered).toBe(2000);
  }, 120_000);
});
