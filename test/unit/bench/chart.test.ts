import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadHistory, loadRuns, mergeRuns, ratiosOf, renderChart } from '../../../bench/chart.ts';

const report = (date: string, tx64: [number, number], extra: Record<string, unknown> = {}) => ({
  date,
  results: {
    throughput: { 'tx-64': { unpinned: { ratio: tx64[0] }, pinned: { ratio: tx64[1] } } },
    ...extra,
  },
});

/** The y coordinates of a polyline's points, in document order. */
function ys(svg: string, figure: string, placement: string): number[] {
  const group = svg.split('<g ').find((g) => g.startsWith(`data-figure="${figure}"`));
  const m = group?.match(new RegExp(`<polyline data-placement="${placement}" points="([^"]*)"`));
  if (!m) return [];
  return m[1]!.split(' ').map((p) => Number(p.split(',')[1]));
}

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('bench chart', () => {
  it('takes each ratio of a report under a figure name, unpinned and pinned', () => {
    const run = ratiosOf(
      report('2026-12-01T10:00:00Z', [0.9, 0.8], {
        mmio: { unpinned: { ratioDriverHost: 1.1 }, pinned: { ratioDriverHost: 1.3 } },
        latency: { unpinned: { ratioP50: 1.6, ratioP99: 2.2 } },
      }),
    );
    expect(run.ratios).toEqual({
      'TX 64 B frames/s': { unpinned: 0.9, pinned: 0.8 },
      'MMIO readl round trip': { unpinned: 1.1, pinned: 1.3 },
      'RX latency p50': { unpinned: 1.6 },
      'RX latency p99': { unpinned: 2.2 },
    });
  });

  it("takes the CPU-per-frame ratios and the features' costs too, each with its own figure", () => {
    const run = ratiosOf({
      date: '2026-12-01T10:00:00Z',
      results: {
        throughput: { 'rx-1514': { unpinned: { ratio: 0.9, cpuRatio: 1.3 }, pinned: { ratio: 0.8, cpuRatio: 1.4 } } },
        lockset: { 'tx-64': { unpinned: { ratio: 0.97 }, pinned: { ratio: 0.95 } } },
        trace: { 'rx-64': { pinned: { ratio: 0.7 } } },
      },
    });
    expect(run.ratios).toEqual({
      'RX 1514 B frames/s': { unpinned: 0.9, pinned: 0.8 },
      'RX 1514 B CPU per frame': { unpinned: 1.3, pinned: 1.4 },
      'TX 64 B lockset record/off': { unpinned: 0.97, pinned: 0.95 },
      'RX 64 B tracing on/off': { pinned: 0.7 },
    });
    const svg = renderChart([run]);
    expect(svg).toContain('data-figure="RX 1514 B CPU per frame"');
    expect(svg).toContain('target ≤ 1.1×');
    expect(svg).toContain('data-figure="TX 64 B lockset record/off"');
  });

  it('draws one line per placement with a point per run, higher ratios higher up, and the target rule', () => {
    const runs = [ratiosOf(report('2026-12-01T10:00:00Z', [0.7, 0.8])), ratiosOf(report('2026-12-02T10:00:00Z', [0.9, 0.6]))];
    const svg = renderChart(runs);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const un = ys(svg, 'TX 64 B frames/s', 'unpinned');
    const pin = ys(svg, 'TX 64 B frames/s', 'pinned');
    expect(un).toHaveLength(2);
    expect(pin).toHaveLength(2);
    expect(un[1]!).toBeLessThan(un[0]!); // 0.9 above 0.7 (SVG y grows downwards)
    expect(pin[1]!).toBeGreaterThan(pin[0]!);
    expect(svg).toContain('data-target="0.95"');
    expect(svg).toContain('target ≥ 0.95×');
  });

  it('reads the kept full runs oldest first, skipping --quick runs, --only runs and latest.json', () => {
    dir = mkdtempSync(join(tmpdir(), 'dirql-chart-'));
    writeFileSync(join(dir, 'bench-2026-12-02T10-00-00-000Z.json'), JSON.stringify(report('2026-12-02T10:00:00Z', [0.9, 0.9])));
    writeFileSync(join(dir, 'bench-2026-12-01T10-00-00-000Z.json'), JSON.stringify(report('2026-12-01T10:00:00Z', [0.8, 0.8])));
    writeFileSync(join(dir, 'bench-2026-12-03T10-00-00-000Z.json'), JSON.stringify({ ...report('2026-12-03T10:00:00Z', [0.1, 0.1]), quick: true }));
    writeFileSync(join(dir, 'bench-2026-12-04T10-00-00-000Z.json'), JSON.stringify({ ...report('2026-12-04T10:00:00Z', [0.2, 0.2]), only: ['mmio'] }));
    writeFileSync(join(dir, 'latest.json'), JSON.stringify(report('2026-12-02T10:00:00Z', [0.9, 0.9])));
    expect(loadRuns(dir).map((r) => r.date)).toEqual(['2026-12-01T10:00:00Z', '2026-12-02T10:00:00Z']);
  });

  it("keeps the committed history's runs beside the kept ones, one per date, oldest first; a missing history is empty, a malformed one an error", () => {
    const d = (dir = mkdtempSync(join(tmpdir(), 'dirql-chart-')));
    const older = ratiosOf(report('2026-11-30T10:00:00Z', [0.7, 0.7]));
    const same = ratiosOf(report('2026-12-01T10:00:00Z', [0.75, 0.75]));
    writeFileSync(join(d, 'history.json'), JSON.stringify([same, older]));
    writeFileSync(join(d, 'bench-2026-12-01T10-00-00-000Z.json'), JSON.stringify(report('2026-12-01T10:00:00Z', [0.8, 0.8])));
    const merged = mergeRuns(loadHistory(join(d, 'history.json')), loadRuns(d));
    expect(merged.map((r) => r.date)).toEqual(['2026-11-30T10:00:00Z', '2026-12-01T10:00:00Z']);
    // The kept run's report wins over the history's copy of the same run.
    expect(merged[1]).toEqual(loadRuns(d)[0]);
    expect(loadHistory(join(d, 'none.json'))).toEqual([]);
    writeFileSync(join(d, 'bad.json'), JSON.stringify({ runs: [] }));
    expect(() => loadHistory(join(d, 'bad.json'))).toThrow(/not a list of bench runs/);
  });
});
