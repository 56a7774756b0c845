import { logger } from '../../../util/log.ts';
import { E1000ConfigError, E1000StateError } from '../errors.ts';
import {
  DEFAULT_INTERRUPT_MASK,
  E1000Hardware,
  type InterruptThrottle,
  type LinkState,
  type PacketFilter,
} from '../nic.ts';
import { Icr, type E1000Registers } from '../registers.ts';
import type { RxRingCounters } from '../rx-ring.ts';
import type { RingDma, RingMemory } from '../ring-storage.ts';
import type { E1000Statistics } from '../statistics.ts';
import type { TxRingCounters } from '../tx-ring.ts';
import { zeroCounters, type AdapterCounters } from './counters.ts';
import {
  ISR_NOT_OURS,
  ISR_RECOGNIZED,
  type AdapterLock,
  type FrameSink,
  type IsrResult,
  type MiniportEdge,
  type ReceiveBatch,
} from './edge.ts';
import { SendQueue } from './send-queue.ts';

const log = logger('e1000.miniport');

/** Shortest frame the core sends: an Ethernet header. */
export const MIN_SEND_LENGTH = 14;
/** Longest frame the core sends (without CRC): 1514 plus a VLAN tag. */
export const MAX_SEND_LENGTH = 1518;
/**
 * Frames a DPC indicates before it yields (see E1000AdapterOptions.receiveBudget). Measured with
 * QEMU on its own CPU: 256 kept about 4 interrupts per 1000 frames at 64 B; 1024 about 1.5, and
 * a DPC of up to ~3 ms at that rate.
 */
export const DEFAULT_RECEIVE_BUDGET = 1024;

/**
 * ITR while interrupts carry only transmit completions (adaptive moderation): at most about 1,000
 * interrupts per second. QEMU raises the first edge at once and defers the next ones to the end
 * of the window, so a receive interrupt right after a send burst can wait up to 1 ms, once.
 */
export const BULK_TX_ITR = 3906;

const RECEIVE_CAUSES = Icr.RXT0 | Icr.RXDMT0 | Icr.RXO | Icr.RXSEQ | Icr.LSC;
const TRANSMIT_CAUSES = Icr.TXDW | Icr.TXQE;

/** Largest multicast list (OID_802_3_MAXIMUM_LIST_SIZE). */
export const MAX_MULTICAST_ADDRESSES = 32;

export interface E1000AdapterOptions {
  /** The kernel's DeviceRegisters over BAR0: every access is a preemption point. */
  registers: E1000Registers;
  memory: RingMemory;
  dma: RingDma;
  /** Descriptors per ring (multiple of 8). Default 256. */
  txRingSize?: number;
  rxRingSize?: number;
  /** Frames per receive indication. Default 64. */
  receiveBatch?: number;
  /**
   * Frames one DPC indicates at most: past it the DPC queues itself again if a full batch is
   * still waiting, and otherwise stops polling the ring and re-enables interrupts. Default 1024.
   */
  receiveBudget?: number;
  /**
   * Interrupt moderation written at initialisation (ITR, RDTR, RADV, TIDV, TADV). Giving one (or
   * setting one later, setInterruptThrottle) turns adaptive moderation off.
   */
  throttle?: InterruptThrottle;
  /**
   * Adaptive moderation: the ITR used while interrupts bring only transmit completions (a send
   * stream, whose completions the send path reaps anyway); the configured ITR (default 0: no
   * throttling) returns as soon as an interrupt has a receive or link cause. 0 turns it off.
   * Default BULK_TX_ITR (about 1,000 interrupts per second).
   */
  bulkTransmitItr?: number;
  /** Receive filter at initialisation. Default: our address and broadcasts. */
  filter?: PacketFilter;
  /** Causes unmasked while running. Default DEFAULT_INTERRUPT_MASK. */
  interruptMask?: number;
  /** Station address to use instead of the EEPROM's (the NetworkAddress keyword). */
  mac?: string;
  /** DMA region tag prefix. */
  tag?: string;
}

/**
 * created → initialized → running ⇄ (pausing → paused) → quiescing → quiesced → released.
 * Only `running` takes sends and indicates receives; `pausing` still finishes queued sends.
 */
