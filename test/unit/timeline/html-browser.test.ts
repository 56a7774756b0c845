import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { htmlModel, Timeline, writeHtmlTimeline } from '../../../src/timeline/index.ts';
import { launchChromium } from '../../support/chromium.ts';

function sampleTimeline(): Timeline {
  let t = 0;
  const tl = new Timeline({ name: 'sample </script> run', processors: 2, now: () => t });
  const cpu0 = tl.processorTrack(0);
  const cpu1 = tl.processorTrack(1);
  const lines = tl.track('IRQ lines', 'lines');
  t = 0.1;
  tl.instant(lines, 'line 11 raised', 'line');
  tl.counter(tl.irqlTrack(0), 5);
  tl.begin(cpu0, 'E1000Isr', 'isr', { line: 11 });
  t = 0.15;
  tl.instant(cpu0, 'ICR', 'register', { register: 'ICR', value: 0x84 });
  t = 0.2;
  tl.end(cpu0);
  tl.counter(tl.irqlTrack(0), 2);
  tl.begin(cpu0, 'E1000Dpc', 'dpc');
  t = 0.5;
  tl.end(cpu0);
  tl.counter(tl.irqlTrack(0), 0);
  tl.begin(cpu1, 'MiniportSendNetBufferLists', 'thread');
  t = 0.6;
  tl.begin(cpu1, 'SynchronizeRoutine', 'sync');
  t = 0.7;
  return tl; // both cpu1 slices left open: drawn as unfinished
}

describe('HTML timeline in a real browser (Debian chromium)', () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    browser = await launchChromium();
    dir = await mkdtemp(join(tmpdir(), 'dirql-timeline-'));
  });
  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('draws a lane per track, a rectangle per slice and a tick per instant, needing no server', async () => {
    const tl = sampleTimeline();
    const file = join(dir, 'timeline.html');
    await writeHtmlTimeline(tl, file);
    const page = await browser.newPage({ viewport: { width: 1200, height: 500 } });
    const failed: string[] = [];
    page.on('pageerror', (e) => failed.push(e.message));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) failed.push(`network request ${r.url()}`);
    });
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('svg');
    expect(failed).toEqual([]);
    const model = htmlModel(tl);
    expect(await page.locator('rect.slice').count()).toBe(model.slices.length);
    expect(await page.locator('line.instant').count()).toBe(model.instants.length);
    const labels = await page.locator('text.lane-label').allTextContents();
    expect(labels).toEqual(tl.tracks.map((t) => t.name));
    expect(await page.title()).toBe('sample </script> run');
    await page.close();
  });

  it('a URL fragment #<from µs>-<to µs> opens on that window', async () => {
    const file = join(dir, 'window.html');
    await writeHtmlTimeline(sampleTimeline(), file);
    const page = await browser.newPage({ viewport: { width: 1200, height: 500 } });
    await page.goto(`${pathToFileURL(file).href}#250-450`);
    await page.waitForSelector('svg');
    // Only the DPC (200–500 µs) overlaps 250–450 µs: the ISR ended at 200, the thread begins at 500.
    expect(await page.locator('rect.slice').count()).toBe(1);
    expect(await page.locator('rect.slice.dpc').count()).toBe(1);
    expect((await page.locator('text.axis').allTextContents())[0]).toBe('250.0 µs');
    await page.close();
  });

  it('hovering a slice shows its name, category, duration and details', { timeout: 60_000 }, async () => {
    const tl = sampleTimeline();
    const file = join(dir, 'hover.html');
    await writeHtmlTimeline(tl, file);
    const page = await browser.newPage({ viewport: { width: 1200, height: 500 } });
    await page.goto(pathToFileURL(file).href);
    const isr = page.locator('rect.slice.isr').first();
    // Near its left edge: the register access at its midpoint is drawn on top of it.
    await isr.hover({ position: { x: 3, y: 5 } });
    const tip = page.locator('#tip');
    await expect.poll(async () => tip.isVisible(), { timeout: 5000 }).toBe(true);
    const text = await tip.textContent();
    expect(text).toContain('E1000Isr');
    expect(text).toContain('isr');
    expect(text).toContain('(100.0 µs)');
    expect(text).toContain('line: 11');
    await page.locator('line.instant.register').hover({ force: true });
    await expect.poll(async () => tip.textContent(), { timeout: 5000 }).toContain('value: 0x84');
    const shot = join(dir, 'timeline.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect((await stat(shot)).size).toBeGreaterThan(1000);
    await page.close();
  });
});
