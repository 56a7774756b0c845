import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { QtestDisconnectedError, QtestFailError, QtestProtocolError, QtestTimeoutError, TransportError } from './errors.ts';
import { hexAddress, hexPort, hexSize, hexValue, qomPath, type Width } from './qtest-command.ts';
import { ReplyParser } from './reply-parser.ts';

/** How a reply is turned into a result. */
const enum Expect {
  Ok,
  Number,
  BigInt,
  Base64,
  Posted,
}

interface Pending {
  command: string;
  expect: Expect;
  resolve: ((value: unknown) => void) | undefined;
  reject: ((err: Error) => void) | undefined;
}

interface FenceWaiter {
  target: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface QtestClientOptions {
  /** A command without a reply for this long is a timeout; the stream is then closed. */
  commandTimeoutMs?: number;
}

/** Sees the qtest stream as it goes (a session recording): commands in send order, replies and IRQ lines in arrival order. */
export interface QtestTap {
  command(line: string): void;
  reply(line: string): void;
  irq(line: number, raised: boolean): void;
}

export interface QtestClientEvents {
  irq: [line: number, raised: boolean];
  close: [err?: Error];
}

/**
 * Client for QEMU's qtest line protocol over a connected socket.
 *
 * Reads are round trips. Writes are posted: queued on the socket and not awaited, as on PCI;
 * qtest answers in order, so a later read or `fence()` is answered only after them, and a
 * posted write that failed makes the next awaited call reject. A read, a fence or any other
 * round trip leaves at once, taking every posted write before it along in the same socket write;
 * posted writes alone leave one microtask later (those issued in one synchronous run share a
 * socket write). Holding them longer, to the end of the event-loop turn, saves socket writes but
 * delays QEMU: measured, it cost more on RX (the IMS at the end of a DPC went out late) than it
 * saved on TX. `IRQ raise/lower` lines become `irq` events whenever they arrive, and their last
 * level is kept for `lineLevel`.
 */
export class QtestClient extends EventEmitter<QtestClientEvents> {
  private readonly parser: ReplyParser;
  private readonly queue: Pending[] = [];
  private head = 0;
  private sent = 0;
  private answered = 0;
  private fences: FenceWaiter[] = [];
  private postedError: TransportError | undefined;
  private closedError: QtestDisconnectedError | undefined;
  private out = '';
  private flushQueued = false;
  private readonly levels = new Map<number, boolean>();
  /** IRQ edges parsed while a command was unanswered, as line, raised (1/0) pairs, shown with the next reply. */
  private heldEdges: number[] = [];
  private readonly watchdog: NodeJS.Timeout;
  private stalledTicks = 0;
  private answeredAtLastTick = 0;
  /** Set while a session is recorded (src/record); unset, each line pays one test. */
  tap: QtestTap | undefined;

