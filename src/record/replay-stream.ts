import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { AsyncGuestMemory, GuestMemory } from '../platform/guest-memory.ts';
import { WATCHDOG_TIMER } from '../kernel/timing-checks.ts';
import { ReplayDivergenceError } from './errors.ts';
import { RecordKind, choiceLabel, describeHandOut, isDriverInput, isHandOut, type HandOutKind, type RecordEvent } from './format.ts';

const RECENT = 8;
/** How many delivery turns an IRQ lower waits for the kernel to take the line raised before it. */
const LOWER_HOLD_TURNS = 64;
/** How far past an IRQ lower heldLower looks for the ISR start (replies and memory reads between). */
const ISR_LOOKAHEAD = 8;

export function describe(e: RecordEvent): string {
  switch (e[0]) {
    case RecordKind.Command:
      return `> ${e[1]}`;
    case RecordKind.Reply:
      return `< ${e[1]}`;
    case RecordKind.Irq:
      return `IRQ ${e[2] ? 'raise' : 'lower'} ${e[1]}`;
    case RecordKind.MemoryRead:
      return `memory read 0x${e[1].toString(16)} (${e[2].byteLength} bytes)`;
    case RecordKind.Host:
      if (e[1] === 'send') return `host sent ${e[2].length} frame(s)`;
      return isHandOut(e[1]) ? describeHandOut(e[1], e[2] ?? 0) : `host ${e[1]}`;
    case RecordKind.Schedule:
      return `scheduler turn '${e[1]}' (option ${e[2]})`;
    case RecordKind.TimerExpired:
      return `timer ${e[1]} expired`;
    case RecordKind.Wire:
      return `wire frame ${e[1] === 'toNic' ? 'from the peer to the NIC' : 'from the NIC to the peer'} (${e[2].byteLength} bytes)`;
    case RecordKind.Time:
      return `${e[1]} over its limit at call ${e[2]} (${e[3]} ms)`;
    default:
      return `event ${e[0]}`;
  }
}

/**
 * The qtest side of a replay (REPLAY, not QEMU): a socket for a real QtestClient that answers
 * from a recording. Each command line written must be the next recorded command; after it, the
 * replies and IRQ lines recorded before the following command are delivered, so interrupts assert
 * at their recorded positions. The first mismatch destroys the stream with a ReplayDivergenceError
 * (kept in `divergence`), which the client reports as the cause of its disconnect.
 */
export class ReplayQtestStream extends Duplex {
  /** Events delivered (or passed, for commands) so far. */
  private pos = 0;
  /** Just after the last command written. */
  private written = 0;
  private deliveryQueued = false;
  private partial = '';
  /** With `decisions`: just after the last scheduler decision (kind 6) the replay took. */
  private decided = 0;
  /**
   * Per kind of hand-out held to (holdAtHandOuts: the send path's `[9, 'take', n]`, the KMDF edge's
   * `[9, 'reads', n, published]`): just after the last one the replay made, and the last recorded one the
   * stream has passed (-1: none).
   */
  private readonly holds: Partial<Record<HandOutKind, { handed: number; last: number }>> = {};
  /** The same holds, for the check made at each event. */
  private readonly holdList: { handed: number; last: number }[] = [];
  divergence: ReplayDivergenceError | undefined;
  /** With `onReached`: the recorded event whose reaching (reached()) calls it, once; -1: none. */
  wakeAt = -1;
  onReached: (() => void) | undefined;
  /** Set by the replay once its host runs, unless the recording holds the service starts as turns: some processor was asked for interrupt or DPC work and has not started it (Kernel.servicePending). */
  servicePending: (() => boolean) | undefined;
  /** The IRQ lower held back (heldLower) and for how many delivery turns. */
  private lowerHeld = { at: -1, turns: 0 };

  /**
   * `onInput` gets the host inputs, timer expirations and wire frames (kinds Host, TimerExpired, Wire) as the stream
   * reaches them, after the replies and IRQ lines recorded before them. With `decisions`, the
   * scheduler's recorded decisions are barriers like commands: delivery stops at one until the
   * replay takes it (`decide`), and `decisions.reached` is told when it stops there, so what
   * happened after a scheduler turn in the recording reaches the driver after that turn here too.
   */
  constructor(
    private readonly events: readonly RecordEvent[],
    readonly file = '<recording>',
    private readonly onInput?: (e: RecordEvent, position: number) => void,
    private readonly decisions?: { reached(position: number): void },
  ) {
    super();
    // What QEMU said before the first command of the recording (IRQ lines) comes first.
    this.scheduleDelivery();
  }

  /** The client's socket type: QtestClient only writes lines and reads data. */
  asSocket(): Socket {
    return this as unknown as Socket;
  }

  /** Recorded events consumed so far (a position in the recording). */
  get position(): number {
    return this.pos;
  }

  /**
   * Recorded events replayed so far, for the result: those delivered, or up to the last command
   * written (the host may close the stream before the turn that would deliver past a final command).
   */
  get replayed(): number {
    return Math.max(this.pos, this.written);
  }

