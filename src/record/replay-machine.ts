import { EventEmitter } from 'node:events';
import { activationStore } from '../kernel/activation.ts';
import type { ChoiceSource, KernelClock, TimeCheck } from '../kernel/index.ts';
import { isProcessorLabel } from '../kernel/scheduler.ts';
import { DmaAllocator } from '../platform/dma-allocator.ts';
import { PlatformError } from '../platform/errors.ts';
import { IrqLines } from '../platform/interrupt-lines.ts';
import type { Machine, MachineConfig } from '../platform/machine.ts';
import { PCI_EJ } from '../platform/pci-hotplug.ts';
import { MmioRegion } from '../platform/registers.ts';
import type { QmpClient } from '../transport/qmp-client.ts';
import { QtestClient, type QtestTap } from '../transport/qtest-client.ts';
import type { HandOutLog } from '../upper-edge/index.ts';
import { ReplayDivergenceError } from './errors.ts';
import { RecordKind, choiceKind, choiceLabel, describeHandOut, isDriverInput, isHandOut, type HandOutKind, type HostOp, type Recording, type RecordEvent } from './format.ts';
import { ReplayMemory, ReplayQtestStream } from './replay-stream.ts';

/** The NIC as the recording's header has it (recorder.ts, startSessionRecording). */
interface RecordedNic {
  bdf: string;
  registerBase: number;
  registerSize: number;
  ioBase?: number;
  irqLine: number;
  mac: string;
  vendorId?: number;
  deviceId?: number;
  registerBar?: number;
  pci?: Machine['nic']['pci'];
  route?: Machine['nic']['route'];
}

export type HostInput = [RecordKind.Host, 'send', Uint8Array[]] | [RecordKind.Host, HostOp];

/**
 * A recorded hand-out (`[9, kind, count, published]`): its count and position, the memory reads
 * and the frames published before it, and (a KMDF read top-up; else -1) the last event before it
 * that came to the driver from outside (isDriverInput).
 */
interface RecordedHandOut {
  count: number;
  position: number;
  reads: number;
  progress?: number;
  after: number;
}

/**
 * One replay (REPLAY, not QEMU): the recorded qtest stream under a real QtestClient, the recorded
 * memory reads, a clock whose timers expire where the recording says, and the host's inputs handed
 * to `onHost` at their positions. `startMachine` is DriverHost.start's seam.
 */
export class ReplaySession {
  readonly stream: ReplayQtestStream;
  readonly memory: ReplayMemory;
  readonly clock: KernelClock;
  /** Gets the frames the NIC put on a tapped wire (kind 7, 'fromNic'), as the stream reaches them (ReplayWire.deliver). */
  onWire: ((bytes: Uint8Array) => void) | undefined;
  /** Gets the host's recorded inputs; those reached before it is set wait for it. */
  private hostHandler: ((e: HostInput, position: number) => void) | undefined;
  private readonly waitingHost: [HostInput, number][] = [];
  private readonly armed: { name: string; fire: () => void; periodic: boolean }[] = [];
  private readonly commands: { line: string; position: number }[] = [];
  private nextCommand = 0;
  private readonly decisions: { kind: string; option: number; position: number }[] = [];
  /** The upper edge's recorded send batches (`[9, 'take', count]`), the KMDF edge's read top-ups (`[9, 'reads', count, published]`) and the host's takes from the RX ring (`[9, 'delivered', count, published]`), `progress` the frames published then, each in order. */
  private readonly handOutsRecorded: Record<HandOutKind, RecordedHandOut[]> = { take: [], reads: [], delivered: [] };
  private nextDecision = 0;
  /** The replaying kernel's scheduler's wake-up (ChoiceSource.attach). */
  private wakeScheduler: (() => void) | undefined;
  private readings = 0;
  /** The driver's recorded time readings (kind 12), in order, and their positions. */
  private readonly timeReadings: { ms: number; position: number }[] = [];
  private nextTimeReading = 0;
  /** Resolves when the stream reaches the recorded end of a surprise removal's eject (`[9, 'ejected']`), or the replay gives up. */
  private ejectedAt!: () => void;
  private readonly ejected = new Promise<void>((resolve) => (this.ejectedAt = resolve));
  /** The replay gave up on the recording (a stall or a divergence): see abandon(). */
  private gaveUp = false;
  private readonly timeCalls = new Map<TimeCheck, number>();
  /** The recorded over-limit outcomes of each time check, in call order. */
  private readonly timeOutcomes = new Map<TimeCheck, { call: number; ms: number }[]>();

