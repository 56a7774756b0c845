import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DirqlError } from '../util/errors.ts';
import type { TraceEvent } from './trace.ts';

/** Windows bug check codes the host raises (names as in the Windows debugger). */
export const BugCheckCode = {
  IRQL_NOT_DISPATCH_LEVEL: 0x8,
  IRQL_NOT_GREATER_OR_EQUAL: 0x9,
  IRQL_NOT_LESS_OR_EQUAL: 0xa,
  KMODE_EXCEPTION_NOT_HANDLED: 0x1e,
  IRQL_GT_ZERO_AT_SYSTEM_SERVICE: 0x4a,
  BUGCODE_NDIS_DRIVER: 0x7c,
  SYSTEM_THREAD_EXCEPTION_NOT_HANDLED: 0x7e,
  DRIVER_VERIFIER_DETECTED_VIOLATION: 0xc4,
  IRQL_UNEXPECTED_VALUE: 0xc8,
  DRIVER_IRQL_NOT_LESS_OR_EQUAL: 0xd1,
  HARDWARE_INTERRUPT_STORM: 0xf2,
  WDF_VIOLATION: 0x10d,
  DRIVER_POWER_STATE_FAILURE: 0x9f,
  DPC_WATCHDOG_VIOLATION: 0x133,
  PASSIVE_INTERRUPT_ERROR: 0x13b,
  /**
   * dirql's own stop, not a Windows code (0xE... marks dirql's additions): the device went away
   * under the driver (QEMU exited; Windows would see a surprise removal). Not a driver fault.
   */
  DIRQL_DEVICE_LOST: 0xe0000001,
} as const;

/** Parameter 1 of DIRQL_DEVICE_LOST: what the processor was running when the loss surfaced. */
export const DeviceLostWhere = {
  /** Host code, or nothing: the device's exit was noticed between routines. */
  HOST: 0,
  THREAD: 1,
  DPC: 2,
  ISR: 3,
} as const;

/**
 * Parameter 1 values of DRIVER_VERIFIER_DETECTED_VIOLATION (0xC4). The 0x3x/0x4x values are
 * Windows' own; 0xE00x are dirql's additions (Windows has no verifier check for a slow ISR).
 */
export const VerifierViolation = {
  RAISE_IRQL_INVALID: 0x30,
  LOWER_IRQL_INVALID: 0x31,
  RELEASE_SPIN_LOCK_NOT_AT_DISPATCH: 0x32,
  ACQUIRE_SPIN_LOCK_AT_DPC_LEVEL_BELOW_DISPATCH: 0x40,
  RELEASE_SPIN_LOCK_FROM_DPC_LEVEL_BELOW_DISPATCH: 0x41,
  ACQUIRE_SPIN_LOCK_ABOVE_DISPATCH: 0x42,
  /** KeWaitForSingleObject (or a kernel wait) at DISPATCH_LEVEL or above. P2 = IRQL. */
  WAIT_AT_DISPATCH_OR_ABOVE: 0x3b,
  /** A kernel API called at an IRQL outside its documented range, with no more specific rule. P2 = IRQL. */
  DDI_AT_WRONG_IRQL: 0xe5,
  /** An ISR returned at another IRQL than it was called at. P2 = the interrupt, P3 = IRQL before, P4 = after. */
  ISR_CHANGED_IRQL: 0x111,
  /** Deadlock detection: a lock acquired again where it is already held (this processor spins forever). P2 = the lock. */
  DEADLOCK_SELF: 0x1000,
  /** Deadlock detection: a lock released by another routine than the one that acquired it. P2 = lock, P3 = owner, P4 = current. */
  DEADLOCK_UNEXPECTED_THREAD: 0x1004,
  /** Deadlock detection: a lock released that was not acquired. P2 = the lock. */
  DEADLOCK_UNACQUIRED_RELEASE: 0x1007,
  ISR_TOO_LONG: 0xe001,
  SYNCHRONIZE_ROUTINE_TOO_LONG: 0xe002,
  /** One owner per processor: a routine resumed from a non-kernel await while its processor ran something else (src/kernel/one-owner.ts). */
  RESUMED_OUTSIDE_KERNEL_WAIT: 0xe003,
  /** KeSynchronizeExecution or an interrupt-lock call on an interrupt after IoDisconnectInterruptEx. */
  INTERRUPT_USED_AFTER_DISCONNECT: 0xe004,
  /** Lockset verifier: a race on a register or shared field (src/kernel/lockset.ts). P2 = rule (1 or 2), P3 = IRQL of the first access, P4 = of the second. */
  LOCKSET_RACE: 0xe005,
} as const;

