import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, Irql, VerifierViolation } from '../../../src/kernel/index.ts';
import { NDIS_IRQL_RULES } from '../../../src/ndis/common/index.ts';
import { NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL } from '../../../src/ndis/ndis6/index.ts';
import { frame, makeNdis6Rig, type Ndis6Rig, type TestAdapter } from './ndis6-miniport.ts';
import { makeNdis5Rig, type Adapter5, type Ndis5Rig } from './ndis5-miniport.ts';
import type { MiniportAdapter, NetBufferList } from '../../../src/ndis/ndis6/index.ts';

let rig6: Ndis6Rig | undefined;
let rig5: Ndis5Rig | undefined;
afterEach(async () => {
  await rig6?.cleanup();
  await rig5?.cleanup();
  rig6 = rig5 = undefined;
});

// Parameter 1 of 0xC4 DRIVER_VERIFIER_DETECTED_VIOLATION: NDIS's IRQL rules are Static Driver
// Verifier's only, so a wrong IRQL is the verifier's "kernel API at incorrect IRQL" (0xE5), except
// for the spin-lock calls, which meet KeAcquireSpinLock's and KeReleaseSpinLock's own checks.
const WRONG_IRQL = VerifierViolation.DDI_AT_WRONG_IRQL;
const ACQUIRE_ABOVE_DISPATCH = VerifierViolation.ACQUIRE_SPIN_LOCK_ABOVE_DISPATCH;
const RELEASE_OFF_DISPATCH = VerifierViolation.RELEASE_SPIN_LOCK_NOT_AT_DISPATCH;
const DPC_LEVEL_ACQUIRE_BELOW = VerifierViolation.ACQUIRE_SPIN_LOCK_AT_DPC_LEVEL_BELOW_DISPATCH;
const DPC_LEVEL_RELEASE_BELOW = VerifierViolation.RELEASE_SPIN_LOCK_FROM_DPC_LEVEL_BELOW_DISPATCH;
/** Spin-lock calls whose IRQL check is the kernel's (no row in NDIS_IRQL_RULES). */
const KERNEL_CHECKED = ['NdisAcquireSpinLock', 'NdisReleaseSpinLock'];

type Call6 = (r: Ndis6Rig, a: MiniportAdapter, c: TestAdapter, nbl: NetBufferList) => unknown;
type Call5 = (r: Ndis5Rig, c: Adapter5) => unknown;

/** [API, IRQL to call it at, expected parameter 1 of 0xC4, the call]. */
const ndis6Cases: [string, number, number, Call6][] = [
  [
    'NdisMRegisterInterruptEx',
    Irql.DISPATCH_LEVEL,
    WRONG_IRQL,
    (r, a) => r.ndis.registerInterruptEx(a, null, { interruptHandler: () => ({ recognized: false, queueDefaultDpc: false }), interruptDpcHandler() {} }),
  ],
  ['NdisMDeregisterInterruptEx', Irql.DISPATCH_LEVEL, WRONG_IRQL, (r, _a, c) => r.ndis.deregisterInterruptEx(c.interrupt!)],
  ['NdisMSetMiniportAttributes', Irql.DISPATCH_LEVEL, WRONG_IRQL, (r, a) => r.ndis.setMiniportAttributes(a, { type: 'registration', miniportAdapterContext: null })],
  ['NdisMSynchronizeWithInterruptEx', 9, WRONG_IRQL, (r, _a, c) => r.ndis.synchronizeWithInterruptEx(c.interrupt!, 0, () => true)],
  ['NdisMQueueDpcEx', 9, WRONG_IRQL, (r, _a, c) => r.ndis.queueDpcEx(c.interrupt!, 0, 1)],
  ['NdisMIndicateReceiveNetBufferLists', 5, WRONG_IRQL, (r, a, _c, nbl) => r.ndis.indicateReceiveNetBufferLists(a, nbl, 0, 1, NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL)],
  ['NdisMSendNetBufferListsComplete', 5, WRONG_IRQL, (r, a, c) => r.ndis.sendNetBufferListsComplete(a, c.pool as never, 0)],
  ['NdisMIndicateStatusEx', 5, WRONG_IRQL, (r, a) => r.ndis.indicateStatusEx(a, { statusCode: 0x40010017 })],
  ['NdisAllocateNetBufferAndNetBufferList', 5, WRONG_IRQL, (r, _a, c) => r.ndis.allocateNetBufferAndNetBufferList(c.pool!, frame(60))],
  ['NdisAllocateNetBufferListPool', 5, WRONG_IRQL, (r) => r.ndis.allocateNetBufferListPool(4)],
  ['NdisAcquireSpinLock', 5, ACQUIRE_ABOVE_DISPATCH, (r) => r.ndis.acquireSpinLock(r.ndis.allocateSpinLock())],
  ['NdisReleaseSpinLock', Irql.PASSIVE_LEVEL, RELEASE_OFF_DISPATCH, (r) => r.ndis.releaseSpinLock(r.ndis.allocateSpinLock())],
  ['NdisDprAcquireSpinLock', Irql.PASSIVE_LEVEL, DPC_LEVEL_ACQUIRE_BELOW, (r) => r.ndis.dprAcquireSpinLock(r.ndis.allocateSpinLock())],
  ['NdisDprReleaseSpinLock', Irql.PASSIVE_LEVEL, DPC_LEVEL_RELEASE_BELOW, (r) => r.ndis.dprReleaseSpinLock(r.ndis.allocateSpinLock())],
  ['NdisMSleep', Irql.DISPATCH_LEVEL, WRONG_IRQL, (r) => r.ndis.sleep(10)],
];

