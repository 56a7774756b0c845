import { describe, expect, it } from 'vitest';
import { DESCRIPTOR_SIZE, decodeTxDescriptor, TxCmd } from '../../../src/drivers/e1000/descriptors.ts';
import { E1000ConfigError } from '../../../src/drivers/e1000/errors.ts';
import { Reg } from '../../../src/drivers/e1000/registers.ts';
import { PACKET_BUFFER_SIZE } from '../../../src/drivers/e1000/ring-layout.ts';
import { TxRing } from '../../../src/drivers/e1000/tx-ring.ts';
import { BumpDma, FakeRegisters, RecordingMemory, RingModel } from './fakes.ts';

function frame(length: number, seed: number): Buffer {
  const f = Buffer.alloc(length);
  for (let i = 0; i < length; i++) f[i] = (seed * 31 + i) & 0xff;
  return f;
}

async function setup(size = 8) {
  const memory = new RecordingMemory();
  const regs = new FakeRegisters();
  const dma = new BumpDma();
  const ring = new TxRing(memory, regs, dma, { size });
  const model = new RingModel(regs, memory);
  await ring.program();
  memory.take();
  regs.writes.length = 0;
  return { memory, regs, dma, ring, model };
}

/** Submits `frames`, copying each into its staging view. */
function submitFrames(ring: TxRing, frames: Buffer[]): number | Promise<number> {
  return ring.submit(frames.length, (i, view) => frames[i]!.copy(view));
}

