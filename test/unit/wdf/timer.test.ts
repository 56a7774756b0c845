import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, Irql } from '../../../src/kernel/index.ts';
import { WdfTypeId, WdfViolation, type WDFTIMER } from '../../../src/wdf/index.ts';
import { atPassive, loadNic, makeWdfRig, type WdfRig } from './rig.ts';
import { timersDueBy, waitUntil } from '../../support/wait.ts';

let r: WdfRig;
afterEach(async () => r?.cleanup());

describe('WDFTIMER', () => {
  it("a timer's EvtTimerFunc runs once at DISPATCH_LEVEL after its due time; WdfTimerStart says whether it was pending", async () => {
    r = makeWdfRig();
    const { device } = await loadNic(r);
    const seen: string[] = [];
    const started = await atPassive(r, () => {
      const t = r.wdf.wdfTimerCreate(
        {
          evtTimerFunc(timer) {
            seen.push(`fired at ${r.kernel.currentIrql()} parent ${r.wdf.wdfTimerGetParentObject(timer) === device}`);
          },
        },
        { parentObject: device },
      );
      return [r.wdf.wdfTimerStart(t, 5), r.wdf.wdfTimerStart(t, 5)];
    });
    await waitUntil('the timer to fire', () => seen.length > 0);
    // Past the due time of either start: a second expiry would have run by then.
    await timersDueBy(5);
    await r.kernel.quiesce();
    expect(started).toEqual([false, true]);
    expect(seen).toEqual([`fired at ${Irql.DISPATCH_LEVEL} parent true`]);
  });

  it('with automatic serialization EvtTimerFunc holds the device callback lock', async () => {
    r = makeWdfRig();
    const { device } = await loadNic(r, { deviceAttributes: { synchronizationScope: 'device' } });
    let held: boolean | undefined;
    await atPassive(r, () => {
      const t = r.wdf.wdfTimerCreate(
        {
          evtTimerFunc() {
            held = (r.wdf.handles.peek(device) as unknown as { callbackLock: { lock: { owner: unknown } } }).callbackLock.lock.owner === r.kernel.current();
          },
        },
        { parentObject: device },
      );
      r.wdf.wdfTimerStart(t, 1);
    });
    await waitUntil('the timer function to run', () => held !== undefined);
    expect(held).toBe(true);
  });

  it('WdfTimerStop cancels a pending timer, which then never fires', async () => {
    r = makeWdfRig();
    const { device } = await loadNic(r);
    let fired = 0;
    const stopped = await atPassive(r, async () => {
      const t = r.wdf.wdfTimerCreate(
        {
          evtTimerFunc() {
            fired++;
          },
        },
        { parentObject: device },
      );
      r.wdf.wdfTimerStart(t, 10);
      return [await r.wdf.wdfTimerStop(t, true), await r.wdf.wdfTimerStop(t, false)];
    });
    await timersDueBy(10);
    await r.kernel.quiesce();
    expect(stopped).toEqual([true, false]);
    expect(fired).toBe(0);
  });

  it("a periodic timer fires again and again until stopped; stop with Wait at DISPATCH_LEVEL is recorded by KMDF's verifier and returns FALSE", async () => {
    r = makeWdfRig();
    const { device } = await loadNic(r);
    let fired = 0;
    const t = await atPassive(r, () => {
      const timer = r.wdf.wdfTimerCreate(
        {
          period: 2,
          evtTimerFunc() {
            fired++;
          },
        },
        { parentObject: device },
      );
      r.wdf.wdfTimerStart(timer, 2);
      return timer;
    });
    await waitUntil('three periodic runs', () => fired >= 3);
    await atPassive(r, () => r.wdf.wdfTimerStop(t, true));
    const after = fired;
    // Past the next period: a timer still running would have fired again by then.
    await timersDueBy(2);
    await r.kernel.quiesce();
    expect(fired).toBe(after);
    const atDispatch = await atPassive(r, async () => {
      const old = r.kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      const ret = await r.wdf.wdfTimerStop(t, true);
      await r.kernel.lowerIrql(old);
      return ret;
    });
    expect(atDispatch).toBe(false);
    expect(r.wdf.verifier.findings).toMatchObject([{ api: 'WdfTimerStop', irql: Irql.DISPATCH_LEVEL }]);
  });

  it('removing the device deletes its timer: it never fires and its handle is invalid', async () => {
    r = makeWdfRig();
    const { device } = await loadNic(r);
    let fired = 0;
    let t = 0 as WDFTIMER;
    await atPassive(r, () => {
      t = r.wdf.wdfTimerCreate(
        {
          evtTimerFunc() {
            fired++;
          },
        },
        { parentObject: device },
      );
      r.wdf.wdfTimerStart(t, 10);
    });
    await r.wdf.removeDevice();
    await timersDueBy(10);
    await r.kernel.quiesce();
    expect(fired).toBe(0);
    await expect(atPassive(r, () => r.wdf.wdfTimerStart(t, 1))).rejects.toMatchObject({
      code: BugCheckCode.WDF_VIOLATION,
      parameters: [WdfViolation.WDF_INVALID_HANDLE, t, WdfTypeId.WDFTIMER, 0],
    });
  });
});
