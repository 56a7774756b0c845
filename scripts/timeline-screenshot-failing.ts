/**
 * Takes docs/timeline-failing.png: the HTML timeline of a failing broken-sample run — the race
 * sample (check for a TX slot and take it in two synchronize calls) on QEMU's real e1000, explored
 * with pb until a run fails; the explorer replays that schedule with a recorder attached and writes
 * its timeline, which Debian's chromium (headless) opens and screenshots.
 *
 *   node --import tsx scripts/timeline-screenshot-failing.ts [out.png]
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { explore } from '../src/explore/index.ts';
import { launchChromium } from '../test/support/chromium.ts';
import { SCENARIOS } from '../test/fixtures/broken/scenarios.ts';

const OUT = process.argv[2] ?? join(import.meta.dirname, '..', 'docs', 'timeline-failing.png');
const dir = await mkdtemp(join(tmpdir(), 'dirql-shot-'));
const r = await explore(SCENARIOS.raceQemu!, { strategy: 'pb', runs: 20, outDir: dir, writeFailures: 1 });
const failed = r.failures[0];
if (!failed?.timeline) throw new Error(`no failing run with a timeline in ${r.runs} runs`);
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 200 } });
  await page.goto(pathToFileURL(failed.timeline.html).href);
  await page.waitForSelector('svg');
  await page.screenshot({ path: OUT, fullPage: true });
} finally {
  await browser.close();
}
console.log(`${OUT}: ${(await stat(OUT)).size} bytes, seed ${failed.seed}: ${failed.message}`);
await rm(dir, { recursive: true, force: true });
