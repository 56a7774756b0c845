import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { QtestClient } from '../src/transport/qtest-client.ts';
import { QtestDisconnectedError } from '../src/transport/errors.ts';
import { QmpClient } from '../src/transport/qmp-client.ts';
import { QmpDisconnectedError } from '../src/transport/qmp-errors.ts';
import { logger } from '../src/util/log.ts';
import { QemuExitedError, QemuStartError } from './errors.ts';
import { haltingFirmware } from './firmware.ts';
import { GuestRamFile } from './guest-ram-file.ts';
import type { MachineStub } from './stub-handle.ts';
import { registerStub, unregisterStub, type Reapable } from './stub-registry.ts';
import { buildQemuArgs, resolveNetdev, validateStubConfig, type DeviceStubConfig, type ResolvedStubConfig } from './stub-config.ts';

const log = logger('device-stub');
const STDERR_KEEP = 16 * 1024;
/** sun_path is 108 bytes on Linux, including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/** How QEMU ended. `expected` is true when `stop()` (or the host's own exit) ended it. */
export interface QemuExit {
  exitCode: number | undefined;
  signal: string | undefined;
  stderr: string;
  expected: boolean;
  /** Set when the process could not be spawned at all (e.g. ENOENT). */
  spawnError?: string;
}

/** Milliseconds from spawning QEMU. */
export interface StubTimings {
  /** QEMU connected to the qtest socket. */
  qtestConnectMs: number;
  /** QEMU answered the first qtest command (guest RAM is mapped from here on). */
  firstReplyMs: number;
  /** qtest and QMP both ready: `start()` resolves. */
  readyMs: number;
}

export interface DeviceStubEvents {
  exit: [exit: QemuExit];
}

/**
 * One QEMU process playing the NIC: i440FX/PIIX3 `pc` machine, the NIC model it was given, the
 * halting firmware, qtest and QMP over unix sockets in a private temp dir, guest RAM in a
 * host-created /dev/shm file. QEMU runs under `setpriv --pdeathsig KILL` so it dies with the host
 * even on SIGKILL; a process-wide registry kills it on exit and signals. `stop()` is idempotent.
 */
export class DeviceStub extends EventEmitter<DeviceStubEvents> implements Reapable, MachineStub {
  readonly argv: readonly string[];
  private subprocess: ResultPromise | undefined;
  private stderrTail = '';
  private exitInfo: QemuExit | undefined;
  private exitedPromise: Promise<QemuExit> | undefined;
  private stopPromise: Promise<void> | undefined;
  private stopping = false;
  /** During `start()` an exit is reported through the rejected start, not logged. */
  private starting = true;
  private qtestClient: QtestClient | undefined;
  private qmpClient: QmpClient | undefined;
  private readonly servers: net.Server[] = [];
  private dirRemoved = false;
  private timingsValue: StubTimings | undefined;

  private constructor(
    readonly config: ResolvedStubConfig,
    /** Private temp dir (0700) for the firmware and the qtest/QMP sockets; removed once QEMU is up. */
    readonly dir: string,
    /** Guest RAM file; its name is unlinked once QEMU has mapped it. */
    readonly ram: GuestRamFile | undefined,
  ) {
    super();
    this.argv = [
      config.qemuBinary,
      ...buildQemuArgs(
        config,
        {
          firmware: path.join(dir, 'halt.bin'),
          qtestSocket: path.join(dir, 'qtest.sock'),
          qmpSocket: path.join(dir, 'qmp.sock'),
          ...(ram ? { ramFile: ram.path } : {}),
        },
        `dirql-${process.pid}`,
      ),
    ];
  }

