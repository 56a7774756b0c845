import type { KernelLock } from './locks.ts';
import type { Activation } from './activation.ts';
import type { Dpc } from './dpc.ts';

/**
 * KSERVICE_ROUTINE (MiniportInterrupt, EvtInterruptIsr): true if the device on this line asked for
 * the interrupt and the ISR dismissed it ("recognised"), false to let the next ISR on a shared line try.
 */
export type InterruptServiceRoutine = (interrupt: InterruptObject, context: unknown) => boolean | Promise<boolean>;

/** What IoConnectInterruptEx is given (line-based version). */
export interface ConnectInterruptOptions {
  /** The interrupt line (machine.nic.irqLine). */
  line: number;
  isr: InterruptServiceRoutine;
  context?: unknown;
  /** DIRQL, 3..12. Default DEFAULT_DIRQL. All interrupt objects of one line share it. */
  irql?: number;
  /** IRQL of the ISR and of synchronize callbacks, >= irql. Default irql. */
  synchronizeIrql?: number;
  /** ShareVector. Default true. */
  shareVector?: boolean;
  /** Processors that may take it (the affinity). Default all. */
  processors?: readonly number[];
  /** Passive-level interrupt (KMDF PassiveHandling): the ISR runs at PASSIVE_LEVEL under a passive-level lock. */
  passive?: boolean;
  /** Shown in reports, e.g. "E1000Isr". Default the ISR's function name. */
  name?: string;
  /** DPCs that belong to this interrupt (the ISR queues them): disconnectWithDpcs removes them and waits for them. */
  dpcs?: readonly Dpc[];
}

/** The interrupt spin lock (or passive-level interrupt lock) of one interrupt object. */
export class InterruptLock implements KernelLock {
  readonly name: string;
  owner: Activation | null = null;
  ownerStack: string | undefined;

  constructor(
    readonly id: number,
    name: string,
  ) {
    this.name = name;
  }
}

let nextInterruptId = 1;

/** KINTERRUPT. Created by kernel.connectInterrupt; disconnect() is IoDisconnectInterruptEx. */
export class InterruptObject {
  readonly id = nextInterruptId++;
  readonly line: number;
  readonly irql: number;
  readonly synchronizeIrql: number;
  readonly passive: boolean;
  readonly shareVector: boolean;
  readonly name: string;
  readonly context: unknown;
  readonly isr: InterruptServiceRoutine;
  /** null: any processor. */
  readonly affinity: ReadonlySet<number> | null;
  readonly lock: InterruptLock;
  readonly dpcs = new Set<Dpc>();
  disconnected = false;
  /** ISR invocations in progress on any processor. */
  activeCalls = 0;
  /** Times the ISR was called / returned true. */
  calls = 0;
  recognized = 0;
  private readonly disconnector: (obj: InterruptObject, withDpcs: boolean) => Promise<void>;

  constructor(
    opts: Required<Omit<ConnectInterruptOptions, 'processors' | 'dpcs' | 'context'>> & Pick<ConnectInterruptOptions, 'processors' | 'dpcs' | 'context'>,
    disconnector: (obj: InterruptObject, withDpcs: boolean) => Promise<void>,
    lockId: number,
  ) {
    this.line = opts.line;
    this.irql = opts.irql;
    this.synchronizeIrql = opts.synchronizeIrql;
    this.passive = opts.passive;
    this.shareVector = opts.shareVector;
    this.name = opts.name;
    this.context = opts.context;
    this.isr = opts.isr;
    this.affinity = opts.processors ? new Set(opts.processors) : null;
    this.lock = new InterruptLock(lockId, `${this.name} ${this.passive ? 'passive-level interrupt lock' : 'interrupt spin lock'}`);
    for (const d of opts.dpcs ?? []) this.dpcs.add(d);
    this.disconnector = disconnector;
  }

  /** Tie a DPC to this interrupt (NDIS does this for MiniportInterruptDPC): disconnectWithDpcs waits for it. */
  associateDpc(dpc: Dpc): void {
    this.dpcs.add(dpc);
  }

  /**
   * IoDisconnectInterruptEx (PASSIVE_LEVEL). Waits for an ISR running on any processor; once it
   * resolves the ISR is never called again. A DPC the ISR queued still runs, as on Windows: the
   * driver waits for it with KeFlushQueuedDpcs (`kernel.flushQueuedDpcs`).
   */
  disconnect(): Promise<void> {
    return this.disconnector(this, false);
  }

  /**
   * What the frameworks' deregistration adds to IoDisconnectInterruptEx (NdisMDeregisterInterruptEx,
   * KMDF disconnecting a WDFINTERRUPT): the associated DPCs are taken off their queues and waited
   * for, so after it resolves neither the ISR nor they are called again.
   */
  disconnectWithDpcs(): Promise<void> {
    return this.disconnector(this, true);
  }

  mayRunOn(processor: number): boolean {
    return this.affinity === null || this.affinity.has(processor);
  }
}
