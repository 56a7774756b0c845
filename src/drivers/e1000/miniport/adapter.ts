import { E1000ConfigError } from '../errors.ts';
import type { E1000Hardware, InterruptThrottle, LinkState, PacketFilter } from '../nic.ts';
import type { E1000Settings } from '../settings.ts';
import type { E1000Registers } from '../registers.ts';
import type { RxRingCounters } from '../rx-ring.ts';
import type { RingDma, RingMemory } from '../ring-storage.ts';
import type { E1000Statistics } from '../statistics.ts';
import type { TxRingCounters } from '../tx-ring.ts';
import { AdapterContext, type AdapterState } from './context.ts';
import type { AdapterCounters } from './counters.ts';
import type { AdapterLock, FrameSink, IsrResult, MiniportEdge } from './edge.ts';
import { InterruptControl } from './interrupts.ts';
import { AdapterLifecycle } from './lifecycle.ts';
import { ReceivePath } from './receive-path.ts';
import { SendPath } from './send-path.ts';

export { BULK_TX_ITR } from './interrupts.ts';
export { DEFAULT_RECEIVE_BUDGET } from './receive-path.ts';
export { MAX_SEND_LENGTH, MIN_SEND_LENGTH } from './send-path.ts';
export type { AdapterState } from './context.ts';

/** Largest multicast list (OID_802_3_MAXIMUM_LIST_SIZE). */
export const MAX_MULTICAST_ADDRESSES = 32;

export interface E1000AdapterOptions extends E1000Settings {
  /** The kernel's DeviceRegisters over BAR0: every access is a preemption point. */
  registers: E1000Registers;
  memory: RingMemory;
  dma: RingDma;
  /**
   * Adaptive moderation: the ITR used while interrupts bring only transmit completions (a send
   * stream, whose completions the send path reaps anyway); the configured ITR (default 0: no
   * throttling) returns as soon as an interrupt has a receive or link cause. 0 turns it off.
   * Default BULK_TX_ITR (about 1,000 interrupts per second).
   */
  bulkTransmitItr?: number;
  /** Causes unmasked while running. Default DEFAULT_INTERRUPT_MASK. */
  interruptMask?: number;
  /** DMA region tag prefix. */
  tag?: string;
}

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
 * The e1000 miniport logic every framework variant shares. It reaches its framework only through a
 * MiniportEdge, so the NDIS 6, NDIS 5 and KMDF variants are thin translations of their callbacks
 * onto these methods. This class is the public face; the work is in its parts, cut as pcidrv cuts
 * its HW folder: send path (send-path.ts, nic_send.c), receive path (receive-path.ts, nic_recv.c),
 * interrupt handling (interrupts.ts, isrdpc.c), lifecycle (lifecycle.ts, nic_init.c). Here remain
 * the OID-level settings and statistics.
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
 * edge.synchronize; the TX ring and its wait queue are under the TX lock; one receiver at a time
 * (under the RX lock) harvests, indicates and refills, so frames go up in ring order.
 */
export class E1000Adapter {
  readonly counters: AdapterCounters;
  private readonly ctx: AdapterContext;
  private readonly sendPath: SendPath;
  private readonly receivePath: ReceivePath;
  private readonly interrupts: InterruptControl;
  private readonly lifecycle: AdapterLifecycle;
  private readonly statsLock: AdapterLock;
  private filter: PacketFilter;

  constructor(edge: MiniportEdge, options: E1000AdapterOptions) {
    const ctx = new AdapterContext(edge, options.registers);
    this.ctx = ctx;
    this.counters = ctx.counters;
    this.filter = { ...(options.filter ?? { broadcast: true }) };
    this.sendPath = new SendPath(ctx);
    this.receivePath = new ReceivePath(ctx, options);
    this.statsLock = edge.createLock('e1000 statistics');
    this.interrupts = new InterruptControl(ctx, this.sendPath, this.receivePath, options);
    this.lifecycle = new AdapterLifecycle(ctx, options, this.sendPath, this.receivePath, this.interrupts);
  }