describe('TxRing', () => {
  it('rejects ring sizes the NIC cannot take', () => {
    const make = (size: number) => new TxRing(new RecordingMemory(), new FakeRegisters(), new BumpDma(), { size });
    expect(() => make(12)).toThrow(E1000ConfigError);
    expect(() => make(0)).toThrow(E1000ConfigError);
    expect(() => make(65536)).toThrow(E1000ConfigError);
  });

  it('programs base, length, head and tail with the descriptor area zeroed', async () => {
    const memory = new RecordingMemory();
    memory.bytes.fill(0xaa);
    const regs = new FakeRegisters();
    const ring = new TxRing(memory, regs, new BumpDma(), { size: 16 });
    await ring.program();
    expect(regs.writes).toEqual([
      { offset: Reg.TDBAL, value: ring.descriptors.address },
      { offset: Reg.TDBAH, value: 0 },
      { offset: Reg.TDLEN, value: 16 * DESCRIPTOR_SIZE },
      { offset: Reg.TDH, value: 0 },
      { offset: Reg.TDT, value: 0 },
    ]);
    const area = memory.bytes.subarray(ring.descriptors.address, ring.descriptors.address + 16 * DESCRIPTOR_SIZE);
    expect(area.every((b) => b === 0)).toBe(true);
  });

  it('stages a batch with one pwrite for the packets, one for the descriptors and one doorbell', async () => {
    const { memory, regs, ring } = await setup();
    const frames = [frame(100, 1), frame(60, 2), frame(1514, 3)];
    expect(await submitFrames(ring, frames)).toBe(3);
    expect(memory.take()).toEqual([
      { op: 'write', address: ring.buffers.address, length: 2 * PACKET_BUFFER_SIZE + 1514 },
      { op: 'write', address: ring.descriptors.address, length: 3 * DESCRIPTOR_SIZE },
    ]);
    expect(regs.writesTo(Reg.TDT)).toEqual([3]);
    const d = decodeTxDescriptor(memory.bytes, ring.descriptors.address + DESCRIPTOR_SIZE);
    expect(d).toMatchObject({ address: ring.buffers.address + PACKET_BUFFER_SIZE, length: 60, cmd: TxCmd.EOP | TxCmd.IFCS | TxCmd.RS });
  });

  it('splits a batch that wraps into two packet spans and two descriptor spans', async () => {
    const { memory, regs, ring, model } = await setup(8);
    await submitFrames(
      ring,
      Array.from({ length: 6 }, (_, i) => frame(64, i)),
    );
    expect(ring.reap()).toBe(6);
    memory.take();
    const frames = [frame(200, 10), frame(300, 11), frame(400, 12), frame(500, 13)];
    expect(await submitFrames(ring, frames)).toBe(4);
    const b = ring.buffers.address;
    const d = ring.descriptors.address;
    expect(memory.take()).toEqual([
      { op: 'write', address: b + 6 * PACKET_BUFFER_SIZE, length: PACKET_BUFFER_SIZE + 300 },
      { op: 'write', address: b, length: PACKET_BUFFER_SIZE + 500 },
      { op: 'write', address: d + 6 * DESCRIPTOR_SIZE, length: 2 * DESCRIPTOR_SIZE },
      { op: 'write', address: d, length: 2 * DESCRIPTOR_SIZE },
    ]);
    expect(regs.writesTo(Reg.TDT)).toEqual([6, 2]);
    expect(model.sent.slice(6)).toEqual(frames);
  });

  it('accepts at most size - 1 frames, counts the refusal and keeps order across many wraps', async () => {
    const { ring, model } = await setup(8);
    expect(ring.available).toBe(7);
    const all = Array.from({ length: 50 }, (_, i) => frame(60 + i * 7, i));
    let next = 0;
    let refusals = 0;
    while (next < all.length) {
      const batch = all.slice(next, next + 10);
      const taken = await submitFrames(ring, batch);
      if (taken < batch.length) refusals++;
      next += taken;
      expect(ring.reap()).toBe(taken);
    }
    expect(model.sent).toEqual(all);
    expect(ring.counters).toMatchObject({ submitted: 50, completed: 50, ringFull: refusals });
    expect(refusals).toBeGreaterThan(0);
  });

  it('returns 0 and rings no doorbell when the ring is full', async () => {
    const { regs, ring, model } = await setup(8);
    model.autoTransmit = false;
    expect(
      await submitFrames(
        ring,
        Array.from({ length: 7 }, (_, i) => frame(64, i)),
      ),
    ).toBe(7);
    expect(await submitFrames(ring, [frame(64, 99)])).toBe(0);
    expect(regs.writesTo(Reg.TDT)).toEqual([7]);
    expect(ring.counters.ringFull).toBe(1);
  });

  it('reap counts only descriptors with DD, in order, with a single pread', async () => {
    const { memory, ring, model } = await setup(8);
    model.autoTransmit = false;
    await submitFrames(
      ring,
      Array.from({ length: 5 }, (_, i) => frame(64, i)),
    );
    memory.take();
    expect(ring.reap()).toBe(0);
    model.transmit(2);
    expect(ring.reap()).toBe(2);
    expect(ring.inFlight).toBe(3);
    model.transmit();
    expect(ring.reap()).toBe(3);
    expect(ring.reap()).toBe(0);
    const d = ring.descriptors.address;
    // The last reap had nothing in flight: no read at all.
    expect(memory.take()).toEqual([
      { op: 'read', address: d, length: 5 * DESCRIPTOR_SIZE },
      { op: 'read', address: d, length: 5 * DESCRIPTOR_SIZE },
      { op: 'read', address: d + 2 * DESCRIPTOR_SIZE, length: 3 * DESCRIPTOR_SIZE },
    ]);
  });

  it('ends a batch early when fill returns 0', async () => {
    const { regs, ring } = await setup(8);
    const taken = await ring.submit(5, (i, view) => (i < 2 ? frame(80, i).copy(view) : 0));
    expect(taken).toBe(2);
    expect(ring.tailIndex).toBe(2);
    expect(regs.writesTo(Reg.TDT)).toEqual([2]);
    expect(await ring.submit(3, () => 0)).toBe(0);
    expect(regs.writesTo(Reg.TDT)).toEqual([2]);
  });

  it('throws on an impossible frame length without handing anything over', async () => {
    const { memory, regs, ring } = await setup(8);
    await expect(ring.submit(3, (i, view) => (i === 1 ? PACKET_BUFFER_SIZE + 1 : frame(64, i).copy(view)))).rejects.toThrow(E1000ConfigError);
    expect(ring.tailIndex).toBe(0);
    expect(ring.counters.submitted).toBe(0);
    expect(memory.take()).toEqual([]);
    expect(regs.writesTo(Reg.TDT)).toEqual([]);
  });

  it('sets IDE on descriptors while an interrupt delay is enabled', async () => {
    const { memory, ring } = await setup(8);
    ring.setInterruptDelay(true);
    await submitFrames(ring, [frame(64, 1)]);
    ring.setInterruptDelay(false);
    await submitFrames(ring, [frame(64, 2)]);
    const d = ring.descriptors.address;
    expect(decodeTxDescriptor(memory.bytes, d).cmd & TxCmd.IDE).toBe(TxCmd.IDE);
    expect(decodeTxDescriptor(memory.bytes, d + DESCRIPTOR_SIZE).cmd & TxCmd.IDE).toBe(0);
  });

  it('release frees both DMA regions', async () => {
    const { dma, ring } = await setup(8);
    ring.release();
    expect(dma.live.size).toBe(0);
    expect(dma.freed.map((r) => r.tag).sort()).toEqual(['e1000 tx buffers', 'e1000 tx descriptors']);
  });
});
