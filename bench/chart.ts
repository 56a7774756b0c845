/**
 * The bench chart: each ratio to its baseline (measured in the same run) across the runs kept in
 * bench/results/, one small panel per figure, unpinned and pinned as two lines, the target as a
 * dashed rule. Plain SVG, no dependency: it opens in any browser and renders on GitHub.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One figure's target: the ratio it should reach, and whether higher or lower is better. */
export interface RatioTarget {
  readonly value: number;
  readonly better: 'higher' | 'lower';
}

export interface RatioPoint {
  readonly unpinned?: number;
  readonly pinned?: number;
}

export interface BenchRun {
  readonly date: string;
  readonly ratios: Readonly<Record<string, RatioPoint>>;
}

/** The targets the README states (issue "Performance"), by figure name. */
export const RATIO_TARGETS: Readonly<Record<string, RatioTarget>> = {
  'TX 64 B frames/s': { value: 0.95, better: 'higher' },
  'TX 1514 B frames/s': { value: 0.95, better: 'higher' },
  'RX 64 B frames/s': { value: 0.95, better: 'higher' },
  'RX 1514 B frames/s': { value: 0.95, better: 'higher' },
  'MMIO readl round trip': { value: 1.05, better: 'lower' },
  'RX latency p50': { value: 1.25, better: 'lower' },
  'RX latency p99': { value: 1.5, better: 'lower' },
  'TX 64 B CPU per frame': { value: 1.1, better: 'lower' },
  'TX 1514 B CPU per frame': { value: 1.1, better: 'lower' },
  'RX 64 B CPU per frame': { value: 1.1, better: 'lower' },
  'RX 1514 B CPU per frame': { value: 1.1, better: 'lower' },
  'TX 64 B recording on/off': { value: 0.9, better: 'higher' },
  'RX 64 B recording on/off': { value: 0.9, better: 'higher' },
  'REPLAY speed (× recorded)': { value: 5, better: 'higher' },
};

type Pair<T> = { unpinned?: T; pinned?: T };
type Results = {
  throughput?: Record<string, Pair<{ ratio?: number; cpuRatio?: number }>>;
  lockset?: Record<string, Pair<{ ratio?: number }>>;
  trace?: Record<string, Pair<{ ratio?: number }>>;
  record?: Record<string, Pair<{ ratio?: number }>>;
  replay?: Pair<{ speed?: { speedup?: number } }>;
  mmio?: Pair<{ ratioDriverHost?: number }>;
  latency?: Pair<{ ratioP50?: number; ratioP99?: number }>;
};

function point<T>(pair: Pair<T> | undefined, pick: (x: T) => number | undefined): RatioPoint | undefined {
  if (!pair) return undefined;
  const unpinned = pair.unpinned ? pick(pair.unpinned) : undefined;
  const pinned = pair.pinned ? pick(pair.pinned) : undefined;
  if (unpinned === undefined && pinned === undefined) return undefined;
  return { ...(unpinned !== undefined ? { unpinned } : {}), ...(pinned !== undefined ? { pinned } : {}) };
}

/** The ratios of one bench report (the JSON `npm run bench` writes). Sections not run are absent. */
export function ratiosOf(report: { date: string; results: unknown }): BenchRun {
  const r = (report.results ?? {}) as Results;
  const ratios: Record<string, RatioPoint> = {};
  const put = (name: string, p: RatioPoint | undefined) => {
    if (p) ratios[name] = p;
  };
  for (const [key, pair] of Object.entries(r.throughput ?? {})) {
    const [dir, size] = key.split('-');
    put(
      `${dir!.toUpperCase()} ${size} B frames/s`,
      point(pair, (x) => x.ratio),
    );
    put(
      `${dir!.toUpperCase()} ${size} B CPU per frame`,
      point(pair, (x) => x.cpuRatio),
    );
  }
  // A feature's cost: frames/s with it on over frames/s with it off (bench/features.ts).
  for (const [feature, label] of [
    ['lockset', 'lockset record/off'],
    ['trace', 'tracing on/off'],
    ['record', 'recording on/off'],
  ] as const) {
    for (const [key, pair] of Object.entries(r[feature] ?? {})) {
      const [dir, size] = key.split('-');
      put(
        `${dir!.toUpperCase()} ${size} B ${label}`,
        point(pair, (x) => x.ratio),
      );
    }
  }
  put(
    'REPLAY speed (× recorded)',
    point(r.replay, (x) => x.speed?.speedup),
  );
  put(
    'MMIO readl round trip',
    point(r.mmio, (x) => x.ratioDriverHost),
  );
  put(
    'RX latency p50',
    point(r.latency, (x) => x.ratioP50),
  );
  put(
    'RX latency p99',
    point(r.latency, (x) => x.ratioP99),
  );
  return { date: report.date, ratios };
}

/** Every full (not --quick) report in `dir`, oldest first; latest.json is a copy and is skipped. */
export function loadRuns(dir: string): BenchRun[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^bench-.*\.json$/.test(n));
  } catch {
    return [];
  }
  const runs: BenchRun[] = [];
  for (const n of names.sort()) {
    const report = JSON.parse(readFileSync(join(dir, n), 'utf8')) as { date: string; quick?: boolean; only?: string[]; results: unknown };
    // Quick runs and runs of some sections (--only) are not points of the history.
    if (report.quick || report.only) continue;
    runs.push(ratiosOf(report));
  }
  return runs;
}

