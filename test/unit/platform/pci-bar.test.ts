import { describe, expect, it } from 'vitest';
import { barAddress, barKind, barOffset, decodeBarSize } from '../../../src/platform/pci-bar.ts';

describe('PCI BAR decoding', () => {
  it('decodes the e1000 BAR0 read-back as 128 KiB of 32-bit memory', () => {
    expect(barKind(0xfffe0000)).toBe('mem32');
    expect(decodeBarSize(0xfffe0000)).toBe(128 * 1024);
  });

  it('decodes a 16-bit I/O BAR whose upper half reads as zero', () => {
    expect(barKind(0x0000ffc1)).toBe('io');
    expect(decodeBarSize(0x0000ffc1)).toBe(64);
  });

  it('decodes a 32-bit I/O BAR read-back', () => {
    expect(decodeBarSize(0xffffffc1)).toBe(64);
    expect(decodeBarSize(0xffffff01)).toBe(256);
  });

  it('decodes a 64-bit prefetchable BAR with its upper dword', () => {
    expect(barKind(0xfff0000c)).toBe('mem64');
    expect(decodeBarSize(0xfff0000c, 0xffffffff)).toBe(1024 * 1024);
    expect(decodeBarSize(0x0000000c, 0xfffffffe)).toBe(8 * 1024 * 1024 * 1024);
  });

  it('treats an all-zero read-back as an unimplemented BAR', () => {
    expect(decodeBarSize(0)).toBe(0);
  });

  it('strips flag bits from BAR values and finds BAR offsets', () => {
    expect(barAddress(0xe0000008)).toBe(0xe0000000);
    expect(barAddress(0x0000c001)).toBe(0xc000);
    expect(barOffset(0)).toBe(0x10);
    expect(barOffset(5)).toBe(0x24);
  });
});