  constructor(readonly recording: Recording) {
    const { events, file } = recording;
    let reads = 0;
    let lastInput = -1;
    events.forEach((e, position) => {
      if (isDriverInput(e)) lastInput = position;
      if (e[0] === RecordKind.MemoryRead) reads++;
      else if (e[0] === RecordKind.Command) this.commands.push({ line: e[1], position });
      else if (e[0] === RecordKind.Schedule) this.decisions.push({ kind: e[1], option: e[2], position });
      else if (e[0] === RecordKind.Host && e[1] === 'take') this.handOutsRecorded.take.push({ count: e[2], position, reads, after: -1 });
      else if (e[0] === RecordKind.Host && e[1] === 'delivered') this.handOutsRecorded.delivered.push({ count: e[2], position, reads, progress: e[3], after: -1 });
      else if (e[0] === RecordKind.Host && e[1] === 'reads') this.handOutsRecorded.reads.push({ count: e[2], position, reads, progress: e[3], after: lastInput });
      else if (e[0] === RecordKind.TimeReading) this.timeReadings.push({ ms: e[1], position });
      else if (e[0] === RecordKind.Time) {
        const list = this.timeOutcomes.get(e[1]) ?? [];
        list.push({ call: e[2], ms: e[3] });
        this.timeOutcomes.set(e[1], list);
      }
    });
    this.stream = new ReplayQtestStream(
      events,
      file,
      (e, position) => this.input(e, position),
      // The scheduler may have answered -1 while the stream was short of its turn: now it is there.
      { reached: () => this.wakeScheduler?.() },
    );
    this.memory = new ReplayMemory(events, Number(recording.header.config.memorySize), file);
    this.memory.reached = () => this.memoryReached();
    this.stream.onReached = () => {
      for (const wake of this.handOutWakes) wake();
    };

    this.choices = this.choiceSource(recording.header.version >= 7, recording.header.version >= 10);
    this.clock = {
      arm: (name, _dueMs, periodMs, fire) => {
        const entry = { name, fire, periodic: periodMs > 0 };
        this.armed.push(entry);
        return () => {
          const i = this.armed.indexOf(entry);
          if (i >= 0) this.armed.splice(i, 1);
        };
      },
      // Recorded time: a delay has nothing to wait for, what happened during it comes from the log.
      delay: () => new Promise<void>((r) => setImmediate(r)),
      // Replay time: one microsecond a reading, so a replay's timeline is the same every time.
      now: () => ++this.readings / 1000,
      // The driver reads the recorded times, in order: what it does with them is what it did.
      read: () => this.timeReading(),
      bootMs: recording.header.bootMs ?? 0,
      // The recorded outcome at the same call of the same check; the replay's own time decides nothing.
      overLimit: (check) => {
        const call = (this.timeCalls.get(check) ?? 0) + 1;
        this.timeCalls.set(check, call);
        const pending = this.timeOutcomes.get(check);
        if (pending === undefined || pending[0]?.call !== call) return null;
        return pending.shift()!.ms;
      },
    };
  }

  /**
   * The scheduler's choices, in the recorded order. A scheduler turn (labels given) is taken where
   * the recording took it: once the stream has delivered everything recorded before it (the stream
   * holds what came after until it is taken), and then runs the activation the recording ran,
   * waiting (-1) while it is not runnable. A processor's start on its pending work (version 10,
   * `service@1`) is such a turn, asked with its own label alone. A processor choice (version 7: every one is written,
   * labelled `processor i`) is due once the stream is there too (`choiceDue`; the caller waits for
   * it), and takes the recorded processor; one that is not among the candidates is a divergence.
   * Before version 7, choose() could not wait: it takes the recorded option when it had as many
   * options, else the replay diverged.
   */
  readonly choices: ChoiceSource;

