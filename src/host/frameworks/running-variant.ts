import type { AdapterStatistics, E1000Adapter } from '../../drivers/e1000/miniport/index.ts';
import type { Kernel } from '../../kernel/index.ts';
import type { LinkEvent } from '../../upper-edge/index.ts';
import type { Logger } from '../../util/log.ts';
import type { NicLinkState, PnpCall, RoutineCalls, RunningVariant } from './variant.ts';

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

/** What any running variant is made of, whatever its driver: the framework's calls into it and its upper edge. */
export interface EdgeVariantParts {
  framework: string;
  kernel: Kernel;
  edge: VariantEdge;
  mac(): string;
  link?(): NicLinkState | undefined;
  /** At halt, once the edge has stopped and before the driver halts (the kernel may have stopped). */
  atHalt?(): Promise<void>;
  /** Halt the driver the framework's way (MiniportHalt, IRP_MN_STOP_DEVICE), while the kernel runs. */
  haltDriver(): Promise<void>;
  /** The framework's surprise-removal path into the driver (the machine already ejected the NIC), while the kernel runs. */
  surpriseRemoveDriver(): Promise<void>;
  pnpCalls(): readonly PnpCall[];
  /** After halt: give back what the host side holds (the edge, and what the framework registered). */
  close(): Promise<void>;
  frameworkStatistics(): Record<string, unknown>;
  calls(): RoutineCalls;
}

/**
 * A RunningVariant from its parts: link through the upper edge; halt and surprise removal as stop
 * the edge, then the framework's call into the driver while the kernel runs.
 */
export function edgeVariant(p: EdgeVariantParts): RunningVariant {
  let halted = false;
  return {
    framework: p.framework,
    get mac() {
      return p.mac();
    },
    get linkUp() {
      return p.edge.linkUp;
    },
    get link() {
      return p.link?.();
    },
    linkEvents: p.edge.linkEvents,
    onLink(listener: (event: LinkEvent) => void) {
      p.edge.on('link', listener);
      return () => p.edge.off('link', listener);
    },
    kick: () => p.edge.kick(),
    frameworkStatistics: () => p.frameworkStatistics(),
    calls: () => p.calls(),
    get halted() {
      return halted;
    },
    async halt() {
      if (halted) return;
      // A count made from the connected interrupt objects (user drivers') must see them before the driver disconnects them.
      p.calls();
      await p.edge.stop();
      await p.atHalt?.();
      if (!p.kernel.stopped) await p.haltDriver();
      halted = true;
    },
    async surpriseRemove() {
      if (halted) return;
      p.calls();
      await p.edge.stop();
      if (!p.kernel.stopped) await p.surpriseRemoveDriver();
      halted = true;
    },
    pnpCalls: () => p.pnpCalls(),
    close: () => p.close(),
  };
}

/** The e1000 variants' pieces: an edge variant's, and the framework-neutral core the link and statistics come from. */
export interface VariantParts extends Omit<EdgeVariantParts, 'mac' | 'link' | 'atHalt'> {
  core: E1000Adapter;
  /** Offer `core` as RunningVariant.core (only the variants that chose to). */
  exposeCore: boolean;
  log: Logger;
  /** How the messages name a halted driver and the halting ('the adapter is halted' / 'halting'). */
  words: { halted: string; halting: string };
}

/**
 * The RunningVariant every e1000 variant gives the host: an edge variant whose statistics are read
 * at PASSIVE_LEVEL, the last reading kept across halt (the NIC's counters go with the hardware).
 */
export function runningVariant(parts: VariantParts): RunningVariant {
  const { kernel, core, log, words } = parts;
  let lastStatistics: AdapterStatistics | undefined;
  const readStatistics = (): Promise<AdapterStatistics> => kernel.runAtPassive('HostStatistics', () => core.statistics());
  const variant = edgeVariant({
    ...parts,
    mac: () => core.mac,
    link: () => core.link,
    async atHalt() {
      if (kernel.stopped) return;
      // The NIC's statistics go with the hardware: keep the last reading. (At surprise removal
      // they went with it already: the host takes one first.)
      try {
        lastStatistics = await readStatistics();
      } catch (err) {
        log.warn({ err }, `could not read the statistics before ${words.halting}`);
      }
    },
  });
  return Object.assign(variant, {
    ...(parts.exposeCore ? { core } : {}),
    async adapterStatistics() {
      if (variant.halted || kernel.stopped) {
        if (lastStatistics) return { ...lastStatistics, driver: core.snapshot() };
        throw new Error(`${words.halted} and no statistics were read before`);
      }
      lastStatistics = await readStatistics();
      return lastStatistics;
    },
  });
}