const ndis5Cases: [string, number, number, Call5][] = [
  ['NdisMRegisterInterrupt', Irql.DISPATCH_LEVEL, WRONG_IRQL, (r, c) => r.ndis.registerInterrupt(c.handle, { requestIsr: true, sharedInterrupt: true })],
  ['NdisMDeregisterInterrupt', Irql.DISPATCH_LEVEL, WRONG_IRQL, (r, c) => r.ndis.deregisterInterrupt(c.interrupt!)],
  ['NdisMSetAttributesEx', Irql.DISPATCH_LEVEL, WRONG_IRQL, (r, c) => r.ndis.setAttributesEx(c.handle, c)],
  ['NdisMSynchronizeWithInterrupt', 9, WRONG_IRQL, (r, c) => r.ndis.synchronizeWithInterrupt(c.interrupt!, () => true)],
  ['NdisMIndicateReceivePacket', 5, WRONG_IRQL, (r, c) => r.ndis.indicateReceivePacket(c.handle, [], 0)],
  ['NdisMSendComplete', 5, WRONG_IRQL, (r, c) => r.ndis.sendComplete(c.handle, null as never, 0)],
  ['NdisMIndicateStatus', 5, WRONG_IRQL, (r, c) => r.ndis.indicateStatus(c.handle, 0x4001000b)],
  ['NdisMIndicateStatusComplete', 5, WRONG_IRQL, (r, c) => r.ndis.indicateStatusComplete(c.handle)],
  ['NdisAllocatePacket', 5, WRONG_IRQL, (r, c) => r.ndis.allocatePacket(c.pool!, frame(60))],
  ['NdisReleaseSpinLock', Irql.APC_LEVEL, RELEASE_OFF_DISPATCH, (r) => r.ndis.releaseSpinLock(r.ndis.allocateSpinLock())],
];

describe('every NDIS entry point checks its documented IRQL and bug checks naming the API', () => {
  it.each(ndis6Cases)("NDIS 6: %s at IRQL %i is Driver Verifier's 0xC4 (its P1 per the API) naming it", async (api, irql, p1, call) => {
    rig6 = makeNdis6Rig();
    const { adapter, ctx } = await rig6.start();
    const k = rig6.kernel;
    const err = await k
      .runAtPassive('Caller', async () => {
        const nbl = rig6!.ndis.allocateNetBufferAndNetBufferList(ctx.pool!, frame(60))!;
        if (irql > Irql.PASSIVE_LEVEL) k.raiseIrql(irql);
        await call(rig6!, adapter, ctx, nbl);
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, parameters: [p1, irql, expect.any(Number), 0], report: { api } });
  });

  it.each(ndis5Cases)("NDIS 5: %s at IRQL %i is Driver Verifier's 0xC4 (its P1 per the API) naming it", async (api, irql, p1, call) => {
    rig5 = makeNdis5Rig({ requestIsr: true });
    const { ctx } = await rig5.start();
    const k = rig5.kernel;
    const err = await k
      .runAtPassive('Caller', async () => {
        if (irql > Irql.PASSIVE_LEVEL) k.raiseIrql(irql);
        await call(rig5!, ctx);
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, parameters: [p1, irql, expect.any(Number), 0], report: { api } });
  });

  it('the IRQL table covers every API the tests call', () => {
    for (const [api] of [...ndis6Cases, ...ndis5Cases]) if (!KERNEL_CHECKED.includes(api)) expect(Object.keys(NDIS_IRQL_RULES)).toContain(api);
    for (const api of KERNEL_CHECKED) expect(Object.keys(NDIS_IRQL_RULES)).not.toContain(api);
  });

  it('the same calls at an allowed IRQL do not bug check (NdisMSynchronizeWithInterruptEx at DIRQL itself)', async () => {
    rig6 = makeNdis6Rig();
    const { ctx } = await rig6.start();
    const k = rig6.kernel;
    const r = await k.runAtPassive('Caller', async () => {
      const old = k.raiseIrql(5);
      const v = await rig6!.ndis.synchronizeWithInterruptEx(ctx.interrupt!, 0, () => true);
      await k.lowerIrql(old);
      return v;
    });
    expect(r).toBe(true);
  });
});
