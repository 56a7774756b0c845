/**
 * Traffic between a DriverHost's e1000 and a WirePeer on real QEMU, shared by the per-framework
 * integration tests: frames go through the host's PacketRings on one side and the UDP wire on the
 * other, and each direction is checked frame by frame with a FrameVerifier.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { FrameVerifier, TrafficGenerator, WirePeer, linkDown, linkUp } from '../../../harness/index.ts';
import { NIC_ID } from '../../../qemu/stub-config.ts';
import type { AdapterStatistics } from '../../../src/drivers/e1000/miniport/index.ts';
import { Icr, Reg } from '../../../src/drivers/e1000/registers.ts';
import { DriverHost, type DriverHostOptions, type HostStatistics } from '../../../src/host/driver-host.ts';
import { waitUntil } from '../../support/wait.ts';
import { expectNothingLeft, machineTraces } from './leftovers.ts';

export const PEER_MAC = '02:00:00:00:00:01';
/** Frames the host may have in the TX ring ahead of what the peer has read (the peer drains on this event loop). */
export const TX_AHEAD = 1024;
/** Frames the peer keeps in flight towards the NIC: QEMU's UDP socket holds little more (docs/qemu.md). */
export const RX_WINDOW = 64;

/** A DriverHost on QEMU whose NIC's wire is a WirePeer, with its own bug check directory. */
export interface HostWithPeer {
  host: DriverHost;
  peer: WirePeer;
  crashDir: string;
}

/** Start the host (bug checks into a fresh `${tmpPrefix}XXXXXX`) wired to a new peer; what was opened is closed again if any step fails. */
export async function openHostWithPeer(tmpPrefix: string, opts: Omit<DriverHostOptions, 'wire' | 'bugCheckDir'>): Promise<HostWithPeer> {
  const crashDir = mkdtempSync(join(tmpdir(), tmpPrefix));
  let peer: WirePeer | undefined;
  let host: DriverHost | undefined;
  try {
    peer = await WirePeer.open();
    // The lockset verifier stops the driver at its first finding: the reference miniport has none.
    host = await DriverHost.start({ ...opts, verifier: { lockset: 'stop', ...opts.verifier }, wire: { peerPort: peer.port }, bugCheckDir: crashDir });
    await peer.connect(host.machine.wire.qemuPort);
    return { host, peer, crashDir };
  } catch (err) {
    await host?.stop();
    await peer?.close();
    rmSync(crashDir, { recursive: true, force: true });
    throw err;
  }
}

/** Stop the host and the peer, print a bug check if there was one, remove the directory. */
export async function closeHostWithPeer(f: HostWithPeer | undefined): Promise<void> {
  if (!f) return;
  await f.host.stop();
  await f.peer.close();
  if (f.host.bugCheck) console.error(f.host.bugCheckText());
  rmSync(f.crashDir, { recursive: true, force: true });
}

/**
 * Runs `body` on a fresh host wired to a new peer (one that may send frames up to `peerMaxFrame`
 * bytes, when given), then stops both and checks that nothing of the host is left.
 */
export async function withHostAndPeer(
  tmpPrefix: string,
  opts: Omit<DriverHostOptions, 'wire' | 'bugCheckDir'>,
  body: (f: HostWithPeer) => Promise<void>,
  peerMaxFrame?: number,
): Promise<void> {
  const f = await openHostWithPeer(tmpPrefix, opts);
  const traces = machineTraces(f.host);
  try {
    if (peerMaxFrame !== undefined) {
      await f.peer.close();
      f.peer = await WirePeer.open({ port: f.host.machine.wire.peerPort, qemuPort: f.host.machine.wire.qemuPort, maxFrameLength: peerMaxFrame });
    }
    await body(f);
  } finally {
    await closeHostWithPeer(f);
  }
  await expectNothingLeft(traces);
}

export interface ExchangeResult {
  /** Frame lengths in the order they went (without CRC). */
  lengths: number[];
  ms: number;
  framesPerSecond: number;
  /**
   * Frames per second from the first frame delivered to the last: without the time before the
   * first one (on receive, the e1000 accepts nothing for about 1 s after RCTL is written).
   */
  steadyFramesPerSecond: number;
  summary: ReturnType<FrameVerifier['summary']>;
}