  /** Starts QEMU and resolves once qtest and QMP answer; rejects with `QemuStartError` otherwise. */
  static async start(config: DeviceStubConfig): Promise<DeviceStub> {
    const base = validateStubConfig(config);
    const resolved: ResolvedStubConfig = { ...base, netdev: await resolveNetdev(base.netdev) };
    const dir = makePrivateDir();
    let ram: GuestRamFile | undefined;
    try {
      ram = resolved.sharedRam ? GuestRamFile.create(resolved.memoryMiB * 1024 * 1024) : undefined;
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new QemuStartError(`cannot create the guest RAM file: ${(err as Error).message}`, { stage: 'ram file' }, { cause: err });
    }
    const stub = new DeviceStub(resolved, dir, ram);
    registerStub(stub);
    try {
      await stub.launch();
      stub.starting = false;
    } catch (err) {
      await stub.abortStart();
      const exit = stub.exitInfo;
      const context = {
        ...(err instanceof QemuStartError ? err.context : { stage: 'connect' }),
        exitCode: exit?.exitCode,
        signal: exit?.signal,
        stderr: exit?.stderr ?? stub.stderrTail,
        argv: stub.argv,
      };
      const detail = exit ? ` (${describeExit(exit)})` : '';
      const msg = err instanceof QemuStartError ? err.message : `QEMU start failed: ${(err as Error).message}`;
      throw new QemuStartError(msg + detail + stderrSuffix(context.stderr), context, {
        cause: err instanceof QemuStartError ? err.cause : err,
      });
    }
    return stub;
  }

  get pid(): number | undefined {
    return this.subprocess?.pid;
  }

  get qtest(): QtestClient {
    if (!this.qtestClient) throw new QemuStartError('qtest is not connected yet', { stage: 'qtest' });
    return this.qtestClient;
  }

  get qmp(): QmpClient {
    if (!this.qmpClient) throw new QemuStartError('QMP is not connected yet', { stage: 'qmp' });
    return this.qmpClient;
  }

  /** UDP ports of the dgram netdev, if that is the netdev kind. */
  get wire(): { qemuPort: number; peerPort: number } | undefined {
    const n = this.config.netdev;
    return n.kind === 'dgram' ? { qemuPort: n.qemuPort, peerPort: n.peerPort } : undefined;
  }

  get timings(): StubTimings {
    if (!this.timingsValue) throw new QemuStartError('stub has not started', { stage: 'timings' });
    return this.timingsValue;
  }

  /** QEMU is running (spawned and not exited). */
  get running(): boolean {
    return this.subprocess !== undefined && this.exitInfo === undefined;
  }

  /** How QEMU ended, once it has. */
  get exit(): QemuExit | undefined {
    return this.exitInfo;
  }

  /** Resolves when QEMU has exited (however). */
  get exited(): Promise<QemuExit> {
    return this.exitedPromise ?? Promise.resolve({ exitCode: undefined, signal: undefined, stderr: '', expected: true });
  }

  /** QEMU's stderr so far (the last 16 KiB). */
  get stderr(): string {
    return this.stderrTail;
  }

  /**
   * Turns a lost-connection error into `QemuExitedError` carrying QEMU's exit status and stderr
   * (waiting briefly for the exit to be reaped); other errors come back unchanged.
   */
  async explain(err: unknown, waitMs = 1000): Promise<unknown> {
    if (!this.isConnectionLoss(err)) return err;
    if (!this.exitInfo && this.exitedPromise) {
      await Promise.race([this.exitedPromise, delay(waitMs)]);
    }
    return this.explainNow(err);
  }

  /** Synchronous `explain`, for posted writes: uses the exit status if it is already known. */
  explainNow(err: unknown): unknown {
    if (!this.isConnectionLoss(err)) return err;
    const exit = this.exitInfo;
    if (!exit) return err;
    const command = err instanceof QtestDisconnectedError || err instanceof QmpDisconnectedError ? err.context.command : undefined;
    return new QemuExitedError(
      `QEMU is gone (${describeExit(exit)})${command ? ` during ${String(command)}` : ''}${stderrSuffix(exit.stderr)}`,
      { command, exitCode: exit.exitCode, signal: exit.signal, stderr: exit.stderr, expected: exit.expected },
      { cause: err },
    );
  }

