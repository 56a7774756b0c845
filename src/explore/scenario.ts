/**
 * An explore scenario: a TS module that brings a driver up on the kernel model (a fake device, no
 * QEMU; or QEMU's e1000 with `device: 'qemu-e1000'`, one machine reset between runs), drives it
 * and asserts, once per run, with the kernel options the explorer gives it.
 *
 *   import { defineExploreScenario } from 'dirql/explore';
 *   export default defineExploreScenario({
 *     name: 'tx ring',
 *     async run({ kernelOptions, attach }) {
 *       const kernel = new Kernel({ ...kernelOptions, lines });
 *       attach(kernel);
 *       ... bring up, drive, assert ...
 *     },
 *   });
 *
 * A run fails when run() throws or rejects, outlives its time limit, or the attached kernel stopped
 * (a bug check: the verifier's, an assertion escaping a routine, an interrupt storm).
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Kernel, KernelClock, SchedulePolicy } from '../kernel/index.ts';
import type { Machine } from '../platform/machine.ts';
import type { ExploreDevice } from './qemu-machine.ts';
import { DirqlError } from '../util/errors.ts';

export interface ExploreContext {
  /**
   * Spread these into the run's `new Kernel({...})` (or the rig that makes it). `clock` is there
   * when the run is recorded (`--record`: timer expirations and exceeded time limits are logged) or
   * replayed (`dirql replay`: they come from the recording); a scenario that drops it still records
   * and replays, but its timers and time limits follow the replay's own timing.
   */
  readonly kernelOptions: { readonly schedule: SchedulePolicy; readonly seed: number; readonly clock?: KernelClock };
  /** Hand the run's kernel to the explorer: its stop fails the run, and a failing run's timeline is recorded from it. */
  attach(kernel: Kernel): void;
  /**
   * With `device: 'qemu-e1000'`: the machine, brought up again for this run (system_reset, PCI
   * bring-up, DMA allocator empty). Give `machine.lines` to the kernel; the explorer disposes the
   * attached kernel after the run, so no routine of this run answers the next run's interrupts.
   */
  readonly machine?: Machine;
}

export interface ExploreScenario {
  readonly name: string;
  /** Time limit of one run. Default 10 s. */
  readonly timeoutMs?: number;
  /** Default 'kernel' (the scenario makes its own fake device); 'qemu-e1000': one QEMU for the whole explore. */
  readonly device?: ExploreDevice;
  run(ctx: ExploreContext): Promise<void>;
}

export class ExploreScenarioError extends DirqlError {}

/** Where each scenario loadExploreScenario() returned came from (`/abs/file.ts#export`): a recording names it, so `dirql replay` can load it again. */
const sources = new WeakMap<ExploreScenario, string>();

/** The module spec a scenario was loaded from (absolute path and export), if loadExploreScenario() loaded it. */
export function scenarioSource(s: ExploreScenario): string | undefined {
  return sources.get(s);
}

export function defineExploreScenario(s: ExploreScenario): ExploreScenario {
  if (typeof s !== 'object' || s === null || typeof s.name !== 'string' || s.name === '' || typeof s.run !== 'function') {
    throw new ExploreScenarioError('an explore scenario is an object { name, run(ctx) }');
  }
  if (s.device !== undefined && s.device !== 'kernel' && s.device !== 'qemu-e1000') {
    throw new ExploreScenarioError(`an explore scenario's device is 'kernel' or 'qemu-e1000', got ${JSON.stringify(s.device)}`, { device: s.device });
  }
  return s;
}

/** The module file of a spec `file#export`. */
export function scenarioModuleFile(spec: string): string {
  const hash = spec.lastIndexOf('#');
  return hash > 0 ? spec.slice(0, hash) : spec;
}

/** Imports `file` or `file#export` (relative to cwd): that export, else the default one, else `scenario`. */
export async function loadExploreScenario(spec: string): Promise<ExploreScenario> {
  const hash = spec.lastIndexOf('#');
  const path = hash > 0 ? spec.slice(0, hash) : spec;
  const name = hash > 0 ? spec.slice(hash + 1) : undefined;
  const file = isAbsolute(path) ? path : resolve(process.cwd(), path);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw new ExploreScenarioError(`loading explore scenario ${file} failed: ${(err as Error).message}`, { path: file }, { cause: err });
  }
  const exportName = name ?? (mod.default !== undefined ? 'default' : 'scenario');
  const value = mod[exportName];
  if (value === undefined) {
    const names = Object.keys(mod).filter((k) => typeof (mod[k] as { run?: unknown } | undefined)?.run === 'function');
    throw new ExploreScenarioError(`${file} exports no scenario${name ? ` named ${name}` : ''} (it has: ${names.join(', ') || 'none'})`, { path: file });
  }
  const scenario = defineExploreScenario(value as ExploreScenario);
  sources.set(scenario, `${file}#${exportName}`);
  return scenario;
}
