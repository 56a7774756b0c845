import { readNetdevSocket, type NetdevSocketCounters } from '../../qemu/netdev-socket.ts';
import { E1000Adapter, type AdapterStatistics } from '../drivers/e1000/miniport/index.ts';
import { Reg } from '../drivers/e1000/registers.ts';
import type { Machine } from '../platform/machine.ts';
import type { RingStats } from '../ring/index.ts';

/** QEMU's netdev socket as the host reports it in stats(). */
export interface WireStatistics {
  qemuPort: number;
  /** Datagrams the kernel dropped at QEMU's socket (buffer full): frames that never reached the NIC. */
  socketDrops: number;
  /** Bytes QEMU has not read from its socket yet. */
  socketQueuedBytes: number;
  /** 'netdev-stalled' events so far. */
  stalls: number;
}

/**
 * Every place a frame sent to QEMU's port can be lost on its way to the host's RX listeners, each
 * from the counter that says so. Once the wire is quiet, frames sent = delivered + total.
 */
export interface ReceiveDrops {
  /** Kernel drops at QEMU's UDP socket (its receive buffer was full). */
  qemuSocket: number;
  /** MPC: frames the NIC had no descriptor for. QEMU counts RNBC with it (not a second loss). */
  nicMissed: number;
  /** ROC: frames over 1522 bytes, refused by the NIC (no LPE). */
  nicOversize: number;
  /** The driver's rxOversizeDropped: 1515..1522 bytes, over OID_GEN_MAXIMUM_TOTAL_SIZE. */
  driverOversize: number;
  /** Frames spread over several descriptors, dropped by the RX ring (only with LPE). */
  driverFragments: number;
  /** The host RX PacketRing's `dropped`: the upper edge found no room, or a frame over a slot. */
  hostRing: number;
  total: number;
}

/** QEMU's netdev socket as the kernel counts it; undefined without a dgram netdev. Zeros once QEMU is gone. */
export async function readWireStatistics(machine: Machine, stalls: number): Promise<WireStatistics | undefined> {
  const w = machine.stub.wire;
  if (!w) return undefined;
  const socket = await readNetdevSocket(w.qemuPort, machine.stub.pid);
  return { qemuPort: w.qemuPort, socketDrops: socket?.drops ?? 0, socketQueuedBytes: socket?.queuedBytes ?? 0, stalls };
}

/** The e1000 variants' AdapterStatistics, recognised by shape (a user's driver gives its own, or none). */
export function asE1000Statistics(stats: unknown): AdapterStatistics | undefined {
  const s = stats as Partial<AdapterStatistics> | undefined;
  return s?.nic !== undefined && s.driver !== undefined && s.rxRing !== undefined ? (s as AdapterStatistics) : undefined;
}

/** Every counted receive drop; the NIC and driver parts are 0 for a driver that gives no e1000 statistics. */
export function receiveDrops(adapter: AdapterStatistics | undefined, rx: RingStats, wire: WireStatistics | undefined): ReceiveDrops {
  const d = {
    qemuSocket: wire?.socketDrops ?? 0,
    nicMissed: adapter?.nic.missedPackets ?? 0,
    nicOversize: adapter?.nic.receiveOversize ?? 0,
    driverOversize: adapter?.driver.rxOversizeDropped ?? 0,
    driverFragments: adapter?.rxRing.fragmentsDropped ?? 0,
    hostRing: rx.dropped,
  };
  return { ...d, total: Object.values(d).reduce((a, b) => a + b, 0) };
}

/** The 'netdev-stalled' event: QEMU stopped taking frames from its socket while the NIC had room. */
export interface NetdevStall {
  qemuPort: number;
  /** Bytes waiting in QEMU's socket, and the kernel's drops there so far. */
  socketQueuedBytes: number;
  socketDrops: number;
  /** Frames the driver took from its ring (indicated or dropped by it) so far: unchanged for stalledMs. */
  driverReceived: number;
  /** Receive descriptors the NIC may still fill (RDT − RDH). */
  nicFreeDescriptors: number;
  stalledMs: number;
}

