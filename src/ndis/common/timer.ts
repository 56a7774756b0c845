import { Dpc, KernelTimer, type Kernel } from '../../kernel/index.ts';

/** NDIS_TIMER_FUNCTION (NDIS 6) / the NDIS 5 timer function: runs at DISPATCH_LEVEL in a DPC. */
export type NdisTimerFunction = (functionContext: unknown) => void | Promise<void>;

let nextTimerId = 1;

/**
 * NDIS_HANDLE TimerObject (NdisAllocateTimerObject) and NDIS_MINIPORT_TIMER (NdisMInitializeTimer):
 * a kernel timer whose DPC calls the miniport's timer function. `owner` (the adapter) lets halt
 * check that no timer is left set or allocated.
 */
export class NdisTimer {
  readonly id = nextTimerId++;
  readonly name: string;
  readonly owner: object | null;
  readonly timer: KernelTimer;
  readonly dpc: Dpc;
  functionContext: unknown;
  freed = false;
  /** Times the timer function ran. */
  runs = 0;

  constructor(kernel: Kernel, timerFunction: NdisTimerFunction, functionContext: unknown, owner: object | null, name?: string) {
    this.name = name ?? (timerFunction.name || `NdisTimer#${this.id}`);
    this.owner = owner;
    this.functionContext = functionContext;
    this.timer = new KernelTimer(kernel, this.name);
    this.dpc = new Dpc(
      async () => {
        if (this.freed) return;
        this.runs++;
        await timerFunction(this.functionContext);
      },
      this,
      this.name,
    );
  }

  get isSet(): boolean {
    return this.timer.isSet || this.dpc.queued;
  }
}
