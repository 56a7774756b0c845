import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { realClock, SchedulerRandom, type BugCheckReport, type ChoiceSource, type KernelClock, type TimeCheck } from '../kernel/index.ts';
import type { AsyncGuestMemory, GuestMemory } from '../platform/guest-memory.ts';
import type { QtestClient, QtestTap } from '../transport/qtest-client.ts';
import type { HandOutLog } from '../upper-edge/index.ts';
import type { WireDirection } from './wire-tap.ts';
import { RecordKind, RecordingWriter, choiceKind, type BugCheckSummary, type HostOp, type RecordingTrailer } from './format.ts';

const DIRQL_VERSION = (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** sha256 of a driver module's resolved path and content, or of a built-in variant's name and dirql's version. */
export function driverIdentity(source: string | undefined, builtIn: string): string {
  const h = createHash('sha256');
  if (source !== undefined && fs.existsSync(source)) h.update(source).update('\0').update(fs.readFileSync(source));
  else h.update(`built-in:${builtIn}@${DIRQL_VERSION}`);
  return h.digest('hex');
}

/**
 * Records one session: taps the qtest client and wraps guest memory so every read the driver
 * makes is logged with its bytes. Installed only when recording, so a session without one pays
 * a single test per qtest line and nothing on memory.
 */
export class SessionRecorder implements QtestTap {
  private readonly writer: RecordingWriter;
  private readonly started = performance.now();

  constructor(file: string, config: Record<string, unknown>, driverHash: string) {
    this.writer = new RecordingWriter(file, { dirqlVersion: DIRQL_VERSION, config, driverHash, startedAt: new Date().toISOString(), bootMs: realClock.bootMs });
  }

  get file(): string {
    return this.writer.file;
  }

  get events(): number {
    return this.writer.events;
  }

  command(line: string): void {
    this.writer.line(RecordKind.Command, line);
  }

  reply(line: string): void {
    this.writer.line(RecordKind.Reply, line);
  }

  irq(line: number, raised: boolean): void {
    this.writer.irq(line, raised);
  }

  /** The upper edge's send batches: each hand-out's count, at its position (`[9, 'take', count]`). */
  readonly handOuts: HandOutLog = {
    handedOut: (count) => this.writer.event([RecordKind.Host, 'take', count]),
  };

  /** The KMDF edge's read top-ups: how many read requests each handed the driver, at its position, and the frames the edge had published by then (`[9, 'reads', count, published]`, version 8). */
  readonly readHandOuts: HandOutLog = {
    handedOut: (count, published) => this.writer.event([RecordKind.Host, 'reads', count, published ?? 0]),
  };

  /** The host's takes from the RX ring for its listeners: each take's count and the frames the upper edge had published by then (`[9, 'delivered', count, published]`, version 9). */
  readonly deliveries: HandOutLog = {
    handedOut: (count, published) => this.writer.event([RecordKind.Host, 'delivered', count, published ?? 0]),
  };

  schedule(kind: string, option: number): void {
    this.writer.event([RecordKind.Schedule, kind, option]);
  }

  /** What the host did to the driver: frames it put in the TX ring, its first receive listener, a statistics read, the NIC's surprise removal, its stop. */
  host(op: 'send', frames: readonly Uint8Array[]): void;
  host(op: HostOp): void;
  host(op: 'send' | HostOp, frames?: readonly Uint8Array[]): void {
    if (op === 'send') this.writer.sent(frames!);
    else this.writer.event([RecordKind.Host, op]);
  }

  private readonly timeChecks = new Map<TimeCheck, number>();

  /**
   * The kernel's clock, with every timer expiration logged at its position (before its DPC is
   * queued), every time reading the driver makes, and every exceeded time limit with its check's
   * call number; within-limit decisions are only counted, so the hot path pays a map update per check.
   */
  readonly clock: KernelClock = {
    arm: (name, dueMs, periodMs, fire) =>
      realClock.arm(name, dueMs, periodMs, () => {
        this.writer.event([RecordKind.TimerExpired, name]);
        fire();
      }),
    delay: realClock.delay,
    now: realClock.now,
    read: () => {
      const ms = realClock.read();
      this.writer.event([RecordKind.TimeReading, ms]);
      return ms;
    },
    bootMs: realClock.bootMs,
    overLimit: (check, ms, limitMs) => {
      const call = (this.timeChecks.get(check) ?? 0) + 1;
      this.timeChecks.set(check, call);
      if (!(ms > limitMs)) return null;
      this.writer.event([RecordKind.Time, check, call, ms]);
      return ms;
    },
  };

  /** The scheduler's seeded choices, each logged with how many options it had (replay checks both). */
  choices(seed: number): ChoiceSource {
    const rng = new SchedulerRandom(seed);
    return {
      labelled: true,
      everyChoice: true,
      services: true,
      below: (n, labels) => {
        // A single option does not advance the PRNG: the same seed makes the same choices as unrecorded.
        const option = n > 1 ? rng.below(n) : 0;
        this.writer.event([RecordKind.Schedule, choiceKind(n, labels?.[option]), option]);
        return option;
      },
    };
  }

  /** A frame on the UDP wire, at its position (kind 7; WireTap): the peer's to the NIC, or the NIC's to the peer. */
  wire(direction: WireDirection, bytes: Uint8Array): void {
    this.writer.event([RecordKind.Wire, direction, bytes]);
  }

  attach(qtest: QtestClient): void {
    qtest.tap = this;
  }

  /** The same memory, with every read logged (addr and the bytes it returned). */
  wrapMemory<M extends GuestMemory & AsyncGuestMemory>(memory: M): M {
    // The writer copies the bytes into its chunk at once: the driver may reuse its buffer.
    const rec = (addr: number, bytes: Uint8Array, used?: readonly number[]): void => this.writer.memoryRead(addr, bytes, used);
    const wrapped: GuestMemory & AsyncGuestMemory = {
      size: memory.size,
      read: (addr, length) => {
        const b = memory.read(addr, length);
        rec(addr, b);
        return b;
      },
      readInto: (addr, target, used) => {
        memory.readInto(addr, target, used);
        rec(addr, target, used);
      },
      write: (addr, data) => memory.write(addr, data),
      readAsync: async (addr, length) => {
        const b = await memory.readAsync(addr, length);
        rec(addr, b);
        return b;
      },
      writeAsync: (addr, data) => memory.writeAsync(addr, data),
    };
    return wrapped as M;
  }

  /** Writes the trailer: the counters, the bug check (as a replay must reach it again) and the duration. */
  close(trailer: Omit<RecordingTrailer, 'events' | 'durationMs' | 'bugCheckReport'>, report?: BugCheckReport): Promise<void> {
    return this.writer.close({ ...trailer, ...(report ? { bugCheckReport: bugCheckSummary(report) } : {}), durationMs: performance.now() - this.started });
  }
}

export function bugCheckSummary(r: BugCheckReport): BugCheckSummary {
  return { code: r.code, name: r.name, parameters: [...r.parameters], message: r.message, routines: r.routines.map((x) => x.name) };
}

/** What a recording needs from the machine: its qtest stream, its memory and the NIC as brought up. */
interface RecordedMachine {
  qtest: QtestClient;
  memory: GuestMemory & AsyncGuestMemory;
  nic: {
    bdf: string;
    registers: { base: number; size: number };
    ioBase?: number;
    irqLine: number;
    mac: string;
    model: { vendorId: number; deviceId: number; registerBar?: number };
    pci: object;
    route: object;
  };
  netdev: object;
}

/**
 * Starts recording a host session once the machine is up: the NIC as brought up goes in the
 * header (replay starts from there, without a PCI bring-up), then every qtest line and memory read.
 */
export function startSessionRecording(file: string, machine: RecordedMachine, options: Record<string, unknown>, driverSource: string | undefined): SessionRecorder {
  const nic = machine.nic;
  const config = {
    ...JSON.parse(JSON.stringify(options)),
    nic: {
      bdf: nic.bdf,
      registerBase: nic.registers.base,
      registerSize: nic.registers.size,
      ioBase: nic.ioBase,
      irqLine: nic.irqLine,
      mac: nic.mac,
      vendorId: nic.model.vendorId,
      deviceId: nic.model.deviceId,
      registerBar: nic.model.registerBar,
      pci: nic.pci,
      route: nic.route,
    },
    netdev: machine.netdev,
    memorySize: machine.memory.size,
  };
  const rec = new SessionRecorder(file, config, driverIdentity(driverSource, String(options.framework)));
  rec.attach(machine.qtest);
  machine.memory = rec.wrapMemory(machine.memory);
  return rec;
}
