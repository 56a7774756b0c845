import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, Irql, VerifierViolation } from '../../../src/kernel/index.ts';
import { NtStatus, WdfStatusError, WdfViolation, WdfTypeId, type WDFINTERRUPT } from '../../../src/wdf/index.ts';
import { atPassive, ICR, LINE, loadNic, makeWdfRig, type WdfRig } from './rig.ts';

let r: WdfRig;
afterEach(async () => r?.cleanup());

/** The NIC with an EvtInterruptIsr that notes the processor it ran on in `order`, then reads ICR. */
function loadNicRecordingIsr(rig: WdfRig, order: string[]): ReturnType<typeof loadNic> {
  return loadNic(rig, {
    interrupt: {
      async evtInterruptIsr(interrupt) {
        const c = rig.wdf.getContext<{ regs: { read32(o: number): Promise<number> } }>(rig.wdf.wdfInterruptGetDevice(interrupt));
        order.push(`isr on ${rig.kernel.currentProcessor()}`);
        return (await c.regs.read32(ICR)) !== 0;
      },
    },
  });
}

describe('WdfInterruptSynchronize', () => {
  it("WdfInterruptSynchronize returns the EvtInterruptSynchronize callback's boolean", async () => {
    r = makeWdfRig();
    const { context } = await loadNic(r);
    await r.wdf.startDevice(r.resources);
    const seen: unknown[] = [];
    const results = await atPassive(r, async () => [
      await r.wdf.wdfInterruptSynchronize(
        context.interrupt,
        (i, ctx: { want: boolean }) => {
          seen.push([i, ctx.want]);
          return ctx.want;
        },
        { want: true },
      ),
      await r.wdf.wdfInterruptSynchronize(context.interrupt, async (_i, ctx: { want: boolean }) => ctx.want, { want: false }),
    ]);
    expect(results).toEqual([true, false]);
    expect(seen).toEqual([[context.interrupt, true]]);
  });

  it("EvtInterruptSynchronize runs at the device's DIRQL while holding the interrupt spin lock", async () => {
    r = makeWdfRig();
    const { context } = await loadNic(r, { irql: 7 });
    await r.wdf.startDevice(r.resources);
    const [kint] = r.kernel.connectedInterrupts;
    const inside = await atPassive(r, async () => {
      let irql = -1;
      let lockHeldByMe = false;
      await r.wdf.wdfInterruptSynchronize(
        context.interrupt,
        () => {
          irql = r.kernel.currentIrql();
          lockHeldByMe = kint!.lock.owner === r.kernel.current();
          return true;
        },
        null,
      );
      return { irql, lockHeldByMe, after: r.kernel.currentIrql(), lockAfter: kint!.lock.owner };
    });
    expect(inside).toEqual({ irql: 7, lockHeldByMe: true, after: Irql.PASSIVE_LEVEL, lockAfter: null });
  });

  it('for a passive-level interrupt WdfInterruptSynchronize runs the callback at PASSIVE under the passive-level interrupt lock', async () => {
    r = makeWdfRig();
    const { context } = await loadNic(r, { interrupt: { passiveHandling: true, evtInterruptDpc: undefined, evtInterruptWorkItem: () => undefined } });
    await r.wdf.startDevice(r.resources);
    const [kint] = r.kernel.connectedInterrupts;
    expect(kint!.passive).toBe(true);
    const inside = await atPassive(r, async () => {
      let irql = -1;
      let lockHeldByMe = false;
      const ret = await r.wdf.wdfInterruptSynchronize(
        context.interrupt,
        () => {
          irql = r.kernel.currentIrql();
          lockHeldByMe = kint!.lock.owner === r.kernel.current();
          return true;
        },
        null,
      );
      return { ret, irql, lockHeldByMe, lockAfter: kint!.lock.owner };
    });
    expect(inside).toEqual({ ret: true, irql: Irql.PASSIVE_LEVEL, lockHeldByMe: true, lockAfter: null });
  });

  it("WdfInterruptSynchronize above PASSIVE for a passive-level interrupt: KMDF's verifier records it and the DDI returns FALSE without calling back", async () => {
    r = makeWdfRig();
    const { context } = await loadNic(r, { interrupt: { passiveHandling: true, evtInterruptDpc: undefined, evtInterruptWorkItem: () => undefined } });
    await r.wdf.startDevice(r.resources);
    let called = false;
    const seen: unknown[] = [];
    r.kernel.on('wdf-verifier', (f: unknown) => seen.push(f));
    const ret = await atPassive(r, async () => {
      const old = r.kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      const got = await r.wdf.wdfInterruptSynchronize(
        context.interrupt,
        () => {
          called = true;
          return true;
        },
        null,
      );
      await r.kernel.lowerIrql(old);
      return got;
    });
    expect(ret).toBe(false);
    expect(called).toBe(false);
    expect(r.kernel.stopped).toBeNull();
    expect(r.wdf.verifier.findings).toMatchObject([{ api: 'WdfInterruptSynchronize', irql: Irql.DISPATCH_LEVEL, required: Irql.PASSIVE_LEVEL, processor: 0 }]);
    expect(r.wdf.verifier.findings[0]!.message).toMatch(/called at wrong IRQL; at level 2 \(DISPATCH_LEVEL\), should be at level 0 \(PASSIVE_LEVEL\)/);
    expect(seen).toEqual(r.wdf.verifier.findings);
  });

  it('with the verifier strict the same call is a stop: 0xC4/0xE5, a DDI at incorrect IRQL', async () => {
    r = makeWdfRig({ strictVerifier: true });
    const { context } = await loadNic(r, { interrupt: { passiveHandling: true, evtInterruptDpc: undefined, evtInterruptWorkItem: () => undefined } });
    await r.wdf.startDevice(r.resources);
    let called = false;
    await expect(
      atPassive(r, async () => {
        r.kernel.raiseIrql(Irql.DISPATCH_LEVEL);
        await r.wdf.wdfInterruptSynchronize(
          context.interrupt,
          () => {
            called = true;
            return true;
          },
          null,
        );
      }),
    ).rejects.toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.DDI_AT_WRONG_IRQL, Irql.DISPATCH_LEVEL, 0, 0],
      report: { api: 'WdfInterruptSynchronize' },
    });
    expect(called).toBe(false);
  });

  it('WdfInterruptAcquireLock above PASSIVE for a passive-level interrupt: recorded, and the lock is not taken', async () => {
    r = makeWdfRig();
    const { context } = await loadNic(r, { interrupt: { passiveHandling: true, evtInterruptDpc: undefined, evtInterruptWorkItem: () => undefined } });
    await r.wdf.startDevice(r.resources);
    await atPassive(r, async () => {
      const old = r.kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      await r.wdf.wdfInterruptAcquireLock(context.interrupt);
      await r.wdf.wdfInterruptReleaseLock(context.interrupt);
      await r.kernel.lowerIrql(old);
    });
    expect(r.wdf.verifier.findings.map((f) => f.api)).toEqual(['WdfInterruptAcquireLock', 'WdfInterruptReleaseLock']);
    expect(r.kernel.stopped).toBeNull();
    expect(await atPassive(r, () => r.wdf.wdfInterruptSynchronize(context.interrupt, () => true, null))).toBe(true);
  });

  it("WdfInterruptSynchronize from the interrupt's own ISR hangs on Windows: Driver Verifier's self-deadlock (0xC4, 0x1000), not 0xA", async () => {
    r = makeWdfRig();
    await loadNic(r, {
      irql: 7,
      interrupt: {
        evtInterruptIsr: async (interrupt) => {
          r.lines.set(LINE, false);
          await r.wdf.wdfInterruptSynchronize(interrupt, () => true, null);
          return true;
        },
      },
    });
    await r.wdf.startDevice(r.resources);
    r.lines.set(LINE, true);
    const report = await r.kernel.bugCheckReport;
    expect(report.code).toBe(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION);
    expect(report.parameters[0]).toBe(VerifierViolation.DEADLOCK_SELF);
  });

  it('WdfInterruptSynchronize above DISPATCH_LEVEL is 0xC4/0xE5', async () => {
    r = makeWdfRig();
    const { context } = await loadNic(r, { irql: 7 });
    await r.wdf.startDevice(r.resources);
    await expect(
      atPassive(r, async () => {
        r.kernel.raiseIrql(5);
        await r.wdf.wdfInterruptSynchronize(context.interrupt, () => true, null);
      }),
    ).rejects.toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.DDI_AT_WRONG_IRQL, 5, 0, 0],
      report: { api: 'WdfInterruptSynchronize' },
    });
  });

  it('while EvtInterruptSynchronize runs on one processor the ISR cannot run on another', async () => {
    r = makeWdfRig({ processors: 2 });
    const order: string[] = [];
    const { context } = await loadNicRecordingIsr(r, order);
    await r.wdf.startDevice(r.resources);
    const ret = await r.kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'SyncCaller', () =>
      r.wdf.wdfInterruptSynchronize(
        context.interrupt,
        async function ResetRings() {
          order.push('sync in');
          r.device.raise(0x80);
          await r.kernel.stallExecutionProcessor(3000);
          await context.regs!.read32(0x8);
          order.push('sync out');
          return true;
        },
        null,
      ),
    );
    await r.kernel.quiesce();
    expect(ret).toBe(true);
    expect(order).toEqual(['sync in', 'sync out', expect.stringMatching(/^isr on [01]$/)]);
  });

  it('WdfInterruptSynchronize before the interrupt is connected (in EvtDeviceD0Entry) is WDF_VIOLATION WDF_INVALID_INTERRUPT', async () => {
    r = makeWdfRig();
    let interrupt = 0 as WDFINTERRUPT;
    const loaded = await loadNic(r, {
      callbacks: {
        evtDeviceD0Entry: async () => {
          await r.wdf.wdfInterruptSynchronize(interrupt, () => true, null);
        },
      },
    });
    interrupt = loaded.context.interrupt;
    await expect(r.wdf.startDevice(r.resources)).rejects.toMatchObject({ code: BugCheckCode.WDF_VIOLATION, parameters: [WdfViolation.WDF_INVALID_INTERRUPT, interrupt, 0, 0] });
  });
});

