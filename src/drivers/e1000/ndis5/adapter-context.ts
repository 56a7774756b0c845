import type { NdisTimer } from '../../../ndis/common/timer.ts';
import { NdisStatus, type Ndis5Library, type Ndis5Adapter, type NdisMiniportInterrupt, type NdisPacket, type NdisPacketPool } from '../../../ndis/ndis5/index.ts';
import { logger } from '../../../util/log.ts';
import { E1000StateError } from '../errors.ts';
import {
  E1000Adapter,
  MAX_SEND_LENGTH,
  MIN_SEND_LENGTH,
  type AdapterLock,
  type E1000AdapterOptions,
  type FrameSink,
  type MiniportEdge,
  type ReceiveBatch,
  type SendOutcome,
} from '../miniport/index.ts';
import type { LinkState } from '../nic.ts';
import { InFlightQueue } from './packet-queue.ts';
import { linkSpeed100bps } from '../common/ndis-oid.ts';
import { ndisAdapterLock } from '../common/ndis-lock.ts';

const log = logger('e1000.ndis5');

/**
 * How NdisMRegisterInterrupt is called.
 * - 'isr' (default): RequestIsr and SharedInterrupt. PCI INTx lines are shareable, so NDIS calls
 *   MiniportISR on every interrupt of the line; it reads ICR (which also tells whether the e1000
 *   interrupted at all) and asks for MiniportHandleInterrupt only when it did.
 * - 'disable': neither. NDIS' own ISR calls MiniportDisableInterrupt (IMC) and always queues
 *   MiniportHandleInterrupt, which then reads ICR itself. Only right for a line nobody shares.
 */
export type Ndis5InterruptMode = 'isr' | 'disable';

/** What the variant counts on top of the core. */
export interface Ndis5MiniportCounters {
  /** MiniportISR calls, and those that recognised the interrupt. */
  isrCalls: number;
  isrRecognized: number;
  /** MiniportDisableInterrupt / MiniportEnableInterrupt calls. */
  disableInterruptCalls: number;
  enableInterruptCalls: number;
  /** MiniportHandleInterrupt calls. */
  handleInterruptCalls: number;
  /** Runs of the core's deferred body from the receive timer (a receive re-check asked outside MiniportHandleInterrupt). */
  timerRuns: number;
  /** Times MiniportHandleInterrupt ran the core's deferred body again because the core asked for another pass. */
  deferredRepeats: number;
  /** Send packets failed at once: a frame of a bad length (NDIS_STATUS_INVALID_PACKET). */
  sendsInvalid: number;
  /** Send packets failed because the adapter was halting (NDIS_STATUS_ADAPTER_NOT_READY). */
  sendsRefused: number;
  /** Received packets indicated with NDIS_STATUS_RESOURCES (the protocol had to copy at once). */
  receivesLent: number;
  /** Received frames not indicated because the receive packet pool was empty (given straight back). */
  receivesNoPacket: number;
  /** MiniportReturnPacket calls. */
  packetsReturned: number;
}

/** Frames of MAC header (NDIS_SET_PACKET_HEADER_SIZE). */
const ETHERNET_HEADER = 14;

/**
 * The MiniportAdapterContext of the NDIS 5.1 e1000 miniport: the framework-neutral core plus what
 * NDIS 5 needs around it (NDIS_MINIPORT_INTERRUPT, receive packet pool, send packets in flight, a
 * timer). It is also the core's MiniportEdge, implemented with NDIS 5 calls.
 */
export class E1000Ndis5Adapter implements MiniportEdge {
  readonly core: E1000Adapter;
  readonly ndis: Ndis5Library;
  readonly handle: Ndis5Adapter;
  readonly interruptMode: Ndis5InterruptMode;
  readonly counters: Ndis5MiniportCounters = {
    isrCalls: 0,
    isrRecognized: 0,
    disableInterruptCalls: 0,
    enableInterruptCalls: 0,
    handleInterruptCalls: 0,
    timerRuns: 0,
    deferredRepeats: 0,
    sendsInvalid: 0,
    sendsRefused: 0,
    receivesLent: 0,
    receivesNoPacket: 0,
    packetsReturned: 0,
  };
  interrupt: NdisMiniportInterrupt | null = null;
  receivePool: NdisPacketPool | null = null;
  /** NdisMInitializeTimer: runs the deferred body when a receive re-check is asked outside MiniportHandleInterrupt. */
  receiveTimer: NdisTimer | null = null;
  /** MiniportHalt began: no more timer runs. */
  halting = false;
  /** The link last indicated (NDIS 5 has no link state of its own before the first indication). */
  indicatedLink: LinkState | null = null;

