import type { E1000Settings } from '../../drivers/e1000/settings.ts';
import type { Kernel } from '../../kernel/index.ts';
import type { Machine } from '../../platform/machine.ts';
import type { PacketRing } from '../../ring/index.ts';
import type { HandOutLog, LinkEvent, UpperEdgeTap } from '../../upper-edge/index.ts';

/** The framework variants dirql ships (registered from the start; registerFramework adds others). */
export type FrameworkName = 'ndis6' | 'ndis5' | 'kmdf';

/** Driver settings the host passes to whichever variant it starts. */
export interface VariantSettings extends Omit<E1000Settings, 'filter'> {
  /** Upper edge: frames in flight to the driver at most, and per send call. */
  sendPoolSize?: number;
  sendBatch?: number;
}

/** What a variant gets to bring the driver up. */
export interface VariantContext {
  kernel: Kernel;
  machine: Machine;
  /** The upper edge produces into it (received frames). */
  rxRing: PacketRing;
  /** The upper edge consumes from it (frames to send). */
  txRing: PacketRing;
  settings: VariantSettings;
  /** Give to the upper edge as its `onPublish`: the host's RX consumer, on this thread, wakes on it. */
  onReceivePublished?: () => void;
  /** Give to the upper edge as its `tap`: the host's upper-edge capture (`pcap`), when there is one. */
  tap?: UpperEdgeTap;
  /** Give to the upper edge as its `handOuts`: a recording's log of its send batches, or a replay's. */
  handOuts?: HandOutLog;
  /** Give to the KMDF edge as its `readHandOuts`: a recording's log of its read top-ups, or a replay's. */
  readHandOuts?: HandOutLog;
}

/** The link as a driver last read it from its NIC (the e1000's LinkState is one). */
export interface NicLinkState {
  up: boolean;
  speedMbps: number;
  fullDuplex: boolean;
}

/** A driver's own statistics (NIC counters, driver counters): any object; the e1000 variants give AdapterStatistics. */
export type DriverStatistics = object;

/** Call counts of the driver's interrupt routines, for "nothing runs after halt" checks. */
export interface RoutineCalls {
  isr: number;
  dpc: number;
  /** Of `dpc`, those not queued by an ISR (a restart's catch-up DPC, a requeue, a timer), when the driver counts them. */
  dpcWithoutIsr?: number;
}

/** One PnP or power callback the framework made into the driver: its Windows name and the IRQL it ran at. */
export interface PnpCall {
  readonly handler: string;
  readonly irql: number;
}

/**
 * A driver on its framework, running: the host talks to it only through this. Nothing in it is
 * particular to a NIC; statistics and the driver's own link reading are optional.
 */
export interface RunningVariant {
  /** Its name in the framework registry (a FrameworkName for the built-in ones). */
  readonly framework: string;
  /** The driver's internals, if it exposes them (the e1000 NDIS 6 variant: its E1000Adapter core; call it from a kernel routine). */
  readonly core?: unknown;
  readonly mac: string;
  /** Link state as the upper edge knows it. */
  readonly linkUp: boolean;
  /** Link changes the driver indicated to the upper edge, oldest first. */
  readonly linkEvents: readonly LinkEvent[];
  onLink(listener: (event: LinkEvent) => void): () => void;
  /** Frames were put in the TX ring from this thread. */
  kick(): void;
  /** The driver's statistics (e1000: NIC registers read at PASSIVE_LEVEL), or the last ones read before halt. Optional. */
  adapterStatistics?(): Promise<DriverStatistics>;
  /** Framework-side counters (NDIS adapter statistics, upper edge counters, ...). */
  frameworkStatistics(): Record<string, unknown>;
  /** The link as the driver last read it, if it says (otherwise the host goes by the upper edge's indications). */
  readonly link?: NicLinkState;
  calls(): RoutineCalls;
  /** Halt the driver the framework's way (pause, halt, interrupt deregistered, memory freed). */
  halt(): Promise<void>;
  readonly halted: boolean;
  /**
   * The device was surprise-removed (the machine already ejected it): the framework's removal
   * path (NDIS 6 MiniportDevicePnPEventNotify then MiniportHaltEx, NDIS 5 MiniportPnPEventNotify
   * then MiniportHalt, KMDF EvtDeviceSurpriseRemoval then the power-down and release). Ends halted.
   * Every variant has it (the e1000 ones and a driver module's); a host's own test variant may not.
   */
  surpriseRemove?(): Promise<void>;
  /** The PnP and power callbacks made into the driver so far, in order. */
  pnpCalls?(): readonly PnpCall[];
  /** After halt (or a bug check): give back what the host side holds (bindings, pools, ring roles). */
  close(): Promise<void>;
}

export type VariantFactory = (ctx: VariantContext) => Promise<RunningVariant>;
