/**
 * A replay gives the driver the recorded time readings (kind 12), in order, and the recorded boot
 * time; a reading the recording does not have is a divergence (REPLAY, no QEMU).
 */
import { describe, expect, it } from 'vitest';
import { Kernel } from '../../../src/kernel/index.ts';
import { RecordKind, RECORDING_FORMAT, type Recording, type RecordEvent } from '../../../src/record/format.ts';
import { ReplaySession } from '../../../src/record/replay-machine.ts';

function recordingOf(events: RecordEvent[], bootMs?: number): Recording {
  return {
    file: 'time.rec',
    header: {
      format: RECORDING_FORMAT,
      version: 6,
      dirqlVersion: 'test',
      config: { memorySize: 1 << 20 },
      driverHash: '',
      startedAt: '',
      ...(bootMs !== undefined ? { bootMs } : {}),
    },
    events,
    trailer: { events: events.length, counters: {} },
  };
}

describe('time readings in a replay', () => {
  it("the driver reads the recorded times in order and the recorded boot, whatever the replay's own time", () => {
    const bootMs = Date.UTC(2026, 11, 6);
    const session = new ReplaySession(
      recordingOf(
        [
          [RecordKind.TimeReading, 1000.25],
          [RecordKind.Command, 'readl 0xfebc0008'],
          [RecordKind.TimeReading, 1031.5],
        ],
        bootMs,
      ),
    );
    const kernel = new Kernel({ clock: session.clock });
    expect(kernel.queryInterruptTimePrecise()).toBe(10_002_500n);
    expect(kernel.querySystemTime()).toBe(116_444_736_000_000_000n + BigInt(bootMs) * 10_000n + 10_312_500n);
    expect(session.divergence).toBeUndefined();
  });

  it('a reading more than the recording has is reported as the first divergence, and time does not go back', async () => {
    const session = new ReplaySession(recordingOf([[RecordKind.TimeReading, 5]]));
    // The divergence ends the stream with it, as the driver's qtest client would see.
    const ended = new Promise<unknown>((resolve) => session.stream.once('error', resolve));
    expect(session.clock.read()).toBe(5);
    expect(session.clock.bootMs).toBe(0);
    expect(session.clock.read()).toBe(5);
    const d = session.divergence;
    expect(d).toBeDefined();
    expect(d!.message).toContain('the driver read the time a 2nd time, the recording has 1 reading(s)');
    expect(d!.context).toMatchObject({ file: 'time.rec', expected: '1 time reading(s)', actual: 'time reading 2' });
    expect(await ended).toBe(d);
  });
});
