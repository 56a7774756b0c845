/**
 * Machine life cycle on real QEMU: a failed start reports QEMU's own words, reset() redoes the
 * bring-up that system_reset wiped, and the qtest memory fallback works without a shared file.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { QemuStartError } from '../../qemu/errors.ts';
import { e1000Device, readStationAddress } from '../../src/drivers/e1000/device.ts';
import { GuestMemoryError } from '../../src/platform/errors.ts';
import { startMachine } from '../../src/platform/machine.ts';
import { PciConfigSpace } from '../../src/platform/pci-config.ts';
import { processGone, shmFilesOf } from './support/leftovers.ts';
import { waitUntil } from '../support/wait.ts';

const STATUS = 0x0008;
const ICS = 0x00c8;
const IMS = 0x00d0;
const ICR = 0x00c0;
const ICR_LSC = 1 << 2;

describe('machine life cycle', () => {
  it('rejects a start QEMU refuses with QemuStartError carrying its stderr and exit code, leaving nothing', async () => {
    const err = await startMachine({ device: e1000Device(), extraArgs: ['-no-such-option'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QemuStartError);
    const ctx = (err as QemuStartError).context;
    expect(ctx.exitCode).toBe(1);
    expect(String(ctx.stderr)).toContain('-no-such-option');
    expect((err as Error).message).toContain('invalid option');
    expect(shmFilesOf(process.pid)).toEqual([]);
  });

  it('reset() after system_reset restores BARs, bus master and INTx routing', async () => {
    const m = await startMachine({ device: e1000Device({ mitigation: false }) });
    try {
      const cfg = new PciConfigSpace(m.qtest);
      const nic = m.nic.pci;
      const bar0Before = await cfg.read32(nic, 0x10);
      await m.reset();
      expect(await cfg.read32(nic, 0x10)).toBe(bar0Before);
      expect((await cfg.read16(nic, 0x04)) & 0x7).toBe(0x7);
      expect((await m.nic.registers.read32(STATUS)) & 2).toBe(2);
      expect(await readStationAddress(m.nic.registers)).toBe('52:54:00:12:34:56');

      // The routed line still works: cause an interrupt by hand (ICS) and clear it (ICR).
      const regs = m.nic.registers;
      await regs.read32(ICR);
      regs.write32(IMS, ICR_LSC);
      regs.write32(ICS, ICR_LSC);
      await m.lines.settle();
      expect(m.lines.isAsserted(m.nic.irqLine)).toBe(true);
      expect((await regs.read32(ICR)) & ICR_LSC).toBe(ICR_LSC);
      await m.lines.settle();
      expect(m.lines.isAsserted(m.nic.irqLine)).toBe(false);
    } finally {
      await m.stop();
    }
  });

  it('works without a shared RAM file through QtestMemory (async only)', async () => {
    const m = await startMachine({ device: e1000Device(), sharedRam: false, memoryMiB: 16 });
    try {
      expect(m.stub.ram).toBeUndefined();
      const region = m.dma.alloc(300 * 1024, { tag: 'big' });
      const data = Buffer.alloc(region.size);
      for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
      await m.memory.writeAsync(region.address, data);
      expect((await m.qtest.memread(region.address + 70_000, 16)).equals(data.subarray(70_000, 70_016))).toBe(true);
      expect((await m.memory.readAsync(region.address, data.length)).equals(data)).toBe(true);
      expect(() => m.memory.read(region.address, 4)).toThrow(GuestMemoryError);
    } finally {
      await m.stop();
    }
  });
});

describe('host ended by a signal it does not handle itself', () => {
  it('kills QEMU and still dies of that signal (the registry re-raises it)', async () => {
    const script = [
      "const { startMachine } = await import('./src/platform/machine.ts');",
      "const { e1000Device } = await import('./src/drivers/e1000/device.ts');",
      'const m = await startMachine({ device: e1000Device() });',
      "console.log('QEMU pid ' + m.stub.pid);",
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DIRQL_LOG: 'silent' },
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const qemuPid = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /QEMU pid (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`child exited early (${code}): ${out} ${err}`)));
    });
    const ended = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
    child.kill('SIGTERM');
    expect(await ended).toBe('SIGTERM');
    // The child's registry SIGKILLs QEMU before it re-raises the signal, but does not wait for it:
    // QEMU's exit (tearing down its guest RAM) can end a moment after the child's.
    await waitUntil(`QEMU (pid ${qemuPid}) to exit after its host died of SIGTERM`, () => processGone(qemuPid), 5_000, 20);
    expect(shmFilesOf(child.pid!)).toEqual([]);
  });
});
