import { describe, expect, it } from 'vitest';
import { countersMatch, rxDrainNotes } from '../../../src/record/counters.ts';

describe("a replay's counters against the recorded ones", () => {
  it('match when every recorded value is the same; a counter only the replay has (a later dirql added it) is not compared', () => {
    const recorded = { frameworkSide: { upperEdge: { rx: { frames: 300, readsFailed: 0 } } }, calls: { isr: 12, dpc: 12 }, delivered: 300 };
    expect(countersMatch(structuredClone(recorded), recorded)).toBe(true);
    expect(countersMatch({ ...recorded, frameworkSide: { upperEdge: { rx: { frames: 300, readsFailed: 0, readsShortOfRing: 0 } } } }, recorded)).toBe(true);
  });

  it('differ on any recorded value, a recorded key the replay lacks, or another shape', () => {
    const recorded = { calls: { isr: 12, dpc: 12 }, delivered: 300, list: [1, 2] };
    expect(countersMatch({ ...recorded, delivered: 299 }, recorded)).toBe(false);
    expect(countersMatch({ calls: { isr: 12 }, delivered: 300, list: [1, 2] }, recorded)).toBe(false);
    expect(countersMatch({ ...recorded, list: [1, 2, 3] }, recorded)).toBe(false);
    expect(countersMatch({ ...recorded, calls: null }, recorded)).toBe(false);
    expect(countersMatch(undefined, recorded)).toBe(false);
    expect(countersMatch({ ...recorded, list: { 0: 1, 1: 2 } }, recorded)).toBe(false);
  });
});

describe('notes on what a replay does not take from the recording', () => {
  it("say so when the recorded session's RX ring was full before version 9 (NDIS drops), and nothing otherwise", () => {
    expect(rxDrainNotes({ frameworkSide: { upperEdge: { rx: { ringFull: 0 } } } })).toEqual([]);
    expect(rxDrainNotes(undefined)).toEqual([]);
    const [ndis] = rxDrainNotes({ frameworkSide: { upperEdge: { rx: { ringFull: 17 } } } }, 8);
    expect(ndis).toMatch(/dropped 17 frame\(s\) indicated into a full RX ring.*ringFull and delivered may differ/);
    // From version 9 the host's takes from the ring are recorded, so the drops replay (test/integration/replay-rx-overload.test.ts).
    expect(rxDrainNotes({ frameworkSide: { upperEdge: { rx: { ringFull: 17 } } } }, 9)).toEqual([]);
    // KMDF's short top-ups replay at their steps, one processor too (the same file).
    expect(rxDrainNotes({ frameworkSide: { upperEdge: { rx: { readsShortOfRing: 2 } } } }, 9)).toEqual([]);
  });
});
