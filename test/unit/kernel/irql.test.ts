import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, BugCheckError, DdiRule, Irql, KernelEvent, KernelTimer, VerifierViolation } from '../../../src/kernel/index.ts';
import { KernelContextError } from '../../../src/kernel/errors.ts';
import { makeRig, type Rig } from './fakes.ts';

let rig: Rig;
afterEach(async () => rig?.cleanup());

describe('processors and IRQL', () => {
  it('has one processor by default and as many as configured', async () => {
    rig = makeRig();
    expect(rig.kernel.processors).toHaveLength(1);
    await rig.cleanup();
    rig = makeRig({ processors: 3 });
    expect(rig.kernel.processors.map((p) => p.index)).toEqual([0, 1, 2]);
  });

  it('runs a system-thread routine at PASSIVE_LEVEL and reports its processor', async () => {
    rig = makeRig();
    const seen = await rig.kernel.runAtPassive('MiniportInitializeEx', () => [rig.kernel.currentIrql(), rig.kernel.currentProcessor()]);
    expect(seen).toEqual([Irql.PASSIVE_LEVEL, 0]);
  });

  it('keeps the IRQL of a routine across awaits of register accesses', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const regs = new (await import('../../../src/kernel/index.ts')).DeviceRegisters(kernel, rig.device);
    const irqls = await kernel.runAtPassive('r', async () => {
      const old = kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      await regs.read32(0x8);
      const during = kernel.currentIrql();
      await kernel.lowerIrql(old);
      await regs.write32(0x8, 1);
      return [during, kernel.currentIrql()];
    });
    expect(irqls).toEqual([Irql.DISPATCH_LEVEL, Irql.PASSIVE_LEVEL]);
  });

  it('KeRaiseIrql returns the old IRQL and KeLowerIrql restores it', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const out = await kernel.runAtPassive('r', async () => {
      const old = kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      const mid = kernel.currentIrql();
      const old2 = kernel.raiseIrql(Irql.HIGH_LEVEL);
      await kernel.lowerIrql(old2);
      await kernel.lowerIrql(old);
      return [old, mid, old2, kernel.currentIrql()];
    });
    expect(out).toEqual([0, 2, 2, 0]);
  });

  it('records what a processor runs: routine, IRQL and since when', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const before = Date.now();
    const chain = await kernel.runAtPassive('MiniportInitializeEx', async () => {
      kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      const c = kernel.processors[0]!.running();
      await kernel.lowerIrql(Irql.PASSIVE_LEVEL);
      return c;
    });
    expect(chain).toHaveLength(1);
    expect(chain[0]).toMatchObject({ kind: 'thread', name: 'MiniportInitializeEx', irql: Irql.DISPATCH_LEVEL });
    expect(Date.parse(chain[0]!.since)).toBeGreaterThanOrEqual(before - 5);
    expect(kernel.processors[0]!.running()).toEqual([]);
  });

  it('raising to a lower IRQL is a bug check (0xC4, 0x30)', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const run = kernel.runAtPassive('r', () => {
      kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      kernel.raiseIrql(Irql.APC_LEVEL);
    });
    await expect(run).rejects.toBeInstanceOf(BugCheckError);
    const report = await kernel.bugCheckReport;
    expect(report.code).toBe(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION);
    expect(report.parameters).toEqual([VerifierViolation.RAISE_IRQL_INVALID, Irql.DISPATCH_LEVEL, Irql.APC_LEVEL, 0]);
    expect(report.api).toBe('KeRaiseIrql');
  });

  it('lowering to a higher IRQL is a bug check (0xC4, 0x31)', async () => {
    rig = makeRig();
    const { kernel } = rig;
    await expect(kernel.runAtPassive('r', () => kernel.lowerIrql(Irql.DISPATCH_LEVEL))).rejects.toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.LOWER_IRQL_INVALID, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL, 0],
    });
  });

  it('a routine returning at a raised IRQL is IRQL_UNEXPECTED_VALUE', async () => {
    rig = makeRig();
    const { kernel } = rig;
    await expect(
      kernel.runAtPassive('LeaksIrql', () => {
        kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      }),
    ).rejects.toMatchObject({
      code: BugCheckCode.IRQL_UNEXPECTED_VALUE,
      parameters: [(Irql.DISPATCH_LEVEL << 16) | (Irql.PASSIVE_LEVEL << 8) | 2, 0, 0, 0],
    });
  });

  it("an API called above its IRQL range is Driver Verifier's 0xC4/0xE5 (kernel API at incorrect IRQL) naming the API", async () => {
    rig = makeRig();
    const { kernel } = rig;
    const run = kernel.runAtPassive('MiniportSend', () => {
      kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      kernel.requireIrql('NdisAllocateMemoryWithTagPriority (paged)', Irql.PASSIVE_LEVEL, Irql.APC_LEVEL);
    });
    await expect(run).rejects.toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.DDI_AT_WRONG_IRQL, Irql.DISPATCH_LEVEL, 0, 0],
    });
    const report = await kernel.bugCheckReport;
    expect(report.api).toBe('NdisAllocateMemoryWithTagPriority (paged)');
    expect(report.message).toContain('IRQL <= APC_LEVEL');
  });

  it('an API called below its IRQL range is 0xC4/0xE5 too: Windows has no IRQL_NOT_GREATER_OR_EQUAL parameters to give', async () => {
    rig = makeRig();
    const { kernel } = rig;
    await expect(kernel.runAtPassive('r', () => kernel.requireIrql('IoSomethingAtDispatch', Irql.DISPATCH_LEVEL, Irql.DISPATCH_LEVEL))).rejects.toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.DDI_AT_WRONG_IRQL, Irql.PASSIVE_LEVEL, 0, 0],
    });
  });

  it('KeSetTimerEx above DISPATCH_LEVEL is the IrqlKeDispatchLte DDI rule (0xC4/0x20011)', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const timer = new KernelTimer(kernel, 'LateTimer');
    await expect(
      kernel.runAtPassive('r', () => {
        kernel.raiseIrql(5);
        timer.set(10);
      }),
    ).rejects.toMatchObject({ code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, parameters: [DdiRule.IrqlKeDispatchLte.id, 5, 0, 0], report: { api: 'KeSetTimerEx' } });
    expect((await kernel.bugCheckReport).message).toContain('IrqlKeDispatchLte');
    expect(timer.isSet).toBe(false);
  });

  it('KeSetEvent above DISPATCH_LEVEL is the IrqlKeSetEvent DDI rule (0xC4/0x20016)', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const event = new KernelEvent(kernel);
    await expect(
      kernel.runAtPassive('r', () => {
        kernel.raiseIrql(5);
        event.set();
      }),
    ).rejects.toMatchObject({ code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, parameters: [DdiRule.IrqlKeSetEvent.id, 5, 0, 0], report: { api: 'KeSetEvent' } });
  });

  it('driver-only APIs called outside any kernel routine are a typed error, not a bug check', () => {
    rig = makeRig();
    expect(() => rig.kernel.currentIrql()).toThrow(KernelContextError);
    expect(rig.kernel.stopped).toBeNull();
  });
});