  constructor(
    private readonly socket: Socket,
    opts: QtestClientOptions = {},
  ) {
    super();
    const timeoutMs = opts.commandTimeoutMs ?? 5000;
    socket.setNoDelay?.(true);
    this.parser = new ReplyParser({
      reply: (line) => this.onReply(line),
      irq: (line, raised) => {
        if (this.tap) this.tap.irq(line, raised);
        // An edge that comes before a reply becomes visible with that reply, not on its own: where
        // the socket split the stream must not decide whether the kernel saw the line first.
        if (this.sent !== this.answered) this.heldEdges.push(line, raised ? 1 : 0);
        else this.showEdge(line, raised);
      },
      garbage: (line) => this.onGarbage(line),
    });
    socket.on('data', (chunk: Buffer) => this.parser.push(chunk));
    socket.on('error', (err) => this.shutdown(err));
    socket.on('close', () => this.shutdown(undefined));
    // One coarse watchdog instead of a timer per command: the hot path pays nothing for it.
    this.watchdog = setInterval(() => this.checkProgress(timeoutMs), Math.max(1, timeoutMs / 2));
    this.watchdog.unref();
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** Commands sent and not yet answered. */
  get inFlight(): number {
    return this.sent - this.answered;
  }

  lineLevel(line: number): boolean {
    return this.levels.get(line) ?? false;
  }

  readb(addr: number | bigint): Promise<number> {
    return this.request(() => `readb ${hexAddress('readb', addr)}`, Expect.Number);
  }
  readw(addr: number | bigint): Promise<number> {
    return this.request(() => `readw ${hexAddress('readw', addr)}`, Expect.Number);
  }
  readl(addr: number | bigint): Promise<number> {
    return this.request(() => `readl ${hexAddress('readl', addr)}`, Expect.Number);
  }
  readq(addr: number | bigint): Promise<bigint> {
    return this.request(() => `readq ${hexAddress('readq', addr)}`, Expect.BigInt);
  }

  writeb(addr: number | bigint, value: number): void {
    this.post(`writeb ${hexAddress('writeb', addr)} ${hexValue('writeb', value, 8)}`);
  }
  writew(addr: number | bigint, value: number): void {
    this.post(`writew ${hexAddress('writew', addr)} ${hexValue('writew', value, 16)}`);
  }
  writel(addr: number | bigint, value: number): void {
    this.post(`writel ${hexAddress('writel', addr)} ${hexValue('writel', value, 32)}`);
  }
  writeq(addr: number | bigint, value: bigint): void {
    this.post(`writeq ${hexAddress('writeq', addr)} ${hexValue('writeq', value, 64)}`);
  }

  inb(port: number): Promise<number> {
    return this.request(() => `inb ${hexPort('inb', port)}`, Expect.Number);
  }
  inw(port: number): Promise<number> {
    return this.request(() => `inw ${hexPort('inw', port)}`, Expect.Number);
  }
  inl(port: number): Promise<number> {
    return this.request(() => `inl ${hexPort('inl', port)}`, Expect.Number);
  }
  outb(port: number, value: number): void {
    this.post(`outb ${hexPort('outb', port)} ${hexValue('outb', value, 8)}`);
  }
  outw(port: number, value: number): void {
    this.post(`outw ${hexPort('outw', port)} ${hexValue('outw', value, 16)}`);
  }
  outl(port: number, value: number): void {
    this.post(`outl ${hexPort('outl', port)} ${hexValue('outl', value, 32)}`);
  }

  /** Guest memory read through qtest (`b64read`): the slow path, when no shared RAM file exists. */
  memread(addr: number | bigint, length: number): Promise<Buffer> {
    return this.request(() => `b64read ${hexAddress('b64read', addr)} ${hexSize('b64read', length)}`, Expect.Base64);
  }

  /** Guest memory write through qtest (`b64write`), posted. */
  memwrite(addr: number | bigint, data: Uint8Array): void {
    const b64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
    this.post(`b64write ${hexAddress('b64write', addr)} ${hexSize('b64write', data.byteLength)} ${b64}`);
  }

  /** Routes the named device's input IRQ lines to this client as `IRQ raise/lower` lines. */
  irqInterceptIn(path: string): Promise<void> {
    return this.request(() => `irq_intercept_in ${qomPath('irq_intercept_in', path)}`, Expect.Ok);
  }

  /** Resolves when every command sent before it has been answered (posted writes included). */
  fence(): Promise<void> {
    if (this.closedError) return Promise.reject(this.closedError);
    this.flush();
    if (this.answered >= this.sent) return this.takePostedError() ?? Promise.resolve();
    return new Promise((resolve, reject) => this.fences.push({ target: this.sent, resolve, reject }));
  }

  /**
   * Hands the socket over (after every pending command is answered) and retires this client:
   * benchmarks use it to drive the same QEMU with a raw baseline client, then wrap it again.
   */
  async release(): Promise<Socket> {
    await this.fence();
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('error');
    this.socket.removeAllListeners('close');
    clearInterval(this.watchdog);
    this.closedError = new QtestDisconnectedError('qtest client released its socket', {});
    return this.socket;
  }

  close(): void {
    this.socket.destroy();
    this.shutdown(undefined);
  }

  /** `format` validates as it formats; an invalid command rejects instead of throwing. */
  private request<T>(format: () => string, expect: Expect): Promise<T> {
    let command: string;
    try {
      command = format();
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.closedError) return Promise.reject(this.rejectedAfterClose(command));
    return new Promise<T>((resolve, reject) => {
      // The reply parser for `expect` produces a T.
      this.enqueue({ command, expect, resolve: resolve as (value: unknown) => void, reject });
      this.flush();
    });
  }

  private post(command: string): void {
    if (this.closedError) throw this.rejectedAfterClose(command);
    this.enqueue({ command, expect: Expect.Posted, resolve: undefined, reject: undefined });
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushPosted);
    }
  }

  /** Microtask turns a posted write waits before it goes out alone (POSTED_HOPS). */
  private postedHops = 0;

  private readonly flushPosted = (): void => {
    if (this.flushQueued && ++this.postedHops < POSTED_HOPS) {
      queueMicrotask(this.flushPosted);
      return;
    }
    this.postedHops = 0;
    this.flush();
  };

