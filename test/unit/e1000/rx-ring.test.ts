import { describe, expect, it } from 'vitest';
import { DESCRIPTOR_SIZE, decodeRxDescriptor, RxErrors, RxStatus } from '../../../src/drivers/e1000/descriptors.ts';
import { Reg } from '../../../src/drivers/e1000/registers.ts';
import { PACKET_BUFFER_SIZE } from '../../../src/drivers/e1000/ring-layout.ts';
import { RxRing } from '../../../src/drivers/e1000/rx-ring.ts';
import { BumpDma, FakeRegisters, RecordingMemory, RingModel } from './fakes.ts';

function frame(length: number, seed: number): Buffer {
  const f = Buffer.alloc(length);
  for (let i = 0; i < length; i++) f[i] = (seed * 17 + i * 3) & 0xff;
  return f;
}

async function setup(size = 8) {
  const memory = new RecordingMemory();
  memory.bytes.fill(0x5a);
  const regs = new FakeRegisters();
  const dma = new BumpDma();
  const ring = new RxRing(memory, regs, dma, { size });
  const model = new RingModel(regs, memory);
  await ring.program();
  memory.take();
  regs.writes.length = 0;
  return { memory, regs, dma, ring, model };
}

interface Got {
  data: Buffer;
  status: number;
  errors: number;
}

function collect(ring: RxRing, max = 1000): Got[] {
  const got: Got[] = [];
  ring.harvest(max, (view, length, status, errors) => {
    got.push({ data: Buffer.from(view.subarray(0, length)), status, errors });
    return true;
  });
  return got;
}

