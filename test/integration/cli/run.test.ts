import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dirql } from '../../support/dirql-cli.ts';

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', name);

function qemuGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describe('dirql run (real QEMU)', () => {
  it('a passing scenario exits 0 and prints PASS', async () => {
    const r = await dirql(['run', fixture('link-up.scenario.ts'), '--framework', 'kmdf']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^framework kmdf, MAC 52:54:00:12:34:56/m);
    expect(r.stdout).toMatch(/^PASS link up and ISRs counted /m);
  });

  it('a failing scenario exits 1 with its error; a flag overrides the scenario (the MAC here)', async () => {
    const failing = await dirql(['run', fixture('wrong-mac.scenario.ts')]);
    expect(failing.exitCode).toBe(1);
    expect(failing.stderr).toMatch(/^FAIL expects a MAC the NIC does not have .*MAC is 52:54:00:12:34:56/m);
    const passing = await dirql(['run', fixture('wrong-mac.scenario.ts'), '--mac', '02:00:00:00:00:01']);
    expect(passing.exitCode, passing.stderr).toBe(0);
  });

  it('a module without a scenario is a usage error', async () => {
    const r = await dirql(['run', fixture('not-a-scenario.ts')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('exports no scenario');
  });
});

describe('dirql up (real QEMU)', () => {
  it('prints the MAC and the link, stops, and leaves no QEMU behind', async () => {
    const r = await dirql(['up', '--framework', 'ndis5']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/driven by the ndis5 miniport {2}MAC 52:54:00:12:34:56/);
    expect(r.stdout).toMatch(/^ {2}link up, 1000 Mb\/s, full duplex$/m);
    const pid = Number(/QEMU pid (\d+)/.exec(r.stdout)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(qemuGone(pid)).toBe(true);
  });
});
