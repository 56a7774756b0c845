/**
 * The whole stack on QEMU's real e1000: the NDIS 6 e1000 miniport (over the framework-neutral core)
 * on the NDIS 6 facade and the kernel model, the upper edge's PacketRings on the host side, and a
 * UDP wire peer on the other end of the NIC. The tests share one host but not their results: each
 * runs alone (`-t`) or in any order; the halt test has a host of its own.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkDown, linkUp, type WirePeer } from '../../harness/index.ts';
import { NIC_ID } from '../../qemu/stub-config.ts';
import type { DriverHost } from '../../src/host/driver-host.ts';
import {
  CLEAN,
  RX_WINDOW,
  describeRate,
  expectCountersAgree,
  expectSilenceAfterHalt,
  receiveFromPeer,
  sendToPeer,
  type ExchangeResult,
  closeHostWithPeer,
  openHostWithPeer,
  type HostWithPeer,
} from './support/e1000-exchange.ts';
import { waitUntil } from '../support/wait.ts';

const FRAMES = 10_000;

describe.each([
  { processors: 1, seed: 1 },
  { processors: 2, seed: 7 },
])('NDIS 6 e1000 miniport on QEMU ($processors processor(s), seed $seed)', ({ processors, seed }) => {
  let host: DriverHost;
  let peer: WirePeer;
  let f: HostWithPeer | undefined;
  // Each exchange runs once, for whichever test needs it first.
  let sending: Promise<ExchangeResult> | undefined;
  let receiving: Promise<ExchangeResult> | undefined;
  const sent = () => (sending ??= sendToPeer(host, peer, FRAMES, 11));
  const received = () => (receiving ??= receiveFromPeer(host, peer, FRAMES, 12));

  beforeAll(async () => {
    f = await openHostWithPeer('dirql-ndis6-', { framework: 'ndis6', processors, seed });
    ({ host, peer } = f);
  });

  afterAll(() => closeHostWithPeer(f));

  it('initialises: MAC from the EEPROM, link up as the upper edge sees it', () => {
    expect(host.mac).toBe(host.machine.nic.mac);
    expect(host.linkUp).toBe(true);
    expect(host.link).toEqual({ up: true, speedMbps: 1000, fullDuplex: true });
  });

  it(`sends ${FRAMES.toLocaleString('en')} frames of mixed sizes to the peer, none lost, reordered or corrupted`, async () => {
    const tx = await sent();
    console.log(describeRate(`ndis6 TX (${processors} processor(s))`, tx));
    expect(tx.summary).toEqual(CLEAN(FRAMES));
  });

  it(`receives ${FRAMES.toLocaleString('en')} frames of mixed sizes from the peer, none lost, reordered or corrupted`, async () => {
    const rx = await received();
    console.log(`${describeRate(`ndis6 RX (${processors} processor(s))`, rx)}, peer window ${RX_WINDOW}`);
    expect(rx.summary).toEqual(CLEAN(FRAMES));
  });

  it("the driver's counters, the NIC's statistics registers and the peer's counts agree", async () => {
    // NIC, driver, rings and peer count the same frames each way (octets with CRC on 7.2), doorbells cover many frames each.
    const tx = await sent();
    const rx = await received();
    await expectCountersAgree(host, peer, tx, rx);
    const s = await host.stats();
    const edge = s.frameworkSide.upperEdge as { rx: { frames: number; ringFull: number }; tx: { completed: number; failed: number; released: number } };
    expect(edge.rx).toMatchObject({ frames: FRAMES, ringFull: 0 });
    expect(edge.tx).toMatchObject({ completed: FRAMES, failed: 0, released: FRAMES });
  });

  it('QMP set_link off/on reaches the upper edge as link down, then link up', async () => {
    const before = host.linkEvents.length;
    await linkDown(host.machine.qmp, NIC_ID);
    try {
      await waitUntil('a link-down indication', () => host.linkEvents.length > before, 5_000);
      expect(host.linkEvents[before]).toMatchObject({ up: false });
      expect(host.linkUp).toBe(false);
    } finally {
      await linkUp(host.machine.qmp, NIC_ID);
    }
    await waitUntil('a link-up indication', () => host.linkEvents.length > before + 1, 5_000);
    expect(host.linkEvents[before + 1]).toMatchObject({ up: true, speed: 1_000_000_000, fullDuplex: true });
    expect(host.linkUp).toBe(true);
  });

  it('after halt no ISR or DPC runs, whatever the peer sends or the NIC raises', async () => {
    const own = await openHostWithPeer('dirql-ndis6-halt-', { framework: 'ndis6', processors, seed });
    try {
      await expectSilenceAfterHalt(own.host, own.peer);
    } finally {
      await closeHostWithPeer(own);
    }
  });
});