describe('RxRing', () => {
  it('hands every descriptor but one to the NIC, each with its own buffer and no stale write-back', async () => {
    const memory = new RecordingMemory();
    memory.bytes.fill(0x5a);
    const regs = new FakeRegisters();
    const ring = new RxRing(memory, regs, new BumpDma(), { size: 8 });
    await ring.program();
    expect(regs.writes).toEqual([
      { offset: Reg.RDBAL, value: ring.descriptors.address },
      { offset: Reg.RDBAH, value: 0 },
      { offset: Reg.RDLEN, value: 8 * DESCRIPTOR_SIZE },
      { offset: Reg.RDH, value: 0 },
      { offset: Reg.RDT, value: 7 },
    ]);
    for (let slot = 0; slot < 8; slot++) {
      expect(decodeRxDescriptor(memory.bytes, ring.descriptors.address + slot * DESCRIPTOR_SIZE)).toEqual({
        address: ring.buffers.address + slot * PACKET_BUFFER_SIZE,
        length: 0,
        checksum: 0,
        status: 0,
        errors: 0,
        special: 0,
      });
    }
    expect(ring.nicOwned).toBe(7);
  });

  it('delivers received frames in order, byte-identical, short ones padded to 60', async () => {
    const { ring, model } = await setup();
    const frames = [frame(42, 1), frame(1514, 2), frame(60, 3)];
    for (const f of frames) expect(model.inject(f)).toBe(true);
    const got = collect(ring);
    expect(got.map((g) => g.data)).toEqual([Buffer.concat([frames[0]!, Buffer.alloc(18)]), frames[1], frames[2]]);
    expect(got.every((g) => g.status === (RxStatus.DD | RxStatus.EOP) && g.errors === 0)).toBe(true);
    expect(ring.counters).toMatchObject({ received: 3, bytes: 60 + 1514 + 60 });
  });

  it('reads descriptors with one pread and the packets with one pread per contiguous run, naming the frames in it as what it uses', async () => {
    const { memory, ring, model } = await setup(8);
    model.inject(frame(100, 1));
    model.inject(frame(200, 2));
    memory.take();
    expect(collect(ring)).toHaveLength(2);
    expect(memory.take()).toEqual([
      { op: 'read', address: ring.descriptors.address, length: 7 * DESCRIPTOR_SIZE },
      { op: 'read', address: ring.buffers.address, length: PACKET_BUFFER_SIZE + 200, used: [0, 100, PACKET_BUFFER_SIZE, 200] },
    ]);
  });

  it('reads nothing but descriptors when no frame is ready', async () => {
    const { memory, ring } = await setup(8);
    expect(collect(ring)).toEqual([]);
    expect(memory.take()).toEqual([{ op: 'read', address: ring.descriptors.address, length: 7 * DESCRIPTOR_SIZE }]);
  });

  it('refill zeroes status and errors before the NIC reuses a descriptor, with one pwrite and one RDT write', async () => {
    const { memory, regs, ring, model } = await setup(8);
    model.inject(frame(64, 1), RxErrors.RXE);
    model.inject(frame(64, 2));
    const got = collect(ring);
    expect(got.map((g) => g.errors)).toEqual([RxErrors.RXE, 0]);
    expect(ring.counters.rxErrors).toBe(1);
    memory.take();
    expect(await ring.refill()).toBe(2);
    // The hole at slot 7 and harvested slot 0 go back; slot 1 becomes the new hole.
    expect(memory.take()).toEqual([
      { op: 'write', address: ring.descriptors.address + 7 * DESCRIPTOR_SIZE, length: DESCRIPTOR_SIZE },
      { op: 'write', address: ring.descriptors.address, length: DESCRIPTOR_SIZE },
    ]);
    expect(regs.writesTo(Reg.RDT)).toEqual([1]);
    const d0 = decodeRxDescriptor(memory.bytes, ring.descriptors.address);
    expect(d0).toEqual({ address: ring.buffers.address, length: 0, checksum: 0, status: 0, errors: 0, special: 0 });
  });

  it('keeps frames in order across many wraps, and the NIC never sees a stale error bit', async () => {
    const { regs, ring, model } = await setup(8);
    const sent: Buffer[] = [];
    const got: Got[] = [];
    for (let round = 0; round < 12; round++) {
      for (let i = 0; i < 5; i++) {
        const f = frame(60 + ((round * 5 + i) % 40), round * 5 + i);
        // Every other frame of the first rounds carries an error; later frames must come out clean.
        if (model.inject(f, round < 2 && i % 2 === 0 ? RxErrors.CE : 0)) sent.push(f);
      }
      got.push(...collect(ring));
      await ring.refill();
    }
    expect(got.map((g) => g.data)).toEqual(sent);
    expect(got.slice(10).every((g) => g.errors === 0)).toBe(true);
    expect(regs.writesTo(Reg.RDT)).toHaveLength(12);
  });

  it('keeps a refused frame for the next harvest', async () => {
    const { ring, model } = await setup(8);
    const frames = [frame(70, 1), frame(80, 2), frame(90, 3)];
    for (const f of frames) model.inject(f);
    const first: Buffer[] = [];
    const n = ring.harvest(10, (view, length) => {
      if (first.length === 1) return false;
      first.push(Buffer.from(view.subarray(0, length)));
      return true;
    });
    expect(n).toBe(1);
    expect(ring.counters.visitorFull).toBe(1);
    expect(collect(ring).map((g) => g.data)).toEqual(frames.slice(1));
  });

  it('harvests at most max frames', async () => {
    const { ring, model } = await setup(8);
    for (let i = 0; i < 5; i++) model.inject(frame(64, i));
    expect(collect(ring, 2)).toHaveLength(2);
    expect(collect(ring, 10)).toHaveLength(3);
  });

  it('drops a frame spread over several descriptors (no EOP) and counts it', async () => {
    const { memory, ring, model } = await setup(8);
    model.inject(frame(64, 1));
    // Hand-written write-back of a 2-descriptor frame in slots 1 and 2.
    const d = ring.descriptors.address;
    memory.bytes.writeUInt16LE(PACKET_BUFFER_SIZE, d + DESCRIPTOR_SIZE + 8);
    memory.bytes[d + DESCRIPTOR_SIZE + 12] = RxStatus.DD;
    memory.bytes.writeUInt16LE(100, d + 2 * DESCRIPTOR_SIZE + 8);
    memory.bytes[d + 2 * DESCRIPTOR_SIZE + 12] = RxStatus.DD | RxStatus.EOP;
    model.regs.values.set(Reg.RDH, 3);
    model.inject(frame(64, 4));
    const got = collect(ring);
    expect(got.map((g) => g.data)).toEqual([frame(64, 1), frame(64, 4)]);
    expect(ring.counters.fragmentsDropped).toBe(1);
    expect(ring.pendingRefill).toBe(4);
  });

  it('release frees both DMA regions', async () => {
    const { dma, ring } = await setup(8);
    ring.release();
    expect(dma.live.size).toBe(0);
  });
});
