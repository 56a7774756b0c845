import { WdfIoApi } from './api-io.ts';

export type { WdfFrameworkOptions } from './api-core.ts';

/**
 * The KMDF facade: one driver's view of Wdf01000.sys, on top of the kernel model.
 *
 * Driver side: the `wdf*` methods, named after the WDF method in camelCase, each validating its
 * handles (WDF_VIOLATION 0x10D on an invalid, deleted or wrong-type handle) and the caller's IRQL
 * (kernel.requireIrql with the range Microsoft documents). Methods that return NTSTATUS in C
 * return their result here and throw WdfStatusError on failure.
 *
 * Host side (the PnP manager and I/O manager): loadDriver, addDevice, startDevice, stopDevice,
 * removeDevice, submitWrite, submitRead. Each runs the driver's callbacks in kernel routines at
 * the IRQL Windows uses.
 *
 * The methods live in one layer per concern: api-core.ts (handles, driver, device, PnP),
 * api-sync.ts (locks, work items, timers), api-interrupt.ts (WDFINTERRUPT), api-io.ts (queues,
 * requests, submit).
 */
export class WdfFramework extends WdfIoApi {}
