import type { Activation } from './activation.ts';
import { BugCheckCode } from './bugcheck.ts';
import type { KernelCore } from './core.ts';
import { irqlName } from './irql.ts';
import type { Processor } from './processor.ts';
import type { VerifierFinding } from './verifier.ts';

/** The watchdog's own timer, as recordings name it. */
export const WATCHDOG_TIMER = '(kernel) DPC watchdog';

/** Windows' clock tick (64 Hz): DPC_WATCHDOG_VIOLATION counts time in ticks. */
export const CLOCK_TICK_MS = 15.625;

/**
 * A stall in which the process used less CPU than this share of the time was a pause, not work.
 * Low, because a busy DPC on a loaded machine may get little CPU and must still count (at 25 % a
 * busy loop sharing 2 CPUs with 8 others looked paused); a breakpoint or SIGSTOP uses about none.
 */
const PAUSED_CPU_SHARE = 0.1;
/** Pauses remembered: enough for any routine that is still running across them. */
const PAUSES_KEPT = 32;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Time the driver host actually ran. A stall of the event loop in which the process hardly used the
 * CPU is time it was paused (at a breakpoint, or stopped by a signal) and does not count; a stall
 * spent computing does (a DPC busy in a loop is what the watchdog is for).
 */
class RunClock {
  private readonly pauses: { endedAt: number; ms: number }[] = [];
  private lastAt = performance.now();
  private lastCpu = cpuMs();

  constructor(private readonly stallMs: number) {}

  /** Look at the clock: a gap since the last look longer than `stallMs` is weighed (cheap otherwise). */
  observe(now: number): void {
    const gap = now - this.lastAt;
    if (gap < this.stallMs) return;
    this.sample(now, gap);
  }

  /** The watchdog timer's regular look, which also moves the CPU baseline on. */
  tick(now: number): void {
    this.sample(now, now - this.lastAt);
  }

  /** Milliseconds `since` (a performance.now() value) until `now`, less the pauses that ended after it. */
  elapsed(since: number, now: number): number {
    let ms = now - since;
    for (const p of this.pauses) if (p.endedAt > since) ms -= p.ms;
    return Math.max(0, ms);
  }

  private sample(now: number, gap: number): void {
    const cpu = cpuMs();
    const used = cpu - this.lastCpu;
    if (gap >= this.stallMs && used < gap * PAUSED_CPU_SHARE) {
      this.pauses.push({ endedAt: now, ms: gap - used });
      if (this.pauses.length > PAUSES_KEPT) this.pauses.shift();
    }
    this.lastAt = now;
    this.lastCpu = cpu;
  }
}

/**
 * The DPC watchdog (DPC_WATCHDOG_VIOLATION, 0x133): one DPC or ISR running past dpcTimeLimitMs
 * (P1 = 0; P2 its time, P3 the allotment, in clock ticks), or a processor staying at DISPATCH_LEVEL
 * or above past dispatchTimeLimitMs (P1 = 1; P2 the period in ticks). Checked at preemption points,
 * after each DPC, and by a timer for code that never reaches one. Time counts only while the host
 * runs: a breakpoint or SIGSTOP inside a DPC is not a hang, whether a debugger is attached or not.
 */
export class DpcWatchdog {
  private readonly kernel: KernelCore;
  private disarm: (() => void) | undefined;
  private readonly clock: RunClock;

  constructor(kernel: KernelCore) {
    this.kernel = kernel;
    const { dpcTimeLimitMs, dispatchTimeLimitMs } = kernel.limits;
    const intervalMs = Math.min(250, Math.max(5, Math.min(dpcTimeLimitMs, dispatchTimeLimitMs) / 4));
    this.clock = new RunClock(Math.max(200, 4 * intervalMs));
    // A kernel timer like the others, so a recording has its expirations and a replay repeats them.
    this.disarm = kernel.clock.arm(WATCHDOG_TIMER, intervalMs, intervalMs, () => this.tick());
  }

