import { lazyLogger } from '../util/log.ts';
import type { Activation } from './activation.ts';
import {
  BugCheckCode,
  BugCheckError,
  DeviceLostError,
  DeviceLostWhere,
  bugCheckName,
  writeBugCheckFiles,
  type BugCheckInfo,
  type BugCheckReport,
  type DeviceLoss,
} from './bugcheck.ts';
import type { KernelCore } from './core.ts';
import { mapException } from './exception-codes.ts';
import { irqlName } from './irql.ts';
import type { Processor } from './processor.ts';

const log = lazyLogger('kernel');

/**
 * How the driver is stopped: KeBugCheckEx, the device going away (DIRQL_DEVICE_LOST), and turning
 * what escaped a routine into the one or the other. Builds the report (what every processor runs,
 * the JS stacks, the trace tail), has the kernel stop (`halt`), writes the report files, logs, and
 * emits 'bugcheck' or 'device-lost'. The first stop wins.
 */
export class StopRecorder {
  /** Resolves with the report (files written) once the driver has stopped. Never rejects. */
  readonly report: Promise<BugCheckReport>;
  private resolveReport!: (r: BugCheckReport) => void;
  private readonly kernel: KernelCore;
  private readonly halt: (err: BugCheckError) => void;

  /** `halt` stops the kernel: it records the error, disconnects, drops DPCs, unwinds parked routines. */
  constructor(kernel: KernelCore, halt: (err: BugCheckError) => void) {
    this.kernel = kernel;
    this.halt = halt;
    this.report = new Promise((resolve) => {
      this.resolveReport = resolve;
    });
  }

  /**
   * KeBugCheckEx, for `kernel.bugCheck`: stop the driver. Records the report (code, parameters,
   * processor, IRQL, nested routines, JS stacks, trace tail), has the kernel stop (interrupts
   * disconnected, queued DPCs dropped, parked routines unwound with the BugCheckError), writes the
   * report files, emits 'bugcheck', and throws.
   */
  bugCheck(code: number, p1: number, p2: number, p3: number, p4: number, info: BugCheckInfo): never {
    const k = this.kernel;
    if (k.stopped) throw k.stopped;
    const act = k.current();
    const live = act && !act.ended ? act : undefined;
    const P = info.processor !== undefined ? k.processors[info.processor] : live?.processor;
    const report = this.stopReport(code, [p1, p2, p3, p4], info.message ?? bugCheckName(code), info, live, P, 'bug check raised at');
    const err = new BugCheckError(report, info.cause === undefined ? undefined : { cause: info.cause });
    this.halt(err);
    log().error({ code: `0x${code.toString(16)}`, parameters: report.parameters, processor: report.processor, irql: report.irqlName, api: report.api }, err.message);
    writeBugCheckFiles(report, k.bugCheckDir)
      .then(
        (files) => {
          report.files = files;
          log().error(`bug check report written to ${files.text}`);
        },
        (e: unknown) => log().error({ err: e }, `could not write the bug check report to ${k.bugCheckDir}`),
      )
      .finally(() => this.resolveReport(report));
    try {
      k.events.emit('bugcheck', report);
    } catch (e) {
      log().error({ err: e }, "a 'bugcheck' listener threw");
    }
    throw err;
  }

  /**
   * Turn what escaped a routine into the bug check Windows would raise (or pass a bug check
   * through); the device going away (the monitor says so) is DIRQL_DEVICE_LOST instead.
   */
  routineFailed(act: Activation, err: unknown): unknown {
    if (err instanceof BugCheckError) return err;
    const k = this.kernel;
    if (k.stopped) return k.stopped;
    if (this.isDeviceLoss(err)) return this.stopForDeviceLoss(err, act);
    const e = err instanceof Error ? err : new Error(String(err));
    const x = mapException(err);
    // P2 is the faulting address on Windows; JS has none, so the report names the routine and the frame.
    try {
      this.bugCheck(act.kind === 'thread' ? BugCheckCode.SYSTEM_THREAD_EXCEPTION_NOT_HANDLED : BugCheckCode.KMODE_EXCEPTION_NOT_HANDLED, x.code, 0, 0, 0, {
        cause: e,
        message: `exception 0x${x.code.toString(16).toUpperCase()} (${x.name}) in ${act.routine}${x.site ? `, ${x.site}` : ''}: ${e.name}: ${e.message}`,
      });
    } catch (bc) {
      return bc;
    }
  }

  /** A failure of the kernel's own servicing of processor P (no routine to hand it to). */
  detachedFailure(err: unknown, P: Processor): void {
    if (err instanceof BugCheckError || this.kernel.stopped) return;
    if (this.isDeviceLoss(err)) {
      this.stopForDeviceLoss(err, undefined, P);
      return;
    }
    log().error({ err }, 'kernel internal failure while servicing interrupts');
    try {
      this.bugCheck(BugCheckCode.KMODE_EXCEPTION_NOT_HANDLED, 0, 0, 0, 0, { cause: err, message: 'kernel internal failure while servicing interrupts' });
    } catch {
      // Recorded by bugCheck; this path has no caller to rethrow to.
    }
  }

  /** Whether `err`, or an error in its cause chain, means the device is gone (asks the monitor). */
  isDeviceLoss(err: unknown): boolean {
    const monitor = this.kernel.deviceLossMonitor;
    if (!monitor) return false;
    for (let e = err, depth = 0; e !== undefined && e !== null && depth < 16; e = (e as { cause?: unknown }).cause, depth++) {
      if (monitor.isDeviceLoss(e)) return true;
      if (typeof e !== 'object') break;
    }
    return false;
  }

