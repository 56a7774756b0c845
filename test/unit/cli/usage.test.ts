import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dirql } from '../../support/dirql-cli.ts';

// Every check here ends before a host would start: no QEMU is spawned.
describe('dirql --help', () => {
  it.each([
    [[], 'Usage: dirql'],
    [['up'], 'Usage: dirql up'],
    [['run'], 'Usage: dirql run'],
    [['ctl'], 'usage: dirql ctl'],
    [['peer'], 'usage: dirql peer'],
    [['bench'], 'Usage: dirql bench'],
  ])('%j --help prints its usage and exits 0', async (cmd, heading) => {
    const r = await dirql([...cmd, '--help']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(heading);
  });

  it.each([['peer']])('%j runs its script from a directory outside the repository (tsx resolved from dirql, not from the cwd)', async (cmd) => {
    const cwd = mkdtempSync(join(tmpdir(), 'dirql-elsewhere-'));
    try {
      const r = await dirql([cmd, '--help'], { cwd });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout.toLowerCase()).toContain(`usage: dirql ${cmd}`);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('lists every command at the top level', async () => {
    const r = await dirql(['--help']);
    for (const c of ['up', 'run', 'ctl', 'peer', 'bench']) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
  });
});

describe('usage errors exit 2, name the flag and point at --help', () => {
  it.each([
    [['up', '--processors', 'x'], '--processors', 'dirql up --help'],
    [['up', '--seed', '-1'], '--seed', 'dirql up --help'],
    [['up', '--peer-port', '70000'], '--peer-port', 'dirql up --help'],
    [['up', '--mac', '01:00:5e:00:00:01'], '--mac', 'dirql up --help'],
    [['up', '--framework', 'ndis99'], '--framework', 'dirql up --help'],
    [['up', '--bogus'], '--bogus', 'dirql up --help'],
    [['up', '--echo'], '--echo', 'dirql up --help'],
    [['up', '--netdev', 'bogus'], '--netdev', 'dirql up --help'],
    [['up', '--ip', '10.0.2.300'], '--ip', 'dirql up --help'],
    [['up', '--netdev', 'tap'], '--netdev', 'dirql up --help'],
    [['up', '--netdev', 'user', '--qemu-port', '5000'], '--qemu-port', 'dirql up --help'],
    [['up', '--control'], '--control', 'dirql up --help'],
    [['up', '--inspect=not-an-address'], '--inspect', 'dirql up --help'],
    [['up', '--driver', 'no-such-miniport.ts'], "option '--driver <module>' argument 'no-such-miniport.ts' is invalid. no driver module", 'dirql up --help'],
    [['up', '--driver', 'test/fixtures/driver-modules/misnamed-entry.ts'], "exports no 'driverEntry'", 'dirql up --help'],
    [['up', '--device', 'rtl 8139'], "option '--device <model>' argument 'rtl 8139' is invalid. 'rtl 8139' is not a QEMU -device model name", 'dirql up --help'],
    [['up', '--config', 'no-such.config.json'], 'no config file', 'dirql up --help'],
    [['run'], 'scenario', 'dirql run --help'],
    [['run', 'x.ts', '--config', 'no-such.config.json'], 'no config file', 'dirql run --help'],
    [['run', 'no-such.scenario.ts'], 'no-such.scenario.ts', 'dirql run --help'],
    [['run', 'x.ts', '--processors', '0'], '--processors', 'dirql run --help'],
    [['ctl', 'bogus'], 'bogus', 'dirql ctl --help'],
    [['ctl', 'send', '--size', 'x', '--count', '1'], '--size', 'dirql ctl --help'],
    [['peer'], '--qemu-port', 'dirql peer --help'],
    [['peer', '--qemu-port', '1', '--drop-p', '2'], '--drop-p', 'dirql peer --help'],
    [['bench', '--only', 'mmio,nope'], '--only', 'dirql bench --help'],
    [['nope'], 'nope', 'dirql --help'],
  ])('%j', async (args, flag, hint) => {
    const r = await dirql(args);
    expect(r.exitCode, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(flag);
    expect(r.stderr).toContain(`\`${hint}\``);
  });

  it('--echo set by the environment without --hold is named with its variable', async () => {
    const r = await dirql(['up'], { env: { DIRQL_ECHO: '1' } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("'--echo' (set by DIRQL_ECHO=1) needs '--hold'");
  });
});
