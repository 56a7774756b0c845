/** An explore run's results: the JSON written by `--json`, JUnit XML for CI, and merging shards. */
import type { TimelineFiles } from '../timeline/index.ts';

export interface FailedRun {
  readonly seed: number;
  /** The hash of its decision sequence. */
  readonly hash: string;
  readonly message: string;
  readonly decisions: number;
  /** Its schedule file (for `--replay <file>`), when written. */
  readonly schedule?: string;
  readonly timeline?: TimelineFiles;
  /** Whether running its schedule again (to record the timeline) failed again. */
  readonly replayed?: boolean;
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
}

/** Shards of one search as one result: runs and failures added, interleavings counted once. */
export function mergeResults(results: readonly ExploreResult[]): ExploreResult {
  if (results.length === 0) throw new RangeError('mergeResults needs at least one result');
  const first = results[0]!;
  const hashes = new Set(results.flatMap((r) => r.hashes));
  const runs = results.reduce((n, r) => n + r.runs, 0);
  // Shards run side by side: the search took as long as its slowest shard.
  const durationMs = Math.max(...results.map((r) => r.durationMs));
  return {
    ...first,
    shards: results.flatMap((r) => r.shards ?? []),
    runs,
    failures: results.flatMap((r) => r.failures).sort((a, b) => a.seed - b.seed),
    distinct: hashes.size,
    hashes: [...hashes].sort(),
    durationMs,
    runsPerSecond: results.reduce((n, r) => n + r.runsPerSecond, 0),
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
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${r.failures.length + 1}" failures="${r.failures.length}">`,
    `  <testsuite name="${escapeXml(suite)}" tests="${r.failures.length + 1}" failures="${r.failures.length}" time="${(r.durationMs / 1000).toFixed(3)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
