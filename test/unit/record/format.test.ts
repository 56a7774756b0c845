import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Packr } from 'msgpackr';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordingCorruptError, RecordingTruncatedError, RecordingVersionError } from '../../../src/record/errors.ts';
import { RECORDING_VERSION, RecordKind, RecordingWriter, parseRecording, readRecording, type RecordEvent } from '../../../src/record/format.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirql-rec-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const header = { dirqlVersion: '0.1.0', config: { framework: 'ndis6', seed: 1 }, driverHash: 'ab'.repeat(32), startedAt: '2026-01-01T00:00:00Z' };

async function sample(name: string, events: RecordEvent[]): Promise<string> {
  const file = path.join(dir, name);
  const w = new RecordingWriter(file, header);
  for (const e of events) w.event(e);
  await w.close({ counters: { rx: 1 } });
  return file;
}

const events: RecordEvent[] = [
  [RecordKind.Command, 'readl 0xfebc0008'],
  [RecordKind.Reply, 'OK 0x80080783'],
  [RecordKind.Irq, 11, true],
  [RecordKind.MemoryRead, 0x200000, new Uint8Array([1, 2, 3])],
  [RecordKind.Time, 'watchdog routine', 3, 25.5],
  [RecordKind.Schedule, 'deliver', 1],
];

describe('recording format', () => {
  it('reads back what was written, header, events in order and trailer', async () => {
    const rec = readRecording(await sample('ok.rec', events));
    expect(rec.header).toMatchObject({ format: 'dirql-recording', version: RECORDING_VERSION, ...header });
    expect(rec.events.map((e) => e[0])).toEqual(events.map((e) => e[0]));
    expect(Buffer.from(rec.events[3]![2] as Uint8Array)).toEqual(Buffer.from([1, 2, 3]));
    expect(rec.trailer).toEqual({ events: events.length, counters: { rx: 1 } });
  });

  it('a file cut off anywhere is truncated, never read as complete', async () => {
    const whole = fs.readFileSync(await sample('cut.rec', events));
    for (const n of [0, 3, 8, 12, 20, whole.length - 1]) {
      expect(() => parseRecording(whole.subarray(0, n)), `cut at ${n}`).toThrow(RecordingTruncatedError);
    }
  });

  it('a flipped byte, foreign bytes or a bad length are corrupt', async () => {
    const whole = fs.readFileSync(await sample('flip.rec', events));
    const flipped = Buffer.from(whole);
    flipped.writeUInt8(flipped.readUInt8(whole.length - 20) ^ 0xff, whole.length - 20);
    expect(() => parseRecording(flipped)).toThrow(/fails its checksum/);
    expect(() => parseRecording(Buffer.from('{"not": "a recording"}'))).toThrow(RecordingCorruptError);
    const long = Buffer.from(whole);
    long.writeUInt32LE(0xfffffff0, 8);
    expect(() => parseRecording(long)).toThrow(RecordingCorruptError);
    expect(() => parseRecording(Buffer.concat([whole, Buffer.from([0])]))).toThrow(/after the trailer/);
  });

  it('another format version is refused by name', () => {
    const body = new Packr({ useRecords: false }).pack([RecordKind.Header, { ...header, format: 'dirql-recording', version: 1 }]);
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32LE(body.length, 0);
    prefix.writeUInt32LE(crc32(body), 4);
    const buf = Buffer.concat([Buffer.from('DIRQLREC'), prefix, body]);
    expect(() => parseRecording(buf)).toThrow(RecordingVersionError);
    expect(() => parseRecording(buf)).toThrow(new RegExp(`version 1, this dirql reads versions 4, 5, 6, 7, 8, 9 and ${RECORDING_VERSION}`));
  });
});