  /** For `kernel.hostFailed`: DIRQL_DEVICE_LOST if `err` means the device is gone, else `err` unchanged. */
  hostFailed(err: unknown): unknown {
    if (err instanceof BugCheckError) return err;
    return this.isDeviceLoss(err) ? this.stopForDeviceLoss(err, undefined) : err;
  }

  /**
   * The device went away under the driver (dirql's surprise removal: QEMU exited): stop as a bug
   * check does, with DIRQL_DEVICE_LOST, which blames nobody's code: P1 = where it surfaced
   * (DeviceLostWhere), P2 = the IRQL there. The report is completed with the monitor's description
   * (QEMU's exit, stderr tail), written to device-lost-<time>.json/.txt, logged, and emitted as
   * 'device-lost' (never 'bugcheck'). Returns the stop error; after an earlier stop, that one.
   */
  stopForDeviceLoss(cause: unknown, act: Activation | undefined, at?: Processor): BugCheckError {
    const k = this.kernel;
    if (k.stopped) return k.stopped;
    const cur = act ?? k.current();
    const live = cur && !cur.ended ? cur : undefined;
    // Noticed outside any routine (QEMU's exit event): report the processor that was busy, if one was.
    const P = live?.processor ?? at ?? k.processors.find((p) => !p.idle);
    const where = live
      ? `while ${live.routine} (${kindText(live.kind)} on processor ${live.processor.index} at ${irqlName(live.irql)}) was running`
      : describeRunning(k.processors);
    const p1 = !live ? DeviceLostWhere.HOST : live.kind === 'isr' ? DeviceLostWhere.ISR : live.kind === 'dpc' ? DeviceLostWhere.DPC : DeviceLostWhere.THREAD;
    const info: BugCheckInfo = cause === undefined ? {} : { cause };
    const draft: Mutable<BugCheckReport> = this.stopReport(
      BugCheckCode.DIRQL_DEVICE_LOST,
      [p1, live?.irql ?? 0, 0, 0],
      `the device went away ${where}: not a driver fault`,
      info,
      live,
      P,
      'device loss noticed at',
    );
    const err = new DeviceLostError(draft, cause === undefined ? undefined : { cause });
    this.halt(err);
    const monitor = k.deviceLossMonitor;
    const described: Promise<DeviceLoss> = monitor
      ? monitor.describe(cause).catch((e: unknown) => ({ device: 'the device', summary: `its loss could not be described: ${String(e)}` }))
      : Promise.resolve({ device: 'the device', summary: cause instanceof Error ? cause.message : 'no details' });
    // halt() has stopped the kernel synchronously; the description (and its report files) follow
    // when ready, and nothing in the halted kernel waits for them.
    void described.then(async (loss) => {
      draft.device = loss;
      draft.message = `${loss.summary} ${where}: the device went away under the driver, not a driver fault`;
      try {
        draft.files = await writeBugCheckFiles(draft, k.bugCheckDir);
      } catch (e) {
        log().error({ err: e }, `could not write the device-lost report to ${k.bugCheckDir}`);
      }
      // Debug only: 'device-lost' listeners (DriverHost, `dirql up`'s one line) and the report file say it to the user.
      log().debug({ device: loss.device, signal: loss.signal, exitCode: loss.exitCode, report: draft.files?.text }, `device lost: ${draft.message}`);
      this.resolveReport(draft);
      try {
        k.events.emit('device-lost', draft);
      } catch (e) {
        log().error({ err: e }, "a 'device-lost' listener threw");
      }
    });
    return err;
  }

  /** The report of a stop: what every processor runs, the JS stacks, the trace tail. */
  private stopReport(
    code: number,
    parameters: [number, number, number, number],
    message: string,
    info: BugCheckInfo,
    live: Activation | undefined,
    P: Processor | undefined,
    raisedAt: string,
  ): BugCheckReport {
    const k = this.kernel;
    const now = performance.now();
    const irql = live ? live.irql : P ? P.irql : null;
    const here = new Error(raisedAt);
    // Start at the raiser: the frames the stack limit keeps are the caller's, not this builder's.
    Error.captureStackTrace(here, this.stopReport);
    const stacks: { label: string; stack: string }[] = [{ label: raisedAt, stack: here.stack ?? '' }];
    if (info.cause instanceof Error) stacks.push({ label: `cause: ${info.cause.name}: ${info.cause.message}`, stack: info.cause.stack ?? '' });
    stacks.push(...(info.stacks ?? []));
    return {
      code,
      name: bugCheckName(code),
      parameters,
      message,
      ...(info.api ? { api: info.api } : {}),
      processor: P ? P.index : null,
      irql,
      irqlName: irql === null ? null : irqlName(irql),
      routines: P ? P.running(now) : [],
      processors: k.processors.map((p) => p.snapshot(now)),
      stacks,
      trace: k.trace.tail(k.limits.traceTail),
      time: new Date().toISOString(),
    };
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** "MiniportInterruptDPC (DPC on processor 0 at DISPATCH_LEVEL)", or that nothing ran: a loss noticed between routines. */
function describeRunning(processors: readonly Processor[]): string {
  const busy = processors.flatMap((P) => {
    const r = P.running();
    const top = r[r.length - 1];
    if (!top) return [];
    const kind = [...r].reverse().find((s) => s.kind !== 'call')?.kind ?? 'thread';
    return [`${top.name} (${kindText(kind)} on processor ${P.index} at ${irqlName(P.irql)}${top.state ? `, ${top.state}` : ''})`];
  });
  if (busy.length === 0) return 'while no driver routine was running';
  return `while ${busy.join(' and ')} ${busy.length > 1 ? 'were' : 'was'} running`;
}

function kindText(kind: string): string {
  return kind === 'isr' ? 'ISR' : kind === 'dpc' ? 'DPC' : 'thread routine';
}
