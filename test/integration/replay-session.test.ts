/**
 * Whole-driver REPLAY (src/record/replay.ts): sessions recorded on QEMU's e1000, then replayed
 * without QEMU. These tests say what a replay reproduces (the driver's counters, its bug check,
 * where a changed driver departs from the recording); none of them says anything about the NIC.
 */

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { linkDown } from '../../harness/index.ts';
import { NIC_ID } from '../../qemu/stub-config.ts';
import { DriverHost } from '../../src/host/driver-host.ts';
import { RecordKind, RecordingWriter, readRecording } from '../../src/record/format.ts';
import { replay } from '../../src/record/replay.ts';
import { waitUntil } from '../support/wait.ts';
import { minimalDriver } from './support/minimal-driver.ts';
import { recordExchange } from './support/e1000-exchange.ts';

const dir = mkdtempSync(join(tmpdir(), 'dirql-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(['ndis6', 'ndis5', 'kmdf'])('REPLAY of a recorded %s session (no QEMU)', (framework) => {
  it('replays to the recorded counters', async () => {
    const file = join(dir, `${framework}.rec`);
    await recordExchange(framework, file, 300);
    const r = await replay(file);
    console.log(
      `REPLAY ${framework}: ${r.outcome}, ${r.events} events, ${statSync(file).size} bytes, recorded ${Math.round(r.recordedMs!)} ms, replayed ${Math.round(r.replayMs)} ms (${r.speedup!.toFixed(1)}×)`,
    );
    expect(r.divergence).toBeUndefined();
    expect(r.finished).toBe(true);
    expect(r.counters).toEqual(r.recordedCounters);
    expect(r.outcome).toBe('same');
    expect((r.counters as { delivered: number }).delivered).toBe(300);
  });

  if (framework === 'ndis6') {
    it('three replays give identical counters', async () => {
      const file = join(dir, `${framework}.rec`);
      const runs = [await replay(file), await replay(file), await replay(file)];
      for (const r of runs) expect(r.outcome).toBe('same');
      expect(runs[1]!.counters).toEqual(runs[0]!.counters);
      expect(runs[2]!.counters).toEqual(runs[0]!.counters);
    });
  }
});

describe('recording a session on two processors', () => {
  it('logs every scheduler turn by the activation it ran (a replay waits for that one)', async () => {
    const file = join(dir, 'ndis6-2p.rec');
    await recordExchange('ndis6', file, 100, 2, 7);
    const turns = readRecording(file).events.filter((e) => e[0] === 6) as [6, string, number][];
    expect(turns.length).toBeGreaterThan(0);
    for (const [, kind, option] of turns) {
      // A turn names the activation it ran, or the processor that started on its pending work; a
      // processor choice (choose(): where a thread call starts) the processor.
      expect(kind).toMatch(/^of \d+: (\w+:[^@]+@[01]|service@[01]|processor [01])$/);
      expect(option).toBeLessThan(Number(/^of (\d+)/.exec(kind)![1]));
    }
    // Some turn had two activations to choose from: the seed decided, and the file says how.
    expect(turns.some(([, kind]) => kind.startsWith('of 1:'))).toBe(true);
    expect(turns.some(([, kind]) => /^of [2-9]/.test(kind))).toBe(true);
    // The processor each thread call started on is written by its label (version 7), so a replay can wait for it.
    expect(turns.some(([, kind]) => /^of [12]: processor [01]$/.test(kind))).toBe(true);
    // An idle processor's start on an interrupt or a DPC is a turn too (version 10), one candidate.
    expect(turns.some(([, kind]) => /^of 1: service@[01]$/.test(kind))).toBe(true);
  });

  it('a replay that stalls at a scheduler turn it can never take ends as STALLED, and its stop does not wait on that turn', async () => {
    const whole = readRecording(join(dir, 'ndis6-2p.rec'));
    const stop = whole.events.findIndex((e) => e[0] === RecordKind.Host && e[1] === 'stop');
    expect(stop).toBeGreaterThan(0);
    // A turn that ran an activation this replay never has: the scheduler waits for it, and the
    // stream holds everything after it (the stop and its halt's replies).
    const cut = join(dir, 'never-runnable.rec');
    const { format: _f, version: _v, ...header } = whole.header;
    const w = new RecordingWriter(cut, header);
    whole.events.forEach((e, i) => {
      if (i === stop) w.event([RecordKind.Schedule, 'of 1: thread:NeverRuns@0', 0]);
      w.event(e);
    });
    const { events: _e, ...trailer } = whole.trailer;
    await w.close(trailer);
    const r = await replay(cut, { stallMs: 300 });
    expect(r.outcome).toBe('stalled');
    expect(r.divergence?.message).toMatch(/^replay stalled at event \d+/);
    expect(r.divergence?.expected).toBe("scheduler turn 'of 1: thread:NeverRuns@0' (option 0)");
  });
});

