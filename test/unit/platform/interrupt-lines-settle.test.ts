import { describe, expect, it } from 'vitest';
import { IrqLines } from '../../../src/platform/interrupt-lines.ts';
import { FakeIrqSource } from '../../support/fake-irq-source.ts';

describe('IrqLines.settleLine (after the ISRs of a line ran)', () => {
  it('does not fence a line reported low, even with commands in flight', () => {
    const src = new FakeIrqSource();
    const lines = new IrqLines(src, [11]);
    src.inFlight = 3;
    expect(lines.settleLine(11)).toBeUndefined();
    expect(src.fences).toBe(0);
  });

  it('does not fence a line reported high when every command is answered (the level is current)', () => {
    const src = new FakeIrqSource();
    const lines = new IrqLines(src, [11]);
    src.raise(11, true);
    src.inFlight = 0;
    expect(lines.settleLine(11)).toBeUndefined();
    expect(src.fences).toBe(0);
  });

  it('fences a line reported high while commands (posted writes) are unanswered', async () => {
    const src = new FakeIrqSource();
    const lines = new IrqLines(src, [11]);
    src.raise(11, true);
    src.inFlight = 1;
    await lines.settleLine(11);
    expect(src.fences).toBe(1);
  });

  it('fences a high line when the transport cannot say what is in flight', async () => {
    const src = new FakeIrqSource();
    const lines = new IrqLines(src, [11]);
    src.raise(11, true);
    src.inFlight = undefined;
    await lines.settleLine(11);
    expect(src.fences).toBe(1);
  });

  it('settle() always fences (quiesce relies on it)', async () => {
    const src = new FakeIrqSource();
    const lines = new IrqLines(src, [11]);
    await lines.settle();
    expect(src.fences).toBe(1);
  });
});