  /** A closed qtest/QMP connection, or a raw socket error (EPIPE, ECONNRESET) from writing to it. */
  private isConnectionLoss(err: unknown): boolean {
    if (err instanceof QtestDisconnectedError || err instanceof QmpDisconnectedError) return true;
    const code = (err as { code?: unknown } | null)?.code;
    return (code === 'EPIPE' || code === 'ECONNRESET') && (this.qtestClient?.closed ?? false);
  }

  /** Quits QEMU (SIGTERM, SIGKILL after the grace), closes the sockets, removes every file. */
  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  /** Synchronous last resort (process exit, signals): SIGKILL QEMU and remove its files. */
  reapNow(): void {
    this.stopping = true;
    const pid = this.pid;
    if (pid !== undefined && this.exitInfo === undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    this.removeFiles();
    try {
      this.ram?.close();
    } catch {
      // The fd may already be closed; nothing else to release.
    }
    unregisterStub(this);
  }

  private async launch(): Promise<void> {
    const qtestPath = path.join(this.dir, 'qtest.sock');
    const qmpPath = path.join(this.dir, 'qmp.sock');
    fs.writeFileSync(path.join(this.dir, 'halt.bin'), haltingFirmware(), { mode: 0o600 });
    const qtestAccept = this.listen(qtestPath);
    const qmpAccept = this.listen(qmpPath);
    await Promise.all([qtestAccept.listening, qmpAccept.listening]);

    const t0 = performance.now();
    const deadline = Date.now() + this.config.startTimeoutMs;
    const [binary, ...args] = this.argv;
    this.subprocess = execa('setpriv', ['--pdeathsig', 'KILL', '--', binary!, ...args], {
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      // Our registry and pdeathsig do this; execa's signal-exit hooks would keep SIGINT from ending the host.
      cleanup: false,
      // Own process group: a Ctrl-C in the terminal reaches the host only, which then halts the
      // driver and stops QEMU in order (QEMU quits at once on SIGINT). pdeathsig still ties it to us.
      detached: true,
      env: { ...process.env, LC_ALL: 'C' },
    });
    const keep = (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_KEEP);
    };
    this.subprocess.stdout?.on('data', keep);
    this.subprocess.stderr?.on('data', keep);
    this.exitedPromise = this.watchExit(this.subprocess);
    log.debug({ qemuPid: this.subprocess.pid, argv: this.argv }, 'QEMU spawned');

    const qtestSocket = await this.duringStart(qtestAccept.socket, 'qtest connect', deadline);
    const qtestConnectMs = performance.now() - t0;
    this.qtestClient = new QtestClient(qtestSocket, { commandTimeoutMs: this.config.qtestCommandTimeoutMs });
    // Any harmless command will do: its reply means QEMU finished creating the machine.
    await this.duringStart(this.qtestClient.readl(0), 'first qtest reply', deadline);
    const firstReplyMs = performance.now() - t0;
    this.ram?.unlink();
    const qmpSocket = await this.duringStart(qmpAccept.socket, 'QMP connect', deadline);
    this.qmpClient = await this.duringStart(QmpClient.connect(qmpSocket), 'QMP greeting', deadline);
    for (const s of this.servers) s.close();
    // Both sockets are connected and the firmware is loaded into ROM: the directory has served
    // its purpose, and removing it now means even a SIGKILLed host leaves nothing behind.
    this.removeFiles();
    this.timingsValue = { qtestConnectMs, firstReplyMs, readyMs: performance.now() - t0 };
    log.debug({ qemuPid: this.pid, timings: this.timingsValue }, 'QEMU ready');
  }

  private listen(socketPath: string): { listening: Promise<void>; socket: Promise<net.Socket> } {
    const server = net.createServer();
    this.servers.push(server);
    const socket = new Promise<net.Socket>((resolve) =>
      server.once('connection', (s) => {
        // Until a client takes the socket over, an error (QEMU dying) must not be uncaught; the
        // exit watcher reports what happened.
        s.on('error', (err) => log.debug({ err, socketPath }, 'socket error before client attached'));
        resolve(s);
      }),
    );
    const listening = new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    return { listening, socket };
  }

