import { installDebuggerExtensionsIfInspecting } from '../debugger/extensions.ts';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { QemuExit } from '../../qemu/device-stub.ts';
import { QemuExitedError } from '../../qemu/errors.ts';
import { e1000Device } from '../drivers/e1000/device.ts';
import { Kernel, formatBugCheckText, isDeviceLostReport, type BugCheckReport, type LocksetAccess, type LocksetFinding } from '../kernel/index.ts';
import type { Machine } from '../platform/machine.ts';
import { PacketRing, type RingConsumer, type RingProducer } from '../ring/index.ts';
import type { HandOutLog, LinkEvent } from '../upper-edge/index.ts';
import { logger } from '../util/log.ts';
import { DEFAULT_OUTPUT_DIR, utcStamp } from '../util/output-dir.ts';
import { describeExit, qemuDeviceLoss } from './device-loss.ts';
import { DriverHostError } from './errors.ts';
import { loadFramework, type DriverStatistics, type NicLinkState, type RoutineCalls, type RunningVariant, type VariantFactory } from './frameworks/index.ts';
import { loadDriverModule } from './frameworks/driver-module.ts';
import { resolveNicModel } from './nic-models.ts';
import { describeNetdev } from './netdev.ts';
import { hostMachine } from './machine-source.ts';
import { HostTrace } from './trace.ts';
import { UpperEdgeCapture } from './upper-edge-capture.ts';
import { surpriseRemoveNic, type SurpriseRemoval } from './surprise-removal.ts';
import type { RunRecorder, TimelineFiles } from '../timeline/index.ts';
import type { SessionRecorder } from '../record/recorder.ts';
import { NetdevWatch, asE1000Statistics, qemuNetdevProbe, readWireStatistics, receiveDrops, type NetdevWatchOptions } from './netdev-watch.ts';

const log = logger('host');
/** The most frames the RX drain hands its listeners per take. */
const MAX_DELIVERY_BATCH = 256;

import type { DriverHostOptions, FrameListener, HostStatistics } from './host-options.ts';

export type { DriverHostOptions, FrameListener, HostStatistics } from './host-options.ts';

/**
 * The whole stack in one process: QEMU's e1000 (startMachine), the kernel model fed by the
 * machine's interrupt lines, a framework facade with its e1000 variant, and the upper edge moving
 * frames between the driver and two PacketRings. The host side of the rings is here: send() writes
 * the TX ring, onReceive() drains the RX ring (or hand `rxRing`/`txRing` to a worker instead).
 *
 * Events: 'link' (LinkEvent); 'bugcheck' (BugCheckReport, once its files are written): the driver
 * crashed; 'device-lost' (BugCheckReport with code DIRQL_DEVICE_LOST and `device` = QEMU's exit, once
 * its files are written and the host has stopped itself: nothing is left running): the NIC went
 * away under the driver, which is not the driver's fault; 'qemu-exit' (QemuExit) whenever QEMU
 * exits without stop() having asked it to; 'netdev-stalled' (NetdevStall): frames wait in QEMU's
 * netdev socket, the NIC has free descriptors and the link is up, yet the driver took nothing for
 * seconds: QEMU stopped reading its netdev (see NetdevWatch); 'surprise-removed' (SurpriseRemoval):
 * the NIC was ejected under the driver (surpriseRemove()) and the driver's removal path has run.
 */
export class DriverHost extends EventEmitter {
  readonly machine: Machine;
  readonly kernel: Kernel;
  readonly framework: string;
  readonly rxRing: PacketRing;
  readonly txRing: PacketRing;
  private readonly variant: RunningVariant;
  private producer: RingProducer | null = null;
  private consumer: RingConsumer | null = null;
  private readonly frameListeners = new Set<FrameListener>();
  private draining: Promise<void> | null = null;
  private delivered = 0;
  private stopping: Promise<void> | null = null;
  private report: BugCheckReport | undefined;
  private readonly trace: HostTrace | undefined;
  private written: TimelineFiles | undefined;
  private netdevWatch: NetdevWatch | undefined;
  private removing: Promise<SurpriseRemoval> | undefined;
  private removal: SurpriseRemoval | undefined;

