import { VerifierViolation } from './bugcheck.ts';
import type { Lockset, LocksetFinding, LocksetMode } from './lockset.ts';

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
  /**
   * The lockset verifier (src/kernel/README.md, "Lockset verifier"): 'off' (default), 'record'
   * (findings in `verifier.lockset.findings`, emitted as 'lockset'), 'stop' (0xC4 / 0xE005 at the
   * first). Given alone, it does not turn the timing checks above on.
   */
  lockset?: LocksetMode;
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
  /** The lockset verifier, null when off. */
  readonly lockset: Lockset | null;

  constructor(options?: VerifierOptions, lockset: Lockset | null = null) {
    this.enabled = options !== undefined && (options.lockset === undefined || Object.entries(options).some(([key, v]) => key !== 'lockset' && v !== undefined));
    this.lockset = lockset;
    this.isrTimeLimitUs = options?.isrTimeLimitUs ?? 1000;
    this.synchronizeTimeLimitUs = options?.synchronizeTimeLimitUs ?? 1000;
    this.action = options?.action ?? 'bugcheck';
    this.captureLockStacks = this.enabled && (options?.captureLockStacks ?? true);
  }

  /** The lockset verifier's findings (empty when it is off). */
  get locksetFindings(): readonly LocksetFinding[] {
    return this.lockset?.findings ?? [];
  }

  /**
   * Declare `fields` of `obj` shared driver state named `structure` (one line per structure, e.g.
   * `kernel.verifier.shared(adapter, 'E1000_ADAPTER', { fields: ['savedCauses'] })`): the lockset
   * verifier then tracks every access to them. Returns `obj`; with the verifier off it is left as is.
   */
  shared<T extends object>(obj: T, structure: string, opts: { fields: readonly string[] }): T {
    return this.lockset ? this.lockset.track(obj, structure, opts.fields) : obj;
  }

  /** The time limit of an ISR or a synchronize routine, in µs; null when the verifier is off. */
  durationLimitUs(kind: 'isr' | 'synchronize'): number | null {
    if (!this.enabled) return null;
    return kind === 'isr' ? this.isrTimeLimitUs : this.synchronizeTimeLimitUs;
  }

  /** A finding if a routine at DIRQL ran past its limit, else null. */
  checkDuration(kind: 'isr' | 'synchronize', routine: string, durationUs: number, processor: number, irql: number): VerifierFinding | null {
    const limitUs = this.durationLimitUs(kind);
    if (limitUs === null || durationUs <= limitUs) return null;
    const finding: VerifierFinding = {
      violation: kind === 'isr' ? VerifierViolation.ISR_TOO_LONG : VerifierViolation.SYNCHRONIZE_ROUTINE_TOO_LONG,
      routine,
      durationUs: Math.round(durationUs),
      limitUs,
      processor,
      irql,
    };
    this.findings.push(finding);
    return finding;
  }
}
