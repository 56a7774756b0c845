/**
 * `dirql explore --record`: a failing run on QEMU, run again with its schedule to write its timeline,
 * is recorded too (src/record): the qtest stream with its IRQ edges and every guest-memory read the
 * driver made, beside the schedule as `<stem>.rec`. Kernel-only scenarios have nothing to record:
 * nothing enters them from outside the kernel model, and their schedule file replays them whole.
 */
import type { BugCheckReport } from '../kernel/index.ts';
import type { Machine } from '../platform/machine.ts';
import { startSessionRecording, type SessionRecorder } from '../record/recorder.ts';

/** What an explore run's recording says about itself (its header's `config.explore`). */
export interface ExploreRunIdentity {
  readonly scenario: string;
  readonly strategy: string;
  readonly seed: number;
  readonly schedule: string;
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
    this.recorder = startSessionRecording(file, machine, { explore: run, device: machine.nic.model.qemuModel }, undefined);
  }

  /** Unhooks the recorder from the machine (the next run is not recorded) and writes the trailer. */
  async stop(error: Error | undefined, report: BugCheckReport | undefined): Promise<void> {
    this.machine.qtest.tap = undefined;
    this.machine.memory = this.memory;
    await this.recorder.close({ counters: { failed: error?.message.split('\n')[0] ?? null }, ...(report ? { bugCheck: report.name } : {}) }, report);
  }
}
