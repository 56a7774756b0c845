/**
 * The whole stack on QEMU's real e1000: the NDIS 6 e1000 miniport (over the framework-neutral core)
 * on the NDIS 6 facade and the kernel model, the upper edge's PacketRings on the host side, and a
 * UDP wire peer on the other end of the NIC. The tests share one host and run in order.
 */
process.env.DIRQL_LOG ??= 'silent';

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameVerifier, TrafficGenerator, WirePeer, linkDown, linkUp } from '../../harness/index.ts';
import { NIC_ID } from '../../qemu/stub-config.ts';
import { Icr, Reg } from '../../src/drivers/e1000/registers.ts';
import { DriverHost } from '../../src/host/driver-host.ts';

const FRAMES = 10_000;
const PEER_MAC = '02:00:00:00:00:01';
/** Frames the host may have in the TX ring ahead of what the peer has read (the peer drains on this event loop). */
const TX_AHEAD = 1024;
/** Frames the peer keeps in flight towards the NIC: QEMU's UDP socket holds little more (DESIGN.md). */
const RX_WINDOW = 64;

async function until(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

describe.each([
  { processors: 1, seed: 1 },
  { processors: 2, seed: 7 },
])('NDIS 6 e1000 miniport on QEMU ($processors processor(s), seed $seed)', ({ processors, seed }) => {
  let host: DriverHost;
  let peer: WirePeer;
  let crashDir: string;
  const txLengths: number[] = [];
  const rxLengths: number[] = [];
  let received = 0;

  beforeAll(async () => {
    crashDir = mkdtempSync(join(tmpdir(), 'dirql-ndis6-'));
    peer = await WirePeer.open();
    host = await DriverHost.start({ framework: 'ndis6', processors, seed, wire: { peerPort: peer.port }, bugCheckDir: crashDir });
    await peer.connect(host.machine.wire.qemuPort);
  });

  afterAll(async () => {
    await host?.stop();
    await peer?.close();
    if (host?.bugCheck) console.error(host.bugCheckText());
    rmSync(crashDir, { recursive: true, force: true });
  });

  it('initialises: MAC from the EEPROM, link up as the upper edge sees it', () => {
    expect(host.mac).toBe(host.machine.nic.mac);
    expect(host.linkUp).toBe(true);
    expect(host.link).toEqual({ up: true, speedMbps: 1000, fullDuplex: true });
  });

  it(`sends ${FRAMES.toLocaleString('en')} frames of mixed sizes to the peer, none lost, reordered or corrupted`, async () => {
    const verifier = new FrameVerifier();
    const off = peer.onFrame((f) => verifier.accept(f));
    const frames = new TrafficGenerator({ src: host.mac, dst: PEER_MAC, stream: 1, size: 'mixed', seed: 11 }).take(FRAMES);
    const start = performance.now();
    for (let sent = 0; sent < FRAMES; ) {
      const chunk = frames.slice(sent, sent + 256);
      await host.sendAll(chunk);
      sent += chunk.length;
      await until('the peer to keep up', () => sent - peer.counters.framesReceived <= TX_AHEAD, 10_000);
    }
    await until(`${FRAMES} frames at the peer`, () => peer.counters.framesReceived >= FRAMES, 20_000);
    const ms = performance.now() - start;
    off();
    console.log(`ndis6 TX (${processors} processor(s)): ${FRAMES} frames in ${ms.toFixed(0)} ms = ${Math.round((FRAMES / ms) * 1000)} frames/s`);
    expect(verifier.summary(FRAMES)).toEqual({ ok: FRAMES, lost: 0, reordered: 0, duplicated: 0, corrupted: 0, foreign: 0 });
    txLengths.push(...frames.map((f) => f.length));
  });

  it(`receives ${FRAMES.toLocaleString('en')} frames of mixed sizes from the peer, none lost, reordered or corrupted`, async () => {
    const verifier = new FrameVerifier();
    const off = host.onReceive((view, length) => {
      received++;
      rxLengths.push(length);
      verifier.accept(Buffer.from(view.buffer, view.byteOffset, length));
    });
    const frames = new TrafficGenerator({ src: PEER_MAC, dst: host.mac, stream: 2, size: 'mixed', seed: 12 }).take(FRAMES);
    const start = performance.now();
    // The peer never has more than RX_WINDOW frames out that the host has not been handed yet.
    await peer.sendBatch(frames, { maxInFlight: RX_WINDOW, inFlight: () => peer.counters.framesSent - received });
    await until(`${FRAMES} frames indicated`, () => received >= FRAMES, 20_000);
    const ms = performance.now() - start;
    off();
    console.log(`ndis6 RX (${processors} processor(s)): ${FRAMES} frames in ${ms.toFixed(0)} ms = ${Math.round((FRAMES / ms) * 1000)} frames/s (window ${RX_WINDOW})`);
    expect(verifier.summary(FRAMES)).toEqual({ ok: FRAMES, lost: 0, reordered: 0, duplicated: 0, corrupted: 0, foreign: 0 });
  });

  it("the driver's counters, the NIC's statistics registers and the peer's counts agree", async () => {
    const s = await host.stats();
    const nic = s.adapter.nic;
    const driver = s.adapter.driver;
    // Transmit: NIC, driver, upper edge and peer all count the same frames (octets with CRC on 7.2).
    expect(peer.counters.framesReceived).toBe(FRAMES);
    expect(nic.goodPacketsTransmitted).toBe(FRAMES);
    expect(nic.goodOctetsTransmitted).toBe(txLengths.reduce((a, l) => a + l + 4, 0));
    expect(driver).toMatchObject({ txQueued: FRAMES, txCompleted: FRAMES, txAborted: 0 });
    expect(s.adapter.txRing.submitted).toBe(FRAMES);
    // Receive: every frame the peer sent went through the NIC and up, nothing missed or dropped.
    expect(peer.counters.framesSent).toBe(FRAMES);
    expect(nic.goodPacketsReceived).toBe(FRAMES);
    expect(nic.goodOctetsReceived).toBe(rxLengths.reduce((a, l) => a + l + 4, 0));
    expect(nic.missedPackets).toBe(0);
    expect(driver).toMatchObject({ rxIndicated: FRAMES, rxErrors: 0 });
    expect(s.rings.rx).toMatchObject({ enqueued: FRAMES, dropped: 0 });
    expect(s.delivered).toBe(FRAMES);
    const edge = s.frameworkSide.upperEdge as { rx: { frames: number; ringFull: number }; tx: { completed: number; failed: number; released: number } };
    expect(edge.rx).toMatchObject({ frames: FRAMES, ringFull: 0 });
    expect(edge.tx).toMatchObject({ completed: FRAMES, failed: 0, released: FRAMES });
    // Batching: doorbells cover many frames each.
    expect(s.adapter.txRing.doorbells).toBeLessThan(FRAMES / 8);
    expect(s.adapter.rxRing.doorbells).toBeLessThan(FRAMES / 8);
  });

  it('QMP set_link off/on reaches the upper edge as link down, then link up', async () => {
    const before = host.linkEvents.length;
    await linkDown(host.machine.qmp, NIC_ID);
    await until('a link-down indication', () => host.linkEvents.length > before, 5_000);
    expect(host.linkEvents[before]).toMatchObject({ up: false });
    expect(host.linkUp).toBe(false);
    await linkUp(host.machine.qmp, NIC_ID);
    await until('a link-up indication', () => host.linkEvents.length > before + 1, 5_000);
    expect(host.linkEvents[before + 1]).toMatchObject({ up: true, speed: 1_000_000_000, fullDuplex: true });
    expect(host.linkUp).toBe(true);
  });

  it('after halt no ISR or DPC runs, whatever the peer sends or the NIC raises', async () => {
    await host.halt();
    expect(host.halted).toBe(true);
    expect(host.kernel.connectedInterrupts).toHaveLength(0);
    const calls = host.calls();
    const line = host.machine.nic.irqLine;
    for (const f of new TrafficGenerator({ dst: host.mac, stream: 3 }).take(32)) peer.send(f);
    // Behind the driver's back: unmask everything and raise causes, so the line really goes up.
    const regs = host.machine.nic.registers;
    regs.write32(Reg.IMS, 0xffffffff);
    regs.write32(Reg.ICS, Icr.TXDW | Icr.RXT0 | Icr.LSC);
    await host.machine.lines.settle();
    expect(host.machine.lines.isAsserted(line)).toBe(true);
    await sleep(300);
    expect(host.calls()).toEqual(calls);
    expect(host.kernel.stopped).toBeNull();
    regs.write32(Reg.IMC, 0xffffffff);
    await regs.read32(Reg.ICR);
    expect((await host.stats()).adapter.driver.isrCalls).toBe(calls.isr);
  });
});
