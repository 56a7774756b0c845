import { afterEach, describe, expect, it } from 'vitest';
import { installDebuggerExtensions, type DirqlDebuggerExtensions } from '../../../src/debugger/extensions.ts';
import { DeviceRegisters, Dpc, Irql } from '../../../src/kernel/index.ts';
import { ICR, makeRig, type Rig } from '../kernel/fakes.ts';

let rig: Rig | undefined;
let undo: (() => void) | undefined;
afterEach(async () => {
  undo?.();
  undo = undefined;
  await rig?.cleanup();
  rig = undefined;
});

const dirql = () => (globalThis as { dirql?: DirqlDebuggerExtensions }).dirql;

describe('debugger extensions (dirql on globalThis, WinDbg-style)', () => {
  it('dirql.irql() inside an ISR is !irql: the DIRQL, its processor and the ISR; routines() shows it nested on that processor', async () => {
    rig = makeRig({ processors: 2 });
    const { kernel, device } = rig;
    undo = installDebuggerExtensions(kernel);
    const regs = new DeviceRegisters(kernel, device);
    let inIsr: { irql: string; processor: number; routines: ReturnType<DirqlDebuggerExtensions['routines']> } | undefined;
    kernel.connectInterrupt({
      line: 11,
      irql: 7,
      name: 'NicIsr',
      isr: async () => {
        const d = dirql()!;
        inIsr = { irql: d.irql(), processor: d.processor(), routines: d.routines() };
        return (await regs.read32(ICR)) !== 0;
      },
    });
    device.raise(0x80);
    await kernel.quiesce();
    expect(inIsr).toBeDefined();
    expect(inIsr!.irql).toMatch(/^7 \(.+\) on processor [01], in NicIsr$/);
    const mine = inIsr!.routines.find((p) => p.processor === inIsr!.processor)!;
    expect(mine.irql.startsWith('7 ')).toBe(true);
    expect(mine.routines.map((r) => r.name)).toContain('NicIsr');
  });

  it('dirql.dpcs() lists a queued DPC on its processor until it runs; interrupts() lists connected interrupts; trace(n) the last n events', async () => {
    rig = makeRig({ processors: 1 });
    const { kernel } = rig;
    undo = installDebuggerExtensions(kernel);
    const dpc = new Dpc(() => {}, undefined, 'MyDpc');
    let queuedView: ReturnType<DirqlDebuggerExtensions['dpcs']> | undefined;
    await kernel.runAtPassive('Queuer', async () => {
      const old = kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      expect(kernel.insertQueueDpc(dpc)).toBe(true);
      queuedView = dirql()!.dpcs();
      await kernel.lowerIrql(old);
    });
    expect(queuedView).toEqual([{ processor: 0, dpcs: ['MyDpc'] }]);
    expect(dirql()!.dpcs()).toEqual([{ processor: 0, dpcs: [] }]);
    kernel.connectInterrupt({ line: 11, irql: 5, name: 'NicIsr', isr: () => false });
    expect(dirql()!.interrupts()).toEqual([{ name: 'NicIsr', line: 11, irql: 5, synchronizeIrql: 5, passive: false, processors: 'any' }]);
    const events = dirql()!.trace(3);
    expect(events.length).toBeGreaterThan(0);
    expect(events.length).toBeLessThanOrEqual(3);
  });

  it('outside kernel-run code irql() says so and processor() is -1; the undo removes dirql from globalThis', () => {
    rig = makeRig();
    undo = installDebuggerExtensions(rig.kernel);
    expect(dirql()!.irql()).toMatch(/^no kernel routine is running here/);
    expect(dirql()!.processor()).toBe(-1);
    undo();
    undo = undefined;
    expect(dirql()).toBeUndefined();
  });
});
