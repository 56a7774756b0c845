/**
 * REPLAY of sessions recorded on two processors (no QEMU): the scheduler's turns are barriers in the
 * recorded order (src/record/README.md), so each seed's replay reaches the recorded counters, every time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { replay } from '../../src/record/replay.ts';
import { closeHostWithPeer, openHostWithPeer, receiveFromPeer, sendToPeer } from './support/e1000-exchange.ts';

const dir = mkdtempSync(join(tmpdir(), 'dirql-replay-mp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(['ndis6', 'ndis5', 'kmdf'])('REPLAY of a %s session recorded on two processors', (framework) => {
  it.each([1, 7, 11])(
    'seed %i replays to the recorded counters, twice alike',
    async (seed) => {
      const file = join(dir, `${framework}-${seed}.rec`);
      const f = await openHostWithPeer('dirql-replay-mp-', { framework, processors: 2, seed, record: file });
      try {
        await sendToPeer(f.host, f.peer, 300, 3);
        await receiveFromPeer(f.host, f.peer, 300, 4);
      } finally {
        await closeHostWithPeer(f);
      }
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