export type AdapterState = 'created' | 'initialized' | 'running' | 'pausing' | 'paused' | 'quiescing' | 'quiesced' | 'released';

/** How long pause() waits for sends to finish and held receives to come back. */
const PAUSE_DRAIN_LIMIT_MS = 2000;

/** The bits of a packet filter OID (NDIS_PACKET_TYPE_*), without the multicast list. */
export type PacketTypes = Omit<PacketFilter, 'multicast'>;

export interface AdapterStatistics {
  /** The NIC's statistics registers, accumulated since initialisation. */
  nic: E1000Statistics;
  /** What the driver counted. */
  driver: AdapterCounters;
  txRing: TxRingCounters;
  rxRing: RxRingCounters;
}

/**
 * The e1000 miniport logic every framework variant shares: initialisation, the ISR and DPC bodies,
 * send with a wait queue, receive indication in batches, OID-level settings, statistics, halt.
 * It reaches its framework only through a MiniportEdge, so the NDIS 6, NDIS 5 and KMDF variants
 * are thin translations of their callbacks onto these methods.
 *
 * Lifecycle (the variant's calls):
 *   initialize()          MiniportInitializeEx, at PASSIVE_LEVEL, before the interrupt exists
 *   start()               once the interrupt is registered: interrupts unmasked
 *   isr() / dpc()         from the interrupt and its DPC
 *   send() / returnReceives() / set*() / statistics()   while running
 *   pause() / restart()   MiniportPause / MiniportRestart (NDIS 6)
 *   quiesce()             MiniportHaltEx, interrupt still registered
 *   release()             after the interrupt is deregistered: DMA memory freed
 *
 * Locking: registers the ISR also touches (IMS/IMC, RCTL, moderation) are written through
 * edge.synchronize; the TX ring and its wait queue are under txLock; one receiver at a time
 * (rxActive, under rxLock) harvests, indicates and refills, so frames go up in ring order.
 */
export class E1000Adapter {
  readonly counters: AdapterCounters = zeroCounters();
  private readonly edge: MiniportEdge;
  private readonly options: E1000AdapterOptions;
  private hw: E1000Hardware | undefined;
  private lifecycle: AdapterState = 'created';
  private currentLink: LinkState = { up: false, speedMbps: 1000, fullDuplex: true };
  private eepromMac: string | undefined;
  private filter: PacketFilter;
  private interruptMask: number;

  /** Causes the ISR read from ICR and the DPC has not taken yet (OR-accumulated). Written at DIRQL. */
  private savedCauses = 0;
  /** The ISR masked the NIC and its DPC has not re-enabled it yet. Written at DIRQL. */
  private dpcPending = false;
  /** The core wants interrupts unmasked (false before start() and from quiesce() on). */
  private interruptsEnabled = false;
  /** start() ran: the interrupt is registered, so shared registers go through synchronize. */
  private interruptConnected = false;
  /** ITR for transmit-only interrupt load (adaptive moderation); 0 once it is off. */
  private bulkTransmitItr: number;
  /** ITR in the register now, and the one the next re-enable writes (adaptive moderation). */
  private itrInForce = 0;
  private itrWanted = 0;

  private readonly txLock: AdapterLock;
  private readonly rxLock: AdapterLock;
  private readonly statsLock: AdapterLock;
  private readonly sendQueue = new SendQueue();
  /** Ring completions already reported through completeSends. */
  private txReported = 0;
  /** Frames left in the ring that were already reported as aborted (a TX unit that stopped). */
  private txAbandoned = 0;

  private readonly batch: { count: number; views: Buffer[]; lengths: Uint16Array; errors: Uint8Array };
  private readonly batchCapacity: number;
  private readonly receiveBudget: number;
  /** Frames indicated and not yet given back: their descriptors are not refilled meanwhile. */
  private rxHeld = 0;
  /** A receiver (DPC or returnReceives) owns harvest/indicate/refill. */
  private rxActive = false;
  /** Someone wanted to receive while the receiver was busy: it must look again. */
  private rxRecheck = false;

