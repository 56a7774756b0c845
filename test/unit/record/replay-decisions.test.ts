/**
 * A replay on several processors takes the scheduler's turns where the recording took them: the
 * stream holds what was recorded after a turn until the scheduler took it, and the scheduler waits
 * for the stream to deliver what was recorded before it (REPLAY, no QEMU).
 */
import { describe, expect, it } from 'vitest';
import { RecordKind, type Recording, type RecordEvent } from '../../../src/record/format.ts';
import { ReplaySession } from '../../../src/record/replay-machine.ts';
import { ReplayQtestStream } from '../../../src/record/replay-stream.ts';
import { QtestClient } from '../../../src/transport/qtest-client.ts';
import { recordingOf as recordingOfVersion } from '../../support/recording-of.ts';

const turn = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

const recordingOf = (events: RecordEvent[], version = 4, config: Record<string, unknown> = {}): Recording => recordingOfVersion(events, version, 2, config);

describe('scheduler turns as barriers of a replay', () => {
  it('the stream delivers nothing recorded after a turn until the replay took it, and says when it reached it', async () => {
    const events: RecordEvent[] = [
      [RecordKind.Command, 'readl 0xfebc00c0'],
      [RecordKind.Schedule, 'of 1: dpc:D@0', 0],
      [RecordKind.Reply, 'OK 0x4'],
    ];
    const reached: number[] = [];
    const stream = new ReplayQtestStream(events, 'test.rec', undefined, { reached: (p) => reached.push(p) });
    const client = new QtestClient(stream.asSocket());
    let value: number | undefined;
    const read = client.readl(0xfebc00c0).then((v) => (value = v));
    while (reached.length === 0) await turn();
    expect(reached[0]).toBe(1);
    expect(stream.position).toBe(1);
    await turn();
    expect(value).toBeUndefined();
    stream.decide(1);
    await read;
    expect(value).toBe(4);
    client.close();
  });

  it('without decisions to wait for, a stream passes the recorded turns as before', async () => {
    const stream = new ReplayQtestStream([
      [RecordKind.Command, 'readl 0xfebc00c0'],
      [RecordKind.Schedule, 'of 1: dpc:D@0', 0],
      [RecordKind.Reply, 'OK 0x4'],
    ]);
    const client = new QtestClient(stream.asSocket());
    expect(await client.readl(0xfebc00c0)).toBe(4);
    client.close();
  });

  it("a session's scheduler turn waits (-1) until the stream delivered what came before it, and wakes the scheduler then", async () => {
    const session = new ReplaySession(
      recordingOf([
        [RecordKind.Command, 'readl 0xfebc00c0'],
        [RecordKind.Reply, 'OK 0x4'],
        [RecordKind.Schedule, 'of 2: dpc:D@1', 1],
        [RecordKind.Reply, 'OK'],
      ]),
    );
    let woken = 0;
    session.choices.attach!(() => woken++);
    const labels = ['thread:T@0', 'dpc:D@1'];
    expect(session.choices.below(2, labels)).toBe(-1);
    const client = new QtestClient(session.stream.asSocket());
    expect(await client.readl(0xfebc00c0)).toBe(4);
    while (woken === 0) await turn();
    expect(session.stream.position).toBe(2);
    expect(session.choices.below(1, ['thread:T@0'])).toBe(-1);
    expect(session.choices.below(2, labels)).toBe(1);
    // Taken: what was recorded after the turn is delivered.
    while (session.stream.position < 4) await turn();
    client.close();
  });
});

describe('processor choices as barriers of a replay (version 7)', () => {
  const events: RecordEvent[] = [
    [RecordKind.Command, 'readl 0xfebc00c0'],
    [RecordKind.Reply, 'OK 0x4'],
    [RecordKind.Schedule, 'of 2: processor 1', 1],
    [RecordKind.Reply, 'OK'],
  ];

  it('a processor choice is due once the stream delivered what came before it, and takes the recorded processor by its label', async () => {
    const session = new ReplaySession(recordingOf(events, 7));
    expect(session.choices.everyChoice).toBe(true);
    expect(session.choices.choiceDue!()).toBe(false);
    const client = new QtestClient(session.stream.asSocket());
    expect(await client.readl(0xfebc00c0)).toBe(4);
    while (session.stream.position < 2) await turn();
    expect(session.choices.choiceDue!()).toBe(true);
    // Listed in another order this time: the same processor, wherever it is.
    expect(session.choices.below(2, ['processor 1', 'processor 0'])).toBe(0);
    expect(session.divergence).toBeUndefined();
    while (session.stream.position < 4) await turn();
    client.close();
  });

  it('a scheduler turn asked at a processor choice waits for it; the recorded processor not among the candidates is the divergence', async () => {
    const session = new ReplaySession(recordingOf(events, 7));
    const client = new QtestClient(session.stream.asSocket());
    expect(await client.readl(0xfebc00c0)).toBe(4);
    while (session.stream.position < 2) await turn();
    expect(session.choices.below(1, ['thread:T@0'])).toBe(-1);
    expect(session.choices.below(1, ['processor 0'])).toBe(0);
    expect(session.divergence?.context).toMatchObject({ position: 2, expected: 'choice of 2: processor 1', actual: 'choice among processor 0' });
    client.close();
  });

  it('a recording before version 7 logged only choices among several: its replay is not asked the others', () => {
    expect(new ReplaySession(recordingOf(events, 6)).choices.everyChoice).toBe(false);
  });
});

describe("a processor's service start as a turn of a replay (version 10)", () => {
  const events: RecordEvent[] = [
    [RecordKind.Command, 'readl 0xfebc00c0'],
    [RecordKind.Reply, 'OK 0x4'],
    [RecordKind.Schedule, 'of 1: service@1', 0],
    [RecordKind.Schedule, 'of 2: dpc:D@1', 1],
    [RecordKind.Reply, 'OK'],
  ];

  it('waits for the stream, then is taken by its label; the turn recorded right after it is due at once', async () => {
    const session = new ReplaySession(recordingOf(events, 10));
    expect(session.choices.services).toBe(true);
    expect(session.choices.below(1, ['service@1'])).toBe(-1);
    const client = new QtestClient(session.stream.asSocket());
    expect(await client.readl(0xfebc00c0)).toBe(4);
    while (session.stream.position < 2) await turn();
    // The DPC's turn comes after the service start in the recording: it waits for it.
    expect(session.choices.below(2, ['thread:T@0', 'dpc:D@1'])).toBe(-1);
    expect(session.choices.below(1, ['service@0'])).toBe(-1);
    expect(session.choices.below(1, ['service@1'])).toBe(0);
    expect(session.stream.position).toBe(2);
    expect(session.choices.below(2, ['thread:T@0', 'dpc:D@1'])).toBe(1);
    expect(session.divergence).toBeUndefined();
    while (session.stream.position < 5) await turn();
    client.close();
  });

  it('a recording before version 10 has no service turns: its replay is not asked them', () => {
    expect(new ReplaySession(recordingOf(events, 9)).choices.services).toBe(false);
  });
});
