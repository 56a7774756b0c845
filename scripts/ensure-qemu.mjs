#!/usr/bin/env node
// Finds qemu-system-x86_64 and checks its version; installs Debian's package when it is
// missing and we are root with apt-get. Otherwise stops with the exact command to run.
// Plain JS so that it runs before dependencies or tsx are in place.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

const MIN_MAJOR = 7;
const INSTALL = 'apt-get update && apt-get install -y --no-install-recommends qemu-system-x86';

function qemuVersion() {
  const r = spawnSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  const m = /version (\d+)\.(\d+)\.(\d+)/.exec(r.stdout);
  return m ? { text: `${m[1]}.${m[2]}.${m[3]}`, major: Number(m[1]) } : undefined;
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function fail(msg) {
  console.error(`dirql: ${msg}`);
  process.exit(1);
}

let v = qemuVersion();
if (!v) {
  const isRoot = process.getuid?.() === 0;
  if (isRoot && have('apt-get')) {
    console.error('dirql: qemu-system-x86_64 not found; installing Debian package qemu-system-x86 ...');
    try {
      execFileSync('sh', ['-c', INSTALL], {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    } catch (e) {
      fail(`installing QEMU failed (${e.message}). Run as root: ${INSTALL}`);
    }
    v = qemuVersion();
    if (!v) fail(`qemu-system-x86_64 still not found after install. Run as root: ${INSTALL}`);
  } else {
    fail(`qemu-system-x86_64 not found. Install it with:\n  sudo sh -c '${INSTALL}'`);
  }
}
if (v.major < MIN_MAJOR) fail(`qemu-system-x86_64 ${v.text} is too old; dirql needs ${MIN_MAJOR}.0 or newer.`);
if (!have('setpriv')) fail("setpriv (util-linux) not found: it ties QEMU's life to the host. Install util-linux.");
// Guest RAM is a file in /dev/shm shared with QEMU (see qemu/guest-ram-file.ts).
try {
  accessSync('/dev/shm', constants.W_OK);
} catch {
  fail('/dev/shm is missing or not writable: guest RAM is shared through it (in Docker use --shm-size=256m).');
}
if (process.env.DIRQL_QUIET_CHECKS !== '1') console.error(`dirql: using QEMU ${v.text}`);