  private readonly queueFrame: FrameSink = (view, offset, length) => {
    if (!Number.isInteger(length) || length < MIN_SEND_LENGTH || length > MAX_SEND_LENGTH) {
      throw new E1000ConfigError(`send: frame length ${length} is outside ${MIN_SEND_LENGTH}..${MAX_SEND_LENGTH}`, { length });
    }
    if (!Number.isInteger(offset) || offset < 0 || offset + length > view.length) {
      throw new E1000ConfigError(`send: bytes ${offset}..${offset + length} lie outside a ${view.length}-byte view`, {
        offset, length, viewLength: view.length,
      });
    }
    this.sendQueue.push(view, offset, length);
  };

  private readonly fillFromQueue = (index: number, slot: Buffer): number => this.sendQueue.copyOut(index, slot);

  private readonly collect = (view: Buffer, length: number, _status: number, errors: number): boolean => {
    const b = this.batch;
    if (b.count >= this.batchCapacity) return false;
    b.views[b.count] = view;
    b.lengths[b.count] = length;
    b.errors[b.count] = errors;
    b.count++;
    return true;
  };

  private readonly reenableInterrupts = async (): Promise<boolean> => {
    this.dpcPending = false;
    if (this.itrWanted !== this.itrInForce) {
      this.itrInForce = this.itrWanted;
      await this.nic.writeInterruptRate(this.itrWanted);
    }
    if (this.interruptsEnabled) await this.nic.enableInterrupts(this.interruptMask);
    return true;
  };

  private readonly maskInterrupts = async (): Promise<boolean> => {
    this.interruptsEnabled = false;
    await this.nic.disableInterrupts();
    return true;
  };

  constructor(edge: MiniportEdge, options: E1000AdapterOptions) {
    this.edge = edge;
    this.options = options;
    this.filter = { ...(options.filter ?? { broadcast: true }) };
    this.interruptMask = (options.interruptMask ?? DEFAULT_INTERRUPT_MASK) >>> 0;
    this.bulkTransmitItr = options.throttle ? 0 : (options.bulkTransmitItr ?? BULK_TX_ITR);
    this.txLock = edge.createLock('e1000 TX');
    this.rxLock = edge.createLock('e1000 RX');
    this.statsLock = edge.createLock('e1000 statistics');
    const rxSize = options.rxRingSize ?? 256;
    this.batchCapacity = Math.max(1, Math.min(options.receiveBatch ?? 64, rxSize - 1));
    this.receiveBudget = Math.max(this.batchCapacity, options.receiveBudget ?? DEFAULT_RECEIVE_BUDGET);
    this.batch = {
      count: 0,
      views: [],
      lengths: new Uint16Array(this.batchCapacity),
      errors: new Uint8Array(this.batchCapacity),
    };
  }

  get state(): AdapterState {
    return this.lifecycle;
  }

  /** Accepting sends (between start() and quiesce()). */
  get running(): boolean {
    return this.lifecycle === 'running';
  }

  /** The station address in use. */
  get mac(): string {
    return this.nic.mac;
  }

  /** The permanent address (EEPROM words 0–2), once initialized. */
  get permanentMac(): string {
    if (!this.eepromMac) throw new E1000StateError('the adapter is not initialized', { state: this.lifecycle });
    return this.eepromMac;
  }

  /** The link state last read from STATUS. */
  get link(): LinkState {
    return { ...this.currentLink };
  }

  /** The filter in force (packet types and multicast list). */
  get packetFilter(): PacketFilter {
    return { ...this.filter, multicast: [...(this.filter.multicast ?? [])] };
  }

  /** Frames waiting for TX ring space. */
  get queuedSends(): number {
    return this.sendQueue.length;
  }

  /** Frames indicated and not yet returned. */
  get heldReceives(): number {
    return this.rxHeld;
  }

  /** The hardware layer, once initialize() has run (tests and diagnostics). */
  get hardware(): E1000Hardware {
    return this.nic;
  }