describe('WDFINTERRUPT handles', () => {
  it('an invalid WDFINTERRUPT handle is bug check 0x10D (a made-up handle)', async () => {
    r = makeWdfRig();
    await loadNic(r);
    const bogus = 0x7777 as WDFINTERRUPT;
    await expect(atPassive(r, () => r.wdf.wdfInterruptSynchronize(bogus, () => true, null))).rejects.toMatchObject({
      code: BugCheckCode.WDF_VIOLATION,
      parameters: [WdfViolation.WDF_INVALID_HANDLE, 0x7777, WdfTypeId.WDFINTERRUPT, 0],
      report: { api: 'WdfInterruptSynchronize' },
    });
  });

  it('an invalid WDFINTERRUPT handle is bug check 0x10D (a handle of another type)', async () => {
    r = makeWdfRig();
    const { device } = await loadNic(r);
    await expect(atPassive(r, () => r.wdf.wdfInterruptQueueDpcForIsr(device as unknown as WDFINTERRUPT))).rejects.toMatchObject({
      code: BugCheckCode.WDF_VIOLATION,
      parameters: [WdfViolation.WDF_INVALID_HANDLE, device, WdfTypeId.WDFINTERRUPT, 0],
    });
    expect(r.kernel.lastBugCheck!.message).toContain('it is a WDFDEVICE');
  });

  it('an invalid WDFINTERRUPT handle is bug check 0x10D (the interrupt of a removed device)', async () => {
    r = makeWdfRig();
    const { context } = await loadNic(r);
    await r.wdf.startDevice(r.resources);
    await r.wdf.removeDevice();
    await expect(atPassive(r, () => r.wdf.wdfInterruptGetInfo(context.interrupt))).rejects.toMatchObject({
      code: BugCheckCode.WDF_VIOLATION,
      parameters: [WdfViolation.WDF_INVALID_HANDLE, context.interrupt, WdfTypeId.WDFINTERRUPT, 0],
    });
    expect(r.kernel.lastBugCheck!.message).toContain('deleted');
  });
});

