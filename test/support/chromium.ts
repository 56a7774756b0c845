import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

// Debian's chromium, driven by playwright-core: a real browser for the pages dirql writes.
// `npm test`'s pretest check (scripts/ensure-chromium.mjs) installs it; a missing browser fails
// the test with that instruction rather than skipping it.
export const CHROMIUM = process.env.DIRQL_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: run \`node scripts/ensure-chromium.mjs\` (as root it installs Debian's chromium) or set DIRQL_CHROMIUM`);
  return chromium.launch({
    executablePath: CHROMIUM,
    // As root there is no user namespace sandbox; the machine has no network for it to reach.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