  /**
   * MiniportInitializeEx's hardware part (PASSIVE_LEVEL): DMA rings allocated, NIC reset, MAC from
   * the EEPROM (EERD) checked against RAL0/RAH0, TX and RX units started with the filter, moderation
   * written, link read. Interrupts stay masked until start(). On failure everything is undone.
   */
  async initialize(): Promise<{ mac: string; link: LinkState }> {
    this.expectState('initialize', 'created');
    const o = this.options;
    const hw = new E1000Hardware({
      registers: o.registers, memory: o.memory, dma: o.dma,
      txRingSize: o.txRingSize, rxRingSize: o.rxRingSize, tag: o.tag,
      delay: (us) => this.edge.delay(us),
    });
    this.hw = hw;
    try {
      this.validateMulticast(this.filter.multicast ?? []);
      let { mac, link } = await hw.initialize(this.filter);
      this.eepromMac = mac;
      if (o.mac !== undefined && o.mac.toLowerCase() !== mac) {
        await hw.setMacAddress(o.mac);
        mac = hw.mac;
      }
      if (o.throttle) await hw.setInterruptThrottle(o.throttle);
      this.itrInForce = this.itrWanted = hw.interruptThrottle.itr;
      this.currentLink = link;
      this.lifecycle = 'initialized';
      log.debug({ mac, link }, 'adapter initialized');
      return { mac, link };
    } catch (err) {
      await hw.quiesce().catch((e: unknown) => log.warn({ err: e }, 'quiesce after a failed initialisation failed too'));
      try {
        hw.release();
      } catch (e) {
        log.warn({ err: e }, 'could not free the rings after a failed initialisation');
      }
      this.hw = undefined;
      throw err;
    }
  }

  /**
   * The interrupt is registered: unmask the causes (through synchronize, the ISR may already run).
   * `paused`: start in `paused` (NDIS 6: MiniportInitializeEx leaves the adapter Paused; restart()
   * then lets sends and receive indications in).
   */
  async start(opts: { paused?: boolean } = {}): Promise<void> {
    this.expectState('start', 'initialized');
    this.lifecycle = opts.paused ? 'paused' : 'running';
    this.interruptConnected = true;
    await this.edge.synchronize(async () => {
      this.interruptsEnabled = true;
      if (!this.dpcPending) await this.nic.enableInterrupts(this.interruptMask);
      return true;
    });
  }

  /**
   * The ISR body (MiniportInterrupt / EvtInterruptIsr) at DIRQL: mask the NIC (IMC), then read ICR
   * (which returns the latched causes and clears them). Zero means another device on the line: the
   * mask goes back as it was. Otherwise keep the causes for the DPC, leave the NIC masked until the
   * DPC has run, and ask for the DPC.
   *
   * Masking first costs nothing (the posted IMC leaves with the ICR read, one round trip) and,
   * once the read returns, the line is low and nothing is in flight: causes that arrive meanwhile
   * stay latched in ICR without raising the line again, so the kernel needs no fence before it
   * decides the interrupt is done. Read first, a frame arriving between the read and the IMC
   * re-raised the line and made that fence necessary.
   */
  async isr(): Promise<IsrResult> {
    this.counters.isrCalls++;
    const nic = this.nic;
    await nic.disableInterrupts();
    const causes = await nic.readAndClearCauses();
    if (causes === 0) {
      if (this.interruptsEnabled && !this.dpcPending) await nic.enableInterrupts(this.interruptMask);
      return ISR_NOT_OURS;
    }
    this.savedCauses |= causes;
    this.dpcPending = true;
    this.counters.isrRecognized++;
    return ISR_RECOGNIZED;
  }

