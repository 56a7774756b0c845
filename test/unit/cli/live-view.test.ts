import { describe, expect, it } from 'vitest';
import { LiveView, sampleOf, statusLine, summaryLines } from '../../../src/cli/live-view.ts';
import { describeRemoval } from '../../../src/cli/up-session.ts';
import { statsSummaryLine } from '../../../src/control/print.ts';
import type { HostStatistics } from '../../../src/host/host-options.ts';

function ring(enqueued: number, dequeued: number) {
  return {
    slotCount: 1024,
    slotSize: 2048,
    enqueued,
    dequeued,
    occupancy: enqueued - dequeued,
    fullRejects: 0,
    dropped: 0,
    emptyPolls: 0,
    producerWaiting: false,
    consumerWaiting: false,
  };
}

function stats(over: { rx?: number; tx?: number; isr?: number; dpc?: number; dpcWithoutIsr?: number; drops?: Partial<HostStatistics['receiveDrops']> } = {}): HostStatistics {
  const drops = { qemuSocket: 0, nicMissed: 0, nicOversize: 0, driverOversize: 0, driverFragments: 0, hostRing: 0, ...over.drops };
  const total = Object.values(drops).reduce((a, b) => a + b, 0);
  return {
    framework: 'ndis6',
    frameworkSide: {},
    rings: { rx: ring(over.rx ?? 0, over.rx ?? 0), tx: ring(over.tx ?? 0, over.tx ?? 0) },
    delivered: over.rx ?? 0,
    netdev: 'dgram',
    receiveDrops: { ...drops, total },
    calls: { isr: over.isr ?? 0, dpc: over.dpc ?? 0, ...(over.dpcWithoutIsr !== undefined ? { dpcWithoutIsr: over.dpcWithoutIsr } : {}) },

    verifier: { findings: 0, list: [] },
  };
}

describe('the live status line', () => {
  it('shows rates per second between two samples, the link and the drops', () => {
    const a = sampleOf(stats({ rx: 100, tx: 50, isr: 10, dpc: 10 }), true, undefined, 1000);
    const b = sampleOf(stats({ rx: 1100, tx: 550, isr: 60, dpc: 61, drops: { nicMissed: 3 } }), true, undefined, 1500);
    expect(statusLine(b, a)).toBe('link up  rx 2000/s  tx 1000/s  ISR 100/s  DPC 102/s  drops 3');
  });

  it('shows zero rates for the first sample, and a bug check and a removal when there is one', () => {
    const s = { ...sampleOf(stats({ rx: 5 }), false, 'IRQL_NOT_LESS_OR_EQUAL', 0), surpriseRemoved: true };
    expect(statusLine(s, undefined)).toBe('link DOWN  rx 0/s  tx 0/s  ISR 0/s  DPC 0/s  drops 0  NIC surprise-removed  BUG CHECK IRQL_NOT_LESS_OR_EQUAL');
  });

  it('on a TTY rewrites one line in place; off one writes a plain line per sample', async () => {
    for (const inPlace of [true, false]) {
      const written: string[] = [];
      let n = 0;
      const view = new LiveView({
        read: () => Promise.resolve({ stats: stats({ rx: (n += 10) }), linkUp: true, bugCheck: undefined }),
        write: (t) => written.push(t),
        inPlace,
        intervalMs: 60_000,
        now: () => n * 100,
      });
      view.start();
      await view.tick();
      await view.tick();
      view.stop();
      if (inPlace) {
        expect(written).toEqual(['\r\x1b[2Klink up  rx 0/s  tx 0/s  ISR 0/s  DPC 0/s  drops 0', '\r\x1b[2Klink up  rx 10/s  tx 0/s  ISR 0/s  DPC 0/s  drops 0', '\r\x1b[2K']);
      } else {
        expect(written).toEqual(['link up  rx 0/s  tx 0/s  ISR 0/s  DPC 0/s  drops 0\n', 'link up  rx 10/s  tx 0/s  ISR 0/s  DPC 0/s  drops 0\n']);
        expect(written.join('')).not.toContain('\x1b');
      }
    }
  });

  it('skips a sample the host cannot answer and writes nothing after stop', async () => {
    const written: string[] = [];
    const view = new LiveView({ read: () => Promise.reject(new Error('stopping')), write: (t) => written.push(t), inPlace: true, intervalMs: 60_000 });
    view.start();
    await view.tick();
    view.stop();
    await view.tick();
    expect(written).toEqual([]);
  });
});

describe('the exit summary and the stats summary line', () => {
  it('names each kind of drop and explains DPCs the driver queued without an ISR', () => {
    const lines = summaryLines(stats({ rx: 7, tx: 3, isr: 0, dpc: 1, dpcWithoutIsr: 1, drops: { qemuSocket: 2, hostRing: 1 } }));
    expect(lines).toEqual([
      'frames: 7 received (indicated by the driver), 3 sent (given to the driver), 7 delivered to the host',
      "calls: ISRs 0, DPCs 1 (1 queued by the driver itself, not by an ISR: MiniportRestart's catch-up DPC, a requeue or a timer)",
      'drops: 3 (qemuSocket 2, hostRing 1)',
    ]);
    expect(summaryLines(stats({ isr: 4, dpc: 4 }))[1]).toBe('calls: ISRs 4, DPCs 4');
  });

  it('ctl stats: one summary line from the record as msgpack carried it (bigints too), none for another shape', () => {
    const record = { ...stats({ rx: 12, tx: 9, isr: 3, dpc: 4, dpcWithoutIsr: 1 }), calls: { isr: 3n, dpc: 4n, dpcWithoutIsr: 1n } };
    expect(statsSummaryLine(record)).toBe(
      "summary: ndis6  rx 12  tx 9  ISRs 3  DPCs 4 (1 queued by the driver itself, not by an ISR: MiniportRestart's catch-up DPC, a requeue or a timer)  drops 0",
    );
    expect(statsSummaryLine({ frames: 1 })).toBeUndefined();
    expect(statsSummaryLine(null)).toBeUndefined();
  });

  it('a surprise removal is one line: what the driver ran, that the host stays up', () => {
    const line = describeRemoval({
      at: '2026-01-01T00:00:00.000Z',
      bdf: '00:02.0',
      callbacks: [
        { handler: 'MiniportDevicePnPEventNotify(NdisDevicePnPEventSurpriseRemoved)', irql: 'PASSIVE_LEVEL' },
        { handler: 'MiniportHaltEx(NdisHaltDeviceSurpriseRemoved)', irql: 'PASSIVE_LEVEL' },
      ],
      droppedWrites: 2,
    });
    expect(line).toBe(
      'dirql: NIC 00:02.0 surprise-removed: the driver ran MiniportDevicePnPEventNotify(NdisDevicePnPEventSurpriseRemoved) (PASSIVE_LEVEL), MiniportHaltEx(NdisHaltDeviceSurpriseRemoved) (PASSIVE_LEVEL); 2 register writes after removal dropped; the host stays up (Ctrl-C to stop)',
    );
    expect(line.split('\n')).toHaveLength(1);
  });
});