/** `count` mixed-size frames (60–1514 bytes) from the host through the driver to the peer. */
export async function sendToPeer(host: DriverHost, peer: WirePeer, count: number, seed: number): Promise<ExchangeResult> {
  const verifier = new FrameVerifier();
  let first = 0;
  let last = 0;
  const off = peer.onFrame((f) => {
    last = performance.now();
    if (first === 0) first = last;
    verifier.accept(f);
  });
  const base = peer.counters.framesReceived;
  const frames = new TrafficGenerator({ src: host.mac, dst: PEER_MAC, stream: 1, size: 'mixed', seed }).take(count);
  const start = performance.now();
  try {
    for (let sent = 0; sent < count;) {
      const chunk = frames.slice(sent, sent + 256);
      await host.sendAll(chunk);
      sent += chunk.length;
      await waitUntil('the peer to keep up', () => sent - (peer.counters.framesReceived - base) <= TX_AHEAD, 10_000);
    }
    await waitUntil(`${count} frames at the peer`, () => peer.counters.framesReceived - base >= count, 20_000);
  } finally {
    off();
  }
  const ms = performance.now() - start;
  return {
    lengths: frames.map((f) => f.length),
    ms,
    framesPerSecond: Math.round((count / ms) * 1000),
    steadyFramesPerSecond: steadyRate(count, first, last),
    summary: verifier.summary(count),
  };
}

/** `count` mixed-size frames from the peer through the driver into the host, at most RX_WINDOW not yet delivered. */
export async function receiveFromPeer(host: DriverHost, peer: WirePeer, count: number, seed: number): Promise<ExchangeResult> {
  const verifier = new FrameVerifier();
  const lengths: number[] = [];
  let received = 0;
  let first = 0;
  let last = 0;
  const off = host.onReceive((view, length) => {
    last = performance.now();
    if (first === 0) first = last;
    received++;
    lengths.push(length);
    verifier.accept(Buffer.from(view.buffer, view.byteOffset, length));
  });
  const frames = new TrafficGenerator({ src: PEER_MAC, dst: host.mac, stream: 2, size: 'mixed', seed }).take(count);
  const sentBefore = peer.counters.framesSent;
  const start = performance.now();
  try {
    await peer.sendBatch(frames, { maxInFlight: RX_WINDOW, inFlight: () => peer.counters.framesSent - sentBefore - received });
    await waitUntil(`${count} frames delivered`, () => received >= count, 20_000);
  } finally {
    off();
  }
  const ms = performance.now() - start;
  return { lengths, ms, framesPerSecond: Math.round((count / ms) * 1000), steadyFramesPerSecond: steadyRate(count, first, last), summary: verifier.summary(count) };
}

function steadyRate(count: number, first: number, last: number): number {
  return last > first ? Math.round(((count - 1) / (last - first)) * 1000) : 0;
}

/**
 * Records a session (`record: file`) of `frames` mixed frames each way through `framework`'s driver
 * on QEMU, on `processors` processors with scheduler seed `seed`; the replay tests replay it.
 */
export async function recordExchange(framework: string, file: string, frames: number, processors = 1, seed = 1): Promise<void> {
  const f = await openHostWithPeer('dirql-replay-', { framework, processors, seed, record: file });
  try {
    await sendToPeer(f.host, f.peer, frames, 3);
    await receiveFromPeer(f.host, f.peer, frames, 4);
  } finally {
    await closeHostWithPeer(f);
  }
}

/** A one-line summary of an exchange for the test log. */
export function describeRate(label: string, r: ExchangeResult): string {
  return `${label}: ${r.lengths.length} frames in ${r.ms.toFixed(0)} ms = ${r.framesPerSecond} frames/s (${r.steadyFramesPerSecond} frames/s from the first frame to the last)`;
}

/** The e1000 variants' driver statistics in host.stats() (a host's `adapter` is the driver's own, typed by the driver). */
export function e1000Statistics(s: HostStatistics): AdapterStatistics {
  expect(s.adapter, 'the e1000 variant gives its AdapterStatistics').toBeDefined();
  return s.adapter as AdapterStatistics;
}

export const CLEAN = (count: number) => ({ ok: count, lost: 0, reordered: 0, duplicated: 0, corrupted: 0, foreign: 0 });

