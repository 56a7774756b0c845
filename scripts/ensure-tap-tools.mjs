#!/usr/bin/env node
// The tap ping test (test/integration/netdev.test.ts) pings the responder from a network namespace:
// it needs `ip` (iproute2), `ping` (iputils-ping) and /dev/net/tun. Installs the packages when they
// are missing and we are root with apt-get; otherwise stops with the command to run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const TOOLS = [
  { command: 'ip', pkg: 'iproute2' },
  { command: 'ping', pkg: 'iputils-ping' },
];

function fail(msg) {
  console.error(`dirql: ${msg}`);
  process.exit(1);
}

const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const missing = () => TOOLS.filter((t) => !have(t.command)).map((t) => t.pkg);

const pkgs = missing();
if (pkgs.length > 0) {
  const install = `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
  if (process.getuid?.() !== 0 || !have('apt-get')) fail(`${pkgs.join(', ')} missing (the tap ping test needs them). Install with:\n  sudo sh -c '${install}'`);
  console.error(`dirql: installing ${pkgs.join(' ')} for the tap ping test ...`);
  try {
    execFileSync('sh', ['-c', install], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch (e) {
    fail(`installing ${pkgs.join(' ')} failed (${e.message}). Run as root: ${install}`);
  }
  if (missing().length > 0) fail(`${missing().join(', ')} still missing after install. Run as root: ${install}`);
}
if (!existsSync('/dev/net/tun')) fail('/dev/net/tun is missing: the tap ping test needs it (in Docker: --device /dev/net/tun --cap-add NET_ADMIN).');
