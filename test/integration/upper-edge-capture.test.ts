/**
 * `pcap` on real QEMU: the upper-edge capture holds exactly the frames that went through the driver,
 * byte for byte and in order, each on its direction's interface; frames the host dropped are in it
 * with their reason and counted, never silently missing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TrafficGenerator } from '../../harness/index.ts';
import { EPB_INBOUND, EPB_OUTBOUND, readPcapng } from '../../src/capture/pcapng.ts';
import { CAPTURE_RX_INTERFACE, CAPTURE_TX_INTERFACE } from '../../src/host/upper-edge-capture.ts';
import { waitUntil } from '../support/wait.ts';
import { PEER_MAC, closeHostWithPeer, openHostWithPeer, type HostWithPeer } from './support/e1000-exchange.ts';

const FRAMES = 300;
const dir = mkdtempSync(join(tmpdir(), 'dirql-capture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(['ndis6', 'kmdf'])('the upper-edge capture on QEMU (%s)', (framework) => {
  it(`${FRAMES} frames each way: the pcapng has exactly those, byte for byte, in order, on their interfaces`, async () => {
    const pcap = join(dir, `${framework}.pcapng`);
    let f: HostWithPeer | undefined;
    try {
      f = await openHostWithPeer(`dirql-capture-${framework}-`, { framework, pcap });
      const { host, peer } = f;
      const toPeer = new TrafficGenerator({ src: host.mac, dst: PEER_MAC, stream: 1, size: 'mixed', seed: 3 }).take(FRAMES);
      const fromPeer = new TrafficGenerator({ src: PEER_MAC, dst: host.mac, stream: 2, size: 'mixed', seed: 4 }).take(FRAMES);
      const delivered: Buffer[] = [];
      host.onReceive((view, length) => delivered.push(Buffer.from(view.subarray(0, length))));
      const base = peer.counters.framesReceived;
      await host.sendAll(toPeer);
      await waitUntil(`${FRAMES} frames at the peer`, () => peer.counters.framesReceived - base >= FRAMES, 20_000);
      await peer.sendBatch(fromPeer, { maxInFlight: 64, inFlight: () => peer.counters.framesSent - delivered.length });
      await waitUntil(`${FRAMES} frames delivered`, () => delivered.length >= FRAMES, 20_000);
      await host.stop();
      expect(host.capture?.counters).toEqual({ indicated: FRAMES, sent: FRAMES, indicationsDropped: { ringFull: 0, oversize: 0 }, sendsFailed: 0 });

      const file = readPcapng(pcap);
      const on = (iface: number) => file.packets.filter((p) => p.interfaceId === iface);
      const sent = on(CAPTURE_TX_INTERFACE);
      const indicated = on(CAPTURE_RX_INTERFACE);
      expect(sent.map((p) => p.data)).toEqual(toPeer.map((b) => Buffer.from(b)));
      expect(indicated.map((p) => p.data)).toEqual(fromPeer.map((b) => Buffer.from(b)));
      expect(indicated.map((p) => p.data)).toEqual(delivered);
      expect(new Set(sent.map((p) => p.flags))).toEqual(new Set([EPB_OUTBOUND]));
      expect(new Set(indicated.map((p) => p.flags))).toEqual(new Set([EPB_INBOUND]));
      expect(file.packets.every((p) => p.comments.length === 0 && p.capturedLength === p.originalLength)).toBe(true);
      // Host-clock timestamps, in the order the edge saw the frames: every send before every indication here.
      const ts = file.packets.map((p) => p.timestampNs);
      expect(ts.every((t, i) => i === 0 || t >= ts[i - 1]!)).toBe(true);
      expect(file.packets.slice(0, FRAMES).every((p) => p.interfaceId === CAPTURE_TX_INTERFACE)).toBe(true);
      expect(file.statistics.map((s) => [s.interfaceId, s.received, s.dropped])).toEqual([
        [CAPTURE_RX_INTERFACE, BigInt(FRAMES), 0n],
        [CAPTURE_TX_INTERFACE, BigInt(FRAMES), 0n],
      ]);
    } finally {
      await closeHostWithPeer(f);
    }
  });
});

describe('the upper-edge capture when the host drops (ndis6, nobody drains a 16-slot RX ring)', () => {
  it('the dropped indications are in the file with their reason and counted in the statistics and the ring', async () => {
    const pcap = join(dir, 'drops.pcapng');
    const total = 40;
    let f: HostWithPeer | undefined;
    try {
      f = await openHostWithPeer('dirql-capture-drops-', { framework: 'ndis6', ringSlots: 16, pcap });
      const { host, peer } = f;
      const frames = new TrafficGenerator({ src: PEER_MAC, dst: host.mac, stream: 2, size: 'mixed', seed: 5 }).take(total);
      const capture = host.capture!;
      const seen = () => capture.counters.indicated + capture.counters.indicationsDropped.ringFull;
      await peer.sendBatch(frames, { maxInFlight: 16, inFlight: () => peer.counters.framesSent - seen() });
      await waitUntil(`${total} frames indicated`, () => seen() >= total, 20_000);
      const rings = (await host.stats()).rings;
      await host.stop();
      expect(capture.counters).toEqual({ indicated: 16, sent: 0, indicationsDropped: { ringFull: total - 16, oversize: 0 }, sendsFailed: 0 });
      expect(rings.rx.dropped).toBe(total - 16);
      const file = readPcapng(pcap);
      expect(file.packets.map((p) => p.data)).toEqual(frames.map((b) => Buffer.from(b)));
      expect(file.packets.slice(0, 16).every((p) => p.comments.length === 0)).toBe(true);
      expect(file.packets.slice(16).every((p) => /^dropped by the host: the host RX ring was full/.test(p.comments[0] ?? ''))).toBe(true);
      expect(file.statistics[0]).toMatchObject({ interfaceId: CAPTURE_RX_INTERFACE, received: BigInt(total), dropped: BigInt(total - 16) });
    } finally {
      await closeHostWithPeer(f);
    }
  });
});