const codeNames = new Map<number, string>(Object.entries(BugCheckCode).map(([k, v]) => [v, k]));

export function bugCheckName(code: number): string {
  return codeNames.get(code) ?? `BUGCHECK_0x${code.toString(16).toUpperCase()}`;
}

/** One routine in a processor's chain of nested routines, outermost first. */
export interface RoutineSnapshot {
  readonly kind: 'thread' | 'isr' | 'dpc' | 'call';
  readonly name: string;
  readonly irql: number;
  /** Wall-clock ISO time when it started. */
  readonly since: string;
  readonly runningForUs: number;
  /** What it is blocked on, if anything: "spinning on SpinLock#3", "waiting", "register read". */
  readonly state?: string;
}

export interface ProcessorSnapshot {
  readonly index: number;
  readonly irql: number;
  readonly irqlName: string;
  readonly routines: RoutineSnapshot[];
  readonly queuedDpcs: string[];
}

/** How the device went away (filled in by the host's DeviceLossMonitor: QEMU's exit). */
export interface DeviceLoss {
  /** What the device is, e.g. "QEMU e1000 (pid 1234)". */
  readonly device: string;
  /** One line: "QEMU (pid 1234) was killed by SIGKILL", "QEMU (pid 1234) exited with code 1". */
  readonly summary: string;
  readonly signal?: string;
  readonly exitCode?: number;
  /** The last lines the device's process wrote to stderr. */
  readonly stderrTail?: string;
}

/**
 * Tells a device that went away from a driver fault. The kernel does not know the transport; the
 * host does (src/host/device-loss.ts implements this for QEMU).
 */
export interface DeviceLossMonitor {
  /** Whether `err` means the device is gone (asked for every link of an error's cause chain). */
  isDeviceLoss(err: unknown): boolean;
  /** How it went away; may wait (briefly) for the device's exit status. Should not reject. */
  describe(cause: unknown): Promise<DeviceLoss>;
}

/** What KeBugCheckEx (kernel.bugCheck) is told besides the code and the four parameters. */
export interface BugCheckInfo {
  api?: string;
  message?: string;
  cause?: unknown;
  /** Processor to report when the bug check is raised outside any routine (watchdog timer). */
  processor?: number;
  stacks?: { label: string; stack: string }[];
}

export interface BugCheckReport {
  readonly code: number;
  readonly name: string;
  readonly parameters: readonly [number, number, number, number];
  readonly message: string;
  /** The API whose rules were broken (KeAcquireSpinLock, NdisMSynchronizeWithInterruptEx...). */
  readonly api?: string;
  readonly processor: number | null;
  readonly irql: number | null;
  readonly irqlName: string | null;
  /** Chain of nested routines on the crashing processor, outermost first. */
  readonly routines: RoutineSnapshot[];
  readonly processors: ProcessorSnapshot[];
  /** JS stacks involved: where the bug check was raised, the cause, the lock owner... */
  readonly stacks: { readonly label: string; readonly stack: string }[];
  readonly trace: TraceEvent[];
  readonly time: string;
  /** DIRQL_DEVICE_LOST only: how the device went away (set before the report is published). */
  device?: DeviceLoss;
  files?: { json: string; text: string };
}

/** The driver crashed. Carries the full report; `code` and `parameters` as KeBugCheckEx had them. */
export class BugCheckError extends DirqlError {
  readonly code: number;
  readonly parameters: readonly [number, number, number, number];
  readonly report: BugCheckReport;

  constructor(report: BugCheckReport, options?: { cause?: unknown }) {
    super(
      `*** STOP: 0x${hex8(report.code)} (${report.parameters.map((p) => `0x${hex8(p)}`).join(', ')}) ${report.name}: ${report.message}`,
      { code: report.code, name: report.name, processor: report.processor, irql: report.irql, api: report.api },
      options,
    );
    this.code = report.code;
    this.parameters = report.parameters;
    this.report = report;
  }
}

