/**
 * The whole stack on QEMU's real e1000 with the NDIS 5.1 miniport (over the framework-neutral core)
 * on the NDIS 5 facade, the NDIS 5 upper edge's PacketRings on the host side and a UDP wire peer on
 * the other end. First in the mode the e1000 suits (MiniportISR on a shared line), then with the
 * other registration (no RequestIsr: NDIS calls MiniportDisableInterrupt). Tests in a block share
 * one host and run in order.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerFramework } from '../../src/host/frameworks/index.ts';
import { startNdis5Variant, startVariant } from '../../src/host/frameworks/ndis5.ts';
import {
  CLEAN,
  RX_WINDOW,
  closeHostWithPeer,
  describeRate,
  expectCountersAgree,
  expectSilenceAfterHalt,
  flapLink,
  openHostWithPeer,
  receiveFromPeer,
  sendToPeer,
  type ExchangeResult,
  type HostWithPeer,
} from './support/e1000-exchange.ts';

const FRAMES = 10_000;

describe('NDIS 5 e1000 miniport on QEMU (MiniportISR, shared line)', () => {
  let f: HostWithPeer;
  let tx: ExchangeResult;
  let rx: ExchangeResult;

  beforeAll(async () => {
    f = await openHostWithPeer('dirql-ndis5-', { framework: 'ndis5' });
  });
  afterAll(() => closeHostWithPeer(f));

  it('initialises: MAC from the EEPROM, link up as the protocol sees it, MiniportISR registered for a shared line', () => {
    const { host } = f;
    expect(host.mac).toBe(host.machine.nic.mac);
    expect(host.linkUp).toBe(true);
    expect(host.link).toEqual({ up: true, speedMbps: 1000, fullDuplex: true });
    const line = host.kernel.connectedInterrupts.find((i) => i.line === host.machine.nic.irqLine);
    expect(line).toMatchObject({ name: 'MiniportISR', shareVector: true });
  });

  it(`sends ${FRAMES.toLocaleString('en')} frames of mixed sizes to the peer, none lost, reordered or corrupted`, async () => {
    tx = await sendToPeer(f.host, f.peer, FRAMES, 21);
    console.log(describeRate('ndis5 TX', tx));
    expect(tx.summary).toEqual(CLEAN(FRAMES));
  });

  it(`receives ${FRAMES.toLocaleString('en')} frames of mixed sizes from the peer, none lost, reordered or corrupted`, async () => {
    rx = await receiveFromPeer(f.host, f.peer, FRAMES, 22);
    console.log(`${describeRate('ndis5 RX', rx)}, peer window ${RX_WINDOW}`);
    expect(rx.summary).toEqual(CLEAN(FRAMES));
  });

  it("the driver's counters, the NIC's statistics registers, NDIS, the upper edge and the peer agree", async () => {
    await expectCountersAgree(f.host, f.peer, tx, rx);
    const s = await f.host.stats();
    const ndis = s.frameworkSide.ndis as { packetsIndicated: number; packetsReturned: number; packetsSent: number; sendsCompleted: number; sendsFailed: number };
    expect(ndis).toMatchObject({ packetsIndicated: FRAMES, packetsReturned: FRAMES, packetsSent: FRAMES, sendsCompleted: FRAMES, sendsFailed: 0 });
    const edge = s.frameworkSide.upperEdge as { rx: { frames: number; ringFull: number }; tx: { completed: number; failed: number; released: number } };
    expect(edge.rx).toMatchObject({ frames: FRAMES, ringFull: 0 });
    expect(edge.tx).toMatchObject({ completed: FRAMES, failed: 0, released: FRAMES });
    const miniport = s.frameworkSide.miniport as { isrRecognized: number; handleInterruptCalls: number; disableInterruptCalls: number };
    expect(miniport.isrRecognized).toBeGreaterThan(0);
    expect(miniport.handleInterruptCalls).toBeGreaterThan(0);
    expect(miniport.disableInterruptCalls).toBe(0);
  });

  it('QMP set_link off/on reaches the protocol as NDIS_STATUS_MEDIA_DISCONNECT, then MEDIA_CONNECT', async () => {
    await flapLink(f.host);
  });

  it('after MiniportHalt neither MiniportISR nor MiniportHandleInterrupt runs, whatever the peer sends or the NIC raises', async () => {
    await expectSilenceAfterHalt(f.host, f.peer);
  });
});

describe("NDIS 5 e1000 miniport on QEMU (no RequestIsr: NDIS' ISR calls MiniportDisableInterrupt)", () => {
  const SOME = 2_000;
  let f: HostWithPeer;
  let tx: ExchangeResult;
  let rx: ExchangeResult;

  beforeAll(async () => {
    registerFramework('ndis5', async () => (ctx) => startNdis5Variant(ctx, { interruptMode: 'disable' }));
    try {
      f = await openHostWithPeer('dirql-ndis5-', { framework: 'ndis5' });
    } finally {
      registerFramework('ndis5', async () => startVariant);
    }
  });
  afterAll(() => closeHostWithPeer(f));

  it('registers a non-shared line handled by MiniportDisableInterrupt', () => {
    const line = f.host.kernel.connectedInterrupts.find((i) => i.line === f.host.machine.nic.irqLine);
    expect(line).toMatchObject({ name: 'ndisMIsr', shareVector: false });
    expect(f.host.linkUp).toBe(true);
  });

  it(`moves ${SOME.toLocaleString('en')} mixed frames each way intact and in order; counters agree`, async () => {
    tx = await sendToPeer(f.host, f.peer, SOME, 31);
    expect(tx.summary).toEqual(CLEAN(SOME));
    rx = await receiveFromPeer(f.host, f.peer, SOME, 32);
    expect(rx.summary).toEqual(CLEAN(SOME));
    console.log(`${describeRate('ndis5 (DisableInterrupt) TX', tx)}\n${describeRate('ndis5 (DisableInterrupt) RX', rx)}, peer window ${RX_WINDOW}`);
    await expectCountersAgree(f.host, f.peer, tx, rx);
    const miniport = (await f.host.stats()).frameworkSide.miniport as {
      isrCalls: number;
      disableInterruptCalls: number;
      handleInterruptCalls: number;
      enableInterruptCalls: number;
    };
    expect(miniport.isrCalls).toBe(0);
    expect(miniport.disableInterruptCalls).toBeGreaterThan(0);
    expect(miniport.handleInterruptCalls).toBeGreaterThan(0);
    expect(miniport.enableInterruptCalls).toBe(miniport.handleInterruptCalls);
  });

  it('QMP set_link off/on is indicated as media disconnect, then connect', async () => {
    await flapLink(f.host);
  });

  it('after MiniportHalt neither MiniportDisableInterrupt nor MiniportHandleInterrupt runs', async () => {
    await expectSilenceAfterHalt(f.host, f.peer);
  });
});
