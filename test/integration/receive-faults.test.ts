/**
 * Receive-side faults on real QEMU, each with the counter that says where a frame went: a flood far
 * beyond what QEMU's socket and the ring hold (sent = delivered + every counted drop, exactly), frames
 * over OID_GEN_MAXIMUM_TOTAL_SIZE under each facade, and a zero-length datagram that makes QEMU 7.2
 * stop reading its netdev ('netdev-stalled'). Every host is stopped inside its test and leaves nothing.
 */
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FrameVerifier, TrafficGenerator, WirePeer } from '../../harness/index.ts';
import { ControlClient } from '../../src/control/index.ts';
import { startControl } from '../../src/host/control.ts';
import type { DriverHost, HostStatistics } from '../../src/host/driver-host.ts';
import type { NetdevStall } from '../../src/host/netdev-watch.ts';
import { CLEAN, PEER_MAC, e1000Statistics, receiveFromPeer, withHostAndPeer, type HostWithPeer } from './support/e1000-exchange.ts';
import { waitUntil } from '../support/wait.ts';

/** Frames that left the peer's socket (a refused send never reached the wire). */
function sentOnWire(peer: WirePeer): number {
  return peer.counters.framesSent - peer.counters.sendErrors;
}

/** A one-processor host under `framework` (see withHostAndPeer). */
function withHost(prefix: string, framework: string, body: (f: HostWithPeer) => Promise<void>, peerMaxFrame?: number): Promise<void> {
  return withHostAndPeer(prefix, { framework, processors: 1 }, body, peerMaxFrame);
}

/** Waits until every frame sent is delivered or counted somewhere; returns the statistics then. */
async function settled(host: DriverHost, sent: () => number, delivered: () => number, timeoutMs: number): Promise<HostStatistics> {
  await waitUntil(
    'every frame delivered or counted as dropped',
    async () => {
      const s = await host.stats();
      return delivered() + s.receiveDrops.total >= sent() && s.wire?.socketQueuedBytes === 0;
    },
    timeoutMs,
    50,
  );
  // The snapshot that met the condition read the NIC's registers over qtest while the last frames
  // were still being indicated (its GPRC could lag the driver's rxIndicated by one); nothing is in
  // flight now, so a fresh one is consistent throughout.
  return host.stats();
}

describe('RX flood beyond QEMU socket and ring (NDIS 6)', () => {
  it('200,000 frames unpaced: sent = delivered + every counted drop, exactly; then a stream arrives intact', async () => {
    await withHost('dirql-flood-', 'ndis6', async ({ host, peer }) => {
      let delivered = 0;
      const verifier = new FrameVerifier();
      const off = host.onReceive((view, length) => {
        delivered++;
        verifier.accept(Buffer.from(view.buffer, view.byteOffset, length));
      });
      const count = 200_000;
      const frames = new TrafficGenerator({ src: PEER_MAC, dst: host.mac, stream: 4, size: 60, seed: 11 }).take(count);
      // No window: as fast as the peer's socket takes them, far beyond QEMU's ~64 frames.
      await peer.sendBatch(frames);
      const s = await settled(
        host,
        () => sentOnWire(peer),
        () => delivered,
        60_000,
      );
      off();
      const d = s.receiveDrops;
      console.log(`flood: sent ${sentOnWire(peer)}, delivered ${delivered}, drops ${JSON.stringify(d)}, RNBC ${e1000Statistics(s).nic.receiveNoBuffers}`);
      expect(peer.counters.framesSent).toBe(count);
      expect(delivered + d.total).toBe(sentOnWire(peer));
      expect(s.delivered).toBe(delivered);
      // The flood really overflowed QEMU's socket, and the kernel's counter is where it shows.
      expect(d.qemuSocket).toBeGreaterThan(0);
      expect(s.wire).toMatchObject({ qemuPort: host.machine.wire.qemuPort, socketDrops: d.qemuSocket, stalls: 0 });
      expect(d.total).toBe(d.qemuSocket + d.nicMissed + d.nicOversize + d.driverOversize + d.driverFragments + d.hostRing);
      // What was delivered is intact and in order; what is missing is exactly the counted drops.
      expect(verifier.summary(count)).toMatchObject({ ok: delivered, lost: count - delivered, corrupted: 0, duplicated: 0, reordered: 0 });
      expect(e1000Statistics(s).driver.rxIndicated).toBe(e1000Statistics(s).nic.goodPacketsReceived);

      // Recovered: a paced stream afterwards arrives whole, and nothing more is dropped.
      const after = await receiveFromPeer(host, peer, 2000, 12);
      expect(after.summary).toEqual(CLEAN(2000));
      expect((await host.stats()).receiveDrops.total).toBe(d.total);
    });
  }, 120_000);
});

