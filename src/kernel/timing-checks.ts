import type { Activation } from './activation.ts';
import { BugCheckCode } from './bugcheck.ts';
import type { KernelCore } from './core.ts';
import { irqlName } from './irql.ts';
import type { Processor } from './processor.ts';
import type { VerifierFinding } from './verifier.ts';

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
  private timer: NodeJS.Timeout | undefined;
  private readonly clock: RunClock;

  constructor(kernel: KernelCore) {
    this.kernel = kernel;
    const { dpcTimeLimitMs, dispatchTimeLimitMs } = kernel.limits;
    const intervalMs = Math.min(250, Math.max(5, Math.min(dpcTimeLimitMs, dispatchTimeLimitMs) / 4));
    this.clock = new RunClock(Math.max(200, 4 * intervalMs));
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  /** The checks for processor P (throws the bug check). */
  check(P: Processor, now = performance.now()): void {
    const k = this.kernel;
    this.clock.observe(now);
    const top = P.nested[P.nested.length - 1];
    if (top && top.kind !== 'thread') {
      const ms = this.clock.elapsed(top.clockStart, now);
      const limit = k.limits.dpcTimeLimitMs;
      if (ms > limit) {
        k.bugCheck(BugCheckCode.DPC_WATCHDOG_VIOLATION, 0, ticks(ms), ticks(limit), 0, {
          processor: P.index,
          message: `${top.kind === 'dpc' ? 'DPC' : 'ISR'} ${top.routine} has run for ${Math.round(ms)} ms on processor ${P.index}; the limit is ${limit} ms (P2, P3 in clock ticks of ${CLOCK_TICK_MS} ms)`,
        });
      }
    }
    if (P.dispatchSince !== null) {
      const ms = this.clock.elapsed(P.dispatchSince, now);
      const limit = k.limits.dispatchTimeLimitMs;
      if (ms > limit) {
        k.bugCheck(BugCheckCode.DPC_WATCHDOG_VIOLATION, 1, ticks(limit), 0, 0, {
          processor: P.index,
          message: `processor ${P.index} has been at DISPATCH_LEVEL or above for ${Math.round(ms)} ms (limit ${limit} ms, P2 in clock ticks): DPCs back to back, or a spin lock held too long`,
        });
      }
    }
  }

  /** Stop the timer (the kernel is disposed). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const k = this.kernel;
    if (k.stopped) return;
    const now = performance.now();
    this.clock.tick(now);
    try {
      for (const P of k.processors) this.check(P, now);
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
  const finding: VerifierFinding | null = k.verifier.checkDuration(kind, routine, durationUs, act.processor.index, act.irql);
  if (!finding) return;
  k.trace.record('verifier', `${routine} ran ${finding.durationUs} us (limit ${finding.limitUs} us)`, act.processor.index);
  k.events.emit('verifier', finding);
  if (k.verifier.action === 'bugcheck') {
    k.bugCheck(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, finding.violation, finding.durationUs, finding.limitUs, interruptId, {
      message: `${kind === 'isr' ? 'ISR' : 'synchronize routine'} ${routine} ran for ${finding.durationUs} us at ${irqlName(act.irql)}; the verifier allows ${finding.limitUs} us ("return control as quickly as possible")`,
    });
  }
}
