import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceRegisters, Kernel, type InterruptLineSource, type RegisterBackend } from '../../../src/kernel/index.ts';

const LINE = 11;
const ICR = 0xc0;
const ICS = 0xc8;
const IMC = 0xd8;

/**
 * A device behind a qtest-like transport: writes are posted (they take effect a little later, in
 * order), a read or a fence takes effect after every earlier write, and the line level is
 * reported as it changes. Its line source implements settleLine the way IrqLines does.
 */
class PostedDevice implements RegisterBackend, InterruptLineSource {
  causes = 0;
  mask = 0xffffffff;
  fences = 0;
  private level = false;
  private posted: Array<[number, number]> = [];
  private readonly listeners = new Set<(line: number, asserted: boolean) => void>();

  read32(offset: number): Promise<number> {
    this.applyPosted();
    let value = 0;
    if (offset === ICR) {
      value = this.causes;
      this.causes = 0;
      this.update();
    }
    return new Promise((r) => setImmediate(() => r(value)));
  }

  write32(offset: number, value: number): void {
    this.posted.push([offset, value]);
    setImmediate(() => this.applyPosted());
  }

  flush(): Promise<void> {
    return this.fence();
  }

  raise(cause: number): void {
    this.causes |= cause;
    this.update();
  }

  isAsserted(): boolean {
    return this.level;
  }

  onChange(listener: (line: number, asserted: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  settle(): Promise<void> {
    return this.fence();
  }

  settleLine(): Promise<void> | undefined {
    if (!this.level || this.posted.length === 0) return undefined;
    return this.fence();
  }

  private fence(): Promise<void> {
    this.fences++;
    return new Promise((r) =>
      setImmediate(() => {
        this.applyPosted();
        r();
      }),
    );
  }

  private applyPosted(): void {
    const writes = this.posted;
    this.posted = [];
    for (const [offset, value] of writes) {
      if (offset === ICS) this.causes |= value;
      else if (offset === IMC) this.mask &= ~value;
      this.update();
    }
  }

  private update(): void {
    const level = (this.causes & this.mask) >>> 0 !== 0;
    if (level === this.level) return;
    this.level = level;
    for (const l of this.listeners) l(LINE, level);
  }
}

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

function rig(): { kernel: Kernel; device: PostedDevice; regs: DeviceRegisters } {
  const dir = mkdtempSync(join(tmpdir(), 'dirql-settle-'));
  const device = new PostedDevice();
  const kernel = new Kernel({ lines: device, bugCheckDir: dir });
  cleanup = () => {
    kernel.dispose();
    rmSync(dir, { recursive: true, force: true });
  };
  return { kernel, device, regs: new DeviceRegisters(kernel, device) };
}

describe('the kernel with a line source that settles a line only when it must', () => {
  it('an ISR that leaves the cause asserted is entered again (no write in flight: no fence needed)', async () => {
    const { kernel, device, regs } = rig();
    let calls = 0;
    kernel.connectInterrupt({ line: LINE, isr: async () => (++calls === 1 ? true : (await regs.read32(ICR)) !== 0) });
    device.raise(0x80);
    await kernel.quiesce();
    expect(calls).toBe(2);
    expect(device.isAsserted()).toBe(false);
  });

  it('a posted write that masks the asserted line is waited for: the ISR is not entered again for it', async () => {
    const { kernel, device, regs } = rig();
    let calls = 0;
    kernel.connectInterrupt({
      line: LINE,
      isr: async () => {
        calls++;
        await regs.write32(IMC, 0xffffffff);
        return true;
      },
    });
    device.raise(0x80);
    const fencesBefore = device.fences;
    await kernel.quiesce();
    expect(calls).toBe(1);
    expect(device.fences).toBeGreaterThan(fencesBefore);
    expect(device.causes).toBe(0x80);
  });

  it('a line left low is not waited for, and a posted write that raises it again still gets the ISR called', async () => {
    const { kernel, device, regs } = rig();
    const seen: number[] = [];
    kernel.connectInterrupt({
      line: LINE,
      isr: async () => {
        const causes = await regs.read32(ICR);
        seen.push(causes);
        if (seen.length === 1) await regs.write32(ICS, 0x10); // a software interrupt, posted
        return causes !== 0;
      },
    });
    device.raise(0x80);
    for (let i = 0; i < 20 && seen.length < 2; i++) await kernel.quiesce();
    expect(seen).toEqual([0x80, 0x10]);
    expect(device.isAsserted()).toBe(false);
  });
});
