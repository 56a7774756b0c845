import { EventEmitter } from 'node:events';
import type { PacketRing, RingProducer } from '../ring/index.ts';
import { logger } from '../util/log.ts';
import { ntSuccess, type NTSTATUS, type WdfFramework, type WDFDEVICE } from '../wdf/index.ts';
import type { LinkEvent } from './ndis6-protocol.ts';
import { PumpWake, WAKE_TIMEOUT_MS } from './pump-wake.ts';
import { SendPump } from './send-pump.ts';
import type { UpperEdgeTap } from './tap.ts';
import { TransmitPath, type HandOutLog, type TransmitPathCounters } from './transmit-path.ts';

const log = logger('upper-edge.kmdf');

export interface KmdfEdgeOptions {
  /** Frames the driver completes reads with go here (this edge is its producer). */
  rxRing: PacketRing;
  /** Frames to send are taken from here (this edge is its consumer). */
  txRing: PacketRing;
  /** Write requests outstanding at most. Default 512. */
  writesInFlight?: number;
  /** Write requests submitted per pass of the send loop. Default 64. */
  writeBatch?: number;
  /** Read requests kept pending (each over a free RX ring slot). Default 256. */
  readsPending?: number;
  /**
   * Called after completed reads are published into `rxRing`. A consumer on this same thread wakes
   * on it at once; the ring's own wake-up (Atomics.waitAsync) comes a later event-loop turn.
   */
  onPublish?: () => void;
  /** Sees every frame read (indicated) and written (sent) at this edge (a capture). */
  tap?: UpperEdgeTap;
  /** Logs (a recording) or dictates (a replay) how many frames each hand-out to the driver takes. */
  handOuts?: HandOutLog;
  /**
   * Logs (a recording) or dictates (a replay) how many read requests each top-up hands the driver:
   * that follows the RX ring's free slots, which is how fast its consumer was.
   */
  readHandOuts?: HandOutLog;
}

export interface KmdfEdgeCounters {
  rx: {
    /** Frames published into the RX ring, their bytes, and the publishes (one per run of completed reads). */
    frames: number;
    bytes: number;
    publishes: number;
    readsSubmitted: number;
    /** Reads that completed without a frame (cancelled at device removal, or a crash). */
    readsFailed: number;
    /**
     * Stretches of top-ups that left fewer reads than `readsPending` pending because the RX ring had
     * no more free slots (its consumer was behind): the driver then finds fewer requests for its
     * frames. A top-up that could submit nothing is not judged.
     */
    readsShortOfRing: number;
  };
  tx: TransmitPathCounters & { writesSubmitted: number };
  linkEvents: number;
}

/**
 * The I/O side of the KMDF e1000 device, bridged to the same PacketRings as the NDIS edges (what an
 * application or the I/O manager would do with ReadFile/WriteFile on the device).
 *
 * Send: frames are peeked in the TX ring and each submitted as a write request whose buffer is a
 * view of its ring slot (no copy; the view object is the one allocation per frame, as the facade's
 * requests carry a plain buffer); slots are released in order as the writes complete.
 * Receive: read requests are kept pending over the free slots at the ring's tail (the driver copies
 * each frame once, into the slot); completed reads are published in order, one publish per run.
 * Link: the host wires the driver's link notifications to linkChanged().
 *
 * Events: 'link' (LinkEvent).
 */
export class KmdfIoEdge extends EventEmitter {
  readonly transmitPath: TransmitPath;
  readonly rxRing: PacketRing;
  readonly linkEvents: LinkEvent[] = [];
  private readonly wdf: WdfFramework;
  private readonly producer: RingProducer;
  private readonly onPublish: (() => void) | undefined;
  private readonly tap: UpperEdgeTap | undefined;
  private readonly readHandOuts: HandOutLog | undefined;
  private readonly writesInFlight: number;
  private readonly readsWanted: number;
  private device: WDFDEVICE | undefined;
  private up = false;
  private running = false;
  private rxPumping: Promise<void> | null = null;
  /** The send loop; woken by completed writes, kicks and stop(). */
  private readonly sendPump: SendPump;
  /** Woken by completed reads and stop(). */
  private readonly rxWake = new PumpWake();
  private releaseScheduled = false;
  private flushScheduled = false;
  private writesSubmitted = 0;

  // Receive state: reads are pending over slots [rxBase, rxBase + rxSubmitted) at the ring's tail.
  private rxBase = 0;
  private rxSubmitted = 0;
  /** Per slot: 0 read pending (or none), 1 completed with a frame, 2 completed without one. */
  private readonly readState: Uint8Array;
  private readonly readLengths: Uint32Array;
  private readonly rxCounters = { frames: 0, bytes: 0, publishes: 0, readsSubmitted: 0, readsFailed: 0, readsShortOfRing: 0 };
  /** Free slots the receive loop waits for when a top-up was short: one more, or a replay's recorded top-up. */
  private spaceWanted = 1;
  /** The last top-up that submitted reads left fewer pending than wanted, the ring full (countShortOfRing). */
  private shortOfRing = false;
  /** A read completed without a frame: the device is going away; no more reads. */
  private rxEnded = false;
  private producerClosed = false;

