/**
 * The explorer against QEMU's real e1000 (`device: 'qemu-e1000'`): one QEMU for the whole explore,
 * system_reset and the PCI bring-up again between runs, a fresh kernel and driver each run. A run
 * that fails with its driver still up (interrupts unmasked, rings armed) leaves nothing to the next.
 */
import { describe, expect, it } from 'vitest';
import { defineExploreScenario, explore, type ExploreScenario } from '../../src/explore/index.ts';
import { DriverHost } from '../../src/host/driver-host.ts';
import { loadFramework } from '../../src/host/frameworks/index.ts';
import { Kernel } from '../../src/kernel/index.ts';
import { PacketRing } from '../../src/ring/index.ts';
import { e1000Frames, e1000FramesBothWays } from '../fixtures/broken/e1000-scenario.ts';

/** `inner`, noting the QEMU process each run was given. */
function noting(inner: ExploreScenario, pids: number[]): ExploreScenario {
  return defineExploreScenario({
    ...inner,
    async run(ctx) {
      pids.push(ctx.machine!.stub.pid!);
      await inner.run(ctx);
    },
  });
}

describe('explore against QEMU', () => {
  it('runs 20 e1000 bring-ups, sends and halts on one QEMU process, all clean', async () => {
    const pids: number[] = [];
    const r = await explore(noting(e1000Frames, pids), { runs: 20 });
    expect(r.failures).toEqual([]);
    expect(r.runs).toBe(20);
    expect(pids).toHaveLength(20);
    expect(new Set(pids).size).toBe(1);
  });

  it('a run that fails with its driver up (not halted) does not disturb the runs after it', async () => {
    const pids: number[] = [];
    const abandoning = defineExploreScenario({
      name: 'abandon the driver on seed 1, then the e1000 scenario',
      device: 'qemu-e1000',
      async run(ctx) {
        pids.push(ctx.machine!.stub.pid!);
        if (ctx.kernelOptions.seed !== 1) return e1000Frames.run(ctx);
        const kernel = new Kernel({ ...ctx.kernelOptions, lines: ctx.machine!.lines });
        ctx.attach(kernel);
        const ring = (): PacketRing => new PacketRing({ slotCount: 64, slotSize: 2048 });
        await (
          await loadFramework('ndis6')
        )({ kernel, machine: ctx.machine!, rxRing: ring(), txRing: ring(), settings: {} });
        throw new Error('the scenario gave up with the driver running');
      },
    });
    const r = await explore(abandoning, { runs: 6 });
    expect(r.failures.map((f) => [f.seed, f.message])).toEqual([[1, 'the scenario gave up with the driver running']]);
    expect(new Set(pids).size).toBe(1);
  });

  it('receives after a reset too (each run waits out the e1000 1 s RCTL timer)', async () => {
    const r = await explore(e1000FramesBothWays, { runs: 2 });
    expect(r.failures).toEqual([]);
  });

  it("the host reports the lockset verifier's record-mode findings in stats() (none on the reference e1000 miniport)", async () => {
    const host = await DriverHost.start({ verifier: { lockset: 'record' }, netdevWatch: false });
    try {
      expect(host.verifierFindings()).toEqual([]);
      expect((await host.stats()).verifier).toEqual({ findings: 0, list: [] });
    } finally {
      await host.stop();
    }
  });
});