  private readonly received: ReceiveSignal;
  /** Set when the session is recorded (`record` / DIRQL_RECORD). */
  sessionRecording: SessionRecorder | undefined;
  /** The RX drain's takes: a recording's log of them, or a replay's to follow (DriverHostOptions.deliveries). */
  private deliveries: HandOutLog | undefined;
  /** The upper-edge capture (`pcap`): its path and counters; the file is complete once stop() resolved. */
  capture: UpperEdgeCapture | undefined;

  /** Takes `dirql` (the debugger console's extensions) off globalThis for this host's kernel. */
  private readonly undoDebuggerExtensions: () => void;

  private constructor(machine: Machine, kernel: Kernel, variant: RunningVariant, rxRing: PacketRing, txRing: PacketRing, received: ReceiveSignal, trace: HostTrace | undefined) {
    super();
    this.trace = trace;
    this.received = received;
    this.machine = machine;
    this.kernel = kernel;
    this.variant = variant;
    this.framework = variant.framework;
    this.rxRing = rxRing;
    this.txRing = txRing;
    variant.onLink((e) => this.emit('link', e));
    this.undoDebuggerExtensions = installDebuggerExtensionsIfInspecting(kernel);
  }

  /** Start QEMU (or attach to a launcher's: `attach`), the kernel, the framework and the driver; resolves once the adapter runs. */
  static async start(opts: DriverHostOptions = {}): Promise<DriverHost> {
    let framework: string;
    let factory: VariantFactory;
    let deviceChoice = opts.device;
    if (opts.driver !== undefined) {
      const { userDriverVariant } = await import('./frameworks/user-driver.ts');
      const driver = await loadDriverModule(opts.driver);
      if (opts.framework !== undefined && opts.framework !== driver.framework) {
        throw new DriverHostError(`the driver module ${driver.source} is written for ${driver.framework}, but framework '${opts.framework}' was asked for`, {
          driver: driver.source,
          framework: opts.framework,
        });
      }
      framework = driver.framework;
      factory = userDriverVariant(driver);
      deviceChoice ??= driver.device;
    } else {
      framework = opts.framework ?? 'ndis6';
      factory = await loadFramework(framework);
    }
    const device = deviceChoice === undefined || deviceChoice === 'e1000' ? e1000Device({ mitigation: opts.mitigation }) : resolveNicModel(deviceChoice);
    const machine = await hostMachine(opts, device);
    let kernel: Kernel | undefined;
    let trace: HostTrace | undefined;
    let recording: SessionRecorder | undefined;
    let capture: UpperEdgeCapture | undefined;
    try {
      // A replay (startMachine given) is not recorded again by DIRQL_RECORD.
      const recordTo = opts.record ?? (opts.startMachine ? undefined : recordFromEnv());
      if (recordTo !== undefined) {
        const { startSessionRecording } = await import('../record/recorder.ts');
        recording = startSessionRecording(
          recordTo,
          machine,
          { ...opts, framework, machine: undefined },
          opts.driver === undefined || typeof opts.driver === 'string' ? opts.driver : undefined,
        );
      }
      kernel = new Kernel({
        processors: opts.processors ?? 1,
        seed: opts.seed ?? 1,
        lines: machine.lines,
        bugCheckDir: opts.bugCheckDir ?? join(process.cwd(), 'crash-reports'),
        deviceLoss: qemuDeviceLoss(machine.stub),
        ...(opts.clock ? { clock: opts.clock } : recording ? { clock: recording.clock } : {}),
        ...(opts.choices ? { choices: opts.choices } : recording ? { choices: recording.choices(opts.seed ?? 1) } : {}),
        ...(opts.verifier ? { verifier: opts.verifier } : {}),
        ...(opts.limits ? { limits: opts.limits } : {}),
      });
      feedTrace(kernel, machine);
      if (opts.trace) trace = new HostTrace(kernel, machine, framework, opts.trace);
      const slots = opts.ringSlots ?? 1024;
      const rxRing = new PacketRing({ slotCount: slots, slotSize: 2048 });
      const txRing = new PacketRing({ slotCount: slots, slotSize: 2048 });
      const received = new ReceiveSignal();
      if (opts.pcap !== undefined) capture = new UpperEdgeCapture(opts.pcap, `dirql (${framework} on ${device.qemuModel})`);
      const variant = await factory({
        ...(capture ? { tap: capture } : {}),
        ...(opts.handOuts ? { handOuts: opts.handOuts } : recording ? { handOuts: recording.handOuts } : {}),
        ...(opts.readHandOuts ? { readHandOuts: opts.readHandOuts } : recording ? { readHandOuts: recording.readHandOuts } : {}),
        kernel,
        machine,
        rxRing,
        txRing,
        onReceivePublished: received.notify,
        settings: {
          txRingSize: opts.txRingSize,
          rxRingSize: opts.rxRingSize,
          receiveBatch: opts.receiveBatch,
          throttle: opts.throttle,
          sendPoolSize: opts.sendPoolSize,
          sendBatch: opts.sendBatch,
        },
      });
      const host = new DriverHost(machine, kernel, variant, rxRing, txRing, received, trace);
      host.sessionRecording = recording;
      host.deliveries = opts.deliveries ?? recording?.deliveries;
      host.deliveries?.attach?.(received.notify);
      host.capture = capture;
      host.watch();
      if (opts.netdevWatch !== false) host.watchNetdev(opts.netdevWatch ?? {});
      log.debug({ framework, mac: variant.mac }, 'driver host up');
      return host;
    } catch (err) {
      capture?.close();
      kernel?.dispose();
      const report = kernel?.stopped ? await kernel.bugCheckReport : undefined;
      await machine.stop();
      // A start that failed is worth looking at: its timeline is written too.
      if (trace)
        await trace.write().then(
          (f) => log.error(`timeline of the failed start: ${f.html}`),
          (e: unknown) => log.error({ err: e }, 'writing the timeline failed'),
        );
      if (report && isDeviceLostReport(report)) {
        throw new DriverHostError(
          `the device went away while the driver was starting: ${report.device?.summary ?? report.message}${report.files ? ` (report: ${report.files.text})` : ''}`,
          { report: report.files?.text },
          { cause: err },
        );
      }
      if (report)
        throw new DriverHostError(
          `the driver bug-checked while starting: ${report.name}${report.files ? ` (report: ${report.files.text})` : ''}`,
          { report: report.files?.text },
          { cause: err },
        );
      throw err;
    }
  }

