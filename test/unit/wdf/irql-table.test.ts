import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, Irql, VerifierViolation } from '../../../src/kernel/index.ts';
import {
  WdfTypeId,
  WdfViolation,
  type WdfFramework,
  type WDFDEVICE,
  type WDFINTERRUPT,
  type WDFOBJECT,
  type WDFQUEUE,
  type WDFREQUEST,
  type WDFSPINLOCK,
  type WDFTIMER,
  type WDFWAITLOCK,
  type WDFWORKITEM,
} from '../../../src/wdf/index.ts';
import { loadNic, makeWdfRig, type WdfRig } from './rig.ts';

let r: WdfRig;
afterEach(async () => r?.cleanup());

interface Objects {
  device: WDFDEVICE;
  interrupt: WDFINTERRUPT;
  queue: WDFQUEUE;
  manual: WDFQUEUE;
  spinLock: WDFSPINLOCK;
  waitLock: WDFWAITLOCK;
  workItem: WDFWORKITEM;
  timer: WDFTIMER;
  request: WDFREQUEST;
}

/** A started NIC with one of every object, and a write request the driver holds. */
async function setUp(): Promise<Objects> {
  r = makeWdfRig({ strictVerifier: true }); // the documented ranges as stops: KMDF's verifier only records some
  let queue = 0 as WDFQUEUE;
  let manual = 0 as WDFQUEUE;
  const held: WDFREQUEST[] = [];
  const { device, context } = await loadNic(r, {
    irql: 7,
    onDeviceAdd(w, dev) {
      queue = w.wdfIoQueueCreate(dev, {
        dispatch: 'parallel',
        defaultQueue: true,
        evtIoWrite(_q, req) {
          held.push(req);
        },
      });
      manual = w.wdfIoQueueCreate(dev, { dispatch: 'manual' });
    },
  });
  await r.wdf.startDevice(r.resources);
  void r.wdf.submitWrite(undefined, new Uint8Array(60)).catch(() => undefined);
  await r.kernel.idle();
  const rest = await r.kernel.runAtPassive('SetUp', () => ({
    spinLock: r.wdf.wdfSpinLockCreate(),
    waitLock: r.wdf.wdfWaitLockCreate(),
    workItem: r.wdf.wdfWorkItemCreate({ evtWorkItem: () => undefined }, { parentObject: device }),
    timer: r.wdf.wdfTimerCreate({ evtTimerFunc: () => undefined }, { parentObject: device }),
  }));
  return { device, interrupt: context.interrupt, queue, manual, request: held[0]!, ...rest };
}

type Call = (w: WdfFramework, o: Objects) => unknown;

