import inspector from 'node:inspector';
import type { Activation } from './activation.ts';
import { BugCheckCode } from './bugcheck.ts';
import { irqlName } from './irql.ts';
import type { Kernel } from './kernel.ts';
import type { Processor } from './processor.ts';
import type { VerifierFinding } from './verifier.ts';

/**
 * The DPC watchdog (DPC_WATCHDOG_VIOLATION, 0x133): one DPC or ISR running past dpcTimeLimitMs
 * (P1 = 0), or a processor staying at DISPATCH_LEVEL or above past dispatchTimeLimitMs (P1 = 1).
 * Checked at preemption points, after each DPC, and by a timer for code that never reaches one.
 */
export class DpcWatchdog {
  private readonly kernel: Kernel;
  private timer: NodeJS.Timeout | undefined;
  /** A debugger (node --inspect) is attached: the DPC watchdog stands down. */
  private debuggerAttached = inspector.url() !== undefined;

  constructor(kernel: Kernel) {
    this.kernel = kernel;
    const { dpcTimeLimitMs, dispatchTimeLimitMs } = kernel.limits;
    this.timer = setInterval(() => this.tick(), Math.max(5, Math.min(dpcTimeLimitMs, dispatchTimeLimitMs) / 4));
    this.timer.unref();
  }

  /** The checks for processor P (throws the bug check). */
  check(P: Processor, now = performance.now()): void {
    // As Windows does with a kernel debugger attached: a breakpoint in a DPC is not a hang.
    if (this.debuggerAttached) return;
    const k = this.kernel;
    const top = P.nested[P.nested.length - 1];
    if (top && top.kind !== 'thread') {
      const ms = now - top.clockStart;
      if (ms > k.limits.dpcTimeLimitMs) {
        k.bugCheck(BugCheckCode.DPC_WATCHDOG_VIOLATION, 0, Math.ceil(ms), k.limits.dpcTimeLimitMs, 0, {
          processor: P.index, message: `${top.kind === 'dpc' ? 'DPC' : 'ISR'} ${top.routine} has run for ${Math.round(ms)} ms on processor ${P.index}; the limit is ${k.limits.dpcTimeLimitMs} ms (P2, P3 in ms, not clock ticks)`,
        });
      }
    }
    if (P.dispatchSince !== null) {
      const ms = now - P.dispatchSince;
      if (ms > k.limits.dispatchTimeLimitMs) {
        k.bugCheck(BugCheckCode.DPC_WATCHDOG_VIOLATION, 1, k.limits.dispatchTimeLimitMs, 0, 0, {
          processor: P.index, message: `processor ${P.index} has been at DISPATCH_LEVEL or above for ${Math.round(ms)} ms (limit ${k.limits.dispatchTimeLimitMs} ms): DPCs back to back, or a spin lock held too long`,
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
    this.debuggerAttached = inspector.url() !== undefined;
    try {
      const now = performance.now();
      for (const P of k.processors) this.check(P, now);
    } catch {
      // The bug check is recorded; a timer has no caller to rethrow to.
    }
  }
}

/** Verifier timing check of an ISR or synchronize callback, for `kernel.verifierCheck`: bug checks (0xC4) or records per options. */
export function verifierCheck(k: Kernel, kind: 'isr' | 'synchronize', routine: string, durationUs: number, act: Activation, interruptId: number): void {
  const finding: VerifierFinding | null = k.verifier.checkDuration(kind, routine, durationUs, act.processor.index, act.irql);
  if (!finding) return;
  k.trace.record('verifier', `${routine} ran ${finding.durationUs} us (limit ${finding.limitUs} us)`, act.processor.index);
  k.emit('verifier', finding);
  if (k.verifier.action === 'bugcheck') {
    k.bugCheck(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, finding.violation, finding.durationUs, finding.limitUs, interruptId, {
      message: `${kind === 'isr' ? 'ISR' : 'synchronize routine'} ${routine} ran for ${finding.durationUs} us at ${irqlName(act.irql)}; the verifier allows ${finding.limitUs} us ("return control as quickly as possible")`,
    });
  }
}