  /**
   * The DPC body (MiniportInterruptDPC / MiniportHandleInterrupt / EvtInterruptDpc) at
   * DISPATCH_LEVEL: take the saved causes through synchronize (the ISR writes them), finish sends
   * and refill the TX ring from the wait queue, indicate received frames in batches and refill the
   * RX ring (looking again after each indication until the ring is empty or the budget spent),
   * indicate a link change, then unmask the NIC. With a full batch still waiting after the
   * receive budget it queues itself again and leaves the NIC masked.
   */
  async dpc(receiveBudget: number = this.receiveBudget): Promise<void> {
    this.counters.dpcCalls++;
    let causes = 0;
    await this.edge.synchronize(() => {
      causes = this.savedCauses;
      this.savedCauses = 0;
      return true;
    });
    if (causes & Icr.RXO) this.counters.rxOverruns++;
    if (this.bulkTransmitItr > 0 && causes !== 0) {
      const transmitOnly = (causes & RECEIVE_CAUSES) === 0 && (causes & TRANSMIT_CAUSES) !== 0;
      this.itrWanted = transmitOnly ? this.bulkTransmitItr : this.nic.interruptThrottle.itr;
    }
    await this.serviceTransmit();
    const more = await this.serviceReceive(Math.max(1, receiveBudget));
    if (causes & Icr.LSC) await this.updateLink();
    if (more && this.lifecycle === 'running') {
      if (this.edge.queueDpc()) this.counters.dpcRequeued++;
      return;
    }
    await this.edge.synchronize(this.reenableInterrupts);
  }

  /**
   * MiniportDisableInterruptEx / MiniportDisableInterrupt / EvtInterruptDisable body, at DIRQL
   * under the interrupt lock: mask every cause.
   */
  async disableInterruptAtDirql(): Promise<void> {
    await this.nic.disableInterrupts();
  }

  /** MiniportEnableInterruptEx / MiniportEnableInterrupt / EvtInterruptEnable body, at DIRQL: unmask the causes again. */
  async enableInterruptAtDirql(): Promise<void> {
    if (this.interruptsEnabled && !this.dpcPending) await this.nic.enableInterrupts(this.interruptMask);
  }

  /**
   * Queue frames for transmission (<= DISPATCH_LEVEL). `frames` calls the sink once per frame, in
   * order; the frames are copied into the TX ring's staging and handed over with ONE doorbell
   * (TDT write); what does not fit waits in order and goes out as completions free descriptors.
   * Returns how many frames were taken: all of them, or 0 when the adapter is not running (the
   * caller fails them). A frame of a bad length throws and none of this call's frames is taken.
   */
  async send(frames: (sink: FrameSink) => void): Promise<number> {
    if (this.lifecycle !== 'running') return 0;
    const tx = this.nic.tx;
    let accepted: number;
    let finished: number;
    await this.txLock.acquire();
    try {
      if (this.lifecycle !== 'running') return 0;
      const before = this.sendQueue.length;
      try {
        frames(this.queueFrame);
      } catch (err) {
        this.sendQueue.truncate(before);
        throw err;
      }
      accepted = this.sendQueue.length - before;
      this.counters.txQueued += accepted;
      tx.reap();
      const waiting = this.sendQueue.length - tx.available;
      if (waiting > 0) this.counters.txDeferred += Math.min(waiting, accepted);
      await this.submitQueued();
      finished = this.takeFinishedSends();
    } finally {
      this.txLock.release();
    }
    if (finished > 0) await this.edge.completeSends(finished, 'sent');
    return accepted;
  }

  /** The upper layer gives back `count` indicated frames (MiniportReturnNetBufferLists, ...). */
  async returnReceives(count: number): Promise<void> {
    if (!Number.isInteger(count) || count < 0 || count > this.rxHeld) {
      throw new E1000StateError(`returnReceives(${count}) but only ${this.rxHeld} frames are held`, { count, held: this.rxHeld });
    }
    this.rxHeld -= count;
    if (this.rxHeld !== 0 || this.lifecycle === 'released' || !this.hw) return;
    await this.rxLock.acquire();
    if (this.rxActive) {
      // The receiver checks rxHeld again under this lock before it lets go.
      this.rxLock.release();
      return;
    }
    this.rxActive = true;
    this.rxLock.release();
    await this.finishReceiving(false);
  }

  /** OID_GEN_CURRENT_PACKET_FILTER: RCTL's UPE/MPE/BAM (written through synchronize). */
  async setPacketFilter(types: PacketTypes): Promise<void> {
    this.filter = { promiscuous: types.promiscuous, allMulticast: types.allMulticast, broadcast: types.broadcast, multicast: this.filter.multicast };
    await this.applyFilter();
  }

  /** OID_802_3_MULTICAST_LIST: the MTA hash table (written through synchronize). */
  async setMulticastList(addresses: readonly string[]): Promise<void> {
    this.validateMulticast(addresses);
    this.filter = { ...this.filter, multicast: [...addresses] };
    await this.applyFilter();
  }

