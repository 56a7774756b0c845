import { afterEach, describe, expect, it } from 'vitest';
import { NetdevWatch, type NetdevProbe, type NetdevStall } from '../../../src/host/netdev-watch.ts';
import { waitUntil } from '../../support/wait.ts';

/** A probe whose readings the test sets; counts its samples so a test can wait for them. */
function fakeProbe(): NetdevProbe & { queued: number; received: number; free: number; up: boolean; moving: boolean; samples: number } {
  const p = {
    qemuPort: 4242,
    queued: 0,
    received: 0,
    free: 100,
    up: true,
    /** The driver takes a frame between each two samples (progress tied to the samples, not to a timer of the test's). */
    moving: false,
    samples: 0,
    socket: () => {
      p.samples++;
      if (p.moving) p.received++;
      return Promise.resolve({ queuedBytes: p.queued, drops: 7, inode: 1 });
    },
    receiving: () => p.up,
    driverReceived: () => p.received,
    freeDescriptors: () => Promise.resolve(p.free),
  };
  return p;
}

let watch: NetdevWatch | undefined;
afterEach(() => watch?.stop());

function startWatch(probe: NetdevProbe, stallMs = 30): NetdevStall[] {
  const stalls: NetdevStall[] = [];
  watch = new NetdevWatch(
    probe,
    (s) => stalls.push(s),
    (err) => {
      throw err;
    },
    { intervalMs: 2, stallMs },
  );
  watch.start();
  return stalls;
}

describe('NetdevWatch', () => {
  it('reports once when frames wait in the socket, the NIC has room and the driver takes nothing', async () => {
    const probe = fakeProbe();
    probe.queued = 1200;
    const stalls = startWatch(probe);
    await waitUntil('a stall', () => stalls.length > 0, 5_000);
    expect(stalls[0]).toMatchObject({ qemuPort: 4242, socketQueuedBytes: 1200, socketDrops: 7, nicFreeDescriptors: 100, driverReceived: 0 });
    expect(stalls[0]!.stalledMs).toBeGreaterThanOrEqual(30);
    const seen = probe.samples;
    await waitUntil('more samples', () => probe.samples >= seen + 30, 5_000);
    expect(stalls).toHaveLength(1);
    expect(watch!.stalls).toBe(1);
    // Frames move again, then stop again: a second stall.
    probe.received = 5;
    await waitUntil('a second stall', () => stalls.length === 2, 5_000);
    expect(stalls[1]).toMatchObject({ driverReceived: 5 });
  });

  it('is quiet while frames move, the socket is empty, the link is down or the ring is full', async () => {
    const probe = fakeProbe();
    const stalls = startWatch(probe, 50);
    const phase = async (what: string) => {
      const from = probe.samples;
      await waitUntil(what, () => probe.samples >= from + 40, 5_000);
    };
    probe.queued = 0;
    await phase('samples with an empty socket');
    probe.queued = 500;
    probe.up = false;
    await phase('samples with the link down');
    probe.up = true;
    probe.free = 0;
    await phase('samples with a full ring (back-pressure from the driver)');
    probe.free = 100;
    probe.moving = true;
    await phase('samples with frames moving');
    expect(stalls).toEqual([]);
  });
});
