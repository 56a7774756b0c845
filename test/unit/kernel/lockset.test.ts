import { afterEach, describe, expect, it } from 'vitest';
import { DeviceRegisters, Dpc, Irql, KernelError, defineRegisterMap, withRegisterSemantics, type InterruptObject } from '../../../src/kernel/index.ts';
import { ICR, IMC, IMS, makeRig, type Rig } from './fakes.ts';

const CTRL = 0x0;
const RXT0 = 0x80;
const LINE = 11;
const map = defineRegisterMap({
  CTRL,
  ICR: { offset: ICR, semantics: 'read-to-clear' },
  IMS: { offset: IMS, semantics: { pair: 'IMS', op: 'set' } },
  IMC: { offset: IMC, semantics: { pair: 'IMS', op: 'clear' } },
});

let rig: Rig;
afterEach(async () => rig?.cleanup());

/** An ISR that masks, reads ICR and does `isrWork`; the device interrupts once the routine runs. */
function setUp(isrWork: (regs: DeviceRegisters) => Promise<void>, mode: 'record' | 'stop' = 'record'): { regs: DeviceRegisters; interrupt: InterruptObject } {
  rig = makeRig({ verifier: { lockset: mode } });
  const { kernel } = rig;
  const regs = new DeviceRegisters(kernel, rig.device, { name: 'nic', registerName: map });
  const interrupt = kernel.connectInterrupt({
    line: LINE,
    irql: 5,
    name: 'NicIsr',
    isr: async () => {
      await regs.write32(IMC, 0xffffffff);
      if ((await regs.read32(ICR)) === 0) return false;
      await isrWork(regs);
      return true;
    },
  });
  return { regs, interrupt };
}

describe('lockset verifier: device registers', () => {
  it('a PASSIVE read-modify-write of a register the ISR writes is rule 1, naming both sites', async () => {
    const { regs } = setUp(async (r) => r.write32(CTRL, 1));
    rig.device.raise(RXT0);
    await rig.kernel.runAtPassive('MiniportSetFilter', async () => {
      const v = await regs.read32(CTRL);
      await regs.write32(CTRL, v | 2);
    });
    const [f] = rig.kernel.verifier.locksetFindings;
    expect(f).toMatchObject({ rule: 1, location: 'nic.CTRL' });
    expect([f!.first.routine, f!.second.routine]).toEqual(['NicIsr', 'MiniportSetFilter']);
    expect(f!.first).toMatchObject({ irql: 5, access: 'write', locks: ['NicIsr interrupt spin lock'] });
    expect(f!.second).toMatchObject({ irql: Irql.PASSIVE_LEVEL, access: 'read-modify-write', locks: [] });
    expect(f!.message).toMatch(/NicIsr interrupt spin lock/);
  });

  it('inside synchronizeExecution the same routine is clean', async () => {
    const { regs, interrupt } = setUp(async (r) => r.write32(CTRL, 1));
    rig.device.raise(RXT0);
    await rig.kernel.runAtPassive('MiniportSetFilter', () =>
      rig.kernel.synchronizeExecution(interrupt, async () => {
        const v = await regs.read32(CTRL);
        await regs.write32(CTRL, v | 2);
        return true;
      }),
    );
    expect(rig.kernel.verifier.locksetFindings).toEqual([]);
  });

  it('read-to-clear reads and lone set/clear writes are not read-modify-write races', async () => {
    const { regs } = setUp(async () => undefined);
    rig.device.raise(RXT0);
    await rig.kernel.runAtPassive('MiniportEnableInterrupt', async () => {
      await regs.read32(ICR);
      await regs.write32(IMS, RXT0);
      await regs.write32(IMC, RXT0);
    });
    expect(rig.kernel.verifier.locksetFindings).toEqual([]);
  });

  it('reading IMS and writing the mask back is a read-modify-write of the pair', async () => {
    const { regs } = setUp(async () => undefined);
    rig.device.raise(RXT0);
    await rig.kernel.runAtPassive('MiniportSetMask', async () => {
      const m = await regs.read32(IMS);
      await regs.write32(IMC, ~m);
    });
    expect(rig.kernel.verifier.locksetFindings).toMatchObject([{ rule: 1, location: 'nic.IMS', second: { access: 'read-modify-write' } }]);
  });

  it('accesses before the interrupt is connected are the initialisation phase', async () => {
    rig = makeRig({ verifier: { lockset: 'stop' } });
    const { kernel } = rig;
    const regs = new DeviceRegisters(kernel, rig.device, { name: 'nic', registerName: map });
    await kernel.runAtPassive('MiniportInitialize', async () => {
      const v = await regs.read32(CTRL);
      await regs.write32(CTRL, v | 2);
    });
    kernel.connectInterrupt({
      line: LINE,
      irql: 5,
      name: 'NicIsr',
      isr: async () => {
        if ((await regs.read32(ICR)) === 0) return false;
        await regs.write32(CTRL, 1);
        return true;
      },
    });
    rig.device.raise(RXT0);
    await kernel.quiesce();
    expect(kernel.stopped).toBeNull();
  });

  it('stop mode bug checks 0xC4 / 0xE005 with the rule and both IRQLs, and both stacks in the report', async () => {
    const { regs } = setUp(async (r) => r.write32(CTRL, 1), 'stop');
    rig.device.raise(RXT0);
    await expect(rig.kernel.runAtPassive('MiniportSetFilter', async () => regs.write32(CTRL, 2))).rejects.toThrow(/lockset rule 1/);
    const report = rig.kernel.lastBugCheck!;
    expect(report.parameters).toEqual([0xe005, 1, 5, Irql.PASSIVE_LEVEL]);
    expect(report.stacks.map((s) => s.label)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^first access \(NicIsr/), expect.stringMatching(/^second access \(MiniportSetFilter/)]),
    );
  });
});

