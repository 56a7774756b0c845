import { afterEach, describe, expect, it } from 'vitest';
import { DeviceRegisters, TraceBuffer, type TraceFormatter } from '../../../src/kernel/index.ts';
import { makeRig, type Rig } from './fakes.ts';

let rig: Rig;
afterEach(async () => rig?.cleanup());

describe('trace buffer with lazily formatted events', () => {
  it('formats a lazy event from its raw fields only when the trace is read', () => {
    const t = new TraceBuffer(4);
    const calls: string[] = [];
    const fmt: TraceFormatter = {
      formatTrace(kind, a, b, name) {
        calls.push(kind);
        return `${kind}:${a}:${b}:${name}`;
      },
    };
    t.recordLazy('mmio-rd', 1, fmt, 0xc0, 7, 'Isr');
    t.record('irq', 'line 11 raised');
    expect(calls).toEqual([]);
    expect(t.tail()).toEqual([
      { t: expect.any(Number), kind: 'mmio-rd', processor: 1, detail: 'mmio-rd:192:7:Isr' },
      { t: expect.any(Number), kind: 'irq', detail: 'line 11 raised' },
    ]);
    expect(calls).toEqual(['mmio-rd']);
  });

  it('keeps the last N events in order across the wrap, mixing eager and lazy ones', () => {
    const t = new TraceBuffer(3);
    const fmt: TraceFormatter = { formatTrace: (_k, a) => `lazy ${a}` };
    for (let i = 0; i < 7; i++) {
      if (i % 2 === 0) t.recordLazy('mmio-wr', 0, fmt, i, 0, '');
      else t.record('dpc', `eager ${i}`, 0);
    }
    expect(t.tail().map((e) => e.detail)).toEqual(['lazy 4', 'eager 5', 'lazy 6']);
    expect(t.size).toBe(3);
    t.clear();
    expect(t.tail()).toEqual([]);
  });

  it('a formatter that throws still yields an event (a report must come out)', () => {
    const t = new TraceBuffer(2);
    t.recordLazy(
      'mmio-rd',
      0,
      {
        formatTrace: () => {
          throw new Error('boom');
        },
      },
      0,
      0,
      '',
    );
    expect(t.tail()[0]!.detail).toContain('boom');
  });

  it('a register access is shown with the register name, value and the routine that made it', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device, { name: 'nic', registerName: (o) => (o === 0x8 ? 'STATUS' : undefined) });
    device.regs.set(0x8, 0x80080783);
    await kernel.runAtPassive('ReadStatus', async () => {
      await regs.read32(0x8);
      await regs.write32(0x3818, 0x40);
    });
    const text = kernel.trace
      .tail()
      .filter((e) => e.kind.startsWith('mmio'))
      .map((e) => `${e.processor} ${e.kind} ${e.detail}`);
    expect(text).toEqual(['0 mmio-rd nic.STATUS(0x8) -> 0x80080783 by ReadStatus', '0 mmio-wr nic[0x3818] <- 0x40 by ReadStatus']);
  });
});
