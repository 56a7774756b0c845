/**
 * `dirql explore --record`: a failing run on QEMU, run again with its schedule to write its timeline,
 * is recorded too (src/record): the qtest stream with its IRQ edges, every guest-memory read the
 * driver made and (for a scenario that gives the kernel `kernelOptions.clock`) its timer expirations
 * and exceeded time limits, and on a UDP wire the frames either way between QEMU and the scenario's
 * peer (src/record/wire-tap.ts), beside the schedule as `<stem>.rec`. The header's `config.explore` holds
 * what `dirql replay` needs to run the scenario again without QEMU (src/record/replay-explore.ts):
 * the scenario's module, its seed and the schedule's decisions. Kernel-only scenarios have nothing to
 * record: nothing enters them from outside the kernel model, and their schedule file replays them whole.
 */
import type { BugCheckReport, KernelClock } from '../kernel/index.ts';
import type { Machine } from '../platform/machine.ts';
import { startSessionRecording, type SessionRecorder } from '../record/recorder.ts';
import { WireTap } from '../record/wire-tap.ts';
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
  private constructor(
    private readonly machine: Machine,
    readonly file: string,
    private readonly recorder: SessionRecorder,
    private readonly tap: WireTap | undefined,
    /** The machine's memory before the recorder wrapped it. */
    private readonly memory: Machine['memory'],
  ) {}

  /**
   * Starts recording the next run on `machine`. On a UDP wire the recorder stands between QEMU and
   * the scenario's peer (WireTap): the frames either way are recorded, so a scenario that sends to
   * or catches from a peer replays too.
   */
  static async start(machine: Machine, file: string, run: ExploreRunIdentity): Promise<ExploreRunRecording> {
    // The scenario's module stands in for the driver in the identity: it is what the replay loads (it imports the driver).
    const module = run.source !== undefined ? scenarioModuleFile(run.source) : undefined;
    const memory = machine.memory;
    const dgram = machine.netdev.kind === 'dgram';
    const recorder = startSessionRecording(file, machine, { explore: run, device: machine.nic.model.qemuModel, ...(dgram ? { wire: 'tapped' } : {}) }, module);
    let tap: WireTap | undefined;
    try {
      if (dgram) tap = await WireTap.open(machine.wire, (direction, bytes) => recorder.wire(direction, bytes));
    } catch (err) {
      machine.qtest.tap = undefined;
      machine.memory = memory;
      await recorder.close({ counters: { failed: null } }).catch(() => undefined);
      throw err;
    }
    return new ExploreRunRecording(machine, file, recorder, tap, memory);
  }

  /** The machine to give the recorded run: this one, its wire through the tap. */
  get scenarioMachine(): Machine {
    const tap = this.tap;
    if (!tap) return this.machine;
    return new Proxy(this.machine, { get: (target, key, receiver) => (key === 'wire' ? tap.ports : Reflect.get(target, key, receiver)) });
  }

  /** The kernel clock to give the recorded run: real time, with timer expirations and exceeded limits logged. */
  get clock(): KernelClock {
    return this.recorder.clock;
  }

  /** Unhooks the recorder from the machine (the next run is not recorded) and writes the trailer, with the decisions the run took. */
  async stop(error: Error | undefined, report: BugCheckReport | undefined, decisions: readonly Decision[]): Promise<void> {
    this.machine.qtest.tap = undefined;
    this.machine.memory = this.memory;
    await this.tap?.close();
    await this.recorder.close({ counters: { failed: error?.message.split('\n')[0] ?? null }, ...(report ? { bugCheck: report.name } : {}), decisions }, report);
  }
}