  /**
   * The checks for processor P (throws the bug check). The decisions go through the kernel clock's
   * overLimit, which a replay answers from the recording. From the timer, both checks are asked on
   * every tick whatever runs, so their call numbers do not depend on what the tick interrupted.
   */
  check(P: Processor, now = performance.now(), fromTimer = false): void {
    const k = this.kernel;
    this.clock.observe(now);
    const top = P.nested[P.nested.length - 1];
    const routineRunning = top !== undefined && top.kind !== 'thread';
    if (routineRunning || fromTimer) {
      const limit = k.limits.dpcTimeLimitMs;
      const ms = k.clock.overLimit(fromTimer ? 'watchdog timer routine' : 'watchdog routine', routineRunning ? this.clock.elapsed(top.clockStart, now) : 0, limit);
      if (ms !== null) {
        k.bugCheck(BugCheckCode.DPC_WATCHDOG_VIOLATION, 0, ticks(ms), ticks(limit), 0, {
          processor: P.index,
          message: `${top?.kind === 'isr' ? 'ISR' : 'DPC'} ${top?.routine ?? '(none running in this replay)'} has run for ${Math.round(ms)} ms on processor ${P.index}; the limit is ${limit} ms (P2, P3 in clock ticks of ${CLOCK_TICK_MS} ms)`,
        });
      }
    }
    if (P.dispatchSince !== null || fromTimer) {
      const limit = k.limits.dispatchTimeLimitMs;
      const ms = k.clock.overLimit(fromTimer ? 'watchdog timer dispatch' : 'watchdog dispatch', P.dispatchSince !== null ? this.clock.elapsed(P.dispatchSince, now) : 0, limit);
      if (ms !== null) {
        k.bugCheck(BugCheckCode.DPC_WATCHDOG_VIOLATION, 1, ticks(limit), 0, 0, {
          processor: P.index,
          message: `processor ${P.index} has been at DISPATCH_LEVEL or above for ${Math.round(ms)} ms (limit ${limit} ms, P2 in clock ticks): DPCs back to back, or a spin lock held too long`,
        });
      }
    }
  }

  /** Stop the timer (the kernel is disposed). */
  stop(): void {
    this.disarm?.();
    this.disarm = undefined;
  }

  private tick(): void {
    const k = this.kernel;
    if (k.stopped) return;
    const now = performance.now();
    this.clock.tick(now);
    try {
      for (const P of k.processors) this.check(P, now, true);
    } catch {
      // The bug check is recorded; a timer has no caller to rethrow to.
    }
  }
}

function ticks(ms: number): number {
  return Math.ceil(ms / CLOCK_TICK_MS);
}

/** Verifier timing check of an ISR or synchronize callback, for the interrupt dispatcher and synchronize: bug checks (0xC4) or records per options. */
export function verifierCheck(k: KernelCore, kind: 'isr' | 'synchronize', routine: string, durationUs: number, act: Activation, interruptId: number): void {
  const limitUs = k.verifier.durationLimitUs(kind);
  if (limitUs === null) return;
  // The decision is the clock's: a replay gives the recorded outcome, not its own (faster) time.
  const overMs = k.clock.overLimit(kind === 'isr' ? 'verifier isr' : 'verifier synchronize', durationUs / 1000, limitUs / 1000);
  if (overMs === null) return;
  const finding: VerifierFinding | null = k.verifier.checkDuration(kind, routine, Math.max(overMs * 1000, limitUs + 1), act.processor.index, act.irql);
  if (!finding) return;
  k.trace.record('verifier', `${routine} ran ${finding.durationUs} us (limit ${finding.limitUs} us)`, act.processor.index);
  k.events.emit('verifier', finding);
  if (k.verifier.action === 'bugcheck') {
    k.bugCheck(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, finding.violation, finding.durationUs, finding.limitUs, interruptId, {
      message: `${kind === 'isr' ? 'ISR' : 'synchronize routine'} ${routine} ran for ${finding.durationUs} us at ${irqlName(act.irql)}; the verifier allows ${finding.limitUs} us ("return control as quickly as possible")`,
    });
  }
}
