import type { Dpc, InterruptObject } from '../../kernel/index.ts';
import type { MiniportAdapter } from './adapter.ts';
import type { MiniportInterruptCharacteristics, NdisReceiveThrottleParameters } from './types.ts';

let nextInterruptId = 1;

/** NDIS_HANDLE NdisInterruptHandle returned by NdisMRegisterInterruptEx (line-based). */
export class NdisInterrupt {
  readonly id = nextInterruptId++;
  readonly adapter: MiniportAdapter;
  /** MiniportInterruptContext: passed to MiniportInterrupt, MiniportInterruptDPC, Disable/Enable. */
  readonly context: unknown;
  readonly characteristics: Readonly<MiniportInterruptCharacteristics>;
  /** The kernel interrupt object NDIS connected for it. */
  kernelInterrupt!: InterruptObject;
  /** One NDIS DPC per processor (a KDPC can be queued once at a time). */
  readonly dpcs: Dpc[] = [];
  /** One receive-throttle structure per processor, reused for every DPC run. */
  readonly throttles: NdisReceiveThrottleParameters[] = [];
  deregistered = false;

  constructor(adapter: MiniportAdapter, context: unknown, characteristics: MiniportInterruptCharacteristics) {
    this.adapter = adapter;
    this.context = context;
    this.characteristics = Object.freeze({ ...characteristics });
  }

  /** The DIRQL MiniportInterrupt and MiniportSynchronizeInterrupt run at. */
  get irql(): number {
    return this.kernelInterrupt.synchronizeIrql;
  }
}