describe('interrupt lock, DPC and work item', () => {
  it('WdfInterruptAcquireLock excludes the ISR until WdfInterruptReleaseLock', async () => {
    r = makeWdfRig({ processors: 2 });
    const order: string[] = [];
    const { context } = await loadNicRecordingIsr(r, order);
    await r.wdf.startDevice(r.resources);
    await r.kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'HoldsTheLock', async () => {
      await r.wdf.wdfInterruptAcquireLock(context.interrupt);
      order.push(`locked at ${r.kernel.currentIrql()}`);
      r.device.raise(0x80);
      // Processor 1 is idle and may take the interrupt; it must spin on the lock meanwhile.
      await r.kernel.stallExecutionProcessor(3000);
      await context.regs!.read32(0x8);
      order.push('releasing');
      await r.wdf.wdfInterruptReleaseLock(context.interrupt);
      order.push(`released, back at ${r.kernel.currentIrql()}`);
    });
    await r.kernel.quiesce();
    expect(order.slice(0, 3)).toEqual(['locked at 7', 'releasing', 'released, back at 0']);
    expect(order.filter((e) => e.startsWith('isr'))).toHaveLength(1);
    expect(order.indexOf('releasing')).toBeLessThan(order.findIndex((e) => e.startsWith('isr')));
  });

  it('WdfInterruptQueueDpcForIsr returns false when the DPC is already queued', async () => {
    r = makeWdfRig();
    const queued: boolean[] = [];
    let dpcs = 0;
    await loadNic(r, {
      interrupt: {
        async evtInterruptIsr(interrupt) {
          const c = r.wdf.getContext<{ regs: { read32(o: number): Promise<number> } }>(r.wdf.wdfInterruptGetDevice(interrupt));
          if ((await c.regs.read32(ICR)) === 0) return false;
          queued.push(await r.wdf.wdfInterruptQueueDpcForIsr(interrupt), await r.wdf.wdfInterruptQueueDpcForIsr(interrupt));
          return true;
        },
        evtInterruptDpc() {
          dpcs++;
        },
      },
    });
    await r.wdf.startDevice(r.resources);
    r.device.raise(0x80);
    await r.kernel.quiesce();
    expect(queued).toEqual([true, false]);
    expect(dpcs).toBe(1);
  });

  it('the DPC runs after the ISR returns, at DISPATCH_LEVEL on the same processor', async () => {
    r = makeWdfRig();
    const order: string[] = [];
    await loadNic(r, {
      interrupt: {
        async evtInterruptIsr(interrupt) {
          order.push(`isr in at ${r.kernel.currentIrql()}`);
          const c = r.wdf.getContext<{ regs: { read32(o: number): Promise<number> } }>(r.wdf.wdfInterruptGetDevice(interrupt));
          const icr = await c.regs.read32(ICR);
          await r.wdf.wdfInterruptQueueDpcForIsr(interrupt);
          await c.regs.read32(0x8);
          order.push('isr out');
          return icr !== 0;
        },
        evtInterruptDpc(_i, associated) {
          order.push(`dpc at ${r.kernel.currentIrql()} on ${r.kernel.currentProcessor()} for ${associated}`);
        },
      },
    });
    await r.wdf.startDevice(r.resources);
    r.device.raise(0x80);
    await r.kernel.quiesce();
    const device = r.wdf.devices[0];
    expect(order).toEqual(['isr in at 7', 'isr out', `dpc at ${Irql.DISPATCH_LEVEL} on 0 for ${device}`]);
  });

  it('work item runs at PASSIVE (queued from the ISR at DIRQL)', async () => {
    r = makeWdfRig();
    const seen: string[] = [];
    await loadNic(r, {
      interrupt: {
        async evtInterruptIsr(interrupt) {
          const c = r.wdf.getContext<{ regs: { read32(o: number): Promise<number> } }>(r.wdf.wdfInterruptGetDevice(interrupt));
          if ((await c.regs.read32(ICR)) === 0) return false;
          seen.push(`queued ${r.wdf.wdfInterruptQueueWorkItemForIsr(interrupt)} at ${r.kernel.currentIrql()}`);
          return true;
        },
        evtInterruptDpc: undefined,
        evtInterruptWorkItem() {
          seen.push(`work item at ${r.kernel.currentIrql()}`);
        },
      },
    });
    await r.wdf.startDevice(r.resources);
    r.device.raise(0x80);
    await r.kernel.idle();
    expect(seen).toEqual(['queued true at 7', `work item at ${Irql.PASSIVE_LEVEL}`]);
  });

  it('EvtInterruptDpc with AutomaticSerialization runs holding the device callback lock', async () => {
    r = makeWdfRig();
    let held: boolean | undefined;
    const { device } = await loadNic(r, {
      deviceAttributes: { synchronizationScope: 'device' },
      interrupt: {
        automaticSerialization: true,
        evtInterruptDpc() {
          const dev = r.wdf.handles.peek(device) as unknown as { callbackLock: { lock: { owner: unknown } } };
          held = dev.callbackLock.lock.owner === r.kernel.current();
        },
      },
    });
    await r.wdf.startDevice(r.resources);
    r.device.raise(0x80);
    await r.kernel.quiesce();
    const lockOwnerAfter = (r.wdf.handles.peek(device) as unknown as { callbackLock: { lock: { owner: unknown } } }).callbackLock.lock.owner;
    expect(held).toBe(true);
    expect(lockOwnerAfter).toBeNull();
  });

  it("with AutomaticSerialization and a queue as parent, EvtInterruptDpc holds that queue's callback lock", async () => {
    r = makeWdfRig();
    let held: boolean | undefined;
    let queue = 0 as never;
    await loadNic(r, {
      interrupt: { evtInterruptDpc: undefined },
      onDeviceAdd(w, dev) {
        queue = w.wdfIoQueueCreate(dev, { dispatch: 'manual' }, { synchronizationScope: 'queue' }) as never;
        w.wdfInterruptCreate(
          dev,
          {
            name: 'QueueSerializedIsr',
            evtInterruptIsr: async (i) => {
              r.device.causes = 0;
              r.lines.set(12, false);
              await w.wdfInterruptQueueDpcForIsr(i);
              return true;
            },
            automaticSerialization: true,
            evtInterruptDpc() {
              held = (w.handles.peek(queue) as unknown as { callbackLock: { lock: { owner: unknown } } }).callbackLock.lock.owner === r.kernel.current();
            },
          },
          { parentObject: queue },
        );
      },
      interrupts: [
        { line: 11, irql: 7 },
        { line: 12, irql: 7 },
      ],
    });
    await r.wdf.startDevice(r.resources);
    r.lines.set(12, true);
    await r.kernel.quiesce();
    expect(held).toBe(true);
  });

  it('AutomaticSerialization of a work item under a dispatch-level device lock is STATUS_WDF_INCOMPATIBLE_EXECUTION_LEVEL', async () => {
    r = makeWdfRig();
    await expect(
      loadNic(r, {
        deviceAttributes: { synchronizationScope: 'device', executionLevel: 'dispatch' },
        interrupt: { automaticSerialization: true, evtInterruptDpc: undefined, evtInterruptWorkItem: () => undefined },
      }),
    ).rejects.toMatchObject({ status: NtStatus.STATUS_WDF_INCOMPATIBLE_EXECUTION_LEVEL });
  });
});