  get state(): AdapterState {
    return this.ctx.state;
  }

  /** Accepting sends (between start() and quiesce()). */
  get running(): boolean {
    return this.ctx.state === 'running';
  }

  /** The station address in use. */
  get mac(): string {
    return this.ctx.nic.mac;
  }

  /** The permanent address (EEPROM words 0–2), once initialized. */
  get permanentMac(): string {
    return this.lifecycle.permanentMac;
  }

  /** The link state last read from STATUS. */
  get link(): LinkState {
    return { ...this.ctx.link };
  }

  /** The filter in force (packet types and multicast list). */
  get packetFilter(): PacketFilter {
    return { ...this.filter, multicast: [...(this.filter.multicast ?? [])] };
  }

  /** Frames waiting for TX ring space. */
  get queuedSends(): number {
    return this.sendPath.queued;
  }

  /** Frames indicated and not yet returned. */
  get heldReceives(): number {
    return this.receivePath.held;
  }

  /** The hardware layer, once initialize() has run (tests and diagnostics). */
  get hardware(): E1000Hardware {
    return this.ctx.nic;
  }

  /**
   * MiniportInitializeEx's hardware part (PASSIVE_LEVEL): DMA rings allocated, NIC reset, MAC from
   * the EEPROM (EERD) checked against RAL0/RAH0, TX and RX units started with the filter, moderation
   * written, link read. Interrupts stay masked until start(). On failure everything is undone.
   */
  async initialize(): Promise<{ mac: string; link: LinkState }> {
    return this.lifecycle.initialize(this.filter, () => this.validateMulticast(this.filter.multicast ?? []));
  }

