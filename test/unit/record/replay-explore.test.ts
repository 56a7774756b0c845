/**
 * `replay()` of explore-run recordings written by hand (no QEMU): the scenario the header names
 * runs again and must reach the recorded failure line; another command is a divergence; a file
 * that does not say which scenario, names another one, or whose scenario opens the wire peer is a
 * RecordingError (dirql replay's exit 2), as a bad host-session recording is.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordingError } from '../../../src/record/errors.ts';
import { RecordKind, RecordingWriter, type RecordEvent } from '../../../src/record/format.ts';
import { replay } from '../../../src/record/replay.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirql-replay-explore-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const fixture = path.join(import.meta.dirname, 'fixtures', 'status-scenario.ts');

const nic = { bdf: '00:03.0', registerBase: 0xe0000000, registerSize: 0x20000, irqLine: 11, mac: '52:54:00:12:34:56', vendorId: 0x8086, deviceId: 0x100e, registerBar: 0 };

interface Explore {
  scenario?: string;
  source?: string;
  decisions?: unknown[];
  schedule?: string;
}

async function recording(name: string, explore: Explore, events: RecordEvent[], failed: string | null, config: Record<string, unknown> = {}, taken?: unknown[]): Promise<string> {
  const file = path.join(dir, name);
  const w = new RecordingWriter(file, {
    dirqlVersion: '0.1.0',
    config: {
      explore: { scenario: 'reads STATUS and fails with it', strategy: 'random', seed: 1, schedule: path.join(dir, 'none.schedule.json'), ...explore },
      device: 'e1000',
      nic,
      memorySize: 16 << 20,
      ...config,
    },
    driverHash: 'ab'.repeat(32),
    startedAt: '2026-01-01T00:00:00Z',
  });
  for (const e of events) w.event(e);
  await w.close({ counters: { failed }, ...(taken ? { decisions: taken as [string, number, number][] } : {}) });
  return file;
}

const status: RecordEvent[] = [
  [RecordKind.Command, 'readl 0xe0000008'],
  [RecordKind.Reply, 'OK 0x80080783'],
];

describe('replay of an explore run recording', () => {
  it('runs the scenario its header names with the recorded replies and reaches the recorded failure', async () => {
    const file = await recording('same.rec', { source: `${fixture}#readsStatus`, decisions: [] }, status, 'STATUS 0x80080783');
    const r = await replay(file, { stallMs: 1000 });
    expect(r.divergence).toBeUndefined();
    expect(r).toMatchObject({ outcome: 'same', framework: 'explore', counters: { failed: 'STATUS 0x80080783' }, finished: true, position: 2, events: 2 });
    expect(r.explore).toEqual({ scenario: 'reads STATUS and fails with it', strategy: 'random', seed: 1, decisions: 0, replayedDecisions: 0, source: `${fixture}#readsStatus` });
  });

  it('another failure than recorded is a different outcome', async () => {
    const file = await recording('different.rec', { source: `${fixture}#readsStatus`, decisions: [] }, status, 'STATUS 0x1');
    const r = await replay(file, { stallMs: 1000 });
    expect(r.outcome).toBe('different');
    expect(r.recordedCounters).toEqual({ failed: 'STATUS 0x1' });
  });

  it('a schedule the replay does not take whole is a different outcome', async () => {
    const file = await recording('fewer.rec', { source: `${fixture}#readsStatus`, decisions: [['deliver', 2, 1]] }, status, 'STATUS 0x80080783');
    const r = await replay(file, { stallMs: 1000 });
    expect(r.outcome).toBe('different');
    expect(r.explore).toMatchObject({ decisions: 1, replayedDecisions: 0 });
  });

  it("takes the decisions the recorded run took (its trailer's), not the schedule it was given (the header's)", async () => {
    // On QEMU a recorded re-run can meet fewer decision points than its schedule has and still fail the same way.
    const file = await recording(
      'took-fewer.rec',
      {
        source: `${fixture}#readsStatus`,
        decisions: [
          ['deliver', 2, 1],
          ['run', 2, 0],
        ],
      },
      status,
      'STATUS 0x80080783',
      {},
      [],
    );
    const r = await replay(file, { stallMs: 1000 });
    expect(r.outcome).toBe('same');
    expect(r.explore).toMatchObject({ decisions: 0, replayedDecisions: 0 });
  });

  it("a trailer whose decisions are not a schedule's is refused", async () => {
    const file = await recording('bad-taken.rec', { source: `${fixture}#readsStatus`, decisions: [] }, status, 'STATUS 0x80080783', {}, [['later', 2, 1]]);
    await expect(replay(file, { stallMs: 1000 })).rejects.toThrow(/trailer's decisions are not a schedule's/);
  });

  it('a decision of another shape than scheduled is a divergence', async () => {
    const file = await recording('decision.rec', { scenario: 'asks one decision', source: `${fixture}#asksOneDecision`, decisions: [['deliver', 2, 1]] }, [], null);
    const r = await replay(file, { stallMs: 1000 });
    expect(r.outcome).toBe('diverged');
    expect(r.divergence?.message).toMatch(/decision 1 was deliver of 2 options when recorded, run of 3 now/);
  });

  it('another command than recorded is a divergence at its position', async () => {
    const file = await recording(
      'diverged.rec',
      { source: `${fixture}#readsStatus`, decisions: [] },
      [
        [RecordKind.Command, 'readl 0xe00000c0'],
        [RecordKind.Reply, 'OK 0x0'],
      ],
      'STATUS 0x0',
    );
    const r = await replay(file, { stallMs: 1000 });
    expect(r.outcome).toBe('diverged');
    expect(r.divergence).toMatchObject({ position: 0, expected: 'readl 0xe00000c0', actual: 'readl 0xe0000008' });
  });

  it('--scenario gives the module when the recording names none; without it the file is refused', async () => {
    const file = await recording('nosource.rec', { decisions: [] }, status, 'STATUS 0x80080783');
    await expect(replay(file)).rejects.toThrow(RecordingError);
    await expect(replay(file)).rejects.toThrow(/does not name its scenario's module .* --scenario/);
    expect((await replay(file, { scenario: `${fixture}#readsStatus`, stallMs: 1000 })).outcome).toBe('same');
  });

  it('refuses another scenario than recorded, a kernel-only one, a missing schedule, and one that opens the wire peer', async () => {
    const other = await recording('other.rec', { scenario: 'something else', source: `${fixture}#readsStatus`, decisions: [] }, status, null);
    await expect(replay(other)).rejects.toThrow(/recorded from the scenario "something else", .* is "reads STATUS and fails with it"/);
    const kernelOnly = await recording('kernel.rec', { source: `${fixture}#kernelOnly`, decisions: [] }, status, null);
    await expect(replay(kernelOnly)).rejects.toThrow(/does not run on QEMU's e1000/);
    const noSchedule = await recording('noschedule.rec', { source: `${fixture}#readsStatus` }, status, null);
    await expect(replay(noSchedule)).rejects.toThrow(/schedule is neither in the recording nor at/);
    await expect(replay(other, { driver: 'src/drivers/e1000/ndis6/index.ts' })).rejects.toThrow(/replays its scenario .* not --driver/);
    const wire = await recording('wire.rec', { scenario: 'opens the wire peer', source: `${fixture}#opensWire`, decisions: [] }, [], null);
    await expect(replay(wire)).rejects.toThrow(/opens the wire peer \(machine.wire\)/);
  });
});

describe('replay of an explore run recorded with its wire tapped', () => {
  const talks = (toNic: string): RecordEvent[] => [
    [RecordKind.Wire, 'toNic', Buffer.from(toNic)],
    [RecordKind.Command, 'readl 0xe0000008'],
    [RecordKind.Reply, 'OK 0x80080783'],
    [RecordKind.Wire, 'fromNic', Buffer.from('pong')],
  ];
  const explore = { scenario: 'talks on the wire', source: `${fixture}#talksOnWire`, decisions: [] };

  it("plays the NIC's side of the wire to the scenario's peer: the frame it sent back arrives", async () => {
    const file = await recording('wire-same.rec', explore, talks('ping'), 'got pong', { wire: 'tapped' });
    const r = await replay(file, { stallMs: 1000 });
    expect(r.divergence).toBeUndefined();
    expect(r).toMatchObject({ outcome: 'same', counters: { failed: 'got pong' }, finished: true });
  });

  it('a frame from the peer other than recorded is a divergence at its position', async () => {
    const file = await recording('wire-diverged.rec', explore, talks('pong'), 'got pong', { wire: 'tapped' });
    const r = await replay(file, { stallMs: 1000 });
    expect(r.outcome).toBe('diverged');
    expect(r.divergence).toMatchObject({ position: 0, expected: Buffer.from('pong').toString('hex'), actual: Buffer.from('ping').toString('hex') });
    expect(r.divergence?.message).toMatch(/the scenario's peer sent a 4-byte frame other than the recorded 4-byte frame/);
  });
});