describe('lockset verifier: shared state', () => {
  it('rule 2: a DPC and a thread writing a field with no common spin lock', async () => {
    rig = makeRig({ verifier: { lockset: 'record' } });
    const { kernel } = rig;
    kernel.connectInterrupt({ line: LINE, irql: 5, isr: () => false });
    const state = kernel.verifier.shared({ head: 0 }, 'RING', { fields: ['head'] });
    const dpc = new Dpc(
      () => {
        state.head++;
      },
      undefined,
      'RingDpc',
    );
    await kernel.runAtPassive('Send', async () => {
      state.head++;
      await kernel.insertQueueDpc(dpc);
    });
    expect(kernel.verifier.locksetFindings).toMatchObject([{ rule: 2, location: 'RING.head', first: { routine: 'Send' }, second: { routine: 'RingDpc' } }]);
  });

  it('rule 2 is refined by the lock both sides hold', async () => {
    rig = makeRig({ verifier: { lockset: 'record' } });
    const { kernel } = rig;
    kernel.connectInterrupt({ line: LINE, irql: 5, isr: () => false });
    const lock = kernel.createSpinLock('RING lock');
    const state = kernel.verifier.shared({ head: 0 }, 'RING', { fields: ['head'] });
    const dpc = new Dpc(
      async () => {
        await lock.acquireAtDpcLevel();
        state.head++;
        lock.releaseFromDpcLevel();
      },
      undefined,
      'RingDpc',
    );
    await kernel.runAtPassive('Send', async () => {
      const old = await lock.acquire();
      state.head++;
      await lock.release(old);
      await kernel.insertQueueDpc(dpc);
    });
    expect(kernel.verifier.locksetFindings).toEqual([]);
  });

  it('reads from host code are not counted, and a field that is not there is an error', () => {
    rig = makeRig({ verifier: { lockset: 'record' } });
    const state = rig.kernel.verifier.shared({ head: 0 }, 'RING', { fields: ['head'] });
    state.head = 3;
    expect(state.head).toBe(3);
    expect(() => rig.kernel.verifier.shared({ head: 0 }, 'RING', { fields: ['tail'] })).toThrow(KernelError);
  });

  it('off: nothing is tracked, the object is left as it is, the timing checks stay off with lockset alone', async () => {
    rig = makeRig();
    const obj = { head: 0 };
    expect(rig.kernel.verifier.shared(obj, 'RING', { fields: ['head'] })).toBe(obj);
    expect(Object.getOwnPropertyDescriptor(obj, 'head')).toMatchObject({ value: 0, writable: true });
    expect(rig.kernel.verifier.lockset).toBeNull();
    const other = makeRig({ verifier: { lockset: 'record' } });
    expect(other.kernel.verifier.enabled).toBe(false);
    expect(other.kernel.verifier.lockset?.mode).toBe('record');
    await other.cleanup();
  });
});

describe('register maps', () => {
  it('defineRegisterMap names registers and gives their semantics; a clash or half a pair is an error', () => {
    expect(map(ICR)).toBe('ICR');
    expect(map.semanticsOf(ICR)).toBe('read-to-clear');
    expect(map.semanticsOf(CTRL)).toBe('plain');
    expect(map.semanticsOf(0x1234)).toBe('plain');
    expect(() => defineRegisterMap({ A: 0, B: 0 })).toThrow(/already A/);
    expect(() => withRegisterSemantics(() => undefined, { IMS: { pair: 'IMS', op: 'set' } })).toThrow(/no other half/);
  });
});
