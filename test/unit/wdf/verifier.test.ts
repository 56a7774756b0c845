import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, VerifierViolation } from '../../../src/kernel/index.ts';
import { NtStatus, WdfPnpError, type WDFDEVICE } from '../../../src/wdf/index.ts';
import { Irql, atPassive, loadNic, makeWdfRig, type WdfRig } from './rig.ts';

let r: WdfRig;
afterEach(async () => r?.cleanup());

/** Run `fn` at DISPATCH_LEVEL inside a PASSIVE_LEVEL routine, lowering again afterwards. */
async function atDispatch<T>(fn: () => T | Promise<T>): Promise<T> {
  return atPassive(r, async () => {
    const old = r.kernel.raiseIrql(Irql.DISPATCH_LEVEL);
    try {
      return await fn();
    } finally {
      await r.kernel.lowerIrql(old);
    }
  });
}

async function startedNic(): Promise<WDFDEVICE> {
  const { device } = await loadNic(r);
  await r.wdf.startDevice(r.resources);
  return device;
}

const finding = (api: string) => ({ api, irql: Irql.DISPATCH_LEVEL, required: Irql.PASSIVE_LEVEL });

// The DDIs whose KMDF source calls FxVerifierCheckIrqlLevel(PASSIVE_LEVEL): the framework records
// the call and fails it; Windows does not bug check.
describe("KMDF's verifier (FxVerifierCheckIrqlLevel): a wrong-IRQL call is recorded and fails, no bug check", () => {
  it('WdfWaitLockAcquire without a timeout at DISPATCH_LEVEL returns STATUS_INVALID_DEVICE_REQUEST and does not take the lock', async () => {
    r = makeWdfRig();
    await startedNic();
    const lock = await atPassive(r, () => r.wdf.wdfWaitLockCreate());
    const status = await atDispatch(() => r.wdf.wdfWaitLockAcquire(lock));
    expect(status).toBe(NtStatus.STATUS_INVALID_DEVICE_REQUEST);
    expect(await atPassive(r, () => r.wdf.wdfWaitLockAcquire(lock, 0))).toBe(NtStatus.STATUS_SUCCESS);
    expect(r.wdf.verifier.findings).toMatchObject([finding('WdfWaitLockAcquire')]);
    expect(r.kernel.stopped).toBeNull();
  });

  it('WdfWaitLockAcquire with a zero timeout at DISPATCH_LEVEL is allowed (KMDF checks only waiting acquires)', async () => {
    r = makeWdfRig();
    await startedNic();
    const lock = await atPassive(r, () => r.wdf.wdfWaitLockCreate());
    expect(await atDispatch(() => r.wdf.wdfWaitLockAcquire(lock, 0))).toBe(NtStatus.STATUS_SUCCESS);
    expect(r.wdf.verifier.findings).toEqual([]);
  });

  it('WdfTimerStop with Wait at DISPATCH_LEVEL returns FALSE and leaves the timer set', async () => {
    r = makeWdfRig();
    const device = await startedNic();
    const timer = await atPassive(r, () => r.wdf.wdfTimerCreate({ evtTimerFunc: () => undefined }, { parentObject: device }));
    await atPassive(r, () => r.wdf.wdfTimerStart(timer, 60_000));
    expect(await atDispatch(() => r.wdf.wdfTimerStop(timer, true))).toBe(false);
    expect(r.wdf.verifier.findings).toMatchObject([finding('WdfTimerStop')]);
    // Still pending: a stop without waiting (allowed at DISPATCH_LEVEL) finds it set.
    expect(await atDispatch(() => r.wdf.wdfTimerStop(timer, false))).toBe(true);
  });

  it('WdfWorkItemFlush at DISPATCH_LEVEL returns without waiting for the work item', async () => {
    r = makeWdfRig();
    const device = await startedNic();
    const ran: string[] = [];
    const item = await atPassive(r, () =>
      r.wdf.wdfWorkItemCreate(
        {
          evtWorkItem: () => {
            ran.push('EvtWorkItem');
          },
        },
        { parentObject: device },
      ),
    );
    const seenAtReturn = await atDispatch(async () => {
      r.wdf.wdfWorkItemEnqueue(item);
      await r.wdf.wdfWorkItemFlush(item);
      return [...ran];
    });
    expect(seenAtReturn).toEqual([]);
    expect(r.wdf.verifier.findings).toMatchObject([finding('WdfWorkItemFlush')]);
    await atPassive(r, () => r.wdf.wdfWorkItemFlush(item));
    expect(ran).toEqual(['EvtWorkItem']);
  });

  it('WdfDriverCreate at DISPATCH_LEVEL fails with STATUS_INVALID_DEVICE_REQUEST, so DriverEntry fails', async () => {
    r = makeWdfRig();
    const load = r.wdf.loadDriver(async (w) => {
      const old = r.kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      try {
        w.wdfDriverCreate({ evtDriverDeviceAdd: () => undefined });
      } finally {
        await r.kernel.lowerIrql(old);
      }
    });
    await expect(load).rejects.toBeInstanceOf(WdfPnpError);
    await expect(load).rejects.toMatchObject({ status: NtStatus.STATUS_INVALID_DEVICE_REQUEST });
    expect(r.wdf.verifier.findings).toMatchObject([finding('WdfDriverCreate')]);
    expect(r.kernel.stopped).toBeNull();
  });

  it('with the verifier strict, the same call is a stop: 0xC4/0xE5 naming the DDI', async () => {
    r = makeWdfRig({ strictVerifier: true });
    const device = await startedNic();
    const timer = await atPassive(r, () => r.wdf.wdfTimerCreate({ evtTimerFunc: () => undefined }, { parentObject: device }));
    await expect(atDispatch(() => r.wdf.wdfTimerStop(timer, true))).rejects.toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.DDI_AT_WRONG_IRQL, Irql.DISPATCH_LEVEL, 0, 0],
      report: { api: 'WdfTimerStop' },
    });
  });
});
