/**
 * Scenarios: a TS module that starts the stack, does something to the driver and checks what it
 * saw. Run one with `dirql run my.scenario.ts`, or from your own vitest with runScenario().
 *
 *   import { defineScenario } from 'dirql/scenario';
 *   export default defineScenario({
 *     name: 'link comes up',
 *     host: { framework: 'ndis6' },
 *     async run({ host }) {
 *       if (!host.linkUp) throw new Error('link is down');
 *     },
 *   });
 *
 * A scenario fails when run() throws or rejects, when it outlives its time limit, or when the
 * driver bug-checks (unless `expectBugCheck` names that bug check, then it fails without one).
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DriverHost, DriverHostOptions } from '../host/driver-host.ts';
import type { LocksetFinding } from '../kernel/index.ts';
import type { TimelineFiles } from '../timeline/index.ts';
import { DirqlError } from '../util/errors.ts';
import { runName } from '../util/run-name.ts';

export interface ScenarioContext {
  /** The running stack: QEMU's NIC, the kernel, the facade with the driver, the upper edge. */
  host: DriverHost;
  /** Aborted when the time limit is reached; pass it to waits that take a signal. */
  signal: AbortSignal;
  /** One line to stdout under `dirql run` (the default; runScenario takes another sink). */
  log(message: string): void;
}

export interface Scenario {
  name: string;
  /** How the stack is started (framework, processors, seed, MAC, verifier...). Flags override it. */
  host?: DriverHostOptions;
  /** Time limit of run(), host start excluded. Default 60 s. */
  timeoutMs?: number;
  /** The bug check name this scenario provokes (e.g. DRIVER_VERIFIER_DETECTED_VIOLATION): it passes only if it happened. */
  expectBugCheck?: string;
  run(ctx: ScenarioContext): Promise<void> | void;
}

export interface ScenarioResult {
  name: string;
  passed: boolean;
  durationMs: number;
  /** Why it failed. */
  error?: Error;
  /** The driver's bug check, if there was one (expected or not). */
  bugCheck?: { name: string; message: string; report?: string };
  /** The run's timeline files, when it was started with `host.trace`. */
  trace?: TimelineFiles;
  /** The lockset verifier's findings (record mode), when there were any. */
  verifierFindings?: LocksetFinding[];
}

/** A scenario file or value that is not a scenario. */
export class ScenarioError extends DirqlError {}

/** Checks the shape (so a mistake is reported where it is made) and returns the scenario. */
export function defineScenario(s: Scenario): Scenario {
  if (typeof s !== 'object' || s === null) throw new ScenarioError('a scenario is an object { name, run }');
  if (typeof s.name !== 'string' || s.name === '') throw new ScenarioError('a scenario needs a name (a non-empty string)', { name: s.name });
  if (typeof s.run !== 'function') throw new ScenarioError(`scenario "${s.name}": run must be a function`, { name: s.name });
  if (s.timeoutMs !== undefined && !(Number.isInteger(s.timeoutMs) && s.timeoutMs > 0)) {
    throw new ScenarioError(`scenario "${s.name}": timeoutMs must be a positive integer`, { name: s.name, timeoutMs: s.timeoutMs });
  }
  return s;
}

/** Imports a scenario module (path relative to cwd): its default export, else an export named `scenario`. */
export async function loadScenario(path: string): Promise<Scenario> {
  const file = isAbsolute(path) ? path : resolve(process.cwd(), path);
  let mod: { default?: unknown; scenario?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as typeof mod;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes(file)) {
      throw new ScenarioError(`no scenario file ${file}`, { path: file }, { cause: err });
    }
    throw new ScenarioError(`loading scenario ${file} failed: ${(err as Error).message}`, { path: file }, { cause: err });
  }
  const value = mod.default ?? mod.scenario;
  if (value === undefined) throw new ScenarioError(`${file} exports no scenario (export default defineScenario({ ... }))`, { path: file });
  try {
    return defineScenario(value as Scenario);
  } catch (err) {
    throw new ScenarioError(`${file}: ${(err as Error).message}`, { path: file }, { cause: err });
  }
}