  /**
   * The interrupt is registered: unmask the causes (through synchronize, the ISR may already run).
   * `paused`: start in `paused` (NDIS 6: MiniportInitializeEx leaves the adapter Paused; restart()
   * then lets sends and receive indications in).
   */
  async start(opts: { paused?: boolean } = {}): Promise<void> {
    await this.lifecycle.start(opts);
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
  isr(): Promise<IsrResult> {
    return this.interrupts.isr();
  }

  /**
   * The DPC body (MiniportInterruptDPC / MiniportHandleInterrupt / EvtInterruptDpc) at
   * DISPATCH_LEVEL: take the saved causes through synchronize (the ISR writes them), finish sends
   * and refill the TX ring from the wait queue, indicate received frames in batches and refill the
   * RX ring (looking again after each indication until the ring is empty or the budget spent),
   * indicate a link change, then unmask the NIC. With a full batch still waiting after the
   * receive budget it queues itself again and leaves the NIC masked.
   */
  dpc(receiveBudget: number = this.receivePath.budget): Promise<void> {
    return this.interrupts.dpc(receiveBudget);
  }

  /**
   * MiniportDisableInterruptEx / MiniportDisableInterrupt / EvtInterruptDisable body, at DIRQL
   * under the interrupt lock: mask every cause.
   */
  disableInterruptAtDirql(): Promise<void> {
    return this.interrupts.disableAtDirql();
  }

  /** MiniportEnableInterruptEx / MiniportEnableInterrupt / EvtInterruptEnable body, at DIRQL: unmask the causes again. */
  enableInterruptAtDirql(): Promise<void> {
    return this.interrupts.enableAtDirql();
  }

  /**
   * Queue frames for transmission (<= DISPATCH_LEVEL). `frames` calls the sink once per frame, in
   * order; the frames are copied into the TX ring's staging and handed over with ONE doorbell
   * (TDT write); what does not fit waits in order and goes out as completions free descriptors.
   * Returns how many frames were taken: all of them, or 0 when the adapter is not running (the
   * caller fails them). A frame of a bad length rejects and none of this call's frames is taken.
   * A plain number when nothing had to wait (the usual send at DISPATCH_LEVEL): await it anyway.
   */
  send(frames: (sink: FrameSink) => void): number | Promise<number> {
    return this.sendPath.send(frames);
  }

  /** The upper layer gives back `count` indicated frames (MiniportReturnNetBufferLists, ...). */
  returnReceives(count: number): Promise<void> {
    return this.receivePath.returnReceives(count);
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
    await this.interrupts.setThrottle(throttle);
  }

  /** The causes unmasked while running (IMS/IMC), through synchronize; left alone while the DPC is pending. */
  async setInterruptMask(mask: number): Promise<void> {
    await this.interrupts.setMask(mask);
  }

  /** The causes the core unmasks while running. */
  get enabledInterrupts(): number {
    return this.interrupts.enabledCauses;
  }

  /** Moderation values as last written. */
  get interruptThrottle(): Readonly<Required<InterruptThrottle>> {
    return this.ctx.nic.interruptThrottle;
  }

  /**
   * The NIC's statistics registers (read one by one under a lock: clear-on-read pairs must not
   * interleave) and the driver's own counters.
   */
  async statistics(): Promise<AdapterStatistics> {
    const nic = this.ctx.nic;
    let stats: E1000Statistics;
    await this.statsLock.acquire();
    try {
      stats = await nic.readStatistics();
    } finally {
      await this.statsLock.release();
    }
    return { nic: stats, driver: this.snapshot(), txRing: { ...nic.tx.counters }, rxRing: { ...nic.rx.counters } };
  }

  /** The driver's counters now (no register access). */
  snapshot(): AdapterCounters {
    return { ...this.counters, txQueuePeak: this.sendPath.queuePeak };
  }

  /**
   * MiniportPause (PASSIVE_LEVEL): no new sends and no new receive indications; frames already
   * queued still go out, and it returns once every send is complete and every indicated frame is
   * back (or after a drain limit of 2 s: what is left of the sends is aborted, held receives stay
   * held). Interrupts stay enabled: link changes are still indicated.
   */
  async pause(): Promise<void> {
    await this.lifecycle.pause();
  }

  /** MiniportRestart (PASSIVE_LEVEL): sends and receive indications again; the DPC looks at the ring. */
  async restart(): Promise<void> {
    await this.lifecycle.restart();
  }

  /**
   * Halt, first part (PASSIVE_LEVEL, interrupt still registered): interrupts masked through
   * synchronize, RX off, TX drained and off (nic.quiesce), then every send completed: what the NIC
   * finished as 'sent', what it never took as 'aborted'. DPCs already queued may still run; they
   * submit nothing, indicate nothing and unmask nothing.
   */
  async quiesce(): Promise<void> {
    await this.lifecycle.quiesce();
  }

  /**
   * The device was surprise-removed (NdisDevicePnPEventSurpriseRemoved, EvtDeviceSurpriseRemoval,
   * or a halt with NdisHaltDeviceSurpriseRemoved), at PASSIVE_LEVEL: from now on pause and halt do
   * not wait for the hardware (sends are aborted, the NIC is not stopped or polled). Idempotent.
   */
  surpriseRemoved(): void {
    this.lifecycle.surpriseRemoved();
  }

  /** The device was surprise-removed. */
  get removed(): boolean {
    return this.ctx.removed;
  }

  /** Halt, second part: the interrupt is deregistered (no ISR or DPC can run); free every DMA region. */
  release(): void {
    this.lifecycle.release();
  }

  private async applyFilter(): Promise<void> {
    const nic = this.ctx.nic;
    const filter = this.filter;
    await this.interrupts.synchronizeIfStarted(async () => {
      await nic.setPacketFilter(filter);
      return true;
    });
  }

  private validateMulticast(addresses: readonly string[]): void {
    if (addresses.length > MAX_MULTICAST_ADDRESSES) {
      throw new E1000ConfigError(`multicast list of ${addresses.length} addresses; at most ${MAX_MULTICAST_ADDRESSES}`, {
        count: addresses.length,
        max: MAX_MULTICAST_ADDRESSES,
      });
    }
  }
}
