/**
 * Link flaps and garbage frames on real QEMU, under each facade: 20 back-to-back QMP `set_link`
 * flaps and 5 paced ones leave the driver's indications alternating and ending in "up", and
 * random bytes of every length from 1 to 1514 (also shorter than an Ethernet header, sent on a raw
 * UDP socket since the peer refuses those) reach the driver exactly as the NIC's address filter
 * lets them through, padded to 60 bytes by QEMU. Afterwards a clean stream passes both ways.
 */
import * as dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { SeededRandom, TrafficGenerator, linkDown, linkUp } from '../../harness/index.ts';
import { NIC_ID } from '../../qemu/stub-config.ts';
import type { DriverHost } from '../../src/host/driver-host.ts';
import { waitUntil } from '../support/wait.ts';
import { CLEAN, PEER_MAC, e1000Statistics, flapLink, receiveFromPeer, sendToPeer, withHostAndPeer, type HostWithPeer } from './support/e1000-exchange.ts';

/** A two-processor host under `framework`; the driver must not have stopped by the end of `body`. */
async function withHost(framework: string, body: (f: HostWithPeer) => Promise<void>): Promise<void> {
  await withHostAndPeer(`dirql-abuse-${framework}-`, { framework, processors: 2, seed: 5 }, async (f) => {
    await body(f);
    expect(f.host.kernel.stopped).toBeNull();
  });
}

/** Each indication differs from the one before (the miniport indicates changes only), the last is up. */
function expectAlternatingEndingUp(host: DriverHost, from: number): void {
  const ups = host.linkEvents.slice(from).map((e) => e.up);
  expect(ups.length).toBeGreaterThanOrEqual(2);
  expect(ups[0]).toBe(false);
  expect(ups.at(-1)).toBe(true);
  for (let i = 1; i < ups.length; i++) expect(ups[i], `indication ${i} repeats the one before`).not.toBe(ups[i - 1]);
}

/** After the abuse the host still moves traffic both ways, nothing lost. */
async function expectCleanStream(f: HostWithPeer, seed: number): Promise<void> {
  expect((await receiveFromPeer(f.host, f.peer, 300, seed)).summary).toEqual(CLEAN(300));
  expect((await sendToPeer(f.host, f.peer, 300, seed + 1)).summary).toEqual(CLEAN(300));
}

const BROADCAST = Buffer.alloc(6, 0xff);

/** Random bytes of a random length, its destination chosen among: the host, broadcast, another unicast, a multicast group. */
function garbageFrame(rng: SeededRandom, hostMac: Buffer): Buffer {
  const frame = Buffer.alloc(rng.int(1, 1514));
  for (let i = 0; i < frame.length; i++) frame[i] = rng.int(0, 255);
  const kind = rng.int(0, 3);
  const dst = Buffer.from(kind === 0 ? hostMac : kind === 1 ? BROADCAST : frame.subarray(0, 6));
  if (kind === 2) dst[0]! &= 0xfe; // another station's unicast address
  if (kind === 3) dst[0]! |= 0x01; // a multicast group the driver never joined
  if (kind >= 2 && dst.equals(hostMac)) dst[5]! ^= 1;
  dst.copy(frame, 0, 0, Math.min(6, frame.length));
  return frame;
}

/** What QEMU's e1000 hands the driver for `frame`: padded to 60 bytes; null if RCTL's filter (unicast to us, BAM; no MPE, empty MTA) drops it. */
function expectedDelivery(frame: Buffer, hostMac: Buffer): Buffer | null {
  const padded = Buffer.alloc(Math.max(60, frame.length));
  frame.copy(padded);
  const dst = padded.subarray(0, 6);
  return dst.equals(hostMac) || dst.equals(BROADCAST) ? padded : null;
}

function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((b) => Number.parseInt(b, 16)));
}

describe.each(['ndis6', 'ndis5', 'kmdf'])('link flaps and garbage frames (%s)', (framework) => {
  it('20 back-to-back link flaps, then 5 paced ones: indications alternate and end up, the link is up, traffic is clean', async () => {
    await withHost(framework, async (f) => {
      const { host } = f;
      const before = host.linkEvents.length;
      const changesBefore = e1000Statistics(await host.stats()).driver.linkChanges;
      for (let i = 0; i < 20; i++) {
        await linkDown(host.machine.qmp, NIC_ID);
        await linkUp(host.machine.qmp, NIC_ID);
      }
      // QEMU reports link up about 500 ms after the last set_link on, with one more LSC.
      await waitUntil('the link up again after the rapid flaps', () => host.linkUp && host.linkEvents.length > before, 10_000);
      expectAlternatingEndingUp(host, before);
      const paced = host.linkEvents.length;
      for (let i = 0; i < 5; i++) await flapLink(host);
      expect(host.linkEvents.length - paced).toBe(10);
      expectAlternatingEndingUp(host, paced);
      const driver = e1000Statistics(await host.stats()).driver;
      expect(driver.linkChanges - changesBefore).toBe(host.linkEvents.length - before);
      await expectCleanStream(f, 31);
    });
  }, 60_000);

  it('600 frames of random bytes, 1..1514 long, to the host, broadcast, other stations and groups: exactly the filtered ones arrive, padded to 60', async () => {
    await withHost(framework, async (f) => {
      const { host, peer } = f;
      const hostMac = macBytes(host.mac);
      const rng = new SeededRandom(0x6a7ba6e);
      const frames = Array.from({ length: 600 }, () => garbageFrame(rng, hostMac));
      const expected = frames.map((fr) => expectedDelivery(fr, hostMac)).filter((x): x is Buffer => x !== null);
      expect(frames.some((fr) => fr.length < 14)).toBe(true);
      const got: Buffer[] = [];
      const off = host.onReceive((view, length) => got.push(Buffer.from(view.buffer.slice(view.byteOffset, view.byteOffset + length))));
      const marker = new TrafficGenerator({ src: PEER_MAC, dst: host.mac, stream: 9, size: 200 }).take(1)[0]!;
      const raw = dgram.createSocket('udp4');
      try {
        let sentExpected = 0;
        for (const fr of frames) {
          // QEMU's socket holds about 64 frames: keep the ones the ring must take well below that.
          await waitUntil('the driver to keep up', () => sentExpected - got.length <= 32, 10_000, 1);
          if (expectedDelivery(fr, hostMac)) sentExpected++;
          await new Promise<void>((resolve, reject) => raw.send(fr, host.machine.wire.qemuPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
        }
      } finally {
        raw.close();
      }
      // The marker goes last on the same wire: once it is up, every garbage frame has been dealt with.
      peer.send(marker);
      await waitUntil('the marker frame', () => got.length > 0 && got.at(-1)!.equals(marker), 15_000);
      off();
      expect(got.length - 1).toBe(expected.length);
      got.slice(0, -1).forEach((g, i) => expect(g.equals(expected[i]!), `frame ${i} arrived as sent (padded)`).toBe(true));
      const s = await host.stats();
      expect(e1000Statistics(s).driver).toMatchObject({ rxErrors: 0 });
      expect(s.receiveDrops.total).toBe(0);
      expect(e1000Statistics(s).nic.goodPacketsReceived).toBeGreaterThanOrEqual(expected.length + 1);
      await expectCleanStream(f, 41);
    });
  }, 60_000);
});
