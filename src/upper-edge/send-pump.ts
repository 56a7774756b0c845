import { PumpWake } from './pump-wake.ts';
import type { TransmitPath } from './transmit-path.ts';

/** What a send pump hands frames to: the NDIS 6 NBL sender, the NDIS 5 packet sender, the KMDF writer. */
export interface FrameSender {
  /** How many more frames may be handed out now (free NBLs, packets, writes in flight); 0 = wait for a completion. */
  room(): number;
  /** False once there is nobody to send to (the kernel stopped, the adapter halted): the pump ends. */
  live(): boolean;
  /**
   * Hand the frames in TX ring slots [first, first + count) to the driver; they are already counted
   * as handed out. A sender that only queues them (KMDF's notify submits) returns nothing, and the
   * pump goes on without yielding.
   */
  send(first: number, count: number): Promise<void> | void;
}

/**
 * The send loop the three upper edges share: while running, take up to `batch` frames from the TX
 * ring and hand them to the sender; sleep on the ring when it is empty and on completions when the
 * sender has no room. Completions and producers on this thread call wake().
 */
export class SendPump {
  /**
   * Times the pump ran out of room (no free NBL, packet or write) and waited for a completion: once
   * a stretch, however often it is woken before room comes back, so a replay's extra wakes (its
   * hand-outs held to the recording) count as the recorded session's did.
   */
  poolEmpty = 0;
  private outOfRoom = false;
  private running = false;
  private pumping: Promise<void> | null = null;
  private readonly pumpWake = new PumpWake();

  constructor(
    private readonly tx: TransmitPath,
    private readonly batch: number,
    private readonly sender: FrameSender,
  ) {
    tx.onDue(() => this.wake());
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Start the loop; `failed` hears the error that ended it (the pump is stopped by then). */
  start(failed: (err: unknown) => void): void {
    this.running = true;
    this.pumping = this.loop().catch((err: unknown) => {
      this.running = false;
      failed(err);
    });
  }

  /** Stop taking frames (those left in the TX ring stay there); resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.running = false;
    this.pumpWake.wake();
    await this.pumping;
    this.pumping = null;
  }

  /** A completion freed room, or frames were put in the TX ring from this thread. */
  wake(): void {
    this.pumpWake.wake();
  }

  private async loop(): Promise<void> {
    const tx = this.tx;
    const sender = this.sender;
    while (this.running) {
      if (!sender.live()) return;
      const room = sender.room();
      const run = room > 0 ? tx.next(Math.min(room, this.batch)) : null;
      if (!run || run.count === 0) {
        if (room <= 0 && !this.outOfRoom) this.poolEmpty++;
        this.outOfRoom = room <= 0;
        // A replay's hand-out waits for what came before it in the recording: only the replay's wake makes it due.
        if (tx.heldBack) await this.pumpWake.next();
        else await this.pumpWake.idle(tx, room);
        continue;
      }
      this.outOfRoom = false;
      const first = run.first;
      const count = run.count;
      tx.handOut(count);
      const sent = sender.send(first, count);
      if (sent !== undefined) await sent;
    }
  }
}
