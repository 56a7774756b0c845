import { describe, expect, it } from 'vitest';
import { DmaAllocator } from '../../../src/platform/dma-allocator.ts';
import { DmaError } from '../../../src/platform/errors.ts';

const MiB = 1024 * 1024;

describe('DmaAllocator', () => {
  it('places regions at or above 1 MiB by default, aligned as asked', () => {
    const dma = new DmaAllocator(4 * MiB);
    const a = dma.alloc(10, { tag: 'a' });
    const b = dma.alloc(100, { align: 4096, tag: 'ring' });
    const c = dma.alloc(3, { align: 128 });
    expect(a.address).toBeGreaterThanOrEqual(MiB);
    expect(a.address % 64).toBe(0);
    expect(b.address % 4096).toBe(0);
    expect(c.address % 128).toBe(0);
    expect(b.tag).toBe('ring');
    expect(dma.inUse).toBe(113);
  });

  it('never hands out overlapping regions', () => {
    const dma = new DmaAllocator(2 * MiB);
    const regions = [];
    for (let i = 0; i < 200; i++) regions.push(dma.alloc(1 + ((i * 37) % 900), { align: 1 << (i % 9) }));
    const sorted = [...regions].sort((x, y) => x.address - y.address);
    for (let i = 1; i < sorted.length; i++) {
      expect(sorted[i]!.address).toBeGreaterThanOrEqual(sorted[i - 1]!.address + sorted[i - 1]!.size);
    }
    for (const r of regions) expect(r.address + r.size).toBeLessThanOrEqual(2 * MiB);
  });

  it('respects a custom base', () => {
    const dma = new DmaAllocator(4 * MiB, { base: 2 * MiB });
    expect(dma.alloc(16).address).toBe(2 * MiB);
  });

  it('rejects sizes and alignments that make no sense', () => {
    const dma = new DmaAllocator(2 * MiB);
    expect(() => dma.alloc(0)).toThrow(DmaError);
    expect(() => dma.alloc(-5)).toThrow(DmaError);
    expect(() => dma.alloc(1.5)).toThrow(DmaError);
    expect(() => dma.alloc(16, { align: 24 })).toThrow(DmaError);
    expect(() => new DmaAllocator(MiB)).toThrow(DmaError);
  });

  it('reports exhaustion with the request and the largest free span', () => {
    const dma = new DmaAllocator(2 * MiB);
    dma.alloc(MiB - 4096, { align: 1 });
    const err = (() => {
      try {
        dma.alloc(8192, { tag: 'big' });
      } catch (e) {
        return e as DmaError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(DmaError);
    expect(err!.context).toMatchObject({ size: 8192, tag: 'big', largestFree: 4096 });
  });

  it('reuses freed memory and merges neighbouring free spans', () => {
    const dma = new DmaAllocator(2 * MiB);
    const a = dma.alloc(MiB / 2, { align: 1 });
    const b = dma.alloc(MiB / 2, { align: 1 });
    expect(() => dma.alloc(MiB / 2, { align: 1 })).toThrow(DmaError);
    dma.free(a);
    dma.free(b);
    expect(dma.inUse).toBe(0);
    // Only possible if a's and b's spans were merged into one.
    const whole = dma.alloc(MiB, { align: 1 });
    expect(whole.address).toBe(MiB);
  });

  it('detects a double free and a region it never handed out', () => {
    const dma = new DmaAllocator(2 * MiB);
    const a = dma.alloc(64, { tag: 'rx' });
    dma.free(a);
    expect(() => dma.free(a)).toThrow(/double free/);
    expect(() => dma.free({ address: 3 * MiB, size: 64, tag: 'forged' })).toThrow(DmaError);
    const b = dma.alloc(64, { tag: 'rx' });
    expect(() => dma.free({ address: b.address, size: 128, tag: 'other' })).toThrow(/does not match/);
  });

  it('freeAll releases everything and the whole window is available again', () => {
    const dma = new DmaAllocator(2 * MiB);
    const a = dma.alloc(1000);
    dma.alloc(5000);
    dma.freeAll();
    expect(dma.inUse).toBe(0);
    expect(dma.regionCount).toBe(0);
    expect(() => dma.free(a)).toThrow(DmaError);
    expect(dma.alloc(MiB, { align: 1 }).address).toBe(MiB);
  });

  it('owns() tells whether a range lies inside a live region', () => {
    const dma = new DmaAllocator(2 * MiB);
    const a = dma.alloc(256);
    expect(dma.owns(a.address + 10, 100)).toBe(true);
    expect(dma.owns(a.address + 200, 100)).toBe(false);
  });
});
