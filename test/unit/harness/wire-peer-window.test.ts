import { afterEach, describe, expect, it, vi } from 'vitest';
import { TrafficGenerator } from '../../../harness/traffic.ts';
import { WirePeer } from '../../../harness/wire-peer.ts';

const open: WirePeer[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(open.splice(0).map((p) => p.close()));
});

async function pair(): Promise<[WirePeer, WirePeer]> {
  const peers = await WirePeer.pair();
  open.push(...peers);
  return peers;
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('WirePeer.sendBatch window wait (event-driven, no spinning)', () => {
  it('a full window is opened by notifyProgress(), with no timer firing', async () => {
    const [a] = await pair();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let blocked = true;
    let done = false;
    const sending = a.sendBatch(new TrafficGenerator().take(3), { maxInFlight: 1, inFlight: () => (blocked ? 1 : 0) }).then((n) => {
      done = true;
      return n;
    });
    await settle();
    expect(done).toBe(false);
    expect(a.counters.framesSent).toBe(0);
    blocked = false;
    a.notifyProgress();
    expect(await sending).toBe(3);
    expect(a.counters.framesSent).toBe(3);
  });

  it('a frame received by a wire peer of this process wakes a waiting window (receiver is a peer: no notify needed)', async () => {
    const [a, b] = await pair();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const n = await a.sendBatch(new TrafficGenerator().take(200), { maxInFlight: 4, inFlight: () => a.counters.framesSent - b.counters.framesReceived });
    expect(n).toBe(200);
  });

  it('while the window stays full it is checked on a millisecond poll, not on every event-loop turn', async () => {
    const [a] = await pair();
    let checks = 0;
    let blocked = true;
    // Not an absence check: the window stays full for 30 ms so the checks made meanwhile can be counted.
    setTimeout(() => {
      blocked = false;
    }, 30);
    await a.sendBatch(new TrafficGenerator().take(1), {
      maxInFlight: 1,
      inFlight: () => {
        checks++;
        return blocked ? 1 : 0;
      },
    });
    // About one check per millisecond (plus wake-ups); spinning on setImmediate made thousands.
    expect(checks).toBeLessThan(200);
    expect(a.counters.framesSent).toBe(1);
  });
});
