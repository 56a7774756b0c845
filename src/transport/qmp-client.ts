import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { logger } from '../util/log.ts';
import { QmpDisconnectedError, QmpError, QmpProtocolError, QmpTimeoutError } from './qmp-errors.ts';

const log = logger('qmp');

export interface QmpGreeting {
  version: { qemu: { major: number; minor: number; micro: number }; package: string };
  capabilities: string[];
}

/** An asynchronous QMP event (`SHUTDOWN`, `RESET`, `NIC_RX_FILTER_CHANGED`, ...). */
export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
  timestamp: { seconds: number; microseconds: number };
}

/** Arguments and results of the commands the host uses; anything else goes through as `unknown`. */
export interface QmpCommands {
  qmp_capabilities: { args: { enable?: string[] }; result: Record<string, never> };
  'query-status': { args: undefined; result: { status: string; running: boolean; singlestep?: boolean } };
  'query-version': { args: undefined; result: QmpGreeting['version'] };
  system_reset: { args: undefined; result: Record<string, never> };
  quit: { args: undefined; result: Record<string, never> };
  set_link: { args: { name: string; up: boolean }; result: Record<string, never> };
  device_del: { args: { id: string }; result: Record<string, never> };
  'query-pci': { args: undefined; result: Array<{ bus: number; devices: Array<{ bus: number; slot: number; function: number; qdev_id?: string }> }> };
  'qom-list': { args: { path: string }; result: Array<{ name: string; type: string }> };
  'qom-get': { args: { path: string; property: string }; result: unknown };
  'human-monitor-command': { args: { 'command-line': string }; result: string };
}

type ArgsOf<K extends keyof QmpCommands> = QmpCommands[K]['args'];

export interface QmpClientOptions {
  /** A command without a reply for this long rejects with `QmpTimeoutError` (the stream stays up). */
  commandTimeoutMs?: number;
  /** How long to wait for QEMU's greeting in `connect`. */
  greetingTimeoutMs?: number;
}

export interface QmpClientEvents {
  event: [event: QmpEvent];
  close: [err?: Error];
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Client for QEMU's QMP monitor over a connected socket: waits for the greeting, negotiates
 * capabilities, then runs commands (matched to replies by `id`) and emits asynchronous events
 * as `event`. When the socket closes, every pending command rejects with `QmpDisconnectedError`.
 */
export class QmpClient extends EventEmitter<QmpClientEvents> {
  private partial = '';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedError: QmpDisconnectedError | undefined;
  private greetingWaiter: { resolve: (g: QmpGreeting) => void; reject: (e: Error) => void } | undefined;
  private greetingValue: QmpGreeting | undefined;
  private readonly commandTimeoutMs: number;

  private constructor(
    private readonly socket: Socket,
    opts: QmpClientOptions,
  ) {
    super();
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 10_000;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.shutdown(err));
    socket.on('close', () => this.shutdown(undefined));
  }

