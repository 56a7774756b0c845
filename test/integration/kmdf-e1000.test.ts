/**
 * The whole stack on QEMU's real e1000 with the KMDF driver (over the framework-neutral core) on the
 * KMDF facade: write requests carry frames from the host's TX PacketRing, pended read requests are
 * completed from the DPC into the RX PacketRing, and a UDP wire peer is on the other end of the NIC.
 * The tests share one host and run in order.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WirePeer } from '../../harness/index.ts';
import type { DriverHost } from '../../src/host/driver-host.ts';
import {
  CLEAN,
  RX_WINDOW,
  describeRate,
  expectCountersAgree,
  expectSilenceAfterHalt,
  flapLink,
  receiveFromPeer,
  sendToPeer,
  type ExchangeResult,
  closeHostWithPeer,
  openHostWithPeer,
  type HostWithPeer,
} from './support/e1000-exchange.ts';

const FRAMES = 10_000;

describe('KMDF e1000 driver on QEMU', () => {
  let host: DriverHost;
  let peer: WirePeer;
  let f: HostWithPeer | undefined;
  let tx: ExchangeResult;
  let rx: ExchangeResult;

  beforeAll(async () => {
    f = await openHostWithPeer('dirql-kmdf-', { framework: 'kmdf' });
    ({ host, peer } = f);
  });

  afterAll(() => closeHostWithPeer(f));

  it('starts the device: MAC from the EEPROM, link up, EvtInterruptIsr connected on the shared INTx line', () => {
    expect(host.mac).toBe(host.machine.nic.mac);
    expect(host.linkUp).toBe(true);
    expect(host.link).toEqual({ up: true, speedMbps: 1000, fullDuplex: true });
    const isr = host.kernel.connectedInterrupts.find((i) => i.line === host.machine.nic.irqLine);
    expect(isr).toMatchObject({ name: 'E1000EvtInterruptIsr', shareVector: true });
  });

  it(`sends ${FRAMES.toLocaleString('en')} frames of mixed sizes as write requests, none lost, reordered or corrupted`, async () => {
    tx = await sendToPeer(host, peer, FRAMES, 41);
    console.log(describeRate('kmdf TX', tx));
    expect(tx.summary).toEqual(CLEAN(FRAMES));
  });

  it(`receives ${FRAMES.toLocaleString('en')} frames of mixed sizes into pended reads, none lost, reordered or corrupted`, async () => {
    rx = await receiveFromPeer(host, peer, FRAMES, 42);
    console.log(`${describeRate('kmdf RX', rx)}, peer window ${RX_WINDOW}`);
    expect(rx.summary).toEqual(CLEAN(FRAMES));
  });

  it("the driver's counters, the NIC's statistics registers, the requests and the peer agree", async () => {
    await expectCountersAgree(host, peer, tx, rx);
    const s = await host.stats();
    const driver = s.frameworkSide.driver as Record<string, number>;
    expect(driver).toMatchObject({ writesTaken: FRAMES, writesCompleted: FRAMES, writesCancelled: 0, writesInvalid: 0, readsCompleted: FRAMES, readsTruncated: 0 });
    // Writes are taken in batches: far fewer EvtIoWrite calls than frames.
    expect(driver.writesPresented).toBeLessThan(FRAMES / 8);
    const edge = s.frameworkSide.upperEdge as { rx: { frames: number; readsFailed: number }; tx: { completed: number; failed: number; released: number } };
    expect(edge.rx).toMatchObject({ frames: FRAMES, readsFailed: 0 });
    expect(edge.tx).toMatchObject({ completed: FRAMES, failed: 0, released: FRAMES });
  });

  it('QMP set_link off/on reaches the upper edge as link down, then link up', async () => {
    await flapLink(host);
  });

  it('after the device stops no EvtInterruptIsr or EvtInterruptDpc runs, whatever the peer sends or the NIC raises', async () => {
    await expectSilenceAfterHalt(host, peer);
  });
});