/** What the watch samples; all cheap except freeDescriptors (two register reads, only when suspicious). */
export interface NetdevProbe {
  qemuPort: number;
  socket(): Promise<NetdevSocketCounters | undefined>;
  /** Whether the NIC should be taking frames now: driver running, link up. */
  receiving(): boolean;
  /** A count that moves whenever the driver takes a frame from its ring. */
  driverReceived(): number;
  freeDescriptors(): Promise<number>;
}

export interface NetdevWatchOptions {
  /** How often QEMU's socket is looked at. Default 500 ms. */
  intervalMs?: number;
  /**
   * How long frames may wait in the socket with the NIC able to take them and the driver taking
   * none before it is a stall. Default 3000 ms: above the e1000's 1 s receive hold after an RCTL
   * write (docs/qemu.md), during which QEMU rightly reads nothing.
   */
  stallMs?: number;
}

/**
 * Watches QEMU's netdev socket: datagrams waiting, the NIC with free descriptors, the link up and
 * the driver running, yet nothing received for stallMs means QEMU stopped reading its netdev (QEMU
 * 7.2 does so for good after one zero-length datagram). Reported once per stall, until frames move.
 */
export class NetdevWatch {
  private timer: NodeJS.Timeout | undefined;
  private since: number | undefined;
  private lastReceived = 0;
  private reported = false;
  private sampling = false;
  private stallCount = 0;

  constructor(
    private readonly probe: NetdevProbe,
    private readonly onStall: (stall: NetdevStall) => void,
    private readonly onError: (err: unknown) => void,
    private readonly options: NetdevWatchOptions = {},
  ) {}

  /** Stalls reported so far. */
  get stalls(): number {
    return this.stallCount;
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.sampling) return;
      this.sampling = true;
      this.sample()
        // A sample still running when stop() came may find QEMU gone: not worth a warning.
        .catch((err: unknown) => {
          if (this.timer) this.onError(err);
        })
        .finally(() => (this.sampling = false));
    }, this.options.intervalMs ?? 500);
    // The watch must not keep a process alive whose host is otherwise done.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async sample(): Promise<void> {
    const p = this.probe;
    const received = p.driverReceived();
    const socket = await p.socket();
    if (received !== this.lastReceived) {
      // Frames moved: whatever waits now starts a new window.
      this.lastReceived = received;
      this.reported = false;
      this.since = undefined;
    }
    if (!socket || socket.queuedBytes === 0 || !p.receiving()) {
      this.since = undefined;
      return;
    }
    const now = performance.now();
    this.since ??= now;
    const stalledMs = now - this.since;
    if (this.reported || stalledMs < (this.options.stallMs ?? 3000)) return;
    const free = await p.freeDescriptors();
    if (!this.timer) return;
    if (free === 0) {
      // A full ring is back-pressure from the driver, not the netdev's fault: the window restarts.
      this.since = performance.now();
      return;
    }
    this.reported = true;
    this.stallCount++;
    this.onStall({
      qemuPort: p.qemuPort,
      socketQueuedBytes: socket.queuedBytes,
      socketDrops: socket.drops,
      driverReceived: received,
      nicFreeDescriptors: free,
      stalledMs: Math.round(stalledMs),
    });
  }
}

/** The probe for QEMU's e1000 on a dgram netdev, driven by `core`; undefined for another netdev. `live`: the host still runs. */
export function qemuNetdevProbe(machine: Machine, core: unknown, live: () => boolean): NetdevProbe | undefined {
  const w = machine.stub.wire;
  // The probe reads the e1000's RX ring registers: only for the e1000 driver's own core.
  if (!w || !(core instanceof E1000Adapter)) return undefined;
  const regs = machine.nic.registers;
  return {
    qemuPort: w.qemuPort,
    socket: () => readNetdevSocket(w.qemuPort, machine.stub.pid),
    receiving: () => live() && core.running && core.link.up,
    driverReceived: () => core.counters.rxIndicated + core.counters.rxOversizeDropped,
    // RDH, RDT and RDLEN have no read side effects: read behind the driver's back, as a bus analyser would.
    freeDescriptors: async () => {
      const head = await regs.read32(Reg.RDH);
      const tail = await regs.read32(Reg.RDT);
      const size = (await regs.read32(Reg.RDLEN)) / 16;
      return size > 0 ? (tail - head + size) % size : 0;
    },
  };
}
