/**
 * A user's own driver on another NIC: the tiny NDIS 6 RTL8139 miniport in examples/rtl8139-ndis6,
 * loaded by DriverHost.start({ driver }) on QEMU's real `-device rtl8139` (BAR1 MMIO), reads the
 * MAC QEMU was given from IDR0–5 and indicates link changes from the chip's LinkChg interrupt.
 */
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkDown, linkUp } from '../../harness/index.ts';
import { NIC_ID } from '../../qemu/stub-config.ts';
import { DriverHost } from '../../src/host/driver-host.ts';
import { waitUntil } from '../support/wait.ts';
import { REPO, dirql } from '../support/dirql-cli.ts';

const DRIVER = join(REPO, 'examples', 'rtl8139-ndis6', 'driver.ts');
const MAC = '52:54:00:ab:cd:ef';

describe('a user driver module: the NDIS 6 RTL8139 example on QEMU rtl8139', () => {
  let host: DriverHost;
  let crashDir: string;

  beforeAll(async () => {
    crashDir = mkdtempSync(join(tmpdir(), 'dirql-rtl8139-'));
    host = await DriverHost.start({ driver: DRIVER, mac: MAC, bugCheckDir: crashDir });
  });

  afterAll(async () => {
    await host?.stop();
    if (host?.bugCheck) console.error(host.bugCheckText());
    rmSync(crashDir, { recursive: true, force: true });
  });

  it("brings up the module's device and framework: rtl8139 10ec:8139, its registers in BAR1", () => {
    expect(host.framework).toBe('ndis6');
    expect(host.machine.nic.model).toMatchObject({ qemuModel: 'rtl8139', vendorId: 0x10ec, deviceId: 0x8139, registerBar: 1 });
    expect(host.machine.nic.registers.size).toBe(0x100);
  });

  it('reports the MAC the driver read from IDR0–5: the one QEMU was given', async () => {
    expect(host.mac).toBe(MAC);
    // The same bytes, read byte by byte from the host side (not through the driver).
    const regs = host.machine.nic.registers;
    const bytes: number[] = [];
    for (let i = 0; i < 6; i++) bytes.push(await regs.read8(i));
    expect(bytes.map((b) => b.toString(16).padStart(2, '0')).join(':')).toBe(MAC);
  });

  it('indicates link up at 100 Mb/s full duplex from BMSR/BMCR, as the upper edge sees it', () => {
    expect(host.linkUp).toBe(true);
    expect(host.link).toEqual({ up: true, speedMbps: 100, fullDuplex: true });
  });

  it('QMP set_link off/on: the LinkChg interrupt reaches the driver, which indicates down, then up', async () => {
    const before = host.linkEvents.length;
    const isrBefore = host.calls().isr;
    await linkDown(host.machine.qmp, NIC_ID);
    try {
      await waitUntil('a link-down indication', () => host.linkEvents.length > before, 5_000);
      expect(host.linkEvents[before]).toMatchObject({ up: false });
      expect(host.linkUp).toBe(false);
    } finally {
      await linkUp(host.machine.qmp, NIC_ID);
    }
    await waitUntil('a link-up indication', () => host.linkEvents.length > before + 1, 5_000);
    expect(host.linkEvents[before + 1]).toMatchObject({ up: true, speed: 100_000_000, fullDuplex: true });
    expect(host.calls().isr).toBeGreaterThanOrEqual(isrBefore + 2);
    expect(host.calls().dpc).toBeGreaterThanOrEqual(2);
  });

  it('has no driver statistics of its own: stats() carries the framework and ring counters only', async () => {
    const s = await host.stats();
    expect(s.adapter).toBeUndefined();
    expect(s.framework).toBe('ndis6');
    expect(s.frameworkSide.ndis).toMatchObject({ state: 'running' });
  });
});

describe('dirql up --driver (real QEMU)', () => {
  it('starts the module on its own device and prints the MAC it read', async () => {
    const r = await dirql(['up', '--driver', DRIVER, '--mac', MAC]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^dirql: rtl8139 \\S+ driven by the ndis6 miniport {2}MAC ${MAC}$`, 'm'));
    expect(r.stdout).toMatch(/^ {2}link up, 100 Mb\/s, full duplex$/m);
    expect(r.stdout).toMatch(/^ {2}BAR1 0x[0-9a-f]+ \(0\.25 KiB\)/m);
  });
});