/**
 * The NIC's statistics registers, the driver core's counters, the host rings and the peer agree on
 * `tx` frames sent and `rx` frames received (octets with the 4 CRC bytes, as QEMU 7.2 counts them).
 */
export async function expectCountersAgree(host: DriverHost, peer: WirePeer, tx: ExchangeResult, rx: ExchangeResult): Promise<void> {
  const s = await host.stats();
  const adapter = e1000Statistics(s);
  const nic = adapter.nic;
  const driver = adapter.driver;
  const txFrames = tx.lengths.length;
  const rxFrames = rx.lengths.length;
  expect(peer.counters.framesReceived).toBe(txFrames);
  expect(nic.goodPacketsTransmitted).toBe(txFrames);
  expect(nic.goodOctetsTransmitted).toBe(tx.lengths.reduce((a, l) => a + l + 4, 0));
  expect(driver).toMatchObject({ txQueued: txFrames, txCompleted: txFrames, txAborted: 0 });
  expect(adapter.txRing.submitted).toBe(txFrames);
  expect(peer.counters.framesSent).toBe(rxFrames);
  expect(nic.goodPacketsReceived).toBe(rxFrames);
  expect(nic.goodOctetsReceived).toBe(rx.lengths.reduce((a, l) => a + l + 4, 0));
  expect(nic.missedPackets).toBe(0);
  expect(driver).toMatchObject({ rxIndicated: rxFrames, rxErrors: 0 });
  expect(s.rings.rx).toMatchObject({ enqueued: rxFrames, dropped: 0 });
  expect(s.rings.tx).toMatchObject({ dequeued: txFrames });
  expect(s.delivered).toBe(rxFrames);
  // Batching: doorbells cover many frames each.
  expect(adapter.txRing.doorbells).toBeLessThan(txFrames / 8);
  expect(adapter.rxRing.doorbells).toBeLessThan(rxFrames / 8);
}

/** QMP set_link off, then on: the host's upper edge sees link down, then link up. */
export async function flapLink(host: DriverHost): Promise<void> {
  const before = host.linkEvents.length;
  await linkDown(host.machine.qmp, NIC_ID);
  await waitUntil('a link-down indication', () => host.linkEvents.length > before, 5_000);
  expect(host.linkEvents[before]).toMatchObject({ up: false });
  expect(host.linkUp).toBe(false);
  await linkUp(host.machine.qmp, NIC_ID);
  await waitUntil('a link-up indication', () => host.linkEvents.length > before + 1, 5_000);
  expect(host.linkEvents[before + 1]).toMatchObject({ up: true, speed: 1_000_000_000 });
  expect(host.linkUp).toBe(true);
}

/**
 * Halt, then make the NIC interrupt behind the driver's back (peer frames, IMS all, ICS causes):
 * the line really goes up, yet no ISR or DPC of the driver runs.
 */
export async function expectSilenceAfterHalt(host: DriverHost, peer: WirePeer): Promise<void> {
  await host.halt();
  expect(host.halted).toBe(true);
  expect(host.kernel.connectedInterrupts).toHaveLength(0);
  const calls = host.calls();
  const core = e1000Statistics(await host.stats()).driver;
  const line = host.machine.nic.irqLine;
  for (const f of new TrafficGenerator({ dst: host.mac, stream: 3 }).take(32)) peer.send(f);
  const regs = host.machine.nic.registers;
  regs.write32(Reg.IMS, 0xffffffff);
  regs.write32(Reg.ICS, Icr.TXDW | Icr.RXT0 | Icr.LSC);
  await host.machine.lines.settle();
  // The positive control: the level reached the kernel's line source (the only way to an ISR) ...
  expect(host.machine.lines.isAsserted(line)).toBe(true);
  // ... and the kernel has done all it was going to do about it (no ISR or DPC running or queued).
  await host.kernel.quiesce();
  expect(host.calls()).toEqual(calls);
  expect(host.kernel.stopped).toBeNull();
  regs.write32(Reg.IMC, 0xffffffff);
  await regs.read32(Reg.ICR);
  // The core's own ISR and DPC bodies did not run either.
  expect(e1000Statistics(await host.stats()).driver).toMatchObject({ isrCalls: core.isrCalls, dpcCalls: core.dpcCalls });
}
