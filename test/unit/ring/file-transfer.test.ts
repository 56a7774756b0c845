import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PacketRing, readRunFromFile, writeSlotToFile } from '../../../src/ring/index.ts';

describe('ring ↔ positional file transfers (guest RAM file stand-in)', () => {
  let dir: string;
  let path: string;
  let fd: number;
  const bufferBase = 0x10000;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dirql-ring-'));
    path = join(dir, 'ram');
    const ram = Buffer.alloc(0x40000);
    for (let i = 0; i < 8; i++) ram.fill(0x10 + i, bufferBase + i * 2048, bufferBase + (i + 1) * 2048);
    writeFileSync(path, ram);
    fd = openSync(path, 'r+');
  });

  afterEach(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads consecutive guest buffers straight into a claimed run of slots', () => {
    const ring = new PacketRing({ slotCount: 8, slotSize: 2048 });
    const producer = ring.producer();
    const claim = producer.claim(4);
    expect(readRunFromFile(fd, ring, claim.first, claim.count, bufferBase)).toBe(4 * 2048);
    producer.publish(claim.count, [60, 1514, 2048, 100]);
    const seen: Array<[number, number]> = [];
    ring.consumer().dequeueBatch((view, length) => {
      expect(view.subarray(0, length).every((b) => b === view[0])).toBe(true);
      seen.push([view[0]!, length]);
    });
    expect(seen).toEqual([
      [0x10, 60],
      [0x11, 1514],
      [0x12, 2048],
      [0x13, 100],
    ]);
  });

  it('reads buffers with a stride other than the slot size one by one', () => {
    const ring = new PacketRing({ slotCount: 4, slotSize: 1024 });
    const producer = ring.producer();
    const claim = producer.claim(3);
    expect(readRunFromFile(fd, ring, claim.first, claim.count, bufferBase, 4096, 1024)).toBe(3 * 1024);
    expect([0, 1, 2].map((slot) => ring.slotView(slot)[1023])).toEqual([0x10, 0x12, 0x14]);
  });

  it('writes a dequeued frame to the file at the given position, exactly its length', () => {
    const ring = new PacketRing({ slotCount: 4, slotSize: 2048 });
    ring.producer().tryEnqueue(Buffer.alloc(70, 0xab));
    const consumer = ring.consumer();
    const run = consumer.peek(1);
    expect(writeSlotToFile(fd, ring, run.first, 0x30000)).toBe(70);
    consumer.release(1);
    const ram = readFileSync(path);
    expect(ram.subarray(0x30000, 0x30000 + 70).every((b) => b === 0xab)).toBe(true);
    expect(ram[0x30000 + 70]).toBe(0);
  });
});