  private readonly sending = new InFlightQueue<NdisPacket>();
  private readonly rxRingSize: number;
  /** Receive packets are lent (NDIS_STATUS_RESOURCES) once fewer descriptors than this would be left to the NIC. */
  private readonly receiveLowWater: number;
  private readonly receiveBudget: number | undefined;
  /** NdisMIndicateReceivePacket's PacketArray, reused. */
  private readonly indicateArray: NdisPacket[] = [];
  /** Which entries of indicateArray went up with NDIS_STATUS_RESOURCES. */
  private readonly lentMarks: Uint8Array;
  /** Per processor: the deferred body runs there, and the core asked for another pass. */
  private readonly deferredDepth: Uint8Array;
  private readonly deferredAgain: Uint8Array;
  /** The receive timer is set or its DPC is queued or running. */
  private timerPending = false;
  private timerRunning = false;

  constructor(ndis: Ndis5Library, handle: Ndis5Adapter, options: E1000AdapterOptions, opts: { interruptMode?: Ndis5InterruptMode; receiveLowWater?: number } = {}) {
    this.ndis = ndis;
    this.handle = handle;
    this.interruptMode = opts.interruptMode ?? 'isr';
    this.rxRingSize = options.rxRingSize ?? 256;
    this.receiveLowWater = Math.max(1, opts.receiveLowWater ?? this.rxRingSize >>> 3);
    this.receiveBudget = options.receiveBudget;
    const batch = Math.max(1, Math.min(options.receiveBatch ?? 64, this.rxRingSize - 1));
    this.lentMarks = new Uint8Array(batch);
    this.deferredDepth = new Uint8Array(ndis.kernel.processorCount);
    this.deferredAgain = new Uint8Array(ndis.kernel.processorCount);
    this.core = new E1000Adapter(this, options);
  }

  /** ISR and DPC-side calls for "nothing runs after halt" checks: MiniportISR or MiniportDisableInterrupt, MiniportHandleInterrupt or the timer. */
  get routineCalls(): { isr: number; dpc: number; dpcWithoutIsr: number } {
    const c = this.counters;
    return { isr: c.isrCalls + c.disableInterruptCalls, dpc: c.handleInterruptCalls + c.timerRuns, dpcWithoutIsr: c.timerRuns };
  }

  // ---------------------------------------------------------------- MiniportEdge (core → NDIS 5)

  /** NdisMSynchronizeWithInterrupt with MiniportSynchronizeISR running the core's callback. */
  synchronize(fn: () => boolean | Promise<boolean>): Promise<boolean> {
    return this.ndis.synchronizeWithInterrupt(this.requireInterrupt(), MiniportSynchronizeISR, fn);
  }

  /**
   * NDIS 5 cannot queue MiniportHandleInterrupt itself. Inside the deferred body (MiniportHandleInterrupt
   * or the timer on this processor) the request is remembered and the body runs again before it
   * returns: the seed page's "does the deferred processing of all outstanding interrupt operations".
   * Anywhere else (MiniportReturnPacket on a protocol thread) the receive timer is set to 0 ms.
   */
  queueDpc(): boolean {
    const act = this.ndis.kernel.current();
    const p = act && !act.ended ? act.processor.index : -1;
    if (p >= 0 && this.deferredDepth[p]! > 0) {
      if (this.deferredAgain[p]) return false;
      this.deferredAgain[p] = 1;
      return true;
    }
    if (this.halting || this.timerPending || !this.receiveTimer) return false;
    this.timerPending = true;
    this.ndis.setTimer(this.receiveTimer, 0);
    return true;
  }

  /** NDIS_SPIN_LOCK: NdisAcquireSpinLock keeps the old IRQL in the lock, NdisReleaseSpinLock restores it. */
  createLock(name: string): AdapterLock {
    return ndisAdapterLock(this.ndis, name);
  }

  /** NdisMSleep. */
  delay(microseconds: number): Promise<void> {
    return this.ndis.sleep(microseconds);
  }

  /** NdisGetSystemUpTime. */
  upTimeMs(): number {
    return this.ndis.getSystemUpTime();
  }