  /** The run's recorder when started with `trace` (e.g. recorder.watchPeer(peer) adds a wire peer's frames). */
  get recorder(): RunRecorder | undefined {
    return this.trace?.recorder;
  }

  /** The timeline files, once stop() wrote them (started with `trace`). */
  get traceFiles(): TimelineFiles | undefined {
    return this.written;
  }

  /** The driver's internals, when the variant exposes them (the e1000 NDIS 6 variant: its E1000Adapter; call it from a kernel routine). */
  get core(): unknown {
    return this.variant.core;
  }

  /** The station address the driver uses. */
  get mac(): string {
    return this.variant.mac;
  }

  /** Link state as the upper edge knows it (initial attributes, then indications). */
  get linkUp(): boolean {
    return this.variant.linkUp;
  }

  /**
   * The link as the driver last read it (e1000: STATUS), or, for a driver that does not say, as it
   * last indicated it to the upper edge (speed 0 when it never gave one).
   */
  get link(): NicLinkState {
    const own = this.variant.link;
    if (own) return own;
    const last = this.variant.linkEvents.at(-1);
    return { up: this.variant.linkUp, speedMbps: last ? last.speed / 1e6 : 0, fullDuplex: last?.fullDuplex ?? false };
  }

  /** Link changes indicated to the upper edge, oldest first. */
  get linkEvents(): readonly LinkEvent[] {
    return this.variant.linkEvents;
  }

  /** The bug check report once the driver crashed (files written). Not set when the device went away: see deviceLoss. */
  get bugCheck(): BugCheckReport | undefined {
    return this.report && !isDeviceLostReport(this.report) ? this.report : undefined;
  }

  /** The DIRQL_DEVICE_LOST report once QEMU went away under the driver (files written); `device` says how. */
  get deviceLoss(): BugCheckReport | undefined {
    return this.report && isDeviceLostReport(this.report) ? this.report : undefined;
  }

