import { describe, expect, it } from 'vitest';
import { QtestClient } from '../../../src/transport/qtest-client.ts';
import { ReplayDivergenceError } from '../../../src/record/errors.ts';
import { RecordKind, type RecordEvent } from '../../../src/record/format.ts';
import { ReplayMemory, ReplayQtestStream } from '../../../src/record/replay-stream.ts';

const recorded: RecordEvent[] = [
  [RecordKind.Command, 'readl 0xfebc0008'],
  [RecordKind.Reply, 'OK 0x80080783'],
  [RecordKind.Irq, 11, true],
  [RecordKind.Command, 'writel 0xfebc00d0 0x9d'],
  [RecordKind.Reply, 'OK'],
  [RecordKind.Command, 'readl 0xfebc00c0'],
  [RecordKind.Reply, 'OK 0x4'],
  [RecordKind.Irq, 11, false],
];

function replayClient(events = recorded): { client: QtestClient; stream: ReplayQtestStream; irqs: string[] } {
  const stream = new ReplayQtestStream(events, 'test.rec');
  const client = new QtestClient(stream.asSocket());
  const irqs: string[] = [];
  client.on('irq', (line, raised) => irqs.push(`${raised ? 'raise' : 'lower'} ${line}`));
  return { client, stream, irqs };
}

describe('replay of a qtest stream (REPLAY, no QEMU)', () => {
  it('answers reads with the recorded values and asserts IRQs at their recorded positions', async () => {
    const { client, stream, irqs } = replayClient();
    expect(await client.readl(0xfebc0008)).toBe(0x80080783);
    expect(irqs).toEqual(['raise 11']);
    client.writel(0xfebc00d0, 0x9d);
    expect(await client.readl(0xfebc00c0)).toBe(4);
    await client.fence();
    expect(irqs).toEqual(['raise 11', 'lower 11']);
    expect(stream.finished).toBe(true);
    client.close();
  });

  it('reports the first divergence: position, expected and actual command, recent events', async () => {
    const { client, stream } = replayClient();
    expect(await client.readl(0xfebc0008)).toBe(0x80080783);
    client.writel(0xfebc00d0, 0x9f);
    const err = await client.fence().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(stream.divergence).toBeInstanceOf(ReplayDivergenceError);
    expect(stream.divergence!.context).toMatchObject({
      position: 3,
      expected: 'writel 0xfebc00d0 0x9d',
      actual: 'writel 0xfebc00d0 0x9f',
      recent: ['> readl 0xfebc0008', '< OK 0x80080783', 'IRQ raise 11'],
    });
    expect((err as Error).cause ?? err).toBe(stream.divergence);
  });

  it('memory reads return the recorded bytes in order and diverge on another address', () => {
    const mem = new ReplayMemory(
      [
        [RecordKind.MemoryRead, 0x200000, new Uint8Array([1, 2])],
        [RecordKind.MemoryRead, 0x200010, new Uint8Array([3])],
      ],
      64 << 20,
    );
    expect([...mem.read(0x200000, 2)]).toEqual([1, 2]);
    expect(() => mem.read(0x200020, 1)).toThrow(ReplayDivergenceError);
  });

  it('what is recorded after a timer expiry arrives in a later turn: the work the expiry queued runs first, as in the session', async () => {
    const order: string[] = [];
    const events: RecordEvent[] = [
      [RecordKind.Command, 'readl 0xfebc0008'],
      [RecordKind.Reply, 'OK 0x80080783'],
      [RecordKind.TimerExpired, 'RetryTimer'],
      [RecordKind.Irq, 11, true],
    ];
    // The expiry's DPC runs on a microtask (one processor, idle), as the kernel's service does.
    const stream = new ReplayQtestStream(events, 'test.rec', () => queueMicrotask(() => order.push('timer DPC')));
    const client = new QtestClient(stream.asSocket());
    const raised = new Promise<void>((resolve) =>
      client.on('irq', () => {
        order.push('IRQ raise 11');
        resolve();
      }),
    );
    expect(await client.readl(0xfebc0008)).toBe(0x80080783);
    await raised;
    expect(order).toEqual(['timer DPC', 'IRQ raise 11']);
    client.close();
  });

  /** A TDT write whose TX interrupt's line went low again before anything else came (an eject's lower). */
  const TDT_RAISE_LOWER: RecordEvent[] = [
    [RecordKind.Command, 'writel 0xe0003818 0xc8'],
    [RecordKind.Irq, 11, true],
    [RecordKind.Reply, 'OK'],
    [RecordKind.Irq, 11, false],
  ];

  it("an IRQ lower recorded before an ISR start waits until the kernel has taken the line raised before it (an eject's lower after a TX interrupt)", async () => {
    const order: string[] = [];
    const events: RecordEvent[] = [...TDT_RAISE_LOWER, [RecordKind.Reply, 'OK'], [RecordKind.Schedule, 'of 1: isr:MiniportISR@0', 0]];
    const stream = new ReplayQtestStream(events, 'test.rec');
    const client = new QtestClient(stream.asSocket());
    let asserted = false;
    let requested = false;
    stream.servicePending = () => requested;
    const lowered = new Promise<void>((resolve) =>
      client.on('irq', (_line: number, raised: boolean) => {
        asserted = raised;
        order.push(raised ? 'raise' : 'lower');
        if (!raised) return resolve();
        // As the kernel does: a processor is asked, and takes the line a turn later if it is still asserted.
        requested = true;
        setImmediate(() =>
          setImmediate(() => {
            requested = false;
            if (asserted) order.push('ISR took the line');
          }),
        );
      }),
    );
    client.writel(0xe0003818, 0xc8);
    await lowered;
    expect(order).toEqual(['raise', 'ISR took the line', 'lower']);
    client.close();
  });

  it('an IRQ lower with no ISR start recorded after it is not held (the line went low before any processor took it)', async () => {
    const order: string[] = [];
    const events: RecordEvent[] = [...TDT_RAISE_LOWER, [RecordKind.Command, 'readl 0xe0000008'], [RecordKind.Reply, 'OK 0x0']];
    const stream = new ReplayQtestStream(events, 'test.rec');
    const client = new QtestClient(stream.asSocket());
    stream.servicePending = () => true;
    client.on('irq', (_line: number, raised: boolean) => {
      order.push(raised ? 'raise' : 'lower');
      if (raised) setImmediate(() => order.push('a turn later'));
    });
    client.writel(0xe0003818, 0xc8);
    expect(await client.readl(0xe0000008)).toBe(0);
    expect(order.slice(0, 2)).toEqual(['raise', 'lower']);
    client.close();
  });
});