/** [WDF name, highest IRQL allowed (the interrupt's DIRQL is 7), the call]. */
const table: [string, number, Call][] = [
  ['WdfInterruptCreate', Irql.PASSIVE_LEVEL, (w, o) => w.wdfInterruptCreate(o.device, { evtInterruptIsr: () => false })],
  ['WdfInterruptQueueDpcForIsr', 7, (w, o) => w.wdfInterruptQueueDpcForIsr(o.interrupt)],
  ['WdfInterruptSynchronize', Irql.DISPATCH_LEVEL, (w, o) => w.wdfInterruptSynchronize(o.interrupt, () => true, null)],
  ['WdfInterruptAcquireLock', Irql.DISPATCH_LEVEL, (w, o) => w.wdfInterruptAcquireLock(o.interrupt)],
  ['WdfInterruptEnable', Irql.PASSIVE_LEVEL, (w, o) => w.wdfInterruptEnable(o.interrupt)],
  ['WdfInterruptDisable', Irql.PASSIVE_LEVEL, (w, o) => w.wdfInterruptDisable(o.interrupt)],
  ['WdfInterruptGetDevice', 7, (w, o) => w.wdfInterruptGetDevice(o.interrupt)],
  ['WdfInterruptGetInfo', Irql.DISPATCH_LEVEL, (w, o) => w.wdfInterruptGetInfo(o.interrupt)],
  ['WdfObjectDelete', Irql.DISPATCH_LEVEL, (w, o) => w.wdfObjectDelete(o.spinLock)],
  ['WdfSpinLockCreate', Irql.DISPATCH_LEVEL, (w) => w.wdfSpinLockCreate()],
  ['WdfSpinLockAcquire', Irql.DISPATCH_LEVEL, (w, o) => w.wdfSpinLockAcquire(o.spinLock)],
  ['WdfWaitLockCreate', Irql.DISPATCH_LEVEL, (w) => w.wdfWaitLockCreate()],
  ['WdfWaitLockAcquire', Irql.PASSIVE_LEVEL, (w, o) => w.wdfWaitLockAcquire(o.waitLock)],
  ['WdfWaitLockRelease', Irql.DISPATCH_LEVEL, (w, o) => w.wdfWaitLockRelease(o.waitLock)],
  ['WdfWorkItemCreate', Irql.DISPATCH_LEVEL, (w, o) => w.wdfWorkItemCreate({ evtWorkItem: () => undefined }, { parentObject: o.device })],
  ['WdfWorkItemEnqueue', Irql.DISPATCH_LEVEL, (w, o) => w.wdfWorkItemEnqueue(o.workItem)],
  ['WdfWorkItemFlush', Irql.PASSIVE_LEVEL, (w, o) => w.wdfWorkItemFlush(o.workItem)],
  ['WdfTimerCreate', Irql.DISPATCH_LEVEL, (w, o) => w.wdfTimerCreate({ evtTimerFunc: () => undefined }, { parentObject: o.device })],
  ['WdfTimerStart', Irql.DISPATCH_LEVEL, (w, o) => w.wdfTimerStart(o.timer, 100)],
  ['WdfIoQueueCreate', Irql.DISPATCH_LEVEL, (w, o) => w.wdfIoQueueCreate(o.device, { dispatch: 'manual' })],
  ['WdfDeviceConfigureRequestDispatching', Irql.DISPATCH_LEVEL, (w, o) => w.wdfDeviceConfigureRequestDispatching(o.device, o.queue, 'read')],
  ['WdfIoQueueRetrieveNextRequest', Irql.DISPATCH_LEVEL, (w, o) => w.wdfIoQueueRetrieveNextRequest(o.manual)],
  ['WdfIoQueueGetDevice', Irql.DISPATCH_LEVEL, (w, o) => w.wdfIoQueueGetDevice(o.queue)],
  ['WdfRequestRetrieveInputBuffer', Irql.DISPATCH_LEVEL, (w, o) => w.wdfRequestRetrieveInputBuffer(o.request)],
  ['WdfRequestGetParameters', Irql.DISPATCH_LEVEL, (w, o) => w.wdfRequestGetParameters(o.request)],
  ['WdfRequestCompleteWithInformation', Irql.DISPATCH_LEVEL, (w, o) => w.wdfRequestCompleteWithInformation(o.request, 0, 60)],
  ['WdfRequestForwardToIoQueue', Irql.DISPATCH_LEVEL, (w, o) => w.wdfRequestForwardToIoQueue(o.request, o.manual)],
  ['WdfCmResourceListGetCount', Irql.DISPATCH_LEVEL, (w) => w.wdfCmResourceListGetCount({ descriptors: [] })],
];

const consuming = new Set([
  'WdfObjectDelete',
  'WdfWaitLockRelease',
  'WdfRequestCompleteWithInformation',
  'WdfRequestForwardToIoQueue',
  'WdfInterruptAcquireLock',
  'WdfSpinLockAcquire',
  'WdfWaitLockAcquire',
]);

/** DDIs whose check is the kernel routine's they call (KeAcquireSpinLock's 0x42): P1 and P3 (the lock). */
const kernelChecked: Record<string, number> = { WdfSpinLockAcquire: VerifierViolation.ACQUIRE_SPIN_LOCK_ABOVE_DISPATCH };