  private choiceSource(everyChoice: boolean, services: boolean): ChoiceSource {
    return {
      labelled: true,
      everyChoice,
      services,
      attach: (wake) => {
        this.wakeScheduler = wake;
      },
      choiceDue: () => {
        if (this.gaveUp) return true;
        const d = this.decisions[this.nextDecision];
        // Past the last recorded choice: any processor will do. A turn recorded first is taken first.
        if (d === undefined) return true;
        return isProcessorLabel(choiceLabel(d.kind)) && this.stream.position >= d.position;
      },
      below: (n, labels) => {
        if (this.gaveUp) return 0;
        const d = this.decisions[this.nextDecision];
        // The same activation as recorded (by its label), wherever the scheduler lists it this time.
        // Past the last recorded choice (the host's stop after the recording closed): any order will do.
        if (d === undefined) return 0;
        if (labels) {
          const choosing = isProcessorLabel(labels[0]);
          // Not there yet: a reply, IRQ line, input or command recorded before this turn is still to come.
          if (!choosing && !this.stream.reachedBefore(d.position)) return -1;
          // A scheduler turn: the activation the recording ran next, once it is runnable (the others wait).
          const i = labels.indexOf(choiceLabel(d.kind) ?? '');
          if (i >= 0) this.take(d);
          if (i >= 0 || !choosing) return i;
        } else if (d.kind === choiceKind(n) && d.option < n) {
          this.take(d);
          return d.option;
        }
        this.stream.diverge(this.choiceDivergence(d, labels ? `among ${labels.join(', ')}` : `among ${n}`));
        return 0;
      },
    };
  }

  /** A processor choice the recording does not have next: `actual` says what the scheduler chose among. */
  private choiceDivergence(d: { kind: string; option: number; position: number }, actual: string): ReplayDivergenceError {
    const act = activationStore.getStore();
    const routine = act ? (act.routines.at(-1)?.name ?? act.name) : undefined;
    return new ReplayDivergenceError(
      `replay diverged at event ${d.position} of ${this.recording.file}: the scheduler chose ${actual}, the recording has a choice ${d.kind} (option ${d.option})`,
      {
        file: this.recording.file,
        position: d.position,
        decision: this.nextDecision,
        expected: `choice ${d.kind}`,
        actual: `choice ${actual}`,
        routine,
        recent: this.stream.recentBefore(d.position),
      },
    );
  }

  /**
   * The log the replaying upper edge takes its batches from (DriverHostOptions.handOuts): the
   * recorded counts, and from now on the stream holds at each recorded hand-out until it is made.
   */
  handOuts(): HandOutLog {
    this.stream.holdAtHandOuts('take');
    return this.handOutLog;
  }

  /** The log the replaying KMDF edge takes its read top-ups from (DriverHostOptions.readHandOuts), held to the stream as handOuts() is. */
  readHandOuts(): HandOutLog {
    this.stream.holdAtHandOuts('reads');
    return this.readHandOutLog;
  }

  /**
   * The log the replaying host's RX drain takes its batches from (DriverHostOptions.deliveries),
   * held to the stream as handOuts() is. A recording before version 9 has none: the drain takes
   * what is there. Nor does a KMDF replay follow them: its edge's read top-ups (handed out as
   * recorded) already wait for the ring's slots, and following both made a one-processor replay
   * reach a retry timer's recorded expiry before the driver had set it (src/record/README.md).
   */
  deliveries(): HandOutLog | undefined {
    if (this.recording.header.version < 9 || this.recording.header.config.framework === 'kmdf') return undefined;
    this.stream.holdAtHandOuts('delivered');
    return this.deliveryLog;
  }

  /** The upper edge takes the recorded batches from the TX ring; another count is a divergence. */
  private readonly handOutLog = this.recordedHandOuts('take');
  /** The host takes the recorded numbers of received frames from the RX ring for its listeners; another is a divergence. */
  private readonly deliveryLog = this.recordedHandOuts('delivered');
  /** The KMDF edge submits the recorded numbers of reads; another is a divergence. */
  private readonly readHandOutLog = this.recordedHandOuts('reads');