  get halted(): boolean {
    return this.variant.halted;
  }

  /**
   * What a recording's trailer holds and a replay compares: the framework's counters, the routine
   * calls, the frames delivered and, after a surprise removal, the driver's removal path (its time left out).
   */
  sessionCounters(): Record<string, unknown> {
    const removal = this.removal ? { removal: { bdf: this.removal.bdf, callbacks: this.removal.callbacks, droppedWrites: this.removal.droppedWrites } } : {};
    return { frameworkSide: this.variant.frameworkStatistics(), calls: this.variant.calls(), delivered: this.delivered, ...removal };
  }

  /** ISR and DPC calls of the driver so far. */
  calls(): RoutineCalls {
    return this.variant.calls();
  }

  /**
   * Put frames in the TX ring (in order, until it is full) and wake the upper edge. Returns how many
   * were taken; the rest are the caller's to retry (see sendAll). Not with a TX producer elsewhere.
   */
  send(frames: readonly Uint8Array[]): number {
    this.assertUsable('send');
    this.producer ??= this.txRing.producer();
    const taken = this.producer.enqueueBatch(frames);
    if (this.sessionRecording && taken > 0) this.sessionRecording.host('send', taken === frames.length ? frames : frames.slice(0, taken));
    if (this.trace) for (let i = 0; i < taken; i++) this.trace.recorder.frame('host rings', 'host sent', frames[i]!);
    if (taken > 0) this.variant.kick();
    return taken;
  }

  /** send() every frame, waiting for ring space as needed. */
  async sendAll(frames: readonly Uint8Array[], timeoutMs = 10_000): Promise<void> {
    let done = 0;
    while (done < frames.length) {
      done += this.send(done === 0 ? frames : frames.slice(done));
      if (done === frames.length) return;
      // A stop or a driver stop closes the producer, which ends this wait at once; the next
      // send() then says why.
      if (!(await this.producer!.waitForSpace(timeoutMs)) && !this.stopping && !this.kernel.stopped) {
        throw new DriverHostError(`sendAll: the TX ring stayed full for ${timeoutMs} ms (${done} of ${frames.length} sent)`, { done, total: frames.length });
      }
    }
  }

  /**
   * Call `listener` for every received frame, in order (the RX ring is drained on this thread).
   * Returns the unsubscribe function. Not with an RX consumer elsewhere.
   */
  onReceive(listener: FrameListener): () => void {
    this.frameListeners.add(listener);
    if (!this.draining) {
      if (!this.consumer) this.sessionRecording?.host('receive');
      this.consumer ??= this.rxRing.consumer();
      this.draining = this.drain();
    }
    return () => this.frameListeners.delete(listener);
  }

  /** Driver, NIC, framework, upper edge and ring counters. */
  async stats(): Promise<HostStatistics> {
    // Its register reads are the host's, not the driver's: a replay repeats the call at this point.
    this.sessionRecording?.host('stats');
    let adapter: DriverStatistics | undefined;
    try {
      adapter = await this.variant.adapterStatistics?.();
    } catch (err) {
      throw this.kernel.hostFailed(err);
    }
    const rings = { rx: this.rxRing.stats(), tx: this.txRing.stats() };
    const wire = await readWireStatistics(this.machine, this.netdevWatch?.stalls ?? 0);
    return {
      framework: this.framework,
      ...(adapter ? { adapter } : {}),
      frameworkSide: this.variant.frameworkStatistics(),
      rings,
      delivered: this.delivered,
      netdev: describeNetdev(this.machine.netdev),
      ...(wire ? { wire } : {}),
      receiveDrops: receiveDrops(asE1000Statistics(adapter), rings.rx, wire),
      calls: this.variant.calls(),
      ...(this.removal ? { surpriseRemoved: this.removal } : {}),
      verifier: { findings: this.kernel.verifier.locksetFindings.length, list: this.verifierFindings() },
    };
  }

  /** The lockset verifier's findings (both sites with stacks, location, rule, IRQLs), as plain data for a report. */
  verifierFindings(): LocksetFinding[] {
    const plain = (a: LocksetAccess): LocksetAccess => ({ ...a, locks: [...a.locks], stack: a.stack });
    return this.kernel.verifier.locksetFindings.map((f) => ({ ...f, first: plain(f.first), second: plain(f.second) }));
  }

