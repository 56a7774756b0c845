/**
 * A replay hands the driver the recorded send batches where the recording did: what the NIC did
 * after a hand-out (its interrupt, a reply) reaches the driver only once the replay's send path
 * has made that hand-out, so a DPC finds the batch the recorded DPC found (REPLAY, no QEMU).
 */
import { describe, expect, it } from 'vitest';
import { RecordKind, type Recording, type RecordEvent } from '../../../src/record/format.ts';
import { ReplaySession } from '../../../src/record/replay-machine.ts';
import { QtestClient } from '../../../src/transport/qtest-client.ts';
import { recordingOf as recordingOfVersion } from '../../support/recording-of.ts';

const recordingOf = (events: RecordEvent[], version = 6, config: Record<string, unknown> = {}): Recording => recordingOfVersion(events, version, 1, config);

// The shape of the session that exposed it: the send path took a batch, then the e1000 raised its
// line (TXDW) and the ISR read ICR.
const events: RecordEvent[] = [
  [RecordKind.Command, 'readl 0xfebc0008'],
  [RecordKind.Reply, 'OK 0x80080783'],
  [RecordKind.Host, 'take', 44],
  [RecordKind.Host, 'send', [new Uint8Array(60)]],
  [RecordKind.Irq, 11, true],
  [RecordKind.Command, 'readl 0xfebc00c0'],
  [RecordKind.Reply, 'OK 0x3'],
];

function raised(client: QtestClient): Promise<number> {
  return new Promise((resolve) => client.once('irq', (line: number) => resolve(line)));
}

describe('send-path hand-outs as barriers of a replay', () => {
  it('the stream stops at a recorded hand-out and raises the interrupt recorded after it only once the send path made it', async () => {
    const session = new ReplaySession(recordingOf(events));
    const handOuts = session.handOuts();
    const sends: number[] = [];
    session.onHost = (e, position) => {
      if (e[1] === 'send') sends.push(position);
    };
    const client = new QtestClient(session.stream.asSocket());
    const irq = raised(client);
    let line: number | undefined;
    void irq.then((l) => (line = l));
    expect(await client.readl(0xfebc0008)).toBe(0x80080783);
    // The host's send recorded after the hand-out is delivered (an echo's sends and hand-outs come
    // inside one DPC); the IRQ line waits for the hand-out.
    expect(sends).toEqual([3]);
    expect(session.stream.position).toBe(4);
    expect(line).toBeUndefined();
    expect(handOuts.next?.()).toBe(44);
    handOuts.handedOut(44);
    expect(await irq).toBe(11);
    expect(await client.readl(0xfebc00c0)).toBe(3);
    expect(session.divergence).toBeUndefined();
    client.close();
  });

  it('a hand-out of another size lets the stream go on and is the divergence', async () => {
    const session = new ReplaySession(recordingOf(events));
    const handOuts = session.handOuts();
    const client = new QtestClient(session.stream.asSocket());
    expect(await client.readl(0xfebc0008)).toBe(0x80080783);
    handOuts.handedOut(12);
    expect(session.divergence?.context).toMatchObject({ position: 2, expected: 44, actual: 12 });
    client.close();
  });

  it('a session whose host takes no hand-outs from it (an explore replay) passes them as before', async () => {
    const session = new ReplaySession(recordingOf(events));
    const client = new QtestClient(session.stream.asSocket());
    const irq = raised(client);
    expect(await client.readl(0xfebc0008)).toBe(0x80080783);
    expect(await irq).toBe(11);
    expect(await client.readl(0xfebc00c0)).toBe(3);
    client.close();
  });

  it('past the last recorded batch a version 8 replay hands out nothing (the recorded session did not); before version 8, any', async () => {
    for (const [version, due] of [
      [8, false],
      [7, true],
    ] as const) {
      const session = new ReplaySession(recordingOf(events, version));
      const handOuts = session.handOuts();
      const client = new QtestClient(session.stream.asSocket());
      expect(await client.readl(0xfebc0008)).toBe(0x80080783);
      handOuts.handedOut(44);
      expect(handOuts.next?.()).toBeUndefined();
      expect(handOuts.due?.()).toBe(due);
      // A replay that gave up holds nothing back.
      session.abandon();
      expect(handOuts.due?.()).toBe(true);
      client.close();
    }
  });

  it('the host takes the recorded frames from the RX ring once as many were published; another count diverges; nothing before version 9', async () => {
    const received: RecordEvent[] = [
      [RecordKind.Command, 'readl 0xfebc0008'],
      [RecordKind.Reply, 'OK 0x80080783'],
      [RecordKind.Host, 'delivered', 40, 64],
      [RecordKind.Host, 'delivered', 24, 64],
      [RecordKind.Irq, 11, true],
    ];
    expect(new ReplaySession(recordingOf(received, 8)).deliveries()).toBeUndefined();
    // A KMDF replay's read top-ups wait for the ring's slots instead.
    expect(new ReplaySession(recordingOf(received, 9, { framework: 'kmdf' })).deliveries()).toBeUndefined();
    const session = new ReplaySession(recordingOf(received, 9));
    const deliveries = session.deliveries()!;
    const client = new QtestClient(session.stream.asSocket());
    expect(await client.readl(0xfebc0008)).toBe(0x80080783);
    expect(deliveries.next?.()).toBe(40);
    // The recorded take found 64 frames published: with fewer, the replay's waits.
    expect(deliveries.due?.(63)).toBe(false);
    expect(deliveries.due?.(64)).toBe(true);
    deliveries.handedOut(40, 64);
    expect(session.divergence).toBeUndefined();
    expect(deliveries.next?.()).toBe(24);
    deliveries.handedOut(23, 64);
    expect(session.divergence?.message).toMatch(/the host took 23 received frame\(s\) from the RX ring, the recording has 24/);
    client.close();
  });
});
