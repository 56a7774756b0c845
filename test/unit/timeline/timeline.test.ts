import { describe, expect, it } from 'vitest';
import { Timeline, TimelineError } from '../../../src/timeline/index.ts';

describe('Timeline', () => {
  it('refuses an end with no open slice, counter values on slice tracks and slices on counter tracks', () => {
    const tl = new Timeline({ processors: 1 });
    expect(() => tl.end(tl.processorTrack(0))).toThrow(TimelineError);
    expect(() => tl.counter(tl.processorTrack(0), 1)).toThrow(/takes slices and instants/);
    expect(() => tl.begin(tl.irqlTrack(0), 'x', 'isr')).toThrow(/counter track/);
    expect(() => tl.processorTrack(3)).toThrow(/no track CPU 3/);
  });

  it('past its limit counts events as dropped but still ends the slices it stored, so the trace nests', () => {
    const tl = new Timeline({ processors: 1, limit: 3 });
    const cpu = tl.processorTrack(0);
    tl.begin(cpu, 'outer', 'dpc');
    tl.instant(cpu, 'a', 'register');
    tl.instant(cpu, 'b', 'register');
    tl.begin(cpu, 'inner', 'isr');
    tl.end(cpu);
    tl.end(cpu);
    expect(tl.events.map((e) => e.type)).toEqual(['begin', 'instant', 'instant', 'end']);
    expect(tl.dropped).toBe(2);
  });

  it('closeAll ends every open slice (a run stopped mid-ISR)', () => {
    const tl = new Timeline({ processors: 2 });
    tl.begin(tl.processorTrack(0), 'DPC', 'dpc');
    tl.begin(tl.processorTrack(0), 'ISR', 'isr');
    tl.begin(tl.processorTrack(1), 'sync', 'sync');
    tl.closeAll();
    expect(tl.events.filter((e) => e.type === 'end')).toHaveLength(3);
    expect(() => tl.end(tl.processorTrack(0))).toThrow(TimelineError);
  });
});