  /** Eject the NIC under the driver and run its removal path; the host stays up (see surprise-removal.ts). Idempotent. */
  surpriseRemove(): Promise<SurpriseRemoval> {
    if (!this.removing) {
      this.assertUsable('surpriseRemove');
      this.netdevWatch?.stop();
      this.sessionRecording?.host('remove');
      this.removing = surpriseRemoveNic(this.kernel, this.machine, this.variant, () => this.sessionRecording?.host('ejected')).then((r) => {
        this.removal = r;
        this.emit('surprise-removed', r);
        return r;
      });
    }
    return this.removing;
  }

  /** Set once the NIC was surprise-removed and the driver's removal path ran. */
  get removed(): SurpriseRemoval | undefined {
    return this.removal;
  }

  /** Halt the driver (the machine keeps running; stats() then reports the last NIC reading). */
  async halt(): Promise<void> {
    if (this.kernel.stopped) return;
    await this.variant.halt();
  }

  /** Halt if still running, then stop everything: QEMU gone, sockets and RAM file removed. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.sessionRecording?.host('stop');
      this.netdevWatch?.stop();
      // A surprise removal under way ends halted: halting beside it would halt the driver twice.
      // Its failure is its caller's to report.
      await this.removing?.catch(() => undefined);
      try {
        if (!this.variant.halted && !this.kernel.stopped) await this.variant.halt();
      } catch (err) {
        log.error({ err }, 'halt during stop failed');
      }
      await this.variant.close().catch((err: unknown) => log.warn({ err }, 'closing the framework side failed'));
      this.capture?.close();
      this.frameListeners.clear();
      this.received.notify();
      await this.draining;
      this.consumer?.close();
      this.producer?.close();
      this.kernel.dispose();
      this.undoDebuggerExtensions();
      if (this.kernel.stopped) this.report = await this.kernel.bugCheckReport;
      await this.sessionRecording?.close({ counters: this.sessionCounters(), ...(this.report ? { bugCheck: this.report.name } : {}) }, this.report);
      await this.machine.stop();
      if (this.trace) this.written = await this.trace.write();
    })();
    return this.stopping;
  }

  private async drain(): Promise<void> {
    const consumer = this.consumer!;
    const recorder = this.trace?.recorder;
    const deliver = (view: Uint8Array, length: number): void => {
      this.delivered++;
      if (recorder) recorder.frame('host rings', 'host received', view, length);
      for (const l of this.frameListeners) l(view, length);
    };
    const log = this.deliveries;
    while (!this.stopping && this.frameListeners.size > 0) {
      // The ring's published count is what a replay's take waits for (`due`) before it takes as many as the recorded one.
      const published = log ? this.rxRing.stats().enqueued : 0;
      const n = log?.due && !log.due(published) ? 0 : consumer.dequeueBatch(deliver, log?.next?.() ?? MAX_DELIVERY_BATCH);
      if (n > 0) log?.handedOut(n, published);
      else await this.received.wait();
    }
    this.draining = null;
  }

  private watchNetdev(options: NetdevWatchOptions): void {
    const core = this.variant.core;
    const probe = qemuNetdevProbe(this.machine, core, () => !this.stopping && !this.kernel.stopped);
    if (!probe) return;
    this.netdevWatch = new NetdevWatch(
      probe,
      (stall) => {
        const what = `QEMU stopped reading its netdev: ${stall.socketQueuedBytes} bytes waiting on UDP port ${stall.qemuPort}, ${stall.nicFreeDescriptors} free RX descriptors, nothing received for ${stall.stalledMs} ms`;
        this.kernel.trace.record('qemu', what);
        log.warn(stall, what);
        this.emit('netdev-stalled', stall);
      },
      (err) => log.warn({ err }, 'netdev watch: sampling failed'),
      options,
    );
    this.netdevWatch.start();
  }

  private watch(): void {
    this.kernel.once('bugcheck', () => {
      // Nothing takes frames from the TX ring any more: a sendAll waiting for space ends now.
      this.producer?.close();
      // A listener cannot wait: the report is logged and re-emitted once its files are written.
      void this.kernel.bugCheckReport.then((r) => {
        this.report = r;
        log.error(`driver bug check ${r.name}: ${r.message}${r.files ? `\n  report: ${r.files.text}` : ''}`);
        this.emit('bugcheck', r);
      });
    });
    this.kernel.once('device-lost', (r: BugCheckReport) => this.onDeviceLost(r));
    this.machine.stub.on('exit', (exit) => this.onQemuExit(exit));
  }

  /**
   * QEMU exited without stop() asking: the device is gone. The kernel stops with DIRQL_DEVICE_LOST
   * unless the driver had already stopped (its bug check stands); either way nothing of the machine
   * is worth keeping, so the host stops itself.
   */
  private onQemuExit(exit: QemuExit): void {
    if (exit.expected) return;
    const what = describeExit(exit, this.machine.stub.pid);
    this.kernel.trace.record('qemu', what);
    const stop = this.kernel.deviceLost(new QemuExitedError(what, { exitCode: exit.exitCode, signal: exit.signal, stderr: exit.stderr, expected: false }));
    this.emit('qemu-exit', exit);
    // Called from QEMU's exit event: the stop runs on its own and logs its failure.
    if (!isDeviceLostReport(stop.report)) void this.stop().catch((err: unknown) => log.error({ err }, 'stopping after QEMU exited failed'));
  }

