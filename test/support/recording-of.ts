import { RECORDING_FORMAT, type Recording, type RecordEvent } from '../../src/record/format.ts';

/** A recording held in memory, for the replay's unit tests: `events` under a minimal header of `version`, on `processors`. */
export function recordingOf(events: RecordEvent[], version: number, processors: number, config: Record<string, unknown> = {}): Recording {
  return {
    file: 'test.rec',
    header: { format: RECORDING_FORMAT, version, dirqlVersion: 'test', config: { memorySize: 1 << 20, processors, ...config }, driverHash: '', startedAt: '' },
    events,
    trailer: { events: events.length, counters: {} },
  };
}