/** Records the minimal driver through a link change; returns the DPC call that the link change ran. */
async function recordLinkChange(file: string, crashDir: string): Promise<number> {
  const calls = { n: 0 };
  const host = await DriverHost.start({ driver: minimalDriver({}, calls), processors: 1, record: file, bugCheckDir: crashDir });
  try {
    await waitUntil('link up', () => host.linkUp, 10_000);
    const before = calls.n;
    await linkDown(host.machine.qmp, NIC_ID);
    await waitUntil('the DPC of the link change', () => calls.n > before, 10_000);
    await waitUntil('the link change indicated', () => !host.linkUp, 10_000);
    return before + 1;
  } finally {
    await host.stop();
  }
}

describe('REPLAY of a recorded minimal NDIS 6 driver (no QEMU)', () => {
  it('a bug check in the DPC replays to the same bug check report', async () => {
    const file = join(dir, 'bugcheck.rec');
    const crashDir = mkdtempSync(join(dir, 'crash-'));
    // The DPC throws on its first call after the link change was asked for; the driver counts its calls, so a replay of it throws there too.
    const armed: { throwAt?: number } = {};
    const calls = { n: 0 };
    const host = await DriverHost.start({ driver: minimalDriver(armed, calls), processors: 1, record: file, bugCheckDir: crashDir });
    try {
      await waitUntil('link up', () => host.linkUp, 10_000);
      armed.throwAt = calls.n + 1;
      await linkDown(host.machine.qmp, NIC_ID);
      await waitUntil('the bug check', () => host.bugCheck !== undefined, 10_000);
    } finally {
      await host.stop();
    }
    const recorded = host.bugCheck!;
    const r = await replay(file, { driver: minimalDriver({ throwAt: armed.throwAt }) });
    expect(r.divergence).toBeUndefined();
    expect(r.bugCheck).toBeDefined();
    expect(r.bugCheck).toEqual(r.recordedBugCheck);
    expect(r.bugCheck).toMatchObject({ name: recorded.name, code: recorded.code, message: recorded.message });
    expect(r.outcome).toBe('same');
  });

  it('a driver changed by one register write is reported diverging at that write, in its DPC', async () => {
    const file = join(dir, 'minimal.rec');
    const crashDir = mkdtempSync(join(dir, 'crash-'));
    const linkDpc = await recordLinkChange(file, crashDir);
    expect((await replay(file, { driver: minimalDriver({}) })).outcome).toBe('same');
    const r = await replay(file, { driver: minimalDriver({ extraWriteAt: linkDpc }) });
    expect(r.outcome).toBe('diverged');
    const d = r.divergence!;
    console.log(`REPLAY divergence: ${d.message}\n  routine ${d.routine}\n  recent ${d.recent.join(' | ')}`);
    expect(d.actual).toMatch(/^writel 0x[0-9a-f]+ 0x4$/);
    expect(Number.parseInt(String(d.actual).split(' ')[1]!, 16) & 0xfff).toBe(0x0d0);
    expect(d.expected).not.toBe(d.actual);
    expect(d.routine).toMatch(/Dpc|DPC/);
    expect(d.stack).toContain('minimal-driver.ts');
    expect(d.recent.length).toBeGreaterThan(0);
    expect(r.position).toBeLessThan(r.events);
  });
});
