import { VerifierViolation } from './bugcheck.ts';

/**
 * Checks that Windows' Driver Verifier does not have but the seeds ask for: routines at DIRQL
 * "should return control as quickly as possible". Microsoft recommends at most 25 µs for an ISR
 * (100 µs for a DPC); one qtest register read costs 15–90 µs here, hence the looser defaults.
 */
export interface VerifierOptions {
  /** Flag an ISR that runs longer than this. Default 1000 µs. */
  isrTimeLimitUs?: number;
  /** Flag a synchronize callback (MiniportSynchronizeInterrupt, EvtInterruptSynchronize) that runs longer. Default 1000 µs. */
  synchronizeTimeLimitUs?: number;
  /**
   * Short DPC watchdog limits for tests (0x133 P1=0 / P1=1 sooner than Windows' 20 s / 120 s), e.g.
   * 1000 and 5000 ms; `limits` given to the kernel win over these.
   */
  dpcTimeLimitMs?: number;
  dispatchTimeLimitMs?: number;
  /** 'bugcheck' (default): stop the driver with 0xC4; 'record': only collect findings and emit 'verifier'. */
  action?: 'bugcheck' | 'record';
  /** Keep the JS stack of each spin lock acquisition, shown when it is misused. Default true. */
  captureLockStacks?: boolean;
}

export interface VerifierFinding {
  /** Parameter 1 of the 0xC4 bug check it raises (VerifierViolation). */
  readonly violation: number;
  readonly routine: string;
  readonly durationUs: number;
  readonly limitUs: number;
  readonly processor: number;
  readonly irql: number;
}

export class Verifier {
  readonly enabled: boolean;
  readonly isrTimeLimitUs: number;
  readonly synchronizeTimeLimitUs: number;
  readonly action: 'bugcheck' | 'record';
  readonly captureLockStacks: boolean;
  readonly findings: VerifierFinding[] = [];

  constructor(options?: VerifierOptions) {
    this.enabled = options !== undefined;
    this.isrTimeLimitUs = options?.isrTimeLimitUs ?? 1000;
    this.synchronizeTimeLimitUs = options?.synchronizeTimeLimitUs ?? 1000;
    this.action = options?.action ?? 'bugcheck';
    this.captureLockStacks = this.enabled && (options?.captureLockStacks ?? true);
  }

  /** A finding if a routine at DIRQL ran past its limit, else null. */
  checkDuration(kind: 'isr' | 'synchronize', routine: string, durationUs: number, processor: number, irql: number): VerifierFinding | null {
    if (!this.enabled) return null;
    const limitUs = kind === 'isr' ? this.isrTimeLimitUs : this.synchronizeTimeLimitUs;
    if (durationUs <= limitUs) return null;
    const finding: VerifierFinding = {
      violation: kind === 'isr' ? VerifierViolation.ISR_TOO_LONG : VerifierViolation.SYNCHRONIZE_ROUTINE_TOO_LONG,
      routine, durationUs: Math.round(durationUs), limitUs, processor, irql,
    };
    this.findings.push(finding);
    return finding;
  }
}
