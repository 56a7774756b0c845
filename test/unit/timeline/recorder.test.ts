import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceRegisters, Dpc, Irql, type KernelObserver } from '../../../src/kernel/index.ts';
import { argsOf, RunRecorder, timelineBase, type TimelineEvent } from '../../../src/timeline/index.ts';
import { ICR, ICS, makeRig, type Rig } from '../kernel/fakes.ts';

const LINE = 11;
let rig: Rig | undefined;
afterEach(async () => {
  await rig?.cleanup();
  rig = undefined;
});

const NAMES: Record<number, string> = { [ICR]: 'ICR', [ICS]: 'ICS' };

/** Slices per track as [name, category] in begin order, checked to nest (every end closes the innermost). */
function slices(events: readonly TimelineEvent[], track: number): string[] {
  const out: string[] = [];
  let depth = 0;
  for (const e of events) {
    if (e.track !== track) continue;
    if (e.type === 'begin') {
      out.push(`${'  '.repeat(depth)}${e.category} ${e.name}`);
      depth++;
    } else if (e.type === 'end') {
      depth--;
      expect(depth).toBeGreaterThanOrEqual(0);
    }
  }
  expect(depth).toBe(0);
  return out;
}

describe('RunRecorder on a kernel (fake lines and registers)', () => {
  it('records the ISR with its register accesses and lock, the DPC it queued, a synchronize call, IRQL steps and line edges', async () => {
    rig = makeRig();
    const { kernel, device, lines } = rig;
    const rec = new RunRecorder(kernel, { name: 'unit', lines });
    const regs = new DeviceRegisters(kernel, device, { name: 'fake', registerName: (o) => NAMES[o] });
    const lock = kernel.createSpinLock('TxLock');
    const dpc = new Dpc(async function HandleInterrupt() {
      await lock.acquireAtDpcLevel();
      lock.releaseFromDpcLevel();
    });
    const interrupt = kernel.connectInterrupt({
      line: LINE,
      irql: 5,
      name: 'E1000Isr',
      isr: async () => {
        const causes = await regs.read32(ICR);
        if (causes) kernel.enqueueDpc(dpc);
        return causes !== 0;
      },
    });
    await kernel.runAtPassive('MiniportInitializeEx', async () => {
      await regs.write32(ICS, 0x80);
      await kernel.synchronizeExecution(interrupt, function SyncRoutine() {
        return true;
      });
    });
    await kernel.quiesce();
    const files = await rec.write(join(rig.dir, 'out'), 'unit-run');
    const tl = rec.timeline;

    expect(slices(tl.events, tl.processorTrack(0))).toEqual([
      'lock E1000Isr interrupt spin lock',
      '  isr E1000Isr',
      'dpc HandleInterrupt',
      '  lock TxLock',
      'lock E1000Isr interrupt spin lock',
      '  sync SyncRoutine',
    ]);
    const instants = tl.events.filter((e) => e.type === 'instant');
    const registers = instants.filter((e) => e.category === 'register').map((e) => [e.name, argsOf(e.args)?.access, argsOf(e.args)?.value]);
    expect(registers).toEqual([
      ['ICS', 'write', 0x80],
      ['ICR', 'read', 0x80],
    ]);
    expect(instants.filter((e) => e.category === 'line').map((e) => e.name)).toEqual([`line ${LINE} asserted`, `line ${LINE} deasserted`]);
    const irql = tl.events.filter((e) => e.type === 'counter' && e.track === tl.irqlTrack(0)).map((e) => (e as { value: number }).value);
    expect(irql[0]).toBe(Irql.PASSIVE_LEVEL);
    expect(irql).toContain(5);
    expect(irql).toContain(Irql.DISPATCH_LEVEL);
    expect(irql.at(-1)).toBe(Irql.PASSIVE_LEVEL);
    expect(irql.every((v, i) => i === 0 || v !== irql[i - 1])).toBe(true);

    expect(files).toEqual({ perfetto: join(rig.dir, 'out', 'unit-run.perfetto-trace'), html: join(rig.dir, 'out', 'unit-run.html') });
    expect((await readFile(files.perfetto)).length).toBeGreaterThan(100);
    expect(await readFile(files.html, 'utf8')).toContain('<title>unit</title>');
  });

  it('detaches on stop: later kernel activity is not recorded, and another observer may attach', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const rec = new RunRecorder(kernel);
    const regs = new DeviceRegisters(kernel, device);
    rec.stop();
    await kernel.runAtPassive('after', () => regs.write32(0x10, 1));
    expect(rec.timeline.events.filter((e) => e.type === 'instant')).toEqual([]);
    const seen: number[] = [];
    const other: KernelObserver = {
      routineEntered() {},
      routineReturned() {},
      irqlChanged() {},
      lockAcquired() {},
      lockReleased() {},
      registerAccessed: (_a, _d, _w, offset) => seen.push(offset),
    };
    const detach = kernel.observe(other);
    expect(() => kernel.observe(rec)).toThrow(/already attached/);
    await kernel.runAtPassive('second', () => regs.write32(0x14, 1));
    detach();
    expect(seen).toEqual([0x14]);
  });

  it('keeps slices nested when a lock is released before a lock taken after it', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const rec = new RunRecorder(kernel);
    const a = kernel.createSpinLock('A');
    const b = kernel.createSpinLock('B');
    await kernel.runAtPassive('outOfOrder', async () => {
      const old = await a.acquire();
      await b.acquireAtDpcLevel();
      a.releaseFromDpcLevel();
      await b.release(old);
    });
    rec.stop();
    expect(slices(rec.timeline.events, rec.timeline.processorTrack(0))).toEqual(['lock A', '  lock B', 'lock B']);
    const reopened = rec.timeline.events.filter((e) => e.type === 'begin' && e.args?.continued === true);
    expect(reopened.map((e) => (e as { name: string }).name)).toEqual(['B']);
  });

  it('counts events past its limit as dropped and still closes what it opened', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const rec = new RunRecorder(kernel, { limit: 3 });
    const regs = new DeviceRegisters(kernel, device);
    const lock = kernel.createSpinLock('L');
    await kernel.runAtPassive('many', async () => {
      const old = await lock.acquire();
      for (let i = 0; i < 10; i++) await regs.write32(0x10, i);
      await lock.release(old);
    });
    rec.stop();
    expect(rec.timeline.events.length).toBeLessThanOrEqual(4);
    expect(rec.timeline.dropped).toBeGreaterThanOrEqual(10);
    slices(rec.timeline.events, rec.timeline.processorTrack(0));
  });

  it('a wire frame becomes an instant with its length, addresses and EtherType, as the frame was when it passed', () => {
    rig = makeRig();
    const rec = new RunRecorder(rig.kernel);
    const frame = new Uint8Array(60);
    frame.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x08, 0x06]);
    rec.frame('host rings', 'host sent', frame);
    // The ring reuses the frame's buffer: what the timeline shows is what passed, not what is there now.
    frame.fill(0);
    rec.stop();
    const e = rec.timeline.events.at(-1)!;
    expect(e).toMatchObject({ type: 'instant', name: 'host sent', category: 'wire' });
    expect(e.type === 'instant' && argsOf(e.args)).toEqual({ length: 60, dst: 'ff:ff:ff:ff:ff:ff', src: '52:54:00:12:34:56', ethertype: '0x0806' });
    expect(rec.timeline.tracks[e.track]).toMatchObject({ name: 'host rings', kind: 'wire' });
  });
});

describe('timelineBase', () => {
  it('names files in a directory, or drops the extension of a file given', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dirql-tlbase-'));
    try {
      expect(timelineBase(dir, 'run')).toBe(join(dir, 'run'));
      expect(timelineBase(join(dir, 'x.html'), 'run')).toBe(join(dir, 'x'));
      expect(timelineBase(join(dir, 'x.perfetto-trace'), 'run')).toBe(join(dir, 'x'));
      expect(() => timelineBase(dir, '../up')).toThrow(/plain name/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