  /** Waits for one start step, failing at once if QEMU exits or the start deadline passes. */
  private async duringStart<T>(step: Promise<T>, stage: string, deadline: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new QemuStartError(`QEMU did not reach "${stage}" within ${this.config.startTimeoutMs} ms`, {
              stage,
              timeoutMs: this.config.startTimeoutMs,
            }),
          ),
        Math.max(0, deadline - Date.now()),
      );
    });
    const exited = this.exitedPromise!.then((exit) => {
      throw new QemuStartError(`QEMU exited before "${stage}"`, { stage, exitCode: exit.exitCode, signal: exit.signal });
    });
    try {
      return await Promise.race([step, timeout, exited]);
    } catch (err) {
      if (err instanceof QemuStartError) throw err;
      throw new QemuStartError(`QEMU start failed at "${stage}": ${(err as Error).message}`, { stage }, { cause: err });
    } finally {
      clearTimeout(timer);
      exited.catch(() => undefined);
    }
  }

  private async watchExit(sub: ResultPromise): Promise<QemuExit> {
    const result = await sub;
    const exit: QemuExit = {
      exitCode: result.exitCode,
      signal: result.signal,
      stderr: this.stderrTail,
      expected: this.stopping,
      ...(result.failed && result.exitCode === undefined && result.signal === undefined ? { spawnError: result.shortMessage } : {}),
    };
    this.exitInfo = exit;
    if (!exit.expected) {
      // Debug only: the 'exit' event's listener (the host: one device-lost line and report) tells the user.
      if (!this.starting) log.debug({ qemuPid: sub.pid, exitCode: exit.exitCode, signal: exit.signal, stderr: exit.stderr }, 'QEMU exited unexpectedly');
      // Nothing can use the sockets or the RAM file name any more: don't leave them around.
      this.removeFiles();
    }
    this.emit('exit', exit);
    return exit;
  }

  /** After a failed start: kill QEMU, wait for it briefly (for its stderr), remove everything. */
  private async abortStart(): Promise<void> {
    this.stopping = true;
    const pid = this.pid;
    if (pid !== undefined && !this.exitInfo) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    if (this.exitedPromise) await Promise.race([this.exitedPromise, delay(2000)]);
    this.qtestClient?.close();
    this.qmpClient?.close();
    for (const s of this.servers) s.close();
    this.reapNow();
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    const pid = this.pid;
    if (pid !== undefined && !this.exitInfo && this.exitedPromise) {
      signal(pid, 'SIGTERM');
      const ended = await Promise.race([this.exitedPromise.then(() => true), delay(this.config.stopGraceMs).then(() => false)]);
      if (!ended) {
        log.warn({ qemuPid: pid, graceMs: this.config.stopGraceMs }, 'QEMU ignored SIGTERM; sending SIGKILL');
        signal(pid, 'SIGKILL');
        await Promise.race([this.exitedPromise, delay(2000)]);
      }
    }
    this.qtestClient?.close();
    this.qmpClient?.close();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.removeFiles();
    this.ram?.close();
    unregisterStub(this);
  }

  private removeFiles(): void {
    this.ram?.unlink();
    if (this.dirRemoved) return;
    this.dirRemoved = true;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** mkdtemp gives 0700; fall back to /tmp when TMPDIR would make socket paths too long or has commas. */
function makePrivateDir(): string {
  let base = os.tmpdir();
  if (base.length + '/dirql-XXXXXX/qtest.sock'.length > MAX_SOCKET_PATH || base.includes(',')) base = '/tmp';
  return fs.mkdtempSync(path.join(base, 'dirql-'));
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Exited in between.
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function describeExit(exit: QemuExit): string {
  if (exit.spawnError) return `could not be spawned: ${exit.spawnError}`;
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exit code ${exit.exitCode}`;
}

function stderrSuffix(stderr: string | undefined): string {
  const text = (stderr ?? '').trim();
  if (!text) return '';
  const lines = text.split('\n');
  return `; QEMU stderr: ${lines.slice(-3).join(' | ')}`;
}
