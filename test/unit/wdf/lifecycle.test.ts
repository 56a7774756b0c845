import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, Irql } from '../../../src/kernel/index.ts';
import { NtStatus, WdfPnpError, WdfViolation } from '../../../src/wdf/index.ts';
import { LINE, atPassive, loadNic, makeWdfRig, type WdfRig } from './rig.ts';
import { IMC } from '../kernel/fakes.ts';
import { connectMarkerIsr } from '../../support/marker-isr.ts';

let r: WdfRig;
afterEach(async () => r?.cleanup());

describe('device lifecycle', () => {
  it('start runs PrepareHardware → D0Entry → EvtInterruptEnable → PostInterruptsEnabled, stop runs them back in reverse, all at PASSIVE except the interrupt callbacks', async () => {
    r = makeWdfRig();
    await loadNic(r, { irql: 8 });
    await r.wdf.startDevice(r.resources);
    expect(r.wdf.deviceState()).toBe('started');
    await r.wdf.stopDevice();
    expect(r.wdf.deviceState()).toBe('stopped');
    expect(r.events).toEqual([
      'EvtDriverDeviceAdd@0',
      'EvtDevicePrepareHardware@0',
      'EvtDeviceD0Entry(WdfPowerDeviceD3Final)@0',
      'EvtInterruptEnable@8',
      'EvtDeviceD0EntryPostInterruptsEnabled@0',
      'EvtDeviceD0ExitPreInterruptsDisabled@0',
      'EvtInterruptDisable@8',
      'EvtDeviceD0Exit(WdfPowerDeviceD3Final)@0',
      'EvtDeviceReleaseHardware@0',
    ]);
  });

  it('EvtInterruptEnable and EvtInterruptDisable run holding the interrupt lock, with the interrupt connected', async () => {
    r = makeWdfRig();
    const seen: string[] = [];
    const probe = (name: string) => () => {
      const [k] = r.kernel.connectedInterrupts;
      seen.push(`${name}: connected=${k !== undefined} locked=${k?.lock.owner === r.kernel.current()}`);
    };
    await loadNic(r, { interrupt: { evtInterruptEnable: probe('enable'), evtInterruptDisable: probe('disable') } });
    await r.wdf.startDevice(r.resources);
    await r.wdf.stopDevice();
    expect(seen).toEqual(['enable: connected=true locked=true', 'disable: connected=true locked=true']);
  });

  it('for a passive-level interrupt EvtInterruptEnable runs at PASSIVE_LEVEL', async () => {
    r = makeWdfRig();
    await loadNic(r, { interrupt: { passiveHandling: true, evtInterruptDpc: undefined, evtInterruptWorkItem: () => undefined } });
    await r.wdf.startDevice(r.resources);
    expect(r.events).toContain('EvtInterruptEnable@0');
  });

  it('after stopDevice no ISR or DPC is called, even when the device interrupts', async () => {
    r = makeWdfRig();
    let isr = 0;
    const { context } = await loadNic(r, {
      interrupt: {
        async evtInterruptIsr(interrupt) {
          isr++;
          const c = r.wdf.getContext<typeof context>(r.wdf.wdfInterruptGetDevice(interrupt));
          if ((await c.regs!.read32(0xc0)) === 0) return false;
          await r.wdf.wdfInterruptQueueDpcForIsr(interrupt);
          return true;
        },
      },
    });
    await r.wdf.startDevice(r.resources);
    r.device.raise(0x80);
    await r.kernel.quiesce();
    const dpcsBefore = r.events.filter((e) => e.startsWith('EvtInterruptDpc')).length;
    expect([isr, dpcsBefore]).toEqual([1, 1]);
    await r.wdf.stopDevice();
    expect(r.kernel.connectedInterrupts).toEqual([]);
    const marker = connectMarkerIsr(r.kernel, LINE, () => r.device.write32(IMC, 0xffffffff));
    r.device.raise(0x80);
    await r.kernel.quiesce();
    expect(marker.calls).toBe(1);
    expect(isr).toBe(1);
    expect(r.events.filter((e) => e.startsWith('EvtInterruptDpc'))).toHaveLength(1);
  });

  it('a device can be started again after a stop, and its interrupt is connected again', async () => {
    r = makeWdfRig();
    await loadNic(r);
    await r.wdf.startDevice(r.resources);
    await r.wdf.stopDevice();
    await r.wdf.startDevice(r.resources);
    expect(r.kernel.connectedInterrupts).toHaveLength(1);
    r.device.raise(0x80);
    await r.kernel.quiesce();
    expect(r.events.filter((e) => e.startsWith('EvtInterruptDpc'))).toHaveLength(1);
  });

  it('EvtDevicePrepareHardware failing fails the start with its status, and EvtDeviceReleaseHardware is still called', async () => {
    r = makeWdfRig();
    await loadNic(r, { callbacks: { evtDevicePrepareHardware: () => NtStatus.STATUS_INSUFFICIENT_RESOURCES } });
    const err = await r.wdf.startDevice(r.resources).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WdfPnpError);
    expect((err as WdfPnpError).status).toBe(NtStatus.STATUS_INSUFFICIENT_RESOURCES);
    expect(r.events.slice(1)).toEqual(['EvtDevicePrepareHardware@0', 'EvtDeviceReleaseHardware@0']);
    expect(r.kernel.connectedInterrupts).toEqual([]);
  });

  it('EvtInterruptEnable failing undoes the start: D0Exit and ReleaseHardware run and the interrupt is disconnected', async () => {
    r = makeWdfRig();
    await loadNic(r, { interrupt: { evtInterruptEnable: () => NtStatus.STATUS_DEVICE_NOT_READY } });
    await expect(r.wdf.startDevice(r.resources)).rejects.toMatchObject({ status: NtStatus.STATUS_DEVICE_NOT_READY });
    expect(r.events.slice(2)).toEqual(['EvtDeviceD0Entry(WdfPowerDeviceD3Final)@0', 'EvtDeviceD0Exit(WdfPowerDeviceD3Final)@0', 'EvtDeviceReleaseHardware@0']);
    expect(r.kernel.connectedInterrupts).toEqual([]);
  });

  it('an interrupt line already taken without sharing fails the start with a status, not a crash', async () => {
    r = makeWdfRig();
    r.kernel.connectInterrupt({ line: 11, shareVector: false, name: 'OtherDriverIsr', isr: () => false });
    await loadNic(r);
    await expect(r.wdf.startDevice(r.resources)).rejects.toMatchObject({
      status: NtStatus.STATUS_INSUFFICIENT_RESOURCES,
      message: expect.stringContaining('IoConnectInterruptEx'),
    });
    expect(r.kernel.stopped).toBeNull();
    expect(r.events.slice(-2)).toEqual(['EvtDeviceD0Exit(WdfPowerDeviceD3Final)@0', 'EvtDeviceReleaseHardware@0']);
  });

  it('removeDevice stops a started device and deletes its objects: the context handle then bug checks 0x10D', async () => {
    r = makeWdfRig();
    const { device } = await loadNic(r);
    await r.wdf.startDevice(r.resources);
    await r.wdf.removeDevice();
    expect(r.events.at(-1)).toBe('EvtDeviceReleaseHardware@0');
    expect(r.wdf.devices).toEqual([]);
    await expect(atPassive(r, () => r.wdf.wdfInterruptGetDevice(device as never))).rejects.toMatchObject({
      code: BugCheckCode.WDF_VIOLATION,
      parameters: [WdfViolation.WDF_INVALID_HANDLE, device, expect.any(Number), 0],
    });
  });

  it('WdfInterruptGetInfo reports the assigned line and DIRQL while started, and zeros before start', async () => {
    r = makeWdfRig();
    const { context } = await loadNic(r, { irql: 9 });
    const before = await atPassive(r, () => r.wdf.wdfInterruptGetInfo(context.interrupt));
    await r.wdf.startDevice(r.resources);
    const during = await atPassive(r, () => r.wdf.wdfInterruptGetInfo(context.interrupt));
    expect(before).toMatchObject({ vector: 0, irql: 0 });
    expect(during).toMatchObject({ vector: 11, irql: 9, synchronizeIrql: 9, shareDisposition: 'CmResourceShareShared', messageSignaled: false });
  });

  it("WdfInterruptDisable and WdfInterruptEnable call the callbacks at DIRQL; above PASSIVE_LEVEL KMDF's verifier records the call and it does nothing", async () => {
    r = makeWdfRig();
    const { context } = await loadNic(r, { irql: 6 });
    await r.wdf.startDevice(r.resources);
    r.events.length = 0;
    await atPassive(r, async () => {
      await r.wdf.wdfInterruptDisable(context.interrupt);
      await r.wdf.wdfInterruptEnable(context.interrupt);
    });
    expect(r.events).toEqual(['EvtInterruptDisable@6', 'EvtInterruptEnable@6']);
    r.events.length = 0;
    await atPassive(r, async () => {
      const old = r.kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      await r.wdf.wdfInterruptDisable(context.interrupt); // KMDF's verifier records it; the DDI does nothing
      await r.kernel.lowerIrql(old);
    });
    expect(r.events).toEqual([]);
    expect(r.wdf.verifier.findings).toMatchObject([{ api: 'WdfInterruptDisable', irql: Irql.DISPATCH_LEVEL, required: Irql.PASSIVE_LEVEL }]);
    expect(r.kernel.stopped).toBeNull();
  });
});