describe('IRQL table: every entry point bug checks above its documented IRQL, naming the API', () => {
  for (const [api, max, call] of table) {
    it(`${api} above ${max === 7 ? 'DIRQL' : max === Irql.DISPATCH_LEVEL ? 'DISPATCH_LEVEL' : 'PASSIVE_LEVEL'} is Driver Verifier's 0xC4 (0xE5, a DDI at incorrect IRQL, or the kernel routine's own check)`, async () => {
      const o = await setUp();
      const at = max + 1;
      // Allowed at its limit (no bug check), refused one level above.
      // (Calls that consume their object, or take or need a lock, are only checked above the limit.)
      if (max <= Irql.DISPATCH_LEVEL && !consuming.has(api)) {
        await r.kernel
          .runAtPassive('AtLimit', async () => {
            const old = r.kernel.raiseIrql(max);
            try {
              // A failure status is fine here (WdfInterruptCreate after start); a bug check is not.
              await (async () => call(r.wdf, o))().catch((e: unknown) => {
                if ((e as { code?: number }).code !== undefined) throw e;
              });
            } finally {
              if (!r.kernel.stopped) await r.kernel.lowerIrql(old);
            }
          })
          .catch((e: unknown) => {
            throw new Error(`${api} at its limit: ${String(e)}`);
          });
      }
      await expect(
        r.kernel.runAtPassive('AboveLimit', async () => {
          r.kernel.raiseIrql(at);
          await call(r.wdf, o);
        }),
      ).rejects.toMatchObject({
        code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
        parameters: kernelChecked[api] ? [kernelChecked[api], at, expect.any(Number), 0] : [VerifierViolation.DDI_AT_WRONG_IRQL, at, 0, 0],
        report: { api },
      });
    });
  }
});

describe('handle table: every entry point refuses a handle of the wrong type with 0x10D', () => {
  const typed: [string, string, (w: WdfFramework, h: never) => unknown][] = [
    ['WdfInterruptSynchronize', 'WDFINTERRUPT', (w, h) => w.wdfInterruptSynchronize(h, () => true, null)],
    ['WdfSpinLockAcquire', 'WDFSPINLOCK', (w, h) => w.wdfSpinLockAcquire(h)],
    ['WdfWaitLockAcquire', 'WDFWAITLOCK', (w, h) => w.wdfWaitLockAcquire(h)],
    ['WdfWorkItemEnqueue', 'WDFWORKITEM', (w, h) => w.wdfWorkItemEnqueue(h)],
    ['WdfTimerStart', 'WDFTIMER', (w, h) => w.wdfTimerStart(h, 1)],
    ['WdfIoQueueRetrieveNextRequest', 'WDFQUEUE', (w, h) => w.wdfIoQueueRetrieveNextRequest(h)],
    ['WdfRequestComplete', 'WDFREQUEST', (w, h) => w.wdfRequestComplete(h, 0)],
    ['WdfInterruptCreate', 'WDFDEVICE', (w, h) => w.wdfInterruptCreate(h, { evtInterruptIsr: () => false })],
  ];
  for (const [api, type, call] of typed) {
    it(`${api} given a ${type === 'WDFDEVICE' ? 'WDFQUEUE' : 'WDFDEVICE'} instead of a ${type}`, async () => {
      const o = await setUp();
      const wrong = (type === 'WDFDEVICE' ? o.queue : o.device) as WDFOBJECT;
      await expect(r.kernel.runAtPassive('WrongHandle', () => call(r.wdf, wrong as never))).rejects.toMatchObject({
        code: BugCheckCode.WDF_VIOLATION,
        parameters: [WdfViolation.WDF_INVALID_HANDLE, wrong, WdfTypeId[type as keyof typeof WdfTypeId], 0],
        report: { api },
      });
    });
  }
});
