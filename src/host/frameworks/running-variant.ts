import type { AdapterStatistics, E1000Adapter } from '../../drivers/e1000/miniport/index.ts';
import type { Kernel } from '../../kernel/index.ts';
import type { LinkEvent } from '../../upper-edge/index.ts';
import type { Logger } from '../../util/log.ts';
import type { PnpCall, RoutineCalls, RunningVariant } from './variant.ts';

/** What the three upper edges (NDIS 6, NDIS 5 protocol, KMDF I/O) offer the host alike. */
export interface VariantEdge {
  readonly linkUp: boolean;
  readonly linkEvents: readonly LinkEvent[];
  on(event: 'link', listener: (event: LinkEvent) => void): unknown;
  off(event: 'link', listener: (event: LinkEvent) => void): unknown;
  kick(): void;
  stop(): Promise<void>;
  close(): Promise<void>;
}

/** The framework-specific pieces a running variant is made of. */
export interface VariantParts {
  framework: string;
  kernel: Kernel;
  /** The framework-neutral core the link and statistics come from. */
  core: E1000Adapter;
  /** Offer `core` as RunningVariant.core (only the variants that chose to). */
  exposeCore: boolean;
  edge: VariantEdge;
  log: Logger;
  /** How the messages name a halted driver and the halting ('the adapter is halted' / 'halting'). */
  words: { halted: string; halting: string };
  /** Halt the driver the framework's way (MiniportHalt, IRP_MN_STOP_DEVICE), while the kernel runs. */
  haltDriver(): Promise<void>;
  /** The framework's surprise-removal path into the driver, while the kernel runs. */
  surpriseRemoveDriver(): Promise<void>;
  pnpCalls(): readonly PnpCall[];
  /** After halt: give back what the host side holds (the edge, and what the framework registered). */
  close(): Promise<void>;
  frameworkStatistics(): Record<string, unknown>;
  calls(): RoutineCalls;
}

/**
 * The RunningVariant every e1000 variant gives the host: link through the upper edge, statistics read
 * at PASSIVE_LEVEL (the last reading kept across halt, since the NIC's counters go with the
 * hardware), halt as stop the edge, read the statistics, halt the driver.
 */
export function runningVariant(parts: VariantParts): RunningVariant {
  const { kernel, core, edge, log, words } = parts;
  let lastStatistics: AdapterStatistics | undefined;
  let halted = false;

  const readStatistics = (): Promise<AdapterStatistics> => kernel.runAtPassive('HostStatistics', () => core.statistics());

  return {
    framework: parts.framework,
    ...(parts.exposeCore ? { core } : {}),
    mac: core.mac,
    get linkUp() {
      return edge.linkUp;
    },
    get link() {
      return core.link;
    },
    linkEvents: edge.linkEvents,
    onLink(listener: (event: LinkEvent) => void) {
      edge.on('link', listener);
      return () => edge.off('link', listener);
    },
    kick: () => edge.kick(),
    async adapterStatistics() {
      if (halted || kernel.stopped) {
        if (lastStatistics) return { ...lastStatistics, driver: core.snapshot() };
        throw new Error(`${words.halted} and no statistics were read before`);
      }
      lastStatistics = await readStatistics();
      return lastStatistics;
    },
    frameworkStatistics: () => parts.frameworkStatistics(),
    calls: () => parts.calls(),
    get halted() {
      return halted;
    },
    async halt() {
      if (halted) return;
      await edge.stop();
      if (!kernel.stopped) {
        // The NIC's statistics go with the hardware: keep the last reading.
        try {
          lastStatistics = await readStatistics();
        } catch (err) {
          log.warn({ err }, `could not read the statistics before ${words.halting}`);
        }
        await parts.haltDriver();
      }
      halted = true;
    },
    async surpriseRemove() {
      if (halted) return;
      await edge.stop();
      // The NIC's statistics went with it: the last reading stands (the host takes one first).
      if (!kernel.stopped) await parts.surpriseRemoveDriver();
      halted = true;
    },
    pnpCalls: () => parts.pnpCalls(),
    close: () => parts.close(),
  };
}
