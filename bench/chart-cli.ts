/** `npm run bench:chart [-- --out FILE]`: the chart of every full run kept in bench/results/ (default: bench/results/chart.svg). */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadRuns, renderChart } from './chart.ts';

const results = join(dirname(fileURLToPath(import.meta.url)), 'results');
const { values } = parseArgs({ options: { out: { type: 'string', default: join(results, 'chart.svg') } } });
const runs = loadRuns(results);
if (runs.length === 0) {
  console.error(`bench:chart: no full bench runs in ${results}; run \`npm run bench\` first`);
  process.exit(1);
}
writeFileSync(values.out, renderChart(runs));
console.log(`wrote ${values.out} (${runs.length} runs)`);
