import { describe, expect, it } from 'vitest';
import { HarnessConfigError } from '../../../harness/errors.ts';
import { FaultPlan, linkDown, linkUp, type QmpExecutor } from '../../../harness/faults.ts';
import { waitUntil } from '../../support/wait.ts';

/** Frames whose first byte is their index, so the output order shows what the plan did. */
const numbered = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from([i, 0xaa, 0xbb, 0xcc]));

function run(plan: FaultPlan, frames: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const f of frames) plan.process(f, (x) => out.push(x));
  plan.flush((x) => out.push(x));
  return out;
}

describe('FaultPlan', () => {
  it('drops every Nth frame', () => {
    const plan = new FaultPlan({ drop: { every: 3 } });
    const out = run(plan, numbered(9));
    expect(out.map((f) => f[0])).toEqual([0, 1, 3, 4, 6, 7]);
    expect(plan.counts).toMatchObject({ offered: 9, emitted: 6, dropped: 3 });
  });

  it('drops with a probability, the same frames for the same seed', () => {
    const kept = (seed: number) => run(new FaultPlan({ seed, drop: { probability: 0.3 } }), numbered(200)).map((f) => f[0]);
    expect(kept(11)).toEqual(kept(11));
    expect(kept(11)).not.toEqual(kept(12));
    const dropped = 200 - kept(11).length;
    expect(dropped).toBeGreaterThan(30);
    expect(dropped).toBeLessThan(90);
  });

  it('corrupts exactly one byte of a copy, leaving the original buffer intact', () => {
    const frames = numbered(4);
    const plan = new FaultPlan({ corrupt: { at: [2], offset: 1 } });
    const out = run(plan, frames);
    expect(frames[2]![1]).toBe(0xaa);
    expect(out[2]![1]).not.toBe(0xaa);
    expect(out[2]!.subarray(2).equals(frames[2]!.subarray(2))).toBe(true);
    expect(out.filter((f, i) => !f.equals(frames[i]!))).toHaveLength(1);
    expect(plan.counts.corrupted).toBe(1);
  });

  it('duplicates a frame back to back', () => {
    const plan = new FaultPlan({ duplicate: { at: [1] } });
    expect(run(plan, numbered(3)).map((f) => f[0])).toEqual([0, 1, 1, 2]);
    expect(plan.counts).toMatchObject({ duplicated: 1, emitted: 4 });
  });

  it('reorders by holding a frame until the next one has gone', () => {
    const plan = new FaultPlan({ reorder: { at: [1, 4] } });
    const out: number[] = [];
    for (const f of numbered(5)) plan.process(f, (x) => out.push(x[0]!));
    expect(out).toEqual([0, 2, 1, 3]);
    expect(plan.pending).toBe(1);
    plan.flush((x) => out.push(x[0]!));
    expect(out).toEqual([0, 2, 1, 3, 4]);
    expect(plan.counts.reordered).toBe(2);
  });

  it('delays a frame by a timer so later frames overtake it', async () => {
    const plan = new FaultPlan({ delay: { at: [0], ms: 20 } });
    const out: number[] = [];
    for (const f of numbered(3)) plan.process(f, (x) => out.push(x[0]!));
    expect(out).toEqual([1, 2]);
    await waitUntil('the delayed frame', () => out.length === 3);
    expect(out).toEqual([1, 2, 0]);
    expect(plan.counts.delayed).toBe(1);
  });

  it('cancel() discards held and delayed frames and counts them', async () => {
    const plan = new FaultPlan({ reorder: { at: [0] }, delay: { at: [1], ms: 5 } });
    const out: Buffer[] = [];
    for (const f of numbered(2)) plan.process(f, (x) => out.push(x));
    expect(plan.cancel()).toBe(2);
    // The positive control: a frame delayed as long by a second plan, set later, comes out.
    const marker = new FaultPlan({ delay: { at: [0], ms: 5 } });
    const markerOut: Buffer[] = [];
    marker.process(numbered(1)[0]!, (x) => markerOut.push(x));
    await waitUntil("the marker plan's delayed frame", () => markerOut.length === 1);
    expect(out).toHaveLength(0);
    expect(plan.counts.discarded).toBe(2);
  });

  it('rejects probabilities outside [0,1] and negative periods', () => {
    expect(() => new FaultPlan({ drop: { probability: 1.5 } })).toThrow(HarnessConfigError);
    expect(() => new FaultPlan({ duplicate: { every: -1 } })).toThrow(HarnessConfigError);
  });
});

describe('link faults', () => {
  it('linkDown and linkUp issue QMP set_link for the named netdev', async () => {
    const calls: [string, object | undefined][] = [];
    const qmp: QmpExecutor = { execute: async (cmd, args) => void calls.push([cmd, args]) };
    await linkDown(qmp, 'n0');
    await linkUp(qmp, 'n0');
    expect(calls).toEqual([
      ['set_link', { name: 'n0', up: false }],
      ['set_link', { name: 'n0', up: true }],
    ]);
  });

  it('propagates a QMP failure', async () => {
    const qmp: QmpExecutor = { execute: async () => Promise.reject(new Error('DeviceNotFound')) };
    await expect(linkDown(qmp, 'nope')).rejects.toThrow('DeviceNotFound');
  });
});