  /**
   * A log that dictates the recorded hand-outs of one kind (`[9, kind, count]`), in order. A
   * hand-out is due once the driver has made the memory reads recorded before it: a DPC completing
   * sends (or reads) reads descriptors and may issue no command, so the stream alone runs ahead of
   * it. Then the sends that had completed have completed again, and as many requests are live.
   * (Not held to the stream too: on several processors a scheduler turn before the hand-out waits
   * for the send it leads to.) A read top-up also waits until the edge has published as many frames
   * as it had then: the DPC's memory reads come before the completions that free its reads. Past
   * the last recorded one, version 8 hands out nothing: the recorded session did not (the host's
   * takes are only followed from version 9, deliveries()).
   */
  private recordedHandOuts(kind: HandOutKind): HandOutLog {
    const list = this.handOutsRecorded[kind];
    let next = 0;
    return {
      next: () => (this.gaveUp ? undefined : list[next]?.count),
      due: (progress) => {
        const t = list[next];
        if (this.gaveUp) return true;
        if (t === undefined) return this.recording.header.version < 8;
        // The giver calls again as it gets on (the KMDF edge tops up after each publish).
        if (t.progress !== undefined && (progress ?? 0) < t.progress) return false;
        if (t.after >= 0 && !this.stream.reached(t.after)) {
          this.stream.wakeAt = t.after;
          return false;
        }
        if (this.memory.consumed >= t.reads) return true;
        this.memoryWaits.set(kind, t.reads);
        this.armMemoryWake();
        return false;
      },
      // Called when the memory reads a held-back hand-out waits for were made, when the replay reached the input a top-up waits for, and at abandon().
      attach: (wake) => {
        this.handOutWakes.push(wake);
      },
      handedOut: (count) => {
        const t = list[next];
        if (t === undefined) return;
        next++;
        this.stream.handedOut(kind, t.position);
        if (t.count === count) return;
        this.stream.diverge(
          new ReplayDivergenceError(`replay diverged at event ${t.position} of ${this.recording.file}: ${describeHandOut(kind, count)}, the recording has ${t.count}`, {
            file: this.recording.file,
            position: t.position,
            expected: t.count,
            actual: count,
            recent: this.stream.recentBefore(t.position),
          }),
        );
      },
    };
  }

  /** The memory read count each held-back hand-out log waits for; the memory calls back at the lowest. */
  private readonly memoryWaits = new Map<HandOutKind, number>();
  private readonly handOutWakes: (() => void)[] = [];

  private armMemoryWake(): void {
    let at = Infinity;
    for (const n of this.memoryWaits.values()) at = Math.min(at, n);
    this.memory.wakeAt = at === Infinity ? -1 : at;
  }

  private memoryReached(): void {
    const made = this.memory.consumed;
    for (const [kind, n] of this.memoryWaits) if (n <= made || this.gaveUp) this.memoryWaits.delete(kind);
    this.armMemoryWake();
    for (const wake of this.handOutWakes) wake();
  }

  /** The next recorded time reading; one the recording does not have is a divergence. */
  private timeReading(): number {
    const r = this.timeReadings[this.nextTimeReading];
    if (r !== undefined) {
      this.nextTimeReading++;
      return r.ms;
    }
    const last = this.timeReadings.at(-1);
    if (!this.gaveUp) {
      const position = this.stream.position;
      const act = activationStore.getStore();
      this.stream.diverge(
        new ReplayDivergenceError(
          `replay diverged at event ${position} of ${this.recording.file}: the driver read the time a ${ordinal(this.nextTimeReading + 1)} time, the recording has ${this.timeReadings.length} reading(s)`,
          {
            file: this.recording.file,
            position,
            expected: `${this.timeReadings.length} time reading(s)`,
            actual: `time reading ${this.nextTimeReading + 1}`,
            routine: act ? (act.routines.at(-1)?.name ?? act.name) : undefined,
            recent: this.stream.recentBefore(position),
          },
        ),
      );
    }
    // Time does not go back, whatever the driver does after the divergence.
    return last?.ms ?? 0;
  }

  private take(d: { kind: string; position: number }): void {
    this.nextDecision++;
    this.stream.decide(d.position);
    // A turn that waited (-1) on this processor choice can be taken now, before the stream reaches another.
    if (isProcessorLabel(choiceLabel(d.kind))) this.wakeScheduler?.();
  }

