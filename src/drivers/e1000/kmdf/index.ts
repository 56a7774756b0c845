/** The KMDF e1000 driver: KMDF callbacks over the framework-neutral core, I/O through write and read requests. */
export { e1000KmdfDriverEntry, type E1000KmdfOptions } from './driver.ts';
export { E1000KmdfDevice, STATUS_BUFFER_OVERFLOW, type KmdfDeviceCounters, type KmdfDeviceSettings, type KmdfInterruptLocking } from './device-context.ts';
export { HeldFrames } from './held-frames.ts';
export { RequestFifo } from './request-fifo.ts';
