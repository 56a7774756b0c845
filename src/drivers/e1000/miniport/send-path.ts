import { E1000ConfigError } from '../errors.ts';
import type { AdapterContext } from './context.ts';
import type { AdapterLock, FrameSink } from './edge.ts';
import { SendQueue } from './send-queue.ts';

/** Shortest frame the core sends: an Ethernet header. */
export const MIN_SEND_LENGTH = 14;
/** Longest frame the core sends (without CRC): 1514 plus a VLAN tag. */
export const MAX_SEND_LENGTH = 1518;

/**
 * The send path (pcidrv's nic_send.c): frames copied into the TX ring's staging with one doorbell,
 * a wait queue for what does not fit (never dropped), completions reaped and reported in order,
 * and on halt every frame still outstanding completed as aborted. The TX ring and the queue are
 * under the TX lock; TDT never goes backwards.
 */
export class SendPath {
  private readonly ctx: AdapterContext;
  private readonly txLock: AdapterLock;
  private readonly queue = new SendQueue();
  /** Ring completions already reported through completeSends. */
  private txReported = 0;
  /** Frames left in the ring that were already reported as aborted (a TX unit that stopped). */
  private txAbandoned = 0;

  private readonly queueFrame: FrameSink = (view, offset, length) => {
    if (!Number.isInteger(length) || length < MIN_SEND_LENGTH || length > MAX_SEND_LENGTH) {
      throw new E1000ConfigError(`send: frame length ${length} is outside ${MIN_SEND_LENGTH}..${MAX_SEND_LENGTH}`, { length });
    }
    if (!Number.isInteger(offset) || offset < 0 || offset + length > view.length) {
      throw new E1000ConfigError(`send: bytes ${offset}..${offset + length} lie outside a ${view.length}-byte view`, {
        offset,
        length,
        viewLength: view.length,
      });
    }
    this.queue.push(view, offset, length);
  };

  private readonly fillFromQueue = (index: number, slot: Buffer): number => this.queue.copyOut(index, slot);

  constructor(ctx: AdapterContext) {
    this.ctx = ctx;
    this.txLock = ctx.edge.createLock('e1000 TX');
    ctx.shared(this, 'E1000_SEND', ['txReported', 'txAbandoned']);
  }

  /** Frames waiting for TX ring space. */
  get queued(): number {
    return this.queue.length;
  }

  /** Largest number of frames that waited for ring space. */
  get queuePeak(): number {
    return this.queue.peak;
  }

  /** Frames queued or in the ring (pause waits for none). */
  get outstanding(): boolean {
    return this.queue.length > 0 || this.ctx.nic.tx.inFlight > 0;
  }

  /**
   * E1000Adapter.send (NICWritePacket / NICStartSend): see there. Written without `async`: when the
   * TX lock is free, the doorbell has nothing to wait for and no completion has to be reported, the
   * whole send runs inside the call and returns the plain count (no promise, no microtask turn);
   * the first step that has to wait goes on asynchronously. The steps, their order and their IRQL
   * are the same either way.
   */
  send(frames: (sink: FrameSink) => void): number | Promise<number> {
    if (this.ctx.state !== 'running') return 0;
    const acquiring = this.txLock.acquire();
    return acquiring ? acquiring.then(() => this.sendLocked(frames)) : this.sendLocked(frames);
  }

  /** send() holding the TX lock: frames queued, the queue into the ring, the lock released. */
  private sendLocked(frames: (sink: FrameSink) => void): number | Promise<number> {
    const ctx = this.ctx;
    if (ctx.state !== 'running') return this.unlockThenReport(0, 0);
    let accepted: number;
    let submitting: Promise<void> | undefined;
    try {
      const before = this.queue.length;
      try {
        frames(this.queueFrame);
      } catch (err) {
        this.queue.truncate(before);
        throw err;
      }
      accepted = this.queue.length - before;
      ctx.counters.txQueued += accepted;
      const tx = ctx.nic.tx;
      tx.reap();
      const waiting = this.queue.length - tx.available;
      if (waiting > 0) ctx.counters.txDeferred += Math.min(waiting, accepted);
      submitting = this.submitQueued();
    } catch (err) {
      return this.unlockThenThrow(err);
    }
    if (submitting) return this.finishSend(submitting, accepted);
    return this.unlockThenReport(this.takeFinished(), accepted);
  }