/**
 * The runs kept in `file` (docs/bench/history.json: the ratios of every full run, committed, so a
 * fresh clone's chart still has the earlier runs that bench/results, not committed, lost).
 */
export function loadHistory(file: string): BenchRun[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const runs = JSON.parse(text) as unknown;
  if (!Array.isArray(runs)) throw new Error(`${file}: not a list of bench runs`);
  return runs as BenchRun[];
}

/** The runs of every list, one per date (the last list's wins), oldest first. */
export function mergeRuns(...lists: readonly (readonly BenchRun[])[]): BenchRun[] {
  const byDate = new Map<string, BenchRun>();
  for (const list of lists) for (const run of list) byDate.set(run.date, run);
  return [...byDate.values()].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
}

const PANEL_W = 300;
const PANEL_H = 150;
const PAD = { left: 44, right: 12, top: 26, bottom: 26 };
const COLUMNS = 2;
const COLORS = { unpinned: '#1f77b4', pinned: '#d62728' } as const;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The chart of `runs` (oldest first) as an SVG document: one panel per figure seen in any run. */
export function renderChart(runs: readonly BenchRun[], targets: Readonly<Record<string, RatioTarget>> = RATIO_TARGETS): string {
  const figures = [...new Set(runs.flatMap((r) => Object.keys(r.ratios)))];
  const rowsOfPanels = Math.max(1, Math.ceil(figures.length / COLUMNS));
  const width = COLUMNS * PANEL_W;
  const height = rowsOfPanels * PANEL_H + 24;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="10">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="8" y="14" font-size="11"><tspan fill="${COLORS.unpinned}">— unpinned</tspan> <tspan fill="${COLORS.pinned}">— pinned (CPU 0)</tspan> <tspan fill="#555">- - target; ratio to the baseline of the same run, ${runs.length} runs</tspan></text>`,
  ];
  figures.forEach((fig, i) => {
    const x0 = (i % COLUMNS) * PANEL_W;
    const y0 = 24 + Math.floor(i / COLUMNS) * PANEL_H;
    const target = targets[fig];
    const values = runs.flatMap((r) => [r.ratios[fig]?.unpinned, r.ratios[fig]?.pinned]).filter((v): v is number => v !== undefined);
    if (target) values.push(target.value);
    let lo = Math.min(...values);
    let hi = Math.max(...values);
    if (hi - lo < 0.1) {
      lo -= 0.05;
      hi += 0.05;
    }
    const plotW = PANEL_W - PAD.left - PAD.right;
    const plotH = PANEL_H - PAD.top - PAD.bottom;
    const sx = (k: number) => x0 + PAD.left + (runs.length <= 1 ? plotW / 2 : (k * plotW) / (runs.length - 1));
    const sy = (v: number) => y0 + PAD.top + plotH - ((v - lo) / (hi - lo)) * plotH;
    out.push(`<g data-figure="${esc(fig)}">`);
    out.push(
      `<text x="${x0 + PAD.left}" y="${y0 + 14}" font-weight="bold">${esc(fig)}${target ? ` (target ${target.better === 'higher' ? '≥' : '≤'} ${target.value}×)` : ''}</text>`,
    );
    out.push(`<rect x="${x0 + PAD.left}" y="${y0 + PAD.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#ccc"/>`);
    for (const v of [lo, hi]) out.push(`<text x="${x0 + PAD.left - 4}" y="${sy(v) + 3}" text-anchor="end">${v.toFixed(2)}×</text>`);
    if (target) {
      out.push(
        `<line data-target="${target.value}" x1="${x0 + PAD.left}" x2="${x0 + PAD.left + plotW}" y1="${sy(target.value)}" y2="${sy(target.value)}" stroke="#555" stroke-dasharray="4 3"/>`,
      );
    }
    for (const placement of ['unpinned', 'pinned'] as const) {
      const pts = runs.flatMap((r, k) => {
        const v = r.ratios[fig]?.[placement];
        return v === undefined ? [] : [`${sx(k).toFixed(1)},${sy(v).toFixed(1)}`];
      });
      if (pts.length === 0) continue;
      out.push(`<polyline data-placement="${placement}" points="${pts.join(' ')}" fill="none" stroke="${COLORS[placement]}" stroke-width="1.5"/>`);
      const last = pts.at(-1)!.split(',');
      out.push(`<circle cx="${last[0]}" cy="${last[1]}" r="2.5" fill="${COLORS[placement]}"/>`);
    }
    if (runs.length > 0) {
      out.push(`<text x="${x0 + PAD.left}" y="${y0 + PANEL_H - 8}">${esc(runs[0]!.date.slice(0, 10))}</text>`);
      out.push(`<text x="${x0 + PAD.left + plotW}" y="${y0 + PANEL_H - 8}" text-anchor="end">${esc(runs.at(-1)!.date.slice(0, 16).replace('T', ' '))}</text>`);
    }
    out.push('</g>');
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
