import { afterEach, describe, expect, it } from 'vitest';
import { loadNic, makeWdfRig, type WdfRig } from './rig.ts';

let r: WdfRig;
afterEach(async () => r?.cleanup());

describe('surprise removal (IRP_MN_SURPRISE_REMOVAL, then IRP_MN_REMOVE_DEVICE)', () => {
  it('from D0: EvtDeviceSurpriseRemoval first, then the power-down and ReleaseHardware, all at PASSIVE but EvtInterruptDisable; the device is gone', async () => {
    r = makeWdfRig();
    await loadNic(r, { irql: 8 });
    await r.wdf.startDevice(r.resources);
    const before = r.events.length;
    await r.wdf.surpriseRemoveDevice();
    expect(r.events.slice(before)).toEqual([
      'EvtDeviceSurpriseRemoval@0',
      'EvtDeviceD0ExitPreInterruptsDisabled@0',
      'EvtInterruptDisable@8',
      'EvtDeviceD0Exit(WdfPowerDeviceD3Final)@0',
      'EvtDeviceReleaseHardware@0',
    ]);
    expect(r.wdf.deviceState()).toBe('removed');
    expect(r.wdf.devices).toEqual([]);
    expect(r.kernel.connectedInterrupts).toEqual([]);
    expect(r.wdf.pnpCalls.slice(-4).map((c) => `${c.handler}@${c.irql}`)).toEqual([
      'EvtDeviceSurpriseRemoval@0',
      'EvtDeviceD0ExitPreInterruptsDisabled@0',
      'EvtDeviceD0Exit@0',
      'EvtDeviceReleaseHardware@0',
    ]);
  });

  it('from a stopped device: EvtDeviceSurpriseRemoval alone (the power-down and release already ran)', async () => {
    r = makeWdfRig();
    await loadNic(r);
    await r.wdf.startDevice(r.resources);
    await r.wdf.stopDevice();
    const before = r.events.length;
    await r.wdf.surpriseRemoveDevice();
    expect(r.events.slice(before)).toEqual(['EvtDeviceSurpriseRemoval@0']);
    expect(r.wdf.deviceState()).toBe('removed');
  });
});
