import type { AdapterStatistics, E1000Adapter } from '../../drivers/e1000/miniport/index.ts';
import type { LinkState } from '../../drivers/e1000/nic.ts';
import type { E1000Settings } from '../../drivers/e1000/settings.ts';
import type { Kernel } from '../../kernel/index.ts';
import type { Machine } from '../../platform/machine.ts';
import type { PacketRing } from '../../ring/index.ts';
import type { LinkEvent } from '../../upper-edge/index.ts';

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
}

/** Call counts of the driver's interrupt routines, for "nothing runs after halt" checks. */
export interface RoutineCalls {
  isr: number;
  dpc: number;
}

/** One PnP or power callback the framework made into the driver: its Windows name and the IRQL it ran at. */
export interface PnpCall {
  readonly handler: string;
  readonly irql: number;
}

/** A framework variant of the e1000 driver, running: the host talks to it only through this. */
export interface RunningVariant {
  /** Its name in the framework registry (a FrameworkName for the built-in ones). */
  readonly framework: string;
  /** The framework-neutral core under the variant, if it exposes it (diagnostics, tests: call it from a kernel routine). */
  readonly core?: E1000Adapter;
  readonly mac: string;
  /** Link state as the upper edge knows it. */
  readonly linkUp: boolean;
  /** Link changes the driver indicated to the upper edge, oldest first. */
  readonly linkEvents: readonly LinkEvent[];
  onLink(listener: (event: LinkEvent) => void): () => void;
  /** Frames were put in the TX ring from this thread. */
  kick(): void;
  /** The core's statistics (NIC registers read at PASSIVE_LEVEL), or the last ones read before halt. */
  adapterStatistics(): Promise<AdapterStatistics>;
  /** Framework-side counters (NDIS adapter statistics, upper edge counters, ...). */
  frameworkStatistics(): Record<string, unknown>;
  /** The link as the core last read it. */
  readonly link: LinkState;
  calls(): RoutineCalls;
  /** Halt the driver the framework's way (pause, halt, interrupt deregistered, memory freed). */
  halt(): Promise<void>;
  readonly halted: boolean;
  /**
   * The device was surprise-removed (the machine already ejected it): the framework's removal
   * path (NDIS 6 MiniportDevicePnPEventNotify then MiniportHaltEx, NDIS 5 MiniportPnPEventNotify
   * then MiniportHalt, KMDF EvtDeviceSurpriseRemoval then the power-down and release). Ends halted.
   */
  surpriseRemove(): Promise<void>;
  /** The PnP and power callbacks made into the driver so far, in order. */
  pnpCalls(): readonly PnpCall[];
  /** After halt (or a bug check): give back what the host side holds (bindings, pools, ring roles). */
  close(): Promise<void>;
}

export type VariantFactory = (ctx: VariantContext) => Promise<RunningVariant>;