/**
 * The driver was stopped because its device went away (DIRQL_DEVICE_LOST), not because it
 * faulted. `cause` is the transport error that surfaced it, if any.
 */
export class DeviceLostError extends BugCheckError {}

/** True for a DIRQL_DEVICE_LOST report. */
export function isDeviceLostReport(r: BugCheckReport): boolean {
  return r.code === BugCheckCode.DIRQL_DEVICE_LOST;
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

function hexParam(n: number): string {
  return Number.isSafeInteger(n) && n >= 0 ? `0x${n.toString(16).toUpperCase()}` : String(n);
}

/** The readable form of a report, close to what `!analyze -v` prints. */
export function formatBugCheckText(r: BugCheckReport): string {
  const lines: string[] = [];
  lines.push(`${r.name} (${r.code.toString(16)})`, r.message, '');
  const lost = isDeviceLostReport(r);
  if (lost) lines.push(...deviceLines(r.device), '');
  lines.push('Arguments:');
  r.parameters.forEach((p, i) => lines.push(`Arg${i + 1}: ${hexParam(p)}`));
  lines.push('');
  if (r.api) lines.push(`API: ${r.api}`);
  lines.push(`Processor: ${r.processor ?? 'none'}   IRQL: ${r.irqlName ?? 'none'}   Time: ${r.time}`, '');
  lines.push(lost ? 'Routines running when the device went away (outermost first):' : 'Routines on the crashing processor (outermost first):');
  if (r.routines.length === 0) lines.push('  (none)');
  for (const s of r.routines) lines.push(`  ${fmtRoutine(s)}`);
  lines.push('');
  for (const p of r.processors) {
    lines.push(`Processor ${p.index} at ${p.irqlName}${p.queuedDpcs.length ? `, queued DPCs: ${p.queuedDpcs.join(', ')}` : ''}`);
    for (const s of p.routines) lines.push(`  ${fmtRoutine(s)}`);
  }
  lines.push('');
  for (const s of r.stacks) lines.push(`--- ${s.label} ---`, s.stack, '');
  lines.push(`Last ${r.trace.length} trace events (ms since host start):`);
  for (const e of r.trace) lines.push(`  ${e.t.toFixed(3).padStart(12)}  ${e.processor === undefined ? ' ' : e.processor}  ${e.kind.padEnd(10)} ${e.detail}`);
  return `${lines.join('\n')}\n`;
}

function deviceLines(d: DeviceLoss | undefined): string[] {
  const out = ['The device went away under the driver (surprise removal): this is not a driver fault.'];
  if (!d) return out;
  out.push(`Device:    ${d.device}`, `What:      ${d.summary}`);
  if (d.signal) out.push(`Signal:    ${d.signal}`);
  if (d.exitCode !== undefined) out.push(`Exit code: ${d.exitCode}`);
  const tail = d.stderrTail?.trimEnd();
  out.push(tail ? 'stderr (last lines):' : 'stderr: (empty)');
  if (tail) for (const l of tail.split('\n')) out.push(`  ${l}`);
  return out;
}

function fmtRoutine(s: RoutineSnapshot): string {
  return `${s.kind.padEnd(6)} ${s.name} at ${s.irql} for ${s.runningForUs} us${s.state ? ` [${s.state}]` : ''}`;
}

/** Writes bugcheck-<time>.json and .txt (device-lost-<time>.* for DIRQL_DEVICE_LOST). */
export async function writeBugCheckFiles(report: BugCheckReport, dir: string): Promise<{ json: string; text: string }> {
  await mkdir(dir, { recursive: true });
  const stamp = report.time.replace(/[:.]/g, '-');
  for (let n = 0; ; n++) {
    const base = join(dir, `${isDeviceLostReport(report) ? 'device-lost' : 'bugcheck'}-${stamp}${n ? `-${n}` : ''}`);
    try {
      const { files: _files, ...plain } = report;
      await writeFile(`${base}.json`, `${JSON.stringify(plain, null, 2)}\n`, { flag: 'wx', mode: 0o644 });
      await writeFile(`${base}.txt`, formatBugCheckText(report), { flag: 'w', mode: 0o644 });
      return { json: `${base}.json`, text: `${base}.txt` };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n > 100) throw err;
    }
  }
}