  private onDeviceLost(r: BugCheckReport): void {
    this.report = r;
    // The kernel has logged it; the host's part is to end cleanly and tell its listeners (from an
    // event, so nobody awaits this: failures are logged).
    void this.stop()
      .catch((err: unknown) => log.error({ err }, 'stopping after the device was lost failed'))
      .then(() => this.emit('device-lost', r));
  }

  private assertUsable(op: string): void {
    if (this.stopping) throw new DriverHostError(`${op} after stop()`, { op });
    const stopped = this.kernel.stopped;
    if (stopped && isDeviceLostReport(stopped.report))
      throw new DriverHostError(`${op}: the device went away (${stopped.report.device?.summary ?? stopped.report.message})`, { op }, { cause: stopped });
    if (stopped) throw new DriverHostError(`${op}: the driver bug-checked (${stopped.report.name})`, { op });
  }

  /** The readable stop report (what `!analyze -v` would print), bug check or device loss, if there was one. */
  bugCheckText(): string | undefined {
    return this.report ? formatBugCheckText(this.report) : undefined;
  }
}

/**
 * Wakes the host's RX drain when the upper edge (on this thread) has published frames: at once,
 * where the ring's Atomics.waitAsync wake-up would arrive only at a later event-loop turn.
 */
class ReceiveSignal {
  private waiter: (() => void) | null = null;

  readonly notify = (): void => {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  };

  /**
   * Resolves at the next notify() (the upper edge published, or the host is stopping). One waiter
   * at a time (the drain loop). No timer: a timer armed and cleared per wait slowed streams.
   */
  wait(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.waiter = resolve;
    });
  }
}

/** Transport events into the kernel's trace, so a bug check report shows them next to MMIO and IRQs. */
function feedTrace(kernel: Kernel, machine: Machine): void {
  machine.qmp.on('event', (ev) => kernel.trace.record('qmp', ev.event));
  machine.qtest.on('close', (err) => kernel.trace.record('qtest', `socket closed${err ? `: ${err.message}` : ''}`));
}

/**
 * DIRQL_RECORD=FILE records every host session to FILE; `on`, to a new file under
 * `<DIRQL_OUTPUT_DIR or ./dirql-out>/recordings/`. `on-failure` needs someone who knows whether the
 * run failed: `dirql up` / `dirql run` and the test fixture in test/support handle it.
 */
function recordFromEnv(): string | undefined {
  const v = process.env.DIRQL_RECORD;
  if (v === undefined || v === '' || v === 'on-failure') return undefined;
  if (v !== 'on') return v;
  const dir = join(process.env.DIRQL_OUTPUT_DIR || DEFAULT_OUTPUT_DIR, 'recordings');
  mkdirSync(dir, { recursive: true });
  return join(dir, `session-${utcStamp(new Date())}-${process.pid}.rec`);
}