  /** The replay took the scheduler decision recorded at `position` (with `decisions`): delivery goes on past it. */
  decide(position: number): void {
    if (position < this.decided) return;
    this.decided = position + 1;
    if (this.pos <= position) this.scheduleDelivery();
    this.wakeIfReached();
  }

  /**
   * Whether the replay has got to the recorded event at `position`: the stream delivered it, or,
   * a scheduler decision, the replay took it (the stream's delivery past it comes a turn later).
   */
  reached(position: number): boolean {
    return this.pos > position || (position < this.decided && this.events[position]?.[0] === RecordKind.Schedule);
  }

  /** Whether everything recorded before `position` reached the driver: a turn right after a turn the replay took is due at once. */
  reachedBefore(position: number): boolean {
    return position === 0 || this.reached(position - 1);
  }

  private wakeIfReached(): void {
    if (this.wakeAt < 0 || !this.reached(this.wakeAt)) return;
    this.wakeAt = -1;
    this.onReached?.();
  }

  /**
   * Hand-outs become barriers too: past a recorded `[9, 'take', n]` the replay's send path has not
   * made yet (`handedOut`), only the host's sends are delivered; a reply, an IRQ line, a timer, a
   * wire frame, another host input or a scheduler turn waits for it. What the NIC did after a
   * hand-out in the recording then reaches the driver after the hand-out here too (a DPC that ran
   * after the upper edge had handed a batch over finds that batch there), and the sends recorded
   * between hand-outs still arrive together: an echo's sends and hand-outs happen inside one DPC's
   * indications, which wait for no event-loop turn.
   */
  holdAtHandOuts(kind: HandOutKind): void {
    if (this.holds[kind]) return;
    const hold = { handed: 0, last: -1 };
    this.holds[kind] = hold;
    this.holdList.push(hold);
  }

  /** The replay made the hand-out of `kind` recorded at `position` (with holdAtHandOuts): delivery goes on past it. */
  handedOut(kind: HandOutKind, position: number): void {
    const hold = this.holds[kind];
    if (!hold || position < hold.handed) return;
    hold.handed = position + 1;
    // The stream may have passed it and be held further on (at a reply or an IRQ line).
    this.scheduleDelivery();
  }

  /** Every recorded command was replayed. */
  get finished(): boolean {
    return !this.events.slice(this.written).some((e) => e[0] === RecordKind.Command);
  }

  /** Stops the replay with `err` (the first divergence stands). */
  diverge(err: ReplayDivergenceError): void {
    this.divergence ??= err;
    this.destroy(this.divergence);
  }