  /** Interrupt moderation (ITR/RDTR/RADV/TIDV/TADV), through synchronize; adaptive moderation stops. */
  async setInterruptThrottle(throttle: InterruptThrottle): Promise<void> {
    const nic = this.nic;
    await this.synchronizeIfStarted(async () => {
      this.bulkTransmitItr = 0;
      await nic.setInterruptThrottle(throttle);
      const itr = nic.interruptThrottle.itr;
      if (throttle.itr === undefined && this.itrInForce !== itr) await nic.writeInterruptRate(itr);
      this.itrInForce = this.itrWanted = itr;
      return true;
    });
  }

  /** The causes unmasked while running (IMS/IMC), through synchronize; left alone while the DPC is pending. */
  async setInterruptMask(mask: number): Promise<void> {
    const next = mask >>> 0;
    const nic = this.nic;
    await this.synchronizeIfStarted(async () => {
      this.interruptMask = next;
      if (this.interruptsEnabled && !this.dpcPending) {
        await nic.disableInterrupts();
        await nic.enableInterrupts(next);
      }
      return true;
    });
  }

  /** The causes the core unmasks while running. */
  get enabledInterrupts(): number {
    return this.interruptMask;
  }

  /** Moderation values as last written. */
  get interruptThrottle(): Readonly<Required<InterruptThrottle>> {
    return this.nic.interruptThrottle;
  }

  /**
   * The NIC's statistics registers (read one by one under a lock: clear-on-read pairs must not
   * interleave) and the driver's own counters.
   */
  async statistics(): Promise<AdapterStatistics> {
    const nic = this.nic;
    let stats: E1000Statistics;
    await this.statsLock.acquire();
    try {
      stats = await nic.readStatistics();
    } finally {
      this.statsLock.release();
    }
    return { nic: stats, driver: this.snapshot(), txRing: { ...nic.tx.counters }, rxRing: { ...nic.rx.counters } };
  }

  /** The driver's counters now (no register access). */
  snapshot(): AdapterCounters {
    return { ...this.counters, txQueuePeak: this.sendQueue.peak };
  }

  /**
   * MiniportPause (PASSIVE_LEVEL): no new sends and no new receive indications; frames already
   * queued still go out, and it returns once every send is complete and every indicated frame is
   * back (or after PAUSE_DRAIN_LIMIT_MS: what is left of the sends is aborted, held receives stay
   * held). Interrupts stay enabled: link changes are still indicated.
   */
  async pause(): Promise<void> {
    this.expectState('pause', 'running');
    this.lifecycle = 'pausing';
    const deadline = performance.now() + PAUSE_DRAIN_LIMIT_MS;
    for (;;) {
      await this.serviceTransmit();
      await this.rxLock.acquire();
      const receiving = this.rxActive || this.rxHeld > 0;
      this.rxLock.release();
      const sending = this.sendQueue.length > 0 || this.nic.tx.inFlight > 0;
      if (!sending && !receiving) break;
      if (performance.now() > deadline) {
        log.warn({ queued: this.sendQueue.length, inFlight: this.nic.tx.inFlight, heldReceives: this.rxHeld }, 'pause: gave up waiting for the rings to drain');
        if (sending) await this.abortSends();
        break;
      }
      await this.edge.delay(1000);
    }
    this.lifecycle = 'paused';
  }

  /** MiniportRestart (PASSIVE_LEVEL): sends and receive indications again; the DPC looks at the ring. */
  async restart(): Promise<void> {
    this.expectState('restart', 'paused');
    this.lifecycle = 'running';
    this.edge.queueDpc();
  }