  /** The rest of sendLocked once its doorbell had to wait. */
  private async finishSend(submitting: Promise<void>, accepted: number): Promise<number> {
    let finished: number;
    try {
      await submitting;
      finished = this.takeFinished();
    } finally {
      await this.txLock.release();
    }
    if (finished > 0) await this.ctx.edge.completeSends(finished, 'sent');
    return accepted;
  }

  /** Release the TX lock, then report `finished` completions; resolves to (or is) `result`. */
  private unlockThenReport(finished: number, result: number): number | Promise<number> {
    const releasing = this.txLock.release();
    if (releasing) return releasing.then(() => this.report(finished, result));
    return this.report(finished, result);
  }

  private report(finished: number, result: number): number | Promise<number> {
    if (finished === 0) return result;
    const completing = this.ctx.edge.completeSends(finished, 'sent');
    return completing instanceof Promise ? completing.then(() => result) : result;
  }

  private async unlockThenThrow(err: unknown): Promise<never> {
    await this.txLock.release();
    throw err;
  }

  /**
   * The DPC's and pause's part (NICHandleSendInterrupt + NICCheckForQueuedSends): under the TX lock,
   * reap, then the wait queue into the ring with one doorbell; completions reported.
   */
  async service(): Promise<void> {
    const ctx = this.ctx;
    const tx = ctx.nic.tx;
    let finished: number;
    await this.txLock.acquire();
    try {
      tx.reap();
      if (ctx.state === 'running' || ctx.state === 'pausing') await this.submitQueued();
      finished = this.takeFinished();
    } finally {
      await this.txLock.release();
    }
    if (finished > 0) await ctx.edge.completeSends(finished, 'sent');
  }

  /**
   * Complete every send (NICFreeBusySendPackets + NICFreeQueuedSendPackets): what the NIC finished
   * as 'sent', then what it never took (queued, or in the ring of a NIC that stopped transmitting)
   * as 'aborted'.
   */
  async abortAll(): Promise<void> {
    const ctx = this.ctx;
    const tx = ctx.nic.tx;
    let finished: number;
    let aborted: number;
    await this.txLock.acquire();
    try {
      tx.reap();
      finished = this.takeFinished();
      aborted = this.queue.length + tx.inFlight - this.txAbandoned;
      this.txAbandoned = tx.inFlight;
      this.queue.clear();
    } finally {
      await this.txLock.release();
    }
    ctx.counters.txAborted += aborted;
    if (finished > 0) await ctx.edge.completeSends(finished, 'sent');
    if (aborted > 0) await ctx.edge.completeSends(aborted, 'aborted');
  }

  /**
   * Under txLock: as many queued frames as the ring takes, with one TDT write. Undefined when the
   * doorbell had nothing to wait for (the queue is shifted by then).
   */
  private submitQueued(): Promise<void> | undefined {
    const n = this.queue.length;
    if (n === 0) return undefined;
    const taken = this.ctx.nic.tx.submit(n, this.fillFromQueue);
    if (typeof taken !== 'number') return taken.then(this.shiftQueue);
    this.queue.shift(taken);
    return undefined;
  }

  private readonly shiftQueue = (taken: number): void => {
    this.queue.shift(taken);
  };

  /**
   * Under txLock: ring completions not yet reported (nic.quiesce() may have reaped some itself).
   * Frames already reported as aborted that complete after all are not reported twice.
   */
  private takeFinished(): number {
    let done = this.ctx.nic.tx.counters.completed - this.txReported;
    this.txReported += done;
    const late = Math.min(done, this.txAbandoned);
    this.txAbandoned -= late;
    done -= late;
    this.ctx.counters.txCompleted += done;
    return done;
  }
}
