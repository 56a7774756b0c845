import { DirqlError } from '../util/errors.ts';
import { ntStatusText, type NTSTATUS } from './ntstatus.ts';

/** Misuse of the KMDF facade by host code (not by the driver: that is a bug check). */
export class WdfError extends DirqlError {}

/**
 * A WDF method failed with an NTSTATUS (WdfInterruptCreate returning STATUS_INVALID_PARAMETER...).
 * Methods that return NTSTATUS in C throw this instead, so that a driver cannot ignore a failure.
 * A driver callback that lets it escape is treated as returning that status (the C idiom
 * `if (!NT_SUCCESS(status)) return status;`), not as a crash.
 */
export class WdfStatusError extends WdfError {
  readonly status: NTSTATUS;

  constructor(api: string, status: NTSTATUS, message: string, context: Record<string, unknown> = {}) {
    super(`${api} failed with ${ntStatusText(status)}: ${message}`, { api, status, ...context });
    this.status = status;
  }
}

/** A host-side PnP operation (startDevice, stopDevice, removeDevice) failed; `status` is what the driver returned. */
export class WdfPnpError extends WdfError {
  readonly status: NTSTATUS;

  constructor(operation: string, status: NTSTATUS, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(`${operation} failed with ${ntStatusText(status)}: ${message}`, { operation, status, ...context }, options);
    this.status = status;
  }
}