  /** The last recorded events before `position`, for a divergence report. */
  recentBefore(position: number): string[] {
    return this.events.slice(Math.max(0, position - RECENT), position).map(describe);
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const text = this.partial + chunk.toString('latin1');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const err = this.divergence ?? this.command(line);
      if (err) {
        this.divergence ??= err;
        done(this.divergence);
        return;
      }
    }
    done();
  }

  private command(line: string): ReplayDivergenceError | undefined {
    let at = this.written;
    while (at < this.events.length && this.events[at]![0] !== RecordKind.Command) at++;
    const expected = this.events[at];
    if (expected?.[1] !== line) {
      return new ReplayDivergenceError(
        `replay diverged at event ${at} of ${this.file}: the driver sent '${line}', the recording has ${expected ? `'${String(expected[1])}'` : 'no more commands'}`,
        {
          file: this.file,
          position: at,
          expected: expected?.[1],
          actual: line,
          recent: this.recentBefore(at),
        },
      );
    }
    this.written = at + 1;
    this.scheduleDelivery();
    return undefined;
  }

  /**
   * What QEMU answers reaches the client in a later event-loop turn, as from a socket: the driver
   * code that wrote runs on until it waits, then the replies and IRQ lines arrive.
   */
  private scheduleDelivery(): void {
    if (this.deliveryQueued) return;
    this.deliveryQueued = true;
    setImmediate(() => {
      this.deliveryQueued = false;
      this.deliverUntilCommand();
    });
  }

  /** Delivers the recorded events up to the first command not written yet. */
  private deliverUntilCommand(): void {
    if (this.destroyed) return;
    let out = '';
    while (this.pos < this.events.length) {
      const e = this.events[this.pos]!;
      if (this.heldAtHandOut() && this.waitsForHandOuts(e)) break;
      if (e[0] === RecordKind.Command) {
        if (this.pos >= this.written) break;
      } else if (e[0] === RecordKind.Schedule && this.decisions && this.pos >= this.decided) {
        if (out) this.push(Buffer.from(out, 'latin1'));
        this.decisions.reached(this.pos);
        this.wakeIfReached();
        return;
      } else if (e[0] === RecordKind.Host && isHandOut(e[1])) {
        const hold = this.holds[e[1]];
        if (hold && this.pos >= hold.handed) hold.last = this.pos;
      } else if (e[0] === RecordKind.Irq && !e[2] && this.heldLower(this.pos)) {
        if (out) this.push(Buffer.from(out, 'latin1'));
        this.scheduleDelivery();
        return;
      } else if (e[0] === RecordKind.Reply) out += e[1] + '\n';
      else if (e[0] === RecordKind.Irq) out += `IRQ ${e[2] ? 'raise' : 'lower'} ${e[1]}\n`;
      else if ((e[0] === RecordKind.Host || e[0] === RecordKind.TimerExpired || e[0] === RecordKind.Wire) && this.onInput) {
        // What was recorded before the input reaches the client first.
        if (out) this.push(Buffer.from(out, 'latin1'));
        out = '';
        this.pos++;
        this.onInput(e, this.pos - 1);
        if (this.divergence) return;
        // A driver's timer fires in its own event-loop turn: what its DPC does runs before anything
        // recorded after it arrives. (The kernel's watchdog queues nothing.)
        if (e[0] === RecordKind.TimerExpired && e[1] !== WATCHDOG_TIMER) {
          this.scheduleDelivery();
          this.wakeIfReached();
          return;
        }
        continue;
      }
      this.pos++;
    }
    if (out) this.push(Buffer.from(out, 'latin1'));
    this.wakeIfReached();
  }

  /**
   * Whether to hold back the IRQ lower at `position` for a turn: the recording has an ISR start right
   * after it (only replies between), and the replay's kernel has not started on the interrupt the
   * line asked for. On QEMU the raise came in an earlier socket read than the lower (the eject's,
   * say), and the kernel took the line in between; delivered in one pass here, the line would be
   * low before any processor looked. The first hold lets the client read what came before; later
   * ones last while a processor has not started. Bounded, so a replay that differs stalls where it
   * differs.
   */
  private heldLower(position: number): boolean {
    if (this.lowerHeld.at !== position) {
      if (!this.isrStartsAfter(position)) return false;
      this.lowerHeld = { at: position, turns: 1 };
      return true;
    }
    if (!this.servicePending?.() || this.lowerHeld.turns >= LOWER_HOLD_TURNS) return false;
    this.lowerHeld.turns++;
    return true;
  }

  private isrStartsAfter(position: number): boolean {
    for (let i = position + 1; i < this.events.length && i <= position + ISR_LOOKAHEAD; i++) {
      const e = this.events[i]!;
      if (e[0] === RecordKind.Reply || e[0] === RecordKind.MemoryRead || e[0] === RecordKind.TimeReading) continue;
      return e[0] === RecordKind.Schedule && (choiceLabel(e[1])?.startsWith('isr:') ?? false);
    }
    return false;
  }

  /** A recorded hand-out the stream has passed is not made yet. */
  private heldAtHandOut(): boolean {
    for (const hold of this.holdList) if (hold.handed <= hold.last) return true;
    return false;
  }

  /** What a recorded hand-out not made yet holds back: what reaches the driver from outside, but the host's sends (those only follow the driver). */
  private waitsForHandOuts(e: RecordEvent): boolean {
    return isDriverInput(e) && !(e[0] === RecordKind.Host && e[1] === 'send');
  }
}

/**
 * Guest memory of a replay: each read returns the bytes recorded for it, in order, and must be
 * at the recorded address and length; writes go nowhere (the device they were for is not there).
 */
export class ReplayMemory implements GuestMemory, AsyncGuestMemory {
  private readonly reads: [number, Uint8Array][];
  private next = 0;
  /** With `reached`: the read count at which it is called (ReplaySession's held-back hand-out). */
  wakeAt = -1;
  reached: (() => void) | undefined;

  constructor(
    events: readonly RecordEvent[],
    readonly size: number,
    private readonly file = '<recording>',
  ) {
    this.reads = events.filter((e): e is [RecordKind.MemoryRead, number, Uint8Array] => e[0] === RecordKind.MemoryRead).map((e) => [e[1], e[2]]);
  }

  read(addr: number, length: number): Buffer {
    return Buffer.from(this.take(addr, length));
  }

  readInto(addr: number, target: Uint8Array): void {
    target.set(this.take(addr, target.byteLength));
  }

  write(): void {}

  /** Reads replayed so far. */
  get consumed(): number {
    return this.next;
  }

  async readAsync(addr: number, length: number): Promise<Buffer> {
    return this.read(addr, length);
  }

  async writeAsync(): Promise<void> {}

  private take(addr: number, length: number): Uint8Array {
    const r = this.reads[this.next];
    if (r?.[0] !== addr || r[1].byteLength !== length) {
      throw new ReplayDivergenceError(
        `replay diverged at memory read ${this.next} of ${this.file}: the driver read ${length} bytes at 0x${addr.toString(16)}, the recording has ${r ? `${r[1].byteLength} bytes at 0x${r[0].toString(16)}` : 'no more reads'}`,
        { file: this.file, position: this.next, expected: r ? { addr: r[0], length: r[1].byteLength } : undefined, actual: { addr, length } },
      );
    }
    if (++this.next === this.wakeAt) this.reached?.();
    return r[1];
  }
}