  /**
   * Halt, first part (PASSIVE_LEVEL, interrupt still registered): interrupts masked through
   * synchronize, RX off, TX drained and off (nic.quiesce), then every send completed: what the NIC
   * finished as 'sent', what it never took as 'aborted'. DPCs already queued may still run; they
   * submit nothing, indicate nothing and unmask nothing.
   */
  async quiesce(): Promise<void> {
    if (this.lifecycle !== 'running' && this.lifecycle !== 'paused' && this.lifecycle !== 'initialized') {
      throw new E1000StateError(`quiesce() in state ${this.lifecycle}`, { state: this.lifecycle });
    }
    this.lifecycle = 'quiescing';
    const nic = this.nic;
    if (this.interruptConnected) await this.edge.synchronize(this.maskInterrupts);
    else await nic.disableInterrupts();
    try {
      await nic.quiesce();
    } catch (err) {
      log.warn({ err }, 'the NIC did not quiesce cleanly; its unfinished frames are aborted');
    }
    await this.abortSends();
    this.lifecycle = 'quiesced';
  }

  /** Halt, second part: the interrupt is deregistered (no ISR or DPC can run); free every DMA region. */
  release(): void {
    this.expectState('release', 'quiesced');
    this.nic.release();
    this.interruptConnected = false;
    this.lifecycle = 'released';
  }

  // ---------------------------------------------------------------- internals

  private get nic(): E1000Hardware {
    if (!this.hw) throw new E1000StateError('the adapter is not initialized', { state: this.lifecycle });
    return this.hw;
  }

  /** Under txLock: TX reap, then the wait queue into the ring, one doorbell. */
  private async serviceTransmit(): Promise<void> {
    const tx = this.nic.tx;
    let finished: number;
    await this.txLock.acquire();
    try {
      tx.reap();
      if (this.lifecycle === 'running' || this.lifecycle === 'pausing') await this.submitQueued();
      finished = this.takeFinishedSends();
    } finally {
      this.txLock.release();
    }
    if (finished > 0) await this.edge.completeSends(finished, 'sent');
  }

  /**
   * Complete every send: what the NIC finished as 'sent', then what it never took (queued, or in
   * the ring of a NIC that stopped transmitting) as 'aborted'.
   */
  private async abortSends(): Promise<void> {
    const tx = this.nic.tx;
    let finished: number;
    let aborted: number;
    await this.txLock.acquire();
    try {
      tx.reap();
      finished = this.takeFinishedSends();
      aborted = this.sendQueue.length + tx.inFlight - this.txAbandoned;
      this.txAbandoned = tx.inFlight;
      this.sendQueue.clear();
    } finally {
      this.txLock.release();
    }
    this.counters.txAborted += aborted;
    if (finished > 0) await this.edge.completeSends(finished, 'sent');
    if (aborted > 0) await this.edge.completeSends(aborted, 'aborted');
  }

  /** Under txLock: as many queued frames as the ring takes, with one TDT write. */
  private async submitQueued(): Promise<void> {
    const n = this.sendQueue.length;
    if (n === 0) return;
    const taken = await this.nic.tx.submit(n, this.fillFromQueue);
    this.sendQueue.shift(taken);
  }

  /**
   * Under txLock: ring completions not yet reported (nic.quiesce() may have reaped some itself).
   * Frames already reported as aborted that complete after all are not reported twice.
   */
  private takeFinishedSends(): number {
    let done = this.nic.tx.counters.completed - this.txReported;
    this.txReported += done;
    const late = Math.min(done, this.txAbandoned);
    this.txAbandoned -= late;
    done -= late;
    this.counters.txCompleted += done;
    return done;
  }

  /**
   * Harvest, indicate and refill until the ring is empty or the budget is spent. Returns true when
   * the DPC should run again: frames left over, or another receiver asked meanwhile.
   */
  private async serviceReceive(budget: number): Promise<boolean> {
    await this.rxLock.acquire();
    if (this.lifecycle !== 'running') {
      // Paused or halting: frames stay in the ring (the NIC back-pressures) until restart().
      this.rxLock.release();
      return false;
    }
    if (this.rxActive) {
      this.rxRecheck = true;
      this.rxLock.release();
      return false;
    }
    this.rxActive = true;
    this.rxLock.release();
    const rx = this.nic.rx;
    const refillAt = Math.max(1, rx.size >>> 1);
    const pollLimit = Math.min(budget, this.receiveBudget);
    let total = 0;
    let leftOver = false;
    try {
      for (;;) {
        this.batch.count = 0;
        const n = rx.harvest(this.batchCapacity, this.collect);
        if (n > 0) {
          total += n;
          this.countIndication(n);
          this.rxHeld += n;
          await this.edge.indicateReceive(this.batch as ReceiveBatch);
          // Mid-loop refill only when a lot is harvested: one RDT doorbell per DPC otherwise.
          if (this.rxHeld === 0 && rx.pendingRefill >= refillAt) await rx.refill();
        }
        // A short harvest means the ring has caught up; frames may still be arriving (a sender
        // pacing on what was indicated sends more as we go), so look again, as NAPI polls, until
        // a harvest finds nothing or the budget is spent; then interrupts bring the rest.
        if (n === 0 || (n < this.batchCapacity && total >= pollLimit)) break;
        if (total >= budget) {
          leftOver = true;
          break;
        }
      }
    } catch (err) {
      this.rxActive = false;
      throw err;
    }
    return (await this.finishReceiving(true)) || leftOver;
  }