/** Scenario options with `overrides` on top (wire, machine and verifier merged one level deep). */
export function mergeHostOptions(base: DriverHostOptions = {}, overrides: DriverHostOptions = {}): DriverHostOptions {
  const merged: DriverHostOptions = { ...base, ...overrides };
  for (const key of ['wire', 'machine', 'verifier', 'limits'] as const) {
    if (base[key] || overrides[key]) (merged as Record<string, unknown>)[key] = { ...base[key], ...overrides[key] };
  }
  return merged;
}

/** A traced scenario's timeline is named after the scenario unless it was given a name. */
function namedTrace(o: DriverHostOptions, scenario: string): DriverHostOptions {
  if (!o.trace) return o;
  const t = o.trace === true ? {} : o.trace;
  return t.name ? o : { ...o, trace: { ...t, name: runName(scenario) } };
}

export interface RunScenarioOptions {
  /** On top of the scenario's own host options. */
  host?: DriverHostOptions;
  log?: (message: string) => void;
}

/**
 * Start the stack, run the scenario, stop everything (QEMU gone whatever happened) and say how it
 * went. Never throws for a failing scenario: the result carries the error.
 */
export async function runScenario(s: Scenario, opts: RunScenarioOptions = {}): Promise<ScenarioResult> {
  const t0 = performance.now();
  const { DriverHost } = await import('../host/driver-host.ts');
  const result = (passed: boolean, error?: Error, host?: DriverHost): ScenarioResult => {
    const b = host?.bugCheck;
    const findings = host?.verifierFindings();
    return {
      name: s.name,
      passed,
      durationMs: performance.now() - t0,
      ...(error ? { error } : {}),
      ...(b ? { bugCheck: { name: b.name, message: b.message, ...(b.files ? { report: b.files.text } : {}) } } : {}),
      ...(host?.traceFiles ? { trace: host.traceFiles } : {}),
      ...(findings && findings.length > 0 ? { verifierFindings: findings } : {}),
    };
  };
  let host: DriverHost;
  try {
    host = await DriverHost.start(namedTrace(mergeHostOptions(s.host, opts.host), s.name));
  } catch (err) {
    return result(false, err instanceof Error ? err : new Error(String(err)));
  }
  const timeoutMs = s.timeoutMs ?? 60_000;
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let failure: Error | undefined;
  try {
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(new ScenarioError(`scenario "${s.name}" did not finish within ${timeoutMs} ms`, { timeoutMs }));
      }, timeoutMs);
    });
    await Promise.race([Promise.resolve().then(() => s.run({ host, signal: abort.signal, log: opts.log ?? ((m) => process.stdout.write(m + '\n')) })), timedOut]);
  } catch (err) {
    failure = err instanceof Error ? err : new Error(String(err));
  } finally {
    clearTimeout(timer);
  }
  try {
    await host.stop();
  } catch (err) {
    failure ??= err instanceof Error ? err : new Error(String(err));
  }
  const b = host.bugCheck;
  if (s.expectBugCheck !== undefined) {
    if (b?.name === s.expectBugCheck) return result(true, undefined, host);
    const saw = b ? `${b.name} instead` : 'none happened';
    return result(
      false,
      new ScenarioError(`expected bug check ${s.expectBugCheck}, ${saw}`, { expected: s.expectBugCheck, actual: b?.name }, failure ? { cause: failure } : undefined),
      host,
    );
  }
  if (b)
    return result(
      false,
      new ScenarioError(`the driver bug-checked: ${b.name}: ${b.message}`, { bugCheck: b.name, report: b.files?.text }, failure ? { cause: failure } : undefined),
      host,
    );
  if (host.deviceLoss) return result(false, new ScenarioError(`the device went away: ${host.deviceLoss.message}`, {}, failure ? { cause: failure } : undefined), host);
  return result(failure === undefined, failure, host);
}