  private readonly onWriteDone = (status: NTSTATUS, _information: number, _frame: Uint8Array, slot: number, crash: unknown): void => {
    this.transmitPath.complete(slot, crash === undefined && ntSuccess(status));
    if (!this.releaseScheduled) {
      this.releaseScheduled = true;
      queueMicrotask(this.releaseWrites);
    }
  };

  private readonly releaseWrites = (): void => {
    this.releaseScheduled = false;
    this.transmitPath.releaseCompleted();
    this.sendPump.wake();
  };

  private readonly onReadDone = (status: NTSTATUS, information: number, _buffer: Uint8Array, slot: number, crash: unknown): void => {
    if (crash === undefined && ntSuccess(status)) {
      this.readState[slot] = 1;
      this.readLengths[slot] = information;
    } else {
      // Cancelled (device removal) or abandoned (a crash): no more reads.
      this.readState[slot] = 2;
      this.rxCounters.readsFailed++;
      this.rxEnded = true;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.publishReads);
    }
  };

  /** Publish the run of completed reads at the ring's tail (one store), then top the reads up. */
  private readonly publishReads = (): void => {
    this.flushScheduled = false;
    const state = this.readState;
    const base = this.rxBase;
    let n = 0;
    let bytes = 0;
    while (n < this.rxSubmitted && state[base + n] === 1) {
      bytes += this.readLengths[base + n]!;
      state[base + n] = 0;
      n++;
    }
    if (n > 0 && !this.producerClosed) {
      if (this.tap) for (let slot = base; slot < base + n; slot++) this.tap.indicated(this.rxRing.slotView(slot), 0, this.readLengths[slot]!);
      this.producer.publish(n, this.readLengths.subarray(base, base + n));
      this.rxCounters.frames += n;
      this.rxCounters.bytes += bytes;
      this.rxCounters.publishes++;
      this.rxSubmitted -= n;
      this.rxBase = base + n === this.rxRing.slotCount ? 0 : base + n;
      this.onPublish?.();
    }
    this.topUpReads();
    this.rxWake.wake();
  };

  constructor(wdf: WdfFramework, options: KmdfEdgeOptions) {
    super();
    this.wdf = wdf;
    this.rxRing = options.rxRing;
    this.onPublish = options.onPublish;
    this.tap = options.tap;
    this.readHandOuts = options.readHandOuts;
    this.readHandOuts?.attach?.(() => this.rxWake.wake());
    this.transmitPath = new TransmitPath(options.txRing, options.tap, options.handOuts);
    this.producer = options.rxRing.producer();
    this.writesInFlight = Math.max(1, options.writesInFlight ?? 512);
    this.readsWanted = Math.max(1, Math.min(options.readsPending ?? 256, options.rxRing.slotCount));
    this.readState = new Uint8Array(options.rxRing.slotCount);
    this.readLengths = new Uint32Array(options.rxRing.slotCount);
    this.rxBase = this.producer.claim(0).first;
    this.sendPump = new SendPump(this.transmitPath, Math.max(1, options.writeBatch ?? 64), {
      room: () => this.writesInFlight - this.transmitPath.inFlight,
      live: () => !this.wdf.kernel.stopped,
      send: (first, count) => this.submitWrites(first, count),
    });
  }

  /** Start both pumps on a started device (host side). `linkUp`: the link as the driver read it at start. */
  start(device: WDFDEVICE, linkUp: boolean): void {
    this.device = device;
    this.up = linkUp;
    this.running = true;
    this.topUpReads();
    const failed = (what: string) => (err: unknown) => {
      this.running = false;
      if (!this.wdf.kernel.stopped) log.error({ err }, `upper edge ${what} failed`);
      if (this.listenerCount('error') > 0) this.emit('error', err);
    };
    this.sendPump.start(failed('send loop'));
    this.rxPumping = this.receiveLoop().catch(failed('receive loop'));
  }

  /** Stop submitting (frames left in the TX ring stay there; pending reads stay pending until the device goes). */
  async stop(): Promise<void> {
    this.running = false;
    this.rxWake.wake();
    await this.sendPump.stop();
    await this.rxPumping;
    this.rxPumping = null;
  }

  /** After the device is removed (pending reads cancelled): publish what completed and give the ring roles back. */
  async close(): Promise<void> {
    await this.stop();
    this.publishReads();
    this.transmitPath.releaseCompleted();
    this.producerClosed = true;
    this.producer.close();
    this.transmitPath.close();
  }

  /** The driver reported a link change (speed in bits per second). */
  linkChanged(up: boolean, speed: number, fullDuplex: boolean): void {
    this.up = up;
    const event: LinkEvent = { up, speed: up ? speed : 0, fullDuplex, at: performance.now() };
    this.linkEvents.push(event);
    this.emit('link', event);
  }

  get linkUp(): boolean {
    return this.up;
  }

  /** Read requests pending now. */
  get readsOutstanding(): number {
    return this.rxSubmitted;
  }

  get counters(): KmdfEdgeCounters {
    return {
      rx: { ...this.rxCounters },
      tx: { ...this.transmitPath.counters, writesSubmitted: this.writesSubmitted },
      linkEvents: this.linkEvents.length,
    };
  }

  /** Frames were put in the TX ring from this thread: take them now rather than at the next wake-up. */
  kick(): void {
    this.sendPump.wake();
  }

  // ---------------------------------------------------------------- send

  /** Write requests for the frames in TX ring slots [first, first + count) (the SendPump calls this). */
  private submitWrites(first: number, count: number): void {
    const ring = this.transmitPath.ring;
    for (let slot = first; slot < first + count; slot++) {
      this.writesSubmitted++;
      this.wdf.submitWriteNotify(this.device, ring.slotView(slot).subarray(0, ring.slotLength(slot)), this.onWriteDone, slot);
    }
  }

  // ---------------------------------------------------------------- receive

  /**
   * Keeps `readsPending` reads pending while the ring has room for them: more as reads complete
   * (publishReads tops up), or, when the consumer is behind, as it frees slots.
   */
  private async receiveLoop(): Promise<void> {
    while (this.running && !this.rxEnded) {
      if (this.wdf.kernel.stopped) return;
      const short = this.topUpReads();
      if (short) await this.producer.waitForSpace(WAKE_TIMEOUT_MS, Math.min(this.rxRing.slotCount, this.spaceWanted));
      else await this.rxWake.next();
    }
  }

  /**
   * Submit reads over the free slots after those already pending, up to the wanted number (never
   * past the end of the slot array: the rest after the wrap). Returns true when the ring's free
   * space, not the target or the wrap, held the number back.
   */
  private topUpReads(): boolean {
    if (!this.running || this.rxEnded || this.producerClosed || this.device === undefined) return false;
    const log = this.readHandOuts;
    const recorded = log?.next?.();
    if (recorded !== undefined) return this.topUpAsRecorded(log!, recorded);
    // A replay past its recorded top-ups: none while it says so.
    if (log?.due?.() === false) return false;
    if (this.rxSubmitted >= this.readsWanted) return false;
    const free = this.producer.free();
    const submitted = this.submitReads(Math.min(this.readsWanted, free));
    if (submitted > 0) {
      log?.handedOut(submitted, this.rxCounters.frames);
      this.countShortOfRing();
    }
    this.spaceWanted = this.rxSubmitted + 1;
    return this.rxSubmitted < this.readsWanted && free < this.readsWanted && this.rxBase + this.rxSubmitted < this.rxRing.slotCount;
  }

  /**
   * A replay's top-ups: the recorded numbers of reads, each once it is due and once the ring has
   * the slots free (the replay's consumer may be a turn behind: true, wait for them). The next one
   * may be due at once (what woke the recorded edge for it may have come first here).
   */
  private topUpAsRecorded(log: HandOutLog, first: number): boolean {
    for (let recorded: number | undefined = first; recorded !== undefined; recorded = log.next?.()) {
      if (log.due?.(this.rxCounters.frames) === false) return false;
      const wanted = Math.min(this.rxRing.slotCount, this.rxSubmitted + recorded);
      if (this.producer.free() < wanted) {
        this.spaceWanted = wanted;
        return true;
      }
      const submitted = this.submitReads(wanted);
      log.handedOut(submitted, this.rxCounters.frames);
      if (submitted > 0) this.countShortOfRing();
    }
    return false;
  }

  /**
   * After a top-up that submitted reads: fewer are pending than wanted, and not because the slot
   * array ended, so the ring's free slots held it back. A stretch of such top-ups counts once.
   * Judged on what the top-up left (not on the free slots seen), so a replay, whose top-ups are
   * the recorded ones, counts the same.
   */
  private countShortOfRing(): void {
    const short = this.rxSubmitted < this.readsWanted && this.rxBase + this.rxSubmitted < this.rxRing.slotCount;
    if (short && !this.shortOfRing) this.rxCounters.readsShortOfRing++;
    this.shortOfRing = short;
  }

  /** Reads pending over the first `wanted` slots at the ring's tail (as many as it has free); returns how many were added. */
  private submitReads(wanted: number): number {
    const claim = this.producer.claim(wanted);
    if (claim.first !== this.rxBase) throw new Error(`RX ring tail at slot ${claim.first}, reads pending from ${this.rxBase}`);
    const ring = this.rxRing;
    const before = this.rxSubmitted;
    for (let slot = this.rxBase + this.rxSubmitted; slot < this.rxBase + claim.count; slot++) {
      this.readState[slot] = 0;
      this.rxCounters.readsSubmitted++;
      this.rxSubmitted++;
      this.wdf.submitReadNotify(this.device, ring.slotView(slot), this.onReadDone, slot);
    }
    return this.rxSubmitted - before;
  }
}