  /**
   * The replay stalled or diverged: nothing more comes from the recording. The stream closes (what
   * the driver waits on from it fails, as on a lost device), the scheduler's turns and the send
   * path's batches are no longer held to the recorded ones, so the host's stop can run to its end
   * instead of waiting on a turn or a reply the recording will never give.
   */
  abandon(): void {
    if (this.gaveUp) return;
    this.gaveUp = true;
    if (!this.stream.destroyed) this.stream.destroy();
    this.wakeScheduler?.();
    this.memory.reached?.();
    this.ejectedAt();
  }

  get abandoned(): boolean {
    return this.gaveUp;
  }

  get divergence(): ReplayDivergenceError | undefined {
    return this.stream.divergence;
  }

  set onHost(handler: (e: HostInput, position: number) => void) {
    this.hostHandler = handler;
    for (const [e, p] of this.waitingHost.splice(0)) handler(e, p);
  }

  /** Builds the replay's Machine from the recording's header; `cfg.device` is the NIC model the host chose. */
  readonly startMachine = async (cfg: MachineConfig): Promise<Machine> => {
    const config = this.recording.header.config;
    const file = this.recording.file;
    const rec = config.nic as RecordedNic;
    const qtest = new QtestClient(this.stream.asSocket());
    qtest.tap = this.commandCheck();
    const lines = new IrqLines(qtest, [rec.irqLine]);
    const dma = new DmaAllocator(this.memory.size);
    const registers = new MmioRegion(qtest, rec.registerBase, rec.registerSize, { name: `${rec.bdf} BAR${rec.registerBar ?? 0} (replay)` });
    const stub = Object.assign(new EventEmitter(), {
      pid: undefined,
      exit: undefined,
      exited: new Promise(() => undefined),
      wire: undefined,
      explain: async (e: unknown) => e,
      explainNow: (e: unknown) => e,
    });
    const qmp = Object.assign(new EventEmitter(), {
      execute: (command: string) => Promise.reject(new PlatformError(`replay: there is no QEMU to send QMP ${command} to`, { command })),
    });
    let stopped = false;
    const replayOnly = (what: string) => (): Promise<void> => Promise.reject(new PlatformError(`replay: ${what} needs QEMU`, { what }));
    return {
      qtest,
      qmp: qmp as unknown as QmpClient,
      memory: this.memory,
      dma,
      nic: {
        model: { ...cfg.device, vendorId: rec.vendorId ?? cfg.device.vendorId ?? 0, deviceId: rec.deviceId ?? cfg.device.deviceId ?? 0, registerBar: rec.registerBar ?? 0 },
        bdf: rec.bdf,
        registers,
        ...(rec.ioBase !== undefined ? { ioBase: rec.ioBase } : {}),
        irqLine: rec.irqLine,
        mac: rec.mac,
        pci: rec.pci ?? ({} as Machine['nic']['pci']),
        route: rec.route ?? { pin: 1, pirq: 0, irq: rec.irqLine },
      },
      lines,
      get wire(): never {
        throw new PlatformError('replay: there is no wire', {});
      },
      netdev: (config.netdev ?? { kind: 'user', options: [] }) as Machine['netdev'],
      stub: stub as unknown as Machine['stub'],
      pciFunctions: [],
      timings: { qtestConnectMs: 0, firstReplyMs: 0, readyMs: 0, bringUpMs: 0 },
      reset: replayOnly('system_reset'),
      // The eject's qtest half, as ejectPciDevice made it (QMP's device_del is not in the stream),
      // where the recording made it: on QEMU, QMP's round trip let the driver go on first. The
      // recorded replies after it are the removed device's all ones.
      surpriseRemoveNic: async () => {
        if (registers.isRemoved) return;
        const slot = rec.pci?.device;
        if (slot === undefined) throw new PlatformError(`replay: ${file} does not say which PCI slot the NIC was in`, { bdf: rec.bdf, file });
        await this.atCommand(`outl 0x${PCI_EJ.toString(16)} `, () => registers.deviceRemoved());
        qtest.outl(PCI_EJ, (1 << slot) >>> 0);
        await qtest.fence();
        // The framework's removal path starts where it did: QMP's DEVICE_DELETED came a while later.
        await this.ejected;
      },
      get nicRemoved() {
        return registers.isRemoved;
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        lines.dispose();
        dma.freeAll();
        qtest.close();
      },
    };
  };

