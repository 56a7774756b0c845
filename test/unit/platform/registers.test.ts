import { describe, expect, it } from 'vitest';
import { RegisterAccessError } from '../../../src/platform/errors.ts';
import { IrqLines } from '../../../src/platform/interrupt-lines.ts';
import { MmioRegion, type MmioTransport } from '../../../src/platform/registers.ts';
import { FakeIrqSource } from '../../support/fake-irq-source.ts';

class RecordingTransport implements MmioTransport {
  readonly log: string[] = [];
  async readl(addr: number): Promise<number> {
    this.log.push(`readl ${addr.toString(16)}`);
    return 0x80080783;
  }
  writel(addr: number, value: number): void {
    this.log.push(`writel ${addr.toString(16)} ${value.toString(16)}`);
  }
  async fence(): Promise<void> {
    this.log.push('fence');
  }
}

describe('MmioRegion', () => {
  it('adds the BAR base to offsets and posts writes as unsigned 32-bit values', async () => {
    const t = new RecordingTransport();
    const r = new MmioRegion(t, 0xe0000000, 0x20000);
    expect(await r.read32(0x8)).toBe(0x80080783);
    r.write32(0xd0, -1);
    await r.flush();
    expect(t.log).toEqual(['readl e0000008', 'writel e00000d0 ffffffff', 'fence']);
  });

  it('after the device is removed, reads return all ones and writes are dropped without reaching the transport', async () => {
    const t = new RecordingTransport();
    const r = new MmioRegion(t, 0xe0000000, 0x20000);
    r.deviceRemoved();
    expect(r.isRemoved).toBe(true);
    expect(await r.read32(0x8)).toBe(0xffffffff);
    r.write32(0xd0, 1);
    await r.flush();
    expect(r.droppedWrites).toBe(1);
    expect(t.log).toEqual([]);
    await expect(r.read32(0x20000)).rejects.toBeInstanceOf(RegisterAccessError);
  });

  it('refuses offsets outside the BAR and misaligned ones, naming the register offset', async () => {
    const t = new RecordingTransport();
    const r = new MmioRegion(t, 0xe0000000, 0x20000, { name: '00:02.0 BAR0' });
    const outside = await r.read32(0x20000).catch((e: unknown) => e);
    expect(outside).toBeInstanceOf(RegisterAccessError);
    expect((outside as RegisterAccessError).context).toMatchObject({ offset: 0x20000, region: '00:02.0 BAR0' });
    expect((outside as RegisterAccessError).message).toContain('0x20000');
    await expect(r.read32(0x1fffe)).rejects.toBeInstanceOf(RegisterAccessError);
    await expect(r.read32(-4)).rejects.toBeInstanceOf(RegisterAccessError);
    expect(() => r.write32(0x6, 1)).toThrow(/not 4-byte aligned/);
    expect(() => r.write32(0x8, 2 ** 32)).toThrow(RegisterAccessError);
    expect(t.log).toEqual([]);
  });

  it('passes transport failures through the explain hook', async () => {
    const failing: MmioTransport = {
      readl: () => Promise.reject(new Error('socket closed')),
      writel: () => {
        throw new Error('socket closed');
      },
      fence: () => Promise.reject(new Error('socket closed')),
    };
    const r = new MmioRegion(failing, 0, 0x100, {
      explain: async (e) => new Error(`explained: ${(e as Error).message}`),
      explainNow: (e) => new Error(`explained now: ${(e as Error).message}`),
    });
    await expect(r.read32(0)).rejects.toThrow('explained: socket closed');
    expect(() => r.write32(0, 1)).toThrow('explained now: socket closed');
    await expect(r.flush()).rejects.toThrow('explained: socket closed');
  });
});

describe('IrqLines', () => {
  it('delivers changes of watched lines only (the PIT on IRQ 0 stays silent)', () => {
    const src = new FakeIrqSource();
    const lines = new IrqLines(src, [11]);
    const seen: Array<[number, boolean]> = [];
    lines.onChange((l, a) => seen.push([l, a]));
    src.raise(0, true);
    src.raise(11, true);
    src.raise(0, false);
    src.raise(11, false);
    expect(seen).toEqual([
      [11, true],
      [11, false],
    ]);
  });

  it('reports levels from the transport, settles through a fence, and unsubscribes', async () => {
    const src = new FakeIrqSource();
    const lines = new IrqLines(src, [11]);
    const seen: number[] = [];
    const off = lines.onChange((l) => seen.push(l));
    src.raise(11, true);
    expect(lines.isAsserted(11)).toBe(true);
    off();
    src.raise(11, false);
    expect(seen).toEqual([11]);
    await lines.settle();
    expect(src.fences).toBe(1);
    lines.dispose();
    expect(src.listenerCount('irq')).toBe(0);
  });
});