describe.each(['ndis6', 'ndis5', 'kmdf'])('frames over OID_GEN_MAXIMUM_TOTAL_SIZE (%s)', (framework) => {
  it('1515..1522 bytes are dropped by the driver and counted (rxOversizeDropped), over 1522 by the NIC (ROC); 1514 goes up', async () => {
    await withHost(
      `dirql-oversize-${framework}-`,
      framework,
      async ({ host, peer }) => {
        const lengths: number[] = [];
        const verifier = new FrameVerifier();
        const off = host.onReceive((view, length) => {
          lengths.push(length);
          verifier.accept(Buffer.from(view.buffer, view.byteOffset, length));
        });
        const sizes = [1514, 1515, 1516, 1518, 1520, 1522, 1000, 1523, 1514, 60];
        const frames = new TrafficGenerator({ src: PEER_MAC, dst: host.mac, stream: 5, size: (seq) => sizes[seq]! }).take(sizes.length);
        await peer.sendBatch(frames);
        // The last frame is the marker: once it is up, everything before it has been dealt with.
        await waitUntil('the marker frame', () => lengths.at(-1) === 60, 10_000);
        off();
        expect(lengths).toEqual([1514, 1000, 1514, 60]);
        expect(verifier.counters).toMatchObject({ ok: 4, corrupted: 0 });
        const s = await host.stats();
        expect(e1000Statistics(s).driver).toMatchObject({ rxOversizeDropped: 5, rxIndicated: 4 });
        expect(e1000Statistics(s).nic.receiveOversize).toBe(1);
        expect(s.receiveDrops).toMatchObject({ driverOversize: 5, nicOversize: 1, total: 6 });
        expect(lengths.length + s.receiveDrops.total).toBe(sentOnWire(peer));
      },
      1600,
    );
  });
});

/** A control server for `host` on a socket in a fresh directory, with a client subscribed to `topic`; `close` undoes all of it. */
async function controlWatching(host: DriverHost, topic: string): Promise<{ next: Promise<unknown>; close: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'dirql-fault-ctl-'));
  let control: Awaited<ReturnType<typeof startControl>> | undefined;
  let client: ControlClient | undefined;
  const close = async () => {
    await client?.close();
    await control?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    control = await startControl(host, { socketPath: join(dir, 'host.sock') });
    client = await ControlClient.connect({ socketPath: control.socketPath });
    let onEvent!: (payload: unknown) => void;
    const next = new Promise<unknown>((resolve) => (onEvent = resolve));
    await client.subscribe(topic, (payload) => onEvent(payload));
    return { next, close };
  } catch (err) {
    await close();
    throw err;
  }
}

describe('a zero-length datagram to QEMU 7.2 (NDIS 6)', () => {
  it("stops QEMU reading its netdev for good: the host reports 'netdev-stalled' with the counters, also over the control plane", async () => {
    await withHost('dirql-netdev-stall-', 'ndis6', async ({ host, peer }) => {
      // Before: the wire works.
      expect((await receiveFromPeer(host, peer, 200, 21)).summary).toEqual(CLEAN(200));
      const stalled = once(host, 'netdev-stalled', { signal: AbortSignal.timeout(20_000) }) as Promise<[NetdevStall]>;
      // What `dirql ctl watch netdev-stalled` would print.
      const ctl = await controlWatching(host, 'netdev-stalled');
      try {
        const raw = dgram.createSocket('udp4');
        try {
          await new Promise<void>((resolve, reject) => raw.send(Buffer.alloc(0), host.machine.wire.qemuPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
        } finally {
          raw.close();
        }
        let delivered = 0;
        const off = host.onReceive(() => delivered++);
        await peer.sendBatch(new TrafficGenerator({ src: PEER_MAC, dst: host.mac, stream: 6, size: 100 }).take(50));
        const [stall] = await stalled;
        off();
        expect(stall.qemuPort).toBe(host.machine.wire.qemuPort);
        expect(stall.socketQueuedBytes).toBeGreaterThan(0);
        expect(stall.nicFreeDescriptors).toBeGreaterThan(0);
        expect(stall.stalledMs).toBeGreaterThanOrEqual(3000);
        expect(await ctl.next).toEqual(stall);
        expect(delivered).toBe(0);
        // The link still looks up: only the watch tells the stall apart from a quiet wire.
        expect(host.linkUp).toBe(true);
        const s = await host.stats();
        expect(s.wire).toMatchObject({ stalls: 1 });
        expect(s.wire!.socketQueuedBytes).toBeGreaterThan(0);
        expect(s.receiveDrops.total).toBe(0);
      } finally {
        await ctl.close();
      }
    });
  }, 60_000);
});
