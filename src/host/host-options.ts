import type { LocksetFinding } from '../kernel/index.ts';
import type { E1000Settings } from '../drivers/e1000/settings.ts';
import type { ChoiceSource, KernelClock, KernelLimits, VerifierOptions } from '../kernel/index.ts';
import type { AttachStubOptions } from '../platform/attached-stub.ts';
import type { Machine, MachineConfig } from '../platform/machine.ts';
import type { RingStats } from '../ring/index.ts';
import type { HandOutLog } from '../upper-edge/index.ts';
import type { DriverModule } from './frameworks/driver-module.ts';
import type { DriverStatistics, RoutineCalls } from './frameworks/index.ts';
import type { HostNetdev } from './netdev.ts';
import type { NetdevWatchOptions, ReceiveDrops, WireStatistics } from './netdev-watch.ts';
import type { NicModelChoice } from './nic-models.ts';
import type { SurpriseRemoval } from './surprise-removal.ts';
import type { HostTraceOptions } from './trace.ts';

// What DriverHost.start takes and what host.stats() returns (driver-host.ts re-exports them).

export interface DriverHostOptions extends Pick<E1000Settings, 'throttle' | 'txRingSize' | 'rxRingSize' | 'receiveBatch'> {
  /**
   * Your own driver instead of a registered variant: a module path (resolved from the current
   * directory) or the module itself, exporting `framework`, `driverEntry` and optionally `device`
   * (src/host/frameworks/driver-module.ts). Its framework and device stand unless given here.
   */
  driver?: string | DriverModule;
  /** Which registered framework variant to run: 'ndis6' (default), 'ndis5', 'kmdf' or one given to registerFramework. */
  framework?: string;
  /** The NIC QEMU emulates: a QEMU PCI NIC's `-device` name ('e1000' default, 'rtl8139', 'pcnet', ...) or a PciNicModel (src/host/nic-models.ts). */
  device?: NicModelChoice;
  /** Logical processors of the kernel model. Default 1. */
  processors?: number;
  /** Seed of the kernel's scheduling choices. Default 1. */
  seed?: number;
  /** QEMU's e1000 interrupt mitigation (its default: on; the e1000 only). */
  mitigation?: boolean;
  /** How the NIC reaches the outside: dgram (default), user (slirp, restricted) or a tap. */
  netdev?: HostNetdev;
  /** UDP ports of the wire (netdev dgram); default: free ports. */
  wire?: { qemuPort?: number; peerPort?: number };
  /** The NIC's MAC (QEMU's, read back from the EEPROM by the driver). */
  mac?: string;
  /** Slots of each host PacketRing (power of two). Default 1024. */
  ringSlots?: number;
  /** Upper edge: frames in flight to the driver, and per send call. Defaults 512 and 64. */
  sendPoolSize?: number;
  sendBatch?: number;
  /** Where bug check reports go. Default ./crash-reports. */
  bugCheckDir?: string;
  verifier?: VerifierOptions;
  limits?: KernelLimits;
  /**
   * Record the run's timeline (src/timeline): true for ./runs/<framework>-<time>, or where and how.
   * Written as `.perfetto-trace` and `.html` when the host stops (traceFiles).
   */
  trace?: boolean | HostTraceOptions;
  /**
   * Record the session to this file (src/record): the qtest stream, IRQ edges and the driver's
   * guest-memory reads, with the config and the driver's hash; `DIRQL_RECORD=FILE` does the same.
   */
  record?: string;
  /**
   * Capture the driver's upper edge to this pcapng file (src/host/upper-edge-capture.ts): every
   * frame indicated up (interface 0, inbound) and handed to the driver to send (interface 1,
   * outbound), host dropped ones with a comment, the counts at the end. Complete once stop() resolved.
   */
  pcap?: string;
  /** The watch on QEMU's netdev socket that raises 'netdev-stalled' (false: none). */
  netdevWatch?: NetdevWatchOptions | false;
  /**
   * Attach to the QEMU a launcher runs in this directory (`dirql qemu --listen DIR`, qemu/launcher.ts)
   * instead of spawning one; its wire, MAC and NIC model are the launcher's. On stop() the launcher
   * replaces that QEMU with a fresh one for the next host.
   */
  attach?: string | AttachStubOptions;
  /**
   * What builds the machine instead of QEMU (startMachine): a replay's (src/record/replay.ts), which
   * answers from a recording. Given, no QEMU binary is looked for and no netdev is set up.
   */
  startMachine?: (cfg: MachineConfig) => Promise<Machine>;
  /** The kernel's timers and delays (absent: real ones, or a recording's); a replay's own. */
  clock?: KernelClock;
  /** The seeded scheduler's choices (absent: the seed's, or a recording's that logs them); a replay's own. */
  choices?: ChoiceSource;
  /** How many frames each of the upper edge's hand-outs takes (absent: what is there, or a recording's log of it); a replay's own. */
  handOuts?: HandOutLog;
  /** How many read requests each of the KMDF edge's top-ups hands the driver (absent: as the RX ring's free slots allow, or a recording's log of it); a replay's own. */
  readHandOuts?: HandOutLog;
  /** How many frames each take of the host's RX drain (onReceive) delivers (absent: what the RX ring holds, or a recording's log of it); a replay's own. */
  deliveries?: HandOutLog;
  /** Anything else for the machine (memory size, QEMU binary, timeouts). */
  machine?: Omit<MachineConfig, 'netdev' | 'mac' | 'device'>;
}

export interface HostStatistics {
  framework: string;
  /** The driver's own view, if it gives one (the e1000 variants: NIC statistics registers, driver counters, ring counters, as AdapterStatistics). */
  adapter?: DriverStatistics;
  /** The framework's own counters (e.g. NDIS adapter statistics) and the upper edge's. */
  frameworkSide: Record<string, unknown>;
  /** The host PacketRings. */
  rings: { rx: RingStats; tx: RingStats };
  /** Frames the host took from the RX ring and gave to onReceive listeners. */
  delivered: number;
  /** What the wire is (describeNetdev): UDP ports, slirp or the tap's name. */
  netdev: string;
  /** QEMU's netdev socket (dgram netdev only): kernel drops, bytes waiting, stalls seen. */
  wire?: WireStatistics;
  /** Every counted loss on the receive side, and their total: frames sent = delivered + total once the wire is quiet. */
  receiveDrops: ReceiveDrops;
  calls: RoutineCalls;
  /** Set once the NIC was surprise-removed (the NIC figures are then the last reading before it). */
  surpriseRemoved?: SurpriseRemoval;
  /** The lockset verifier's findings so far (record mode collects them; stop mode stops at the first). */
  verifier: { findings: number; list: readonly LocksetFinding[] };
}

/** Receives one frame: `view[0, length)`; the view is reused once the listener returns. */
export type FrameListener = (view: Uint8Array, length: number) => void;
