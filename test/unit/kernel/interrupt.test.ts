import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, DeviceRegisters, Irql, VerifierViolation } from '../../../src/kernel/index.ts';
import { KernelError } from '../../../src/kernel/errors.ts';
import { ICR, IMC, makeRig, type Rig } from './fakes.ts';
import { connectMarkerIsr } from '../../support/marker-isr.ts';

let rig: Rig;
afterEach(async () => rig?.cleanup());

const LINE = 11;

describe('interrupt objects', () => {
  it('an idle processor takes an asserted interrupt on its own, at the DIRQL', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const seen: number[] = [];
    kernel.connectInterrupt({
      line: LINE,
      irql: 7,
      isr: async () => {
        seen.push(kernel.currentIrql());
        return (await regs.read32(ICR)) !== 0;
      },
    });
    device.raise(0x80);
    await kernel.quiesce();
    expect(seen).toEqual([7]);
  });

  it('runs the ISR at its synchronize IRQL when that is above the DIRQL', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const seen: number[] = [];
    kernel.connectInterrupt({
      line: LINE,
      irql: 5,
      synchronizeIrql: 8,
      isr: async () => {
        seen.push(kernel.currentIrql());
        return (await regs.read32(ICR)) !== 0;
      },
    });
    device.raise(0x80);
    await kernel.quiesce();
    expect(seen).toEqual([8]);
  });

  it('level-triggered: an ISR that leaves the cause asserted is entered again, after the line source settles', async () => {
    rig = makeRig();
    const { kernel, device, lines } = rig;
    const regs = new DeviceRegisters(kernel, device);
    let calls = 0;
    kernel.connectInterrupt({
      line: LINE,
      isr: async () => {
        calls++;
        if (calls === 1) return true; // claims it but does not read ICR: the cause stays asserted
        return (await regs.read32(ICR)) !== 0;
      },
    });
    device.raise(0x80);
    await kernel.quiesce();
    expect(calls).toBe(2);
    expect(lines.settles).toBeGreaterThanOrEqual(2);
    expect(lines.isAsserted(LINE)).toBe(false);
  });

  it('shared line: the ISRs are asked in turn until one recognises the interrupt', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const asked: string[] = [];
    kernel.connectInterrupt({
      line: LINE,
      name: 'OtherDeviceIsr',
      isr: () => {
        asked.push('other');
        return false;
      },
    });
    kernel.connectInterrupt({
      line: LINE,
      name: 'NicIsr',
      isr: async () => {
        asked.push('nic');
        return (await regs.read32(ICR)) !== 0;
      },
    });
    kernel.connectInterrupt({
      line: LINE,
      name: 'ThirdIsr',
      isr: () => {
        asked.push('third');
        return false;
      },
    });
    device.raise(0x80);
    await kernel.quiesce();
    expect(asked).toEqual(['other', 'nic']);
  });

  it('a line connected without ShareVector cannot be shared', () => {
    rig = makeRig();
    rig.kernel.connectInterrupt({ line: LINE, shareVector: false, isr: () => false });
    expect(() => rig.kernel.connectInterrupt({ line: LINE, isr: () => false })).toThrow(KernelError);
  });

  it('a level line that stays asserted while every ISR says "not mine" is HARDWARE_INTERRUPT_STORM past the threshold', async () => {
    rig = makeRig({ limits: { interruptStormThreshold: 50 } });
    const { kernel, device } = rig;
    let calls = 0;
    const a = kernel.connectInterrupt({
      line: LINE,
      name: 'NotMineA',
      isr: () => {
        calls++;
        return false;
      },
    });
    kernel.connectInterrupt({ line: LINE, name: 'NotMineB', isr: () => false });
    device.raise(0x80);
    const report = await kernel.bugCheckReport;
    expect(report.code).toBe(BugCheckCode.HARDWARE_INTERRUPT_STORM);
    expect(report.parameters).toEqual([a.id, 0, a.id, 2]);
    expect(calls).toBe(50);
    expect(report.message).toContain('NotMineA, NotMineB');
  });

  it('a higher DIRQL interrupts an ISR at its preemption point; a lower one waits for it', async () => {
    rig = makeRig();
    const { kernel, device, lines } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const order: string[] = [];
    kernel.connectInterrupt({
      line: LINE,
      irql: 5,
      name: 'LowIsr',
      isr: async () => {
        order.push('low in');
        lines.set(3, true);
        lines.set(4, true);
        await regs.read32(ICR);
        order.push('low out');
        return true;
      },
    });
    kernel.connectInterrupt({
      line: 3,
      irql: 9,
      name: 'HighIsr',
      isr: () => {
        order.push(`high at ${kernel.currentIrql()}`);
        lines.set(3, false);
        return true;
      },
    });
    kernel.connectInterrupt({
      line: 4,
      irql: 4,
      name: 'LowerIsr',
      isr: () => {
        order.push(`lower at ${kernel.currentIrql()}`);
        lines.set(4, false);
        return true;
      },
    });
    device.raise(0x80);
    await kernel.quiesce();
    expect(order).toEqual(['low in', 'high at 9', 'low out', 'lower at 4']);
  });

  it('interrupt targeting: an interrupt with affinity to processor 1 runs there while processor 0 runs a routine', async () => {
    rig = makeRig({ processors: 2 });
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const ran: number[] = [];
    kernel.connectInterrupt({
      line: LINE,
      processors: [1],
      isr: async () => {
        ran.push(kernel.currentProcessor());
        return (await regs.read32(ICR)) !== 0;
      },
    });
    await kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'r', async () => {
      device.raise(0x80);
      for (let i = 0; i < 5; i++) await regs.read32(0);
    });
    await kernel.quiesce();
    expect(ran).toEqual([1]);
  });

  it('an interrupt is not taken by a processor whose IRQL is at or above the DIRQL; it is taken when the IRQL drops', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const order: string[] = [];
    kernel.connectInterrupt({
      line: LINE,
      irql: 5,
      isr: async () => {
        order.push('isr');
        return (await regs.read32(ICR)) !== 0;
      },
    });
    await kernel.runAtPassive('r', async () => {
      const old = kernel.raiseIrql(6);
      device.raise(0x80);
      await regs.read32(0);
      order.push('read at 6');
      await kernel.lowerIrql(old);
      await regs.read32(0);
      order.push('read at 0');
    });
    expect(order).toEqual(['read at 6', 'isr', 'read at 0']);
  });

  it('after disconnect returns the ISR is never called again', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    let isrCalls = 0;
    const interrupt = kernel.connectInterrupt({
      line: LINE,
      isr: async () => {
        isrCalls++;
        return (await regs.read32(ICR)) !== 0;
      },
    });
    device.raise(0x80);
    await kernel.quiesce();
    await kernel.runAtPassive('MiniportHalt', () => interrupt.disconnect());
    expect(kernel.connectedInterrupts).toEqual([]);
    const marker = connectMarkerIsr(kernel, LINE, () => device.write32(IMC, 0xffffffff));
    device.raise(0x80);
    await kernel.quiesce();
    expect(marker.calls).toBe(1);
    expect(isrCalls).toBe(1);
    expect(interrupt.disconnected).toBe(true);
  });

  it('disconnect waits for an ISR running on another processor to return', async () => {
    rig = makeRig({ processors: 2 });
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const order: string[] = [];
    const interrupt = kernel.connectInterrupt({
      line: LINE,
      processors: [1],
      isr: async () => {
        order.push('isr in');
        await kernel.stallExecutionProcessor(5000);
        await regs.read32(ICR);
        order.push('isr out');
        return true;
      },
    });
    device.raise(0x80);
    await kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'MiniportHalt', async () => {
      while (!order.includes('isr in')) await kernel.delayExecution(1);
      order.push('disconnect');
      await interrupt.disconnect();
      order.push('disconnected');
    });
    expect(order).toEqual(['isr in', 'disconnect', 'isr out', 'disconnected']);
  });

  it("IoDisconnectInterruptEx at DISPATCH_LEVEL is Driver Verifier's 0xC4/0xE5", async () => {
    rig = makeRig();
    const { kernel } = rig;
    const interrupt = kernel.connectInterrupt({ line: LINE, isr: () => false });
    await expect(
      kernel.runAtPassive('r', async () => {
        kernel.raiseIrql(Irql.DISPATCH_LEVEL);
        await interrupt.disconnect();
      }),
    ).rejects.toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.DDI_AT_WRONG_IRQL, Irql.DISPATCH_LEVEL, 0, 0],
      report: { api: 'IoDisconnectInterruptEx' },
    });
  });

  it('an exception escaping an ISR is KMODE_EXCEPTION_NOT_HANDLED', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    kernel.connectInterrupt({
      line: LINE,
      name: 'ThrowingIsr',
      isr: () => {
        throw new RangeError('bad index');
      },
    });
    device.raise(0x80);
    const report = await kernel.bugCheckReport;
    expect(report.code).toBe(BugCheckCode.KMODE_EXCEPTION_NOT_HANDLED);
    expect(report.routines.map((r) => r.name)).toEqual(['interrupt line 11', 'ThrowingIsr']);
  });

  it("an ISR that returns at another IRQL is Driver Verifier's 0xC4/0x111 (ISR, IRQL before, IRQL after)", async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const i = kernel.connectInterrupt({
      line: LINE,
      irql: 5,
      isr: async () => {
        kernel.raiseIrql(9);
        return (await regs.read32(ICR)) !== 0;
      },
    });
    device.raise(0x80);
    const report = await kernel.bugCheckReport;
    expect(report.code).toBe(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION);
    expect(report.parameters).toEqual([VerifierViolation.ISR_CHANGED_IRQL, i.id, 5, 9]);
  });
});