  /**
   * One NDIS_PACKET per frame from the receive pool, its buffer pointing at the frame in place, all
   * indicated with one NdisMIndicateReceivePacket. When the NIC would be left with fewer than
   * `receiveLowWater` descriptors, the packets carry NDIS_STATUS_RESOURCES (the protocol copies them
   * during the indication and they are the miniport's again when it returns); otherwise the
   * protocol may keep them until NdisReturnPackets (MiniportReturnPacket).
   */
  async indicateReceive(batch: ReceiveBatch): Promise<void> {
    const ndis = this.ndis;
    const pool = this.receivePool;
    const packets = this.indicateArray;
    const lent = this.lentMarks;
    // heldReceives already counts this batch.
    const lend = this.rxRingSize - this.core.heldReceives < this.receiveLowWater;
    let n = 0;
    for (let i = 0; i < batch.count; i++) {
      const p = pool ? ndis.allocatePacket(pool, batch.views[i]!, 0, batch.lengths[i]!) : null;
      if (!p) {
        // Cannot happen with a pool as large as the ring; counted and given straight back if it does.
        const left = batch.count - i;
        this.counters.receivesNoPacket += left;
        await this.core.returnReceives(left);
        break;
      }
      p.headerSize = ETHERNET_HEADER;
      p.status = lend ? NdisStatus.RESOURCES : NdisStatus.SUCCESS;
      lent[n] = lend ? 1 : 0;
      packets[n++] = p;
    }
    if (n === 0) return;
    await ndis.indicateReceivePacket(this.handle, packets, n);
    let back = 0;
    for (let i = 0; i < n; i++) {
      // A lent packet is the miniport's again now that the indication returned.
      if (lent[i]) {
        ndis.freePacket(packets[i]!);
        back++;
      }
      packets[i] = undefined as never;
    }
    if (back > 0) {
      this.counters.receivesLent += back;
      await this.core.returnReceives(back);
    }
  }

  /** The next `count` frames are finished: NdisMSendComplete for their packets, in order. */
  completeSends(count: number, outcome: SendOutcome): void {
    const status = outcome === 'sent' ? NdisStatus.SUCCESS : NdisStatus.REQUEST_ABORTED;
    for (let i = 0; i < count; i++) {
      const p = this.sending.shift();
      if (!p) {
        log.error({ count, outcome }, 'the core completed more sends than packets are in flight');
        throw new E1000StateError(`completeSends(${count}) with only ${i} packets in flight`, { count, inFlight: i });
      }
      this.ndis.sendComplete(this.handle, p, status);
    }
  }

  /**
   * NdisMIndicateStatus(NDIS_STATUS_MEDIA_CONNECT / MEDIA_DISCONNECT) + NdisMIndicateStatusComplete;
   * a new speed is indicated first with NDIS_STATUS_LINK_SPEED_CHANGE (in 100 bit/s units).
   */
  indicateLink(state: LinkState): void {
    const ndis = this.ndis;
    const before = this.indicatedLink;
    if (state.up && (!before || before.speedMbps !== state.speedMbps)) {
      ndis.indicateStatus(this.handle, NdisStatus.LINK_SPEED_CHANGE, linkSpeed100bps(state.speedMbps));
    }
    ndis.indicateStatus(this.handle, state.up ? NdisStatus.MEDIA_CONNECT : NdisStatus.MEDIA_DISCONNECT, null);
    ndis.indicateStatusComplete(this.handle);
    this.indicatedLink = { ...state };
  }

  // ---------------------------------------------------------------- MiniportXxx bodies (NDIS 5 → core)

  /**
   * MiniportSendPackets (deserialized): every packet is one frame. A packet of a bad length fails at
   * once (NDIS_STATUS_INVALID_PACKET); the others go to the core in one batch (one doorbell) and
   * complete with NdisMSendComplete when the NIC has sent them.
   */
  async sendPackets(packetArray: readonly NdisPacket[], numberOfPackets: number): Promise<void> {
    const ndis = this.ndis;
    let packets = packetArray;
    let count = numberOfPackets;
    for (let i = 0; i < numberOfPackets; i++) {
      const p = packetArray[i]!;
      const ok = p.dataLength >= MIN_SEND_LENGTH && p.dataLength <= MAX_SEND_LENGTH && p.dataOffset + p.dataLength <= p.data.length;
      if (ok) {
        if (packets !== packetArray) (packets as NdisPacket[]).push(p);
        continue;
      }
      // Rare: the valid packets go into an array of their own; the invalid one is completed now.
      if (packets === packetArray) packets = packetArray.slice(0, i);
      this.counters.sendsInvalid++;
      ndis.sendComplete(this.handle, p, NdisStatus.INVALID_PACKET);
    }
    if (packets !== packetArray) count = packets.length;
    if (count === 0) return;
    const sending = this.sending;
    let before = -1;
    // The sink runs under the core's TX lock: packets enter the in-flight queue in exactly the
    // order their frames reach the ring, before any of them can complete.
    const sink = (add: FrameSink): void => {
      before = sending.length;
      for (let i = 0; i < count; i++) {
        const p = packets[i]!;
        add(p.data, p.dataOffset, p.dataLength);
        sending.push(p);
      }
    };
    let taken: number;
    try {
      taken = await this.core.send(sink);
    } catch (err) {
      if (before >= 0) for (const p of sending.truncate(before)) ndis.sendComplete(this.handle, p, NdisStatus.FAILURE);
      throw err;
    }
    if (taken === 0) {
      // Halting: the core takes nothing more.
      for (let i = 0; i < count; i++) {
        this.counters.sendsRefused++;
        ndis.sendComplete(this.handle, packets[i]!, NdisStatus.ADAPTER_NOT_READY);
      }
    }
  }

