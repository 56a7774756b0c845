/** An explore run's results: the JSON written by `--json`, JUnit XML for CI, and merging shards. */
import type { LocksetAccess, LocksetFinding } from '../kernel/index.ts';
import type { TimelineFiles } from '../timeline/index.ts';

/** A lockset finding (the verifier in `record` mode) as the results carry it: both sites with stacks, the location, the rule, the IRQLs. */
export interface ExploreFinding {
  readonly rule: 1 | 2;
  /** `device.REGISTER` or `STRUCTURE.field`. */
  readonly location: string;
  readonly violation: number;
  readonly message: string;
  readonly first: LocksetAccess;
  readonly second: LocksetAccess;
  /** The first run (seed) that found it. */
  readonly seed: number;
  /** How many runs found it. */
  readonly runs: number;
}

/** A plain copy (stacks are captured lazily on the kernel's side). */
export function plainAccess(a: LocksetAccess): LocksetAccess {
  return { routine: a.routine, activationKind: a.activationKind, processor: a.processor, irql: a.irql, access: a.access, locks: [...a.locks], stack: a.stack };
}

const findingKey = (f: Pick<ExploreFinding, 'rule' | 'location' | 'first' | 'second'>): string => `${f.rule} ${f.location} ${f.first.routine} ${f.second.routine}`;

/** Adds one run's findings to `into` (keyed by rule, location and the two routines). */
export function addFindings(into: Map<string, ExploreFinding>, seed: number, found: readonly (LocksetFinding | ExploreFinding)[]): void {
  for (const f of found) {
    const key = findingKey(f);
    const had = into.get(key);
    const runs = 'runs' in f ? f.runs : 1;
    const from = 'seed' in f ? f.seed : seed;
    if (had) into.set(key, { ...had, seed: Math.min(had.seed, from), runs: had.runs + runs });
    else
      into.set(key, {
        rule: f.rule,
        location: f.location,
        violation: f.violation,
        message: f.message,
        first: plainAccess(f.first),
        second: plainAccess(f.second),
        seed: from,
        runs,
      });
  }
}

export interface FailedRun {
  readonly seed: number;
  /** The hash of its decision sequence. */
  readonly hash: string;
  readonly message: string;
  readonly decisions: number;
  /** Its schedule file (for `--replay <file>`), when written. */
  readonly schedule?: string;
  readonly timeline?: TimelineFiles;
  /** Its session recording on QEMU (`--record`), beside the schedule: kept only when the recorded run failed the same way. */
  readonly recording?: string;
  /** Whether running its schedule again (to record the timeline and the session) failed again the same way (the same stop code and parameters, or the same message); on QEMU, within three tries. */
  readonly replayed?: boolean;
  /** The lockset verifier's findings in this run (record mode; in stop mode the first one is the stop). */
  readonly findings?: readonly ExploreFinding[];
}

export interface ExploreResult {
  readonly scenario: string;
  readonly strategy: string;
  readonly depth?: number;
  /** PCT's k. */
  readonly steps?: number;
  readonly guarantee?: string;
  /** The shards merged into this result (`i/n`). */
  readonly shards?: readonly string[];
  readonly runs: number;
  readonly failures: readonly FailedRun[];
  /** Distinct interleavings: distinct decision sequences. */
  readonly distinct: number;
  /** Their hashes (so that shards merge into an exact count). */
  readonly hashes: readonly string[];
  readonly durationMs: number;
  readonly runsPerSecond: number;
  /** The lockset verifier's findings over every run, failing or passing, each once with the runs that found it. */
  readonly findings: readonly ExploreFinding[];
}

/** Shards of one search as one result: runs and failures added, interleavings counted once. */
export function mergeResults(results: readonly ExploreResult[]): ExploreResult {
  if (results.length === 0) throw new RangeError('mergeResults needs at least one result');
  const first = results[0]!;
  const hashes = new Set(results.flatMap((r) => r.hashes));
  const runs = results.reduce((n, r) => n + r.runs, 0);
  // Shards run side by side: the search took as long as its slowest shard.
  const durationMs = Math.max(...results.map((r) => r.durationMs));
  const findings = new Map<string, ExploreFinding>();
  for (const r of results) addFindings(findings, 0, r.findings ?? []);
  return {
    ...first,
    shards: results.flatMap((r) => r.shards ?? []),
    runs,
    failures: results.flatMap((r) => r.failures).sort((a, b) => a.seed - b.seed),
    distinct: hashes.size,
    hashes: [...hashes].sort(),
    durationMs,
    runsPerSecond: results.reduce((n, r) => n + r.runsPerSecond, 0),
    findings: [...findings.values()],
  };
}

const escapeXml = (s: string): string => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** JUnit XML: one test suite, one test case per failing seed and one for the clean runs. */
export function toJUnit(r: ExploreResult): string {
  const suite = `${r.scenario} (${r.strategy})`;
  const cases = r.failures.map(
    (f) =>
      `    <testcase classname="${escapeXml(suite)}" name="seed ${f.seed}"><failure message="${escapeXml(f.message)}">${escapeXml(
        `replay: dirql explore <scenario> --strategy ${r.strategy} --replay ${f.schedule ?? f.seed}\nschedule ${f.hash}, ${f.decisions} decisions`,
      )}</failure></testcase>`,
  );
  cases.push(
    `    <testcase classname="${escapeXml(suite)}" name="${r.runs - r.failures.length} clean runs, ${r.distinct} distinct interleavings" time="${(r.durationMs / 1000).toFixed(3)}"/>`,
  );
  const found = r.findings ?? [];
  const out = found.map(
    (f) => `lockset rule ${f.rule} on ${f.location} (first seed ${f.seed}, ${f.runs} runs): ${f.message}\n  first:\n${f.first.stack}\n  second:\n${f.second.stack}`,
  );
  const systemOut = out.length > 0 ? [`    <system-out>${escapeXml(out.join('\n'))}</system-out>`] : [];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${r.failures.length + 1}" failures="${r.failures.length}">`,
    `  <testsuite name="${escapeXml(suite)}" tests="${r.failures.length + 1}" failures="${r.failures.length}" time="${(r.durationMs / 1000).toFixed(3)}">`,
    ...cases,
    ...systemOut,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
