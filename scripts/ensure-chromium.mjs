#!/usr/bin/env node
// Finds Debian's chromium, which the HTML timeline test drives (through playwright-core); installs
// it when it is missing and we are root with apt-get. Otherwise stops with the command to run.
// playwright's own browser download cannot work here: the test uses the system's browser.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const BROWSER = process.env.DIRQL_CHROMIUM ?? '/usr/bin/chromium';
const INSTALL = 'apt-get update && apt-get install -y --no-install-recommends chromium';

function fail(msg) {
  console.error(`dirql: ${msg}`);
  process.exit(1);
}

function version() {
  const r = spawnSync(BROWSER, ['--version'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? undefined : r.stdout.trim();
}

if (!existsSync(BROWSER) || !version()) {
  const isRoot = process.getuid?.() === 0;
  const haveApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (!isRoot || !haveApt || process.env.DIRQL_CHROMIUM) fail(`${BROWSER} not found (the HTML timeline test needs a real browser). Install it with:\n  sudo sh -c '${INSTALL}'`);
  console.error('dirql: chromium not found; installing Debian package chromium ...');
  try {
    execFileSync('sh', ['-c', INSTALL], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch (e) {
    fail(`installing chromium failed (${e.message}). Run as root: ${INSTALL}`);
  }
  if (!version()) fail(`${BROWSER} still not usable after install. Run as root: ${INSTALL}`);
}
if (process.env.DIRQL_QUIET_CHECKS !== '1') console.error(`dirql: using ${version()}`);