  /** MiniportReturnPacket: the packet goes back to the pool, its frame's descriptor to the NIC. */
  async returnPacket(packet: NdisPacket): Promise<void> {
    this.counters.packetsReturned++;
    this.ndis.freePacket(packet);
    await this.core.returnReceives(1);
  }

  /** MiniportISR (DIRQL): the core's ISR body; MiniportHandleInterrupt only when the e1000 interrupted. */
  async isr(): Promise<{ interruptRecognized: boolean; queueMiniportHandleInterrupt: boolean }> {
    this.counters.isrCalls++;
    const r = await this.core.isr();
    if (r.recognized) this.counters.isrRecognized++;
    return r.recognized ? ISR_OURS : ISR_NOT_OURS;
  }

  /** MiniportDisableInterrupt (DIRQL): IMC, every cause masked. */
  async disableInterrupt(): Promise<void> {
    this.counters.disableInterruptCalls++;
    await this.core.disableInterruptAtDirql();
  }

  /** MiniportEnableInterrupt (DIRQL, synchronized with the ISR): IMS, unless the core still waits for its deferred body. */
  async enableInterrupt(): Promise<void> {
    this.counters.enableInterruptCalls++;
    await this.core.enableInterruptAtDirql();
  }

  /**
   * MiniportHandleInterrupt (DISPATCH_LEVEL). In 'disable' mode nobody has read ICR yet: the core's
   * ISR body runs first inside NdisMSynchronizeWithInterrupt (it saves the causes and keeps the NIC
   * masked). Then the core's deferred body, which re-enables the NIC's interrupts before it returns
   * (seed: "Before it returns control, MiniportHandleInterrupt can reenable interrupts on the NIC").
   */
  async handleInterrupt(): Promise<void> {
    this.counters.handleInterruptCalls++;
    if (this.interruptMode === 'disable') await this.synchronize(this.collectCauses);
    await this.runDeferred();
  }

  /** The receive timer's function (DISPATCH_LEVEL): the deferred body, unless halting. */
  async timerFired(): Promise<void> {
    this.timerPending = false;
    if (this.halting) return;
    this.timerRunning = true;
    try {
      this.counters.timerRuns++;
      await this.runDeferred();
    } finally {
      this.timerRunning = false;
    }
  }

  /**
   * MiniportHalt's part for the timer: cancel it, and wait (NdisMSleep, PASSIVE_LEVEL) for a timer
   * function already queued or running to finish, so none runs after MiniportHalt returns.
   */
  async stopTimer(): Promise<void> {
    this.halting = true;
    const timer = this.receiveTimer;
    if (!timer) return;
    if (this.ndis.cancelTimer(timer)) this.timerPending = false;
    for (let waited = 0; (this.timerPending || this.timerRunning) && waited < 2000; waited++) await this.ndis.sleep(1000);
  }

  // ---------------------------------------------------------------- internals

  /** MiniportSynchronizeISR for 'disable' mode: the core's ISR body (read ICR, keep the causes) at DIRQL. */
  private readonly collectCauses = async (): Promise<boolean> => {
    const r = await this.core.isr();
    return r.recognized;
  };

  /** The core's deferred body, again as long as it asks for another pass (at DISPATCH_LEVEL, on this processor). */
  private async runDeferred(): Promise<void> {
    const p = this.ndis.kernel.currentProcessor();
    this.deferredDepth[p]!++;
    try {
      for (;;) {
        this.deferredAgain[p] = 0;
        await this.core.dpc(this.receiveBudget);
        if (!this.deferredAgain[p] || !this.core.running) break;
        this.counters.deferredRepeats++;
      }
    } finally {
      this.deferredDepth[p]!--;
      this.deferredAgain[p] = 0;
    }
  }

  private requireInterrupt(): NdisMiniportInterrupt {
    if (!this.interrupt) throw new E1000StateError('the e1000 core asked for its interrupt before NdisMRegisterInterrupt', { adapter: this.handle.name });
    return this.interrupt;
  }
}

const ISR_OURS = Object.freeze({ interruptRecognized: true, queueMiniportHandleInterrupt: true });
const ISR_NOT_OURS = Object.freeze({ interruptRecognized: false, queueMiniportHandleInterrupt: false });

/** MiniportSynchronizeISR: runs the core's callback (its SynchronizeContext) at DIRQL. */
function MiniportSynchronizeISR(synchronizeContext: unknown): boolean | Promise<boolean> {
  return (synchronizeContext as () => boolean | Promise<boolean>)();
}
