/**
 * Whole-driver REPLAY (src/record/replay.ts): sessions recorded on QEMU's e1000, replayed without
 * QEMU. These tests say what a replay reproduces; none of them says anything about the NIC.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { replay } from '../../src/record/replay.ts';
import { closeHostWithPeer, openHostWithPeer, receiveFromPeer, sendToPeer } from './support/e1000-exchange.ts';

const dir = mkdtempSync(join(tmpdir(), 'dirql-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function recordExchange(framework: string, file: string, frames: number): Promise<void> {
  const f = await openHostWithPeer('dirql-replay-', { framework, processors: 1, seed: 1, record: file });
  try {
    await sendToPeer(f.host, f.peer, frames, 3);
    await receiveFromPeer(f.host, f.peer, frames, 4);
  } finally {
    await closeHostWithPeer(f);
  }
}

describe('REPLAY of recorded sessions (no QEMU)', () => {
  it('an NDIS 6 session replays to the recorded counters', async () => {
    const file = join(dir, 'ndis6.rec');
    await recordExchange('ndis6', file, 200);
    const r = await replay(file);
    console.log(JSON.stringify({ outcome: r.outcome, position: r.position, events: r.events, div: r.divergence, replayMs: r.replayMs, recordedMs: r.recordedMs }, null, 1));
    expect(r.divergence).toBeUndefined();
    expect(r.counters).toEqual(r.recordedCounters);
    expect(r.outcome).toBe('same');
  });
});
