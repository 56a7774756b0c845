import { url as inspectorUrl } from 'node:inspector';
import { irqlName, type Activation, type Kernel } from '../kernel/index.ts';
import { lazyLogger } from '../util/log.ts';

/**
 * KMDF's verifier (VerifierOn, on by default here as on a test machine). What it does for a DDI
 * called at the wrong IRQL follows the framework's FxVerifierCheckIrqlLevel: it logs "called at
 * wrong IRQL", breaks into an attached debugger, and the DDI fails (WdfInterruptSynchronize returns
 * FALSE; the others do nothing) — the framework does not bug check for it. `strict` turns each such
 * finding into a stop (0xC4 / 0xE5, a DDI at incorrect IRQL), for tests that want one.
 */
export interface WdfVerifierOptions {
  /** Stop the driver at a wrong-IRQL DDI call instead of recording it. Default false. */
  strict?: boolean;
}

export interface WdfVerifierFinding {
  readonly api: string;
  readonly irql: number;
  readonly required: number;
  readonly routine: string;
  readonly processor: number;
  readonly message: string;
  readonly time: string;
}

const log = lazyLogger('wdf-verifier');

export class WdfVerifier {
  readonly strict: boolean;
  readonly findings: WdfVerifierFinding[] = [];
  private readonly kernel: Kernel;
  private readonly driverName: string;

  constructor(kernel: Kernel, driverName: string, opts: WdfVerifierOptions = {}) {
    this.kernel = kernel;
    this.driverName = driverName;
    this.strict = opts.strict === true;
  }

  /** FxVerifierCheckIrqlLevel for the routine making the call `api`. */
  checkIrqlLevel(api: string, required: number): boolean {
    return this.checkIrqlAtMost(this.kernel.activationFor(api), api, required);
  }

  /**
   * FxVerifierCheckIrqlLevel: true when `act` runs at or below `required`. Otherwise the finding is
   * recorded (or, strict, the driver stops) and the caller fails the DDI as KMDF does.
   */
  checkIrqlAtMost(act: Activation, api: string, required: number): boolean {
    if (act.irql <= required) return true;
    if (this.strict) this.kernel.requireIrqlOf(act, api, 0, required);
    const message = `${api} called at wrong IRQL; at level ${act.irql} (${irqlName(act.irql)}), should be at level ${required} (${irqlName(required)})`;
    const finding: WdfVerifierFinding = {
      api,
      irql: act.irql,
      required,
      routine: act.routine,
      processor: act.processor.index,
      message,
      time: new Date().toISOString(),
    };
    this.findings.push(finding);
    log().warn({ driver: this.driverName, api, irql: act.irql, required, routine: act.routine, processor: act.processor.index }, message);
    this.kernel.emit('wdf-verifier', finding);
    // FxVerifierDbgBreakPoint: stops here only when a debugger is attached and listening.
    if (inspectorUrl() !== undefined) {
      // eslint-disable-next-line no-debugger -- the break KMDF's verifier makes, for an attached debugger
      debugger;
    }
    return false;
  }
}
