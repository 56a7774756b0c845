/**
 * `dirql explore --record`: a failing run on QEMU, run again with its schedule to write its timeline,
 * is recorded too (src/record): the qtest stream with its IRQ edges, every guest-memory read the
 * driver made and (for a scenario that gives the kernel `kernelOptions.clock`) its timer expirations
 * and exceeded time limits, beside the schedule as `<stem>.rec`. The header's `config.explore` holds
 * what `dirql replay` needs to run the scenario again without QEMU (src/record/replay-explore.ts):
 * the scenario's module, its seed and the schedule's decisions. Kernel-only scenarios have nothing to
 * record: nothing enters them from outside the kernel model, and their schedule file replays them whole.
 */
import type { BugCheckReport, KernelClock } from '../kernel/index.ts';
import type { Machine } from '../platform/machine.ts';
import { startSessionRecording, type SessionRecorder } from '../record/recorder.ts';
import { scenarioModuleFile } from './scenario.ts';
import type { Decision } from './schedule.ts';

/** What an explore run's recording says about itself (its header's `config.explore`). */
export interface ExploreRunIdentity {
  readonly scenario: string;
  readonly strategy: string;
  readonly seed: number;
  readonly schedule: string;
  /** The scenario's module (`/abs/file.ts#export`), when known: `dirql replay` loads it from there (else it needs `--scenario`). */
  readonly source?: string;
  /** The run's decisions (the schedule file's), so the recording replays without the schedule file beside it. */
  readonly decisions?: readonly Decision[];
}

/** A recording of one run on a reused machine; `stop()` gives the machine back as it was. */
export class ExploreRunRecording {
  private readonly memory: Machine['memory'];
  private readonly recorder: SessionRecorder;

  constructor(
    private readonly machine: Machine,
    readonly file: string,
    run: ExploreRunIdentity,
  ) {
    this.memory = machine.memory;
    // The scenario's module stands in for the driver in the identity: it is what the replay loads (it imports the driver).
    const module = run.source !== undefined ? scenarioModuleFile(run.source) : undefined;
    this.recorder = startSessionRecording(file, machine, { explore: run, device: machine.nic.model.qemuModel }, module);
  }

  /** The kernel clock to give the recorded run: real time, with timer expirations and exceeded limits logged. */
  get clock(): KernelClock {
    return this.recorder.clock;
  }

  /** Unhooks the recorder from the machine (the next run is not recorded) and writes the trailer. */
  async stop(error: Error | undefined, report: BugCheckReport | undefined): Promise<void> {
    this.machine.qtest.tap = undefined;
    this.machine.memory = this.memory;
    await this.recorder.close({ counters: { failed: error?.message.split('\n')[0] ?? null }, ...(report ? { bugCheck: report.name } : {}) }, report);
  }
}