  private enqueue(p: Pending): void {
    if (this.tap) this.tap.command(p.command);
    this.queue.push(p);
    this.out += p.command + '\n';
    this.sent++;
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.out.length === 0 || this.closedError) return;
    this.socket.write(this.out, 'latin1');
    this.out = '';
  }

  private showEdge(line: number, raised: boolean): void {
    this.levels.set(line, raised);
    this.emit('irq', line, raised);
  }

  private showHeldEdges(): void {
    const held = this.heldEdges;
    this.heldEdges = [];
    for (let i = 0; i < held.length; i += 2) this.showEdge(held[i]!, held[i + 1] === 1);
  }

  private onReply(line: string): void {
    if (this.tap) this.tap.reply(line);
    if (this.heldEdges.length > 0) this.showHeldEdges();
    const p = this.queue[this.head];
    if (p === undefined) {
      this.onGarbage(line);
      return;
    }
    this.queue[this.head] = undefined as unknown as Pending;
    this.head++;
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.answered++;
    this.settle(p, line);
    if (this.fences.length > 0) this.releaseFences();
  }

  private settle(p: Pending, line: string): void {
    if (line.startsWith('FAIL')) {
      const err = new QtestFailError(`qtest ${p.command} failed: ${line.slice(4).trim()}`, {
        command: p.command,
        reply: line,
      });
      if (p.reject) p.reject(err);
      else this.postedError ??= err;
      return;
    }
    let value: unknown;
    switch (p.expect) {
      case Expect.Ok:
      case Expect.Posted:
        value = line === 'OK' ? undefined : BAD;
        break;
      case Expect.Number:
        value = line.startsWith('OK 0x') ? Number.parseInt(line.slice(5), 16) : BAD;
        if (Number.isNaN(value)) value = BAD;
        break;
      case Expect.BigInt:
        value = /^OK 0x[0-9a-fA-F]+$/.test(line) ? BigInt(line.slice(3)) : BAD;
        break;
      case Expect.Base64:
        value = line.startsWith('OK ') ? Buffer.from(line.slice(3), 'base64') : BAD;
        break;
    }
    if (value === BAD) {
      const err = new QtestProtocolError(`qtest ${p.command}: unexpected reply ${JSON.stringify(line)}`, {
        command: p.command,
        reply: line,
      });
      if (p.reject) p.reject(err);
      else this.postedError ??= err;
      return;
    }
    const posted = p.resolve ? this.postedError : undefined;
    if (posted) {
      this.postedError = undefined;
      p.reject!(posted);
      return;
    }
    p.resolve?.(value);
  }

  private releaseFences(): void {
    const still: FenceWaiter[] = [];
    for (const f of this.fences) {
      if (this.answered < f.target) {
        still.push(f);
        continue;
      }
      const err = this.postedError;
      this.postedError = undefined;
      if (err) f.reject(err);
      else f.resolve();
    }
    this.fences = still;
  }

  private takePostedError(): Promise<void> | undefined {
    const err = this.postedError;
    if (!err) return undefined;
    this.postedError = undefined;
    return Promise.reject(err);
  }

  private onGarbage(line: string): void {
    const p = this.queue[this.head];
    this.shutdown(
      new QtestProtocolError(`qtest: unexpected line ${JSON.stringify(line)}`, {
        command: p?.command,
        reply: line,
      }),
    );
  }

  private checkProgress(timeoutMs: number): void {
    if (this.inFlight === 0 || this.answered !== this.answeredAtLastTick) {
      this.stalledTicks = 0;
      this.answeredAtLastTick = this.answered;
      return;
    }
    if (++this.stalledTicks < 2) return;
    const p = this.queue[this.head];
    this.shutdown(
      new QtestTimeoutError(`qtest ${p?.command ?? '?'}: no reply within ${timeoutMs} ms`, {
        command: p?.command,
        timeoutMs,
        inFlight: this.inFlight,
      }),
    );
  }

  /** Rejects everything pending with one typed error; later calls reject at once. */
  private shutdown(cause: Error | undefined): void {
    if (this.closedError) return;
    clearInterval(this.watchdog);
    const head = this.queue[this.head];
    const err =
      cause instanceof QtestDisconnectedError
        ? cause
        : new QtestDisconnectedError(
            cause ? `qtest connection lost: ${cause.message}` : 'qtest connection closed (QEMU gone?)',
            { command: head?.command, inFlight: this.inFlight },
            { cause },
          );
    this.closedError = err;
    const pending = this.queue.slice(this.head);
    this.queue.length = 0;
    this.head = 0;
    // A timeout or protocol error names the command that caused it; a socket error does not,
    // so everyone gets the typed disconnect (with the socket error as its cause).
    const own = cause instanceof TransportError && !(cause instanceof QtestDisconnectedError) ? cause : undefined;
    for (const p of pending) p.reject?.(own && p === head ? own : err);
    for (const f of this.fences) f.reject(own ?? err);
    this.fences = [];
    if (!this.socket.destroyed) this.socket.destroy();
    this.emit('close', own ?? err);
  }

  private rejectedAfterClose(command: string): QtestDisconnectedError {
    return new QtestDisconnectedError(
      `qtest ${command}: connection is closed`,
      { command },
      {
        cause: this.closedError,
      },
    );
  }
}

const BAD = Symbol('bad reply');

/**
 * A posted write goes out on the second microtask turn after it, not the first: a driver that
 * awaits its write (`await nic.disableInterrupts()`) and then reads (ICR) sends both in one socket
 * write. Alone, the write cost a system call that wakes QEMU on the other CPU: 44–64 µs between the
 * ISR's IMC write and its ICR read in bench/rx-timeline.ts, 10 µs with both in one write.
 */
const POSTED_HOPS = 2;

export type { Width };