  /**
   * The receiver's last step: refill (unless frames are held), then let go of rxActive under the
   * lock, refilling again if everything came back meanwhile. Returns whether someone asked to
   * receive meanwhile (from a DPC: run again; otherwise the DPC is queued here).
   */
  private async finishReceiving(fromDpc: boolean): Promise<boolean> {
    const rx = this.nic.rx;
    let again: boolean;
    try {
      for (;;) {
        if (this.rxHeld === 0 && rx.pendingRefill > 0) await rx.refill();
        await this.rxLock.acquire();
        if (this.rxHeld === 0 && rx.pendingRefill > 0) {
          this.rxLock.release();
          continue;
        }
        this.rxActive = false;
        again = this.rxRecheck;
        this.rxRecheck = false;
        this.rxLock.release();
        break;
      }
    } catch (err) {
      this.rxActive = false;
      throw err;
    }
    if (again && !fromDpc && this.lifecycle === 'running') this.edge.queueDpc();
    return again;
  }

  private countIndication(n: number): void {
    const b = this.batch;
    let bytes = 0;
    let errors = 0;
    for (let i = 0; i < n; i++) {
      bytes += b.lengths[i]!;
      if (b.errors[i] !== 0) errors++;
    }
    this.counters.rxIndicated += n;
    this.counters.rxBytes += bytes;
    this.counters.rxErrors += errors;
    this.counters.rxIndications++;
  }

  /** STATUS after LSC: indicate the new state if it differs from the last one. */
  private async updateLink(): Promise<void> {
    const link = await this.nic.readLinkState();
    const old = this.currentLink;
    if (link.up === old.up && link.speedMbps === old.speedMbps && link.fullDuplex === old.fullDuplex) return;
    this.currentLink = link;
    this.counters.linkChanges++;
    log.debug({ link }, 'link changed');
    await this.edge.indicateLink({ ...link });
  }

  private async applyFilter(): Promise<void> {
    const nic = this.nic;
    const filter = this.filter;
    await this.synchronizeIfStarted(async () => {
      await nic.setPacketFilter(filter);
      return true;
    });
  }

  /** Through synchronize once the interrupt is registered; directly before that (initialisation). */
  private async synchronizeIfStarted(fn: () => Promise<boolean>): Promise<void> {
    if (this.lifecycle === 'created' || this.lifecycle === 'released') {
      throw new E1000StateError(`the adapter is ${this.lifecycle === 'created' ? 'not initialized' : 'released'}`, { state: this.lifecycle });
    }
    if (this.interruptConnected) await this.edge.synchronize(fn);
    else await fn();
  }

  private validateMulticast(addresses: readonly string[]): void {
    if (addresses.length > MAX_MULTICAST_ADDRESSES) {
      throw new E1000ConfigError(`multicast list of ${addresses.length} addresses; at most ${MAX_MULTICAST_ADDRESSES}`, {
        count: addresses.length, max: MAX_MULTICAST_ADDRESSES,
      });
    }
  }

  private expectState(op: string, state: AdapterState): void {
    if (this.lifecycle !== state) {
      throw new E1000StateError(`${op}() in state ${this.lifecycle}; it needs ${state}`, { op, state: this.lifecycle });
    }
  }
}
