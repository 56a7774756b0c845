/** The markdown page of one `npm run bench` run (docs/bench/latest.md): where it ran, then its table. */

export interface TableRow {
  readonly section: string;
  readonly measurement: string;
  readonly unpinned?: string;
  readonly pinned?: string;
  readonly target?: string;
}

export interface RunInfo {
  readonly date: string;
  readonly durationS: number;
  readonly quick: boolean;
  readonly node: string;
  readonly qemu?: string;
  readonly machine: { readonly cpu?: string; readonly cpus: number; readonly loadAverageAtStart: readonly number[] };
}

// A cell must not end the row early.
const cell = (s: string | undefined) => (s ?? '').replace(/\|/g, '\\|');

export function markdownReport(run: RunInfo, rows: readonly TableRow[]): string {
  const out = [
    '# Latest bench run',
    '',
    `${run.date}, ${run.durationS} s${run.quick ? ', **`--quick` run: short rounds, figures for a smoke check, not results**' : ''}.`,
    `${run.machine.cpu ?? 'unknown CPU'} × ${run.machine.cpus}, load average at start ${run.machine.loadAverageAtStart.join(', ')}; Node ${run.node}; ${run.qemu ?? 'QEMU version unknown'}.`,
    '',
    'Written by `npm run bench` (bench/run.ts). Each ratio is to the baseline measured in the same run; pinned: host and QEMU on CPU 0.',
    'The chart of every kept run: [chart.svg](chart.svg).',
    '',
    '| section | measurement | unpinned | pinned (CPU 0) | target |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${[r.section, r.measurement, r.unpinned, r.pinned, r.target].map(cell).join(' | ')} |`),
    '',
  ];
  return out.join('\n');
}