  /**
   * Checks each command as the driver issues it (before it is even sent), so a divergence names the
   * routine that issued it and its JS stack; the stream checks the same order again as it is written.
   */
  private commandCheck(): QtestTap {
    return {
      command: (line) => {
        const expected = this.commands[this.nextCommand];
        if (expected?.line === line) {
          this.nextCommand++;
          if (this.commandReached) this.reachCommand();
          return;
        }
        const act = activationStore.getStore();
        const position = expected?.position ?? this.recording.events.length;
        const routine = act ? (act.routines.at(-1)?.name ?? act.name) : undefined;
        const stack = new Error('divergence').stack?.split('\n').slice(2).join('\n');
        this.stream.diverge(
          new ReplayDivergenceError(
            `replay diverged at event ${position} of ${this.recording.file}: ${routine ?? 'host code'} sent '${line}', the recording has ${expected ? `'${expected.line}'` : 'no more commands'}`,
            { file: this.recording.file, position, command: this.nextCommand, expected: expected?.line, actual: line, routine, stack, recent: this.stream.recentBefore(position) },
          ),
        );
      },
      reply: () => undefined,
      irq: () => undefined,
    };
  }

  /**
   * Host code that issues a command where the recording did. `reached` runs as soon as the next
   * recorded command starts with `prefix`, before the driver makes another access: on QEMU nothing
   * of the driver's came between (a surprise removal marks the registers removed there). The
   * promise resolves once, besides, the stream has delivered everything recorded before the command
   * and the kernel has started on the interrupts and DPCs that asked for a processor: on QEMU the
   * host came to it a while later (QMP's round trip), and a line the command lowers must have been
   * taken first, if it was. It checks once an event-loop turn; after the replay gave up (a stall, a
   * divergence) or past the recorded commands it resolves at once.
   */
  private async atCommand(prefix: string, reached: () => void): Promise<void> {
    const next = (): { line: string; position: number } | undefined => (this.gaveUp ? undefined : this.commands[this.nextCommand]);
    const isNext = (): boolean => next()?.line.startsWith(prefix) ?? true;
    this.commandReached = { isNext, reached };
    this.reachCommand();
    const due = (): boolean => {
      const c = next();
      return c === undefined || (this.commandReached === undefined && this.stream.position >= c.position && !this.stream.servicePending?.());
    };
    while (!due()) await new Promise<void>((r) => setImmediate(r));
    this.commandReached = undefined;
  }

  private reachCommand(): void {
    const w = this.commandReached;
    if (w === undefined || !w.isNext()) return;
    this.commandReached = undefined;
    w.reached();
  }

  private commandReached: { isNext: () => boolean; reached: () => void } | undefined;

  private input(e: RecordEvent, position: number): void {
    if (e[0] === RecordKind.TimerExpired) {
      const i = this.armed.findIndex((t) => t.name === e[1]);
      if (i < 0) {
        this.stream.diverge(
          new ReplayDivergenceError(`replay diverged at event ${position} of ${this.recording.file}: timer ${e[1]} expired in the recording, the driver has no such timer set`, {
            file: this.recording.file,
            position,
            expected: `timer ${e[1]} expires`,
            actual: `timers set: ${this.armed.map((t) => t.name).join(', ') || 'none'}`,
            recent: this.stream.recentBefore(position),
          }),
        );
        return;
      }
      const timer = this.armed[i]!;
      if (!timer.periodic) this.armed.splice(i, 1);
      timer.fire();
    } else if (e[0] === RecordKind.Wire) {
      if (e[1] === 'fromNic') this.onWire?.(e[2]);
    } else if (e[0] === RecordKind.Host && e[1] === 'ejected') {
      this.ejectedAt();
    } else if (e[0] === RecordKind.Host && !isHandOut(e[1])) {
      if (this.hostHandler) this.hostHandler(e as HostInput, position);
      else this.waitingHost.push([e as HostInput, position]);
    }
  }
}

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}
