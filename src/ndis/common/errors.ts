import { DirqlError } from '../../util/errors.ts';

/** Misuse of an NDIS facade by host code (the protocol side, tests): not the driver's fault, no bug check. */
export class NdisError extends DirqlError {}

/** A miniport driver's characteristics were refused (NDIS_STATUS_BAD_CHARACTERISTICS / BAD_VERSION). */
export class NdisCharacteristicsError extends NdisError {
  readonly status: number;

  constructor(message: string, status: number, context: Record<string, unknown> = {}) {
    super(message, { ...context, status });
    this.status = status;
  }
}

/** A host-side operation (initialize, halt, OID request) ended with a failure NDIS_STATUS. */
export class NdisOperationError extends NdisError {
  readonly status: number;

  constructor(message: string, status: number, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, { ...context, status }, options);
    this.status = status;
  }
}
