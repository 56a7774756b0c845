import { afterEach, describe, expect, it } from 'vitest';
import { DeviceRegisters, Irql, type InterruptObject } from '../../../src/kernel/index.ts';
import { ICR, makeRig, type Rig } from './fakes.ts';

const CTRL = 0x0;
const ROUTINE_BIT = 0x1;
const ISR_BIT = 0x100;
const RXT0 = 0x80;
const LINE = 11;

let rig: Rig;
afterEach(async () => rig?.cleanup());

/**
 * The seeds' warning, executed: a PASSIVE_LEVEL routine does read-modify-write of CTRL while the
 * device interrupts between the read and the write; the ISR also sets a bit in CTRL.
 */
function setUp(processors = 1): { regs: DeviceRegisters; interrupt: InterruptObject; order: string[]; isrProcessors: number[] } {
  rig = makeRig({ processors });
  const { kernel, device } = rig;
  const regs = new DeviceRegisters(kernel, device, { name: 'nic' });
  const order: string[] = [];
  const isrProcessors: number[] = [];
  const interrupt = kernel.connectInterrupt({
    line: LINE,
    irql: 5,
    name: 'NicIsr',
    isr: async () => {
      const icr = await regs.read32(ICR);
      if (icr === 0) return false;
      order.push(`isr at ${kernel.currentIrql()}`);
      isrProcessors.push(kernel.currentProcessor());
      const ctrl = await regs.read32(CTRL);
      await regs.write32(CTRL, ctrl | ISR_BIT);
      return true;
    },
  });
  // The device raises its interrupt while the routine is between its read and its write.
  device.onceOnRead(CTRL, () => device.raise(RXT0));
  return { regs, interrupt, order, isrProcessors };
}

describe('preemption at register accesses (the lost update)', () => {
  it('a PASSIVE routine doing read-modify-write without synchronization loses the ISR update', async () => {
    const { regs, order } = setUp();
    const { kernel, device } = rig;
    await kernel.runAtPassive('MiniportSetFilter', async () => {
      const ctrl = await regs.read32(CTRL);
      order.push('routine read');
      await regs.write32(CTRL, ctrl | ROUTINE_BIT);
      order.push('routine wrote');
    });
    await kernel.quiesce();
    expect(order).toEqual(['isr at 5', 'routine read', 'routine wrote']);
    expect(device.regs.get(CTRL)).toBe(ROUTINE_BIT);
    expect(device.regs.get(CTRL)! & ISR_BIT).toBe(0);
  });

  it('the same routine inside synchronizeExecution keeps the ISR update', async () => {
    const { regs, interrupt, order } = setUp();
    const { kernel, device } = rig;
    const returned = await kernel.runAtPassive('MiniportSetFilter', async () => {
      const r = await kernel.synchronizeExecution(interrupt, async function SetFilterSync() {
        order.push(`sync at ${kernel.currentIrql()}`);
        const ctrl = await regs.read32(CTRL);
        await regs.write32(CTRL, ctrl | ROUTINE_BIT);
        order.push('sync wrote');
        return true;
      });
      order.push(`back at ${kernel.currentIrql()}`);
      return r;
    });
    await kernel.quiesce();
    expect(returned).toBe(true);
    expect(order).toEqual(['sync at 5', 'sync wrote', 'isr at 5', `back at ${Irql.PASSIVE_LEVEL}`]);
    expect(device.regs.get(CTRL)).toBe(ROUTINE_BIT | ISR_BIT);
  });

  it('on two processors the unsynchronized routine still loses the update when the ISR runs on the other processor', async () => {
    const { regs, order, isrProcessors } = setUp(2);
    const { kernel, device } = rig;
    device.latency = 'macrotask';
    await kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'MiniportSetFilter', async () => {
      const ctrl = await regs.read32(CTRL);
      // Give the other processor time to take the interrupt, as real hardware would.
      await kernel.stallExecutionProcessor(2000);
      order.push('routine read');
      await regs.write32(CTRL, ctrl | ROUTINE_BIT);
    });
    await kernel.quiesce();
    expect(order[0]).toBe('isr at 5');
    expect(isrProcessors).toEqual([1]);
    expect(device.regs.get(CTRL)! & ISR_BIT).toBe(0);
  });

  it('on two processors synchronizeExecution keeps the update: the ISR waits for the lock on the other processor', async () => {
    const { regs, interrupt, order, isrProcessors } = setUp(2);
    const { kernel, device } = rig;
    device.latency = 'macrotask';
    let spinnerSeen = '';
    await kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'MiniportSetFilter', () =>
      kernel.synchronizeExecution(interrupt, async function SetFilterSync() {
        const ctrl = await regs.read32(CTRL);
        await kernel.stallExecutionProcessor(2000);
        spinnerSeen = kernel.processors[1]!.running()
          .map((r) => `${r.name}:${r.state ?? ''}`)
          .join(',');
        await regs.write32(CTRL, ctrl | ROUTINE_BIT);
        return true;
      }),
    );
    await kernel.quiesce();
    expect(spinnerSeen).toContain('spinning on NicIsr interrupt spin lock');
    expect(order).toEqual(['isr at 5']);
    expect(isrProcessors).toEqual([1]);
    expect(device.regs.get(CTRL)).toBe(ROUTINE_BIT | ISR_BIT);
  });
});