  /** Reads the greeting and enters command mode (`qmp_capabilities`). */
  static async connect(socket: Socket, opts: QmpClientOptions = {}): Promise<QmpClient> {
    const client = new QmpClient(socket, opts);
    const greetingTimeoutMs = opts.greetingTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<QmpGreeting>((resolve, reject) => {
        if (client.greetingValue) return resolve(client.greetingValue);
        if (client.closedError) return reject(client.closedError);
        client.greetingWaiter = { resolve, reject };
        timer = setTimeout(
          () =>
            reject(
              new QmpTimeoutError(`QMP: no greeting within ${greetingTimeoutMs} ms`, {
                command: '(greeting)',
                timeoutMs: greetingTimeoutMs,
              }),
            ),
          greetingTimeoutMs,
        );
      });
      await client.execute('qmp_capabilities', {});
    } catch (err) {
      client.close();
      throw err;
    } finally {
      clearTimeout(timer);
      client.greetingWaiter = undefined;
    }
    return client;
  }

  get greeting(): QmpGreeting {
    if (!this.greetingValue) throw new QmpProtocolError('QMP: no greeting received yet', { command: '(greeting)' });
    return this.greetingValue;
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** Runs a command; resolves with its `return` value or rejects with `QmpError` naming it. */
  execute<K extends keyof QmpCommands>(command: K, ...args: ArgsOf<K> extends undefined ? [] : [ArgsOf<K>]): Promise<QmpCommands[K]['result']>;
  execute(command: string, args?: Record<string, unknown>): Promise<unknown>;
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.closedError) {
      return Promise.reject(new QmpDisconnectedError(`QMP ${command}: connection is closed`, { command }, { cause: this.closedError }));
    }
    const id = this.nextId++;
    const message: Record<string, unknown> = { execute: command, id };
    if (args !== undefined) message.arguments = args;
    let line: string;
    try {
      line = JSON.stringify(message) + '\n';
    } catch (err) {
      return Promise.reject(new QmpProtocolError(`QMP ${command}: arguments are not JSON`, { command }, { cause: err }));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new QmpTimeoutError(`QMP ${command}: no reply within ${this.commandTimeoutMs} ms`, {
            command,
            timeoutMs: this.commandTimeoutMs,
          }),
        );
      }, this.commandTimeoutMs);
      timer.unref();
      this.pending.set(id, { command, resolve, reject, timer });
      this.socket.write(line);
    });
  }

  /** Resolves with the next event of that name (e.g. `RESET` after `system_reset`). */
  waitForEvent(name: string, timeoutMs = 10_000): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const onEvent = (ev: QmpEvent) => {
        if (ev.event !== name) return;
        cleanup();
        resolve(ev);
      };
      const onClose = (err?: Error) => {
        cleanup();
        reject(new QmpDisconnectedError(`QMP closed while waiting for event ${name}`, { command: `(event ${name})` }, { cause: err }));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new QmpTimeoutError(`QMP: no ${name} event within ${timeoutMs} ms`, { command: `(event ${name})`, timeoutMs }));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('close', onClose);
      };
      if (this.closedError) return onClose(this.closedError);
      this.on('event', onEvent);
      this.on('close', onClose);
    });
  }

  close(): void {
    this.socket.destroy();
    this.shutdown(undefined);
  }

  private onData(chunk: string): void {
    const data = this.partial + chunk;
    let start = 0;
    let nl = data.indexOf('\n');
    while (nl !== -1) {
      const line = data.slice(start, nl).trim();
      start = nl + 1;
      if (line.length > 0) this.onMessage(line);
      if (this.closedError) return;
      nl = data.indexOf('\n', start);
    }
    this.partial = data.slice(start);
  }

  private onMessage(line: string): void {
    let msg: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      msg = parsed as Record<string, unknown>;
    } catch (err) {
      this.shutdown(new QmpProtocolError(`QMP: malformed message ${JSON.stringify(line.slice(0, 200))}`, { command: '(stream)' }, { cause: err }));
      return;
    }
    if ('QMP' in msg) {
      this.greetingValue = msg.QMP as QmpGreeting;
      this.greetingWaiter?.resolve(this.greetingValue);
      return;
    }
    if (typeof msg.event === 'string') {
      const ev: QmpEvent = {
        event: msg.event,
        data: (msg.data as Record<string, unknown> | undefined) ?? {},
        timestamp: (msg.timestamp as QmpEvent['timestamp'] | undefined) ?? { seconds: 0, microseconds: 0 },
      };
      log.debug({ event: ev.event, data: ev.data }, 'QMP event');
      this.emit('event', ev);
      return;
    }
    const id = msg.id;
    const p = typeof id === 'number' ? this.pending.get(id) : undefined;
    if (!p) {
      this.shutdown(new QmpProtocolError(`QMP: reply to no pending command: ${line.slice(0, 200)}`, { command: '(stream)', id }));
      return;
    }
    this.pending.delete(id as number);
    clearTimeout(p.timer);
    if ('return' in msg) {
      p.resolve(msg.return);
    } else if (msg.error && typeof msg.error === 'object') {
      const e = msg.error as { class?: string; desc?: string };
      p.reject(
        new QmpError(`QMP ${p.command} failed: ${e.desc ?? 'unknown error'} (${e.class ?? '?'})`, {
          command: p.command,
          errorClass: e.class,
          description: e.desc,
        }),
      );
    } else {
      p.reject(new QmpProtocolError(`QMP ${p.command}: reply has neither return nor error`, { command: p.command, reply: line }));
    }
  }

  private shutdown(cause: Error | undefined): void {
    if (this.closedError) return;
    const err =
      cause instanceof QmpDisconnectedError
        ? cause
        : new QmpDisconnectedError(
            cause ? `QMP connection lost: ${cause.message}` : 'QMP connection closed (QEMU gone?)',
            { command: undefined, pending: this.pending.size },
            { cause },
          );
    this.closedError = err;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(cause instanceof QmpProtocolError ? cause : new QmpDisconnectedError(`QMP ${p.command}: connection closed before the reply`, { command: p.command }, { cause }));
    }
    this.pending.clear();
    this.greetingWaiter?.reject(err);
    if (!this.socket.destroyed) this.socket.destroy();
    this.emit('close', cause ?? err);
  }
}