describe('WdfInterruptCreate', () => {
  it('giving both EvtInterruptDpc and EvtInterruptWorkItem fails with STATUS_INVALID_PARAMETER', async () => {
    r = makeWdfRig();
    await expect(loadNic(r, { interrupt: { evtInterruptWorkItem: () => undefined } })).rejects.toMatchObject({
      status: NtStatus.STATUS_INVALID_PARAMETER,
      message: expect.stringContaining('EvtDriverDeviceAdd'),
    });
  });

  it('outside EvtDriverDeviceAdd and EvtDevicePrepareHardware it fails with STATUS_INVALID_DEVICE_STATE', async () => {
    r = makeWdfRig();
    const { device } = await loadNic(r);
    await r.wdf.startDevice(r.resources);
    const err = await atPassive(r, () => {
      try {
        r.wdf.wdfInterruptCreate(device, { evtInterruptIsr: () => false });
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(err).toBeInstanceOf(WdfStatusError);
    expect((err as WdfStatusError).status).toBe(NtStatus.STATUS_INVALID_DEVICE_STATE);
  });

  it('above PASSIVE_LEVEL it is 0xC4/0xE5, a DDI at incorrect IRQL', async () => {
    r = makeWdfRig();
    const { device } = await loadNic(r);
    await expect(
      atPassive(r, () => {
        r.kernel.raiseIrql(Irql.DISPATCH_LEVEL);
        r.wdf.wdfInterruptCreate(device, { evtInterruptIsr: () => false });
      }),
    ).rejects.toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.DDI_AT_WRONG_IRQL, Irql.DISPATCH_LEVEL, 0, 0],
      report: { api: 'WdfInterruptCreate' },
    });
  });

  it('an interrupt created in EvtDevicePrepareHardware from the resource list is connected, and deleted after EvtDeviceReleaseHardware', async () => {
    r = makeWdfRig();
    let late = 0 as WDFINTERRUPT;
    let isrCalls = 0;
    await loadNic(r, {
      interrupts: [
        { line: 11, irql: 7 },
        { line: 12, irql: 6 },
      ],
      callbacks: {
        evtDevicePrepareHardware(dev, resources) {
          const irqs = resources.descriptors.filter((d) => d.type === 'CmResourceTypeInterrupt');
          late = r.wdf.wdfInterruptCreate(dev, {
            name: 'LateIsr',
            interruptTranslated: irqs[1]!,
            evtInterruptIsr: () => {
              isrCalls++;
              r.lines.set(12, false);
              return true;
            },
          });
        },
      },
    });
    await r.wdf.startDevice(r.resources);
    expect(r.kernel.connectedInterrupts.map((i) => `${i.name}@${i.line}/${i.irql}`)).toEqual(['evtInterruptIsr@11/7', 'LateIsr@12/6']);
    const info = await atPassive(r, () => r.wdf.wdfInterruptGetInfo(late));
    expect(info).toMatchObject({ vector: 12, irql: 6, mode: 'LevelSensitive' });
    r.lines.set(12, true);
    await r.kernel.quiesce();
    expect(isrCalls).toBe(1);
    await r.wdf.stopDevice();
    expect(r.kernel.connectedInterrupts).toEqual([]);
    await expect(atPassive(r, () => r.wdf.wdfInterruptGetInfo(late))).rejects.toMatchObject({
      code: BugCheckCode.WDF_VIOLATION,
      parameters: [WdfViolation.WDF_INVALID_HANDLE, late, WdfTypeId.WDFINTERRUPT, 0],
    });
  });
});
