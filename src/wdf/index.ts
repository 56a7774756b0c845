export { WdfFramework, type WdfFrameworkOptions } from './framework.ts';
export {
  WdfTypeId,
  type WdfHandle,
  type WdfObjectType,
  type WdfObjectAttributes,
  type WDFOBJECT,
  type WDFDRIVER,
  type WDFDEVICE,
  type WDFINTERRUPT,
  type WDFSPINLOCK,
  type WDFWAITLOCK,
  type WDFQUEUE,
  type WDFREQUEST,
  type WDFWORKITEM,
  type WDFTIMER,
} from './handles.ts';
export { NtStatus, ntSuccess, ntStatusText, type NTSTATUS } from './ntstatus.ts';
export { WdfViolation, WdfRequestFatalError } from './bugcodes.ts';
export { WdfError, WdfStatusError, WdfPnpError } from './errors.ts';
export type * from './types.ts';
export { WdfVerifier, type WdfVerifierFinding, type WdfVerifierOptions } from './verifier.ts';
export type { WdfPnpCall } from './device.ts';
