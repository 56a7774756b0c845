import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { LEASE_SOCKET, READY_FILE, encodeLine, lineReader, type LeaseAnswer, type LeaseExitNotice, type LeaseHello, type QemuOffer } from '../../qemu/attach-protocol.ts';
import type { DeviceStubEvents, QemuExit, StubTimings } from '../../qemu/device-stub.ts';
import { QemuExitedError } from '../../qemu/errors.ts';
import { GuestRamFile } from '../../qemu/guest-ram-file.ts';
import type { MachineStub } from '../../qemu/stub-handle.ts';
import type { ResolvedStubConfig } from '../../qemu/stub-config.ts';
import { QtestDisconnectedError } from '../transport/errors.ts';
import { QmpClient } from '../transport/qmp-client.ts';
import { QmpDisconnectedError } from '../transport/qmp-errors.ts';
import { QtestClient } from '../transport/qtest-client.ts';
import { logger } from '../util/log.ts';
import { AttachError } from './errors.ts';

const log = logger('attach');
/** After qtest closes, how long to wait for the launcher to say how QEMU ended. */
const EXIT_NOTICE_WAIT_MS = 1000;

export interface AttachStubOptions {
  /** The launcher's directory (`dirql qemu --listen DIR`). */
  dir: string;
  /** How long to wait for a QEMU to be free (the launcher starts a fresh one after each host). Default 10 s. */
  waitMs?: number;
  /** Passed to the QtestClient (default 5 s). */
  qtestCommandTimeoutMs?: number;
}

export const launcherHint = (dir: string) => `start the launcher there first: \`dirql qemu --listen ${dir}\` (or \`docker compose up qemu\`)`;

/**
 * A QEMU the host did not start: a launcher's (qemu/launcher.ts), held through its lease socket
 * for as long as this host runs. stop() lets go (the launcher then stops that QEMU and starts a
 * fresh one); 'exit' with `expected: false` means QEMU or the launcher went away under the host.
 */
export class AttachedStub extends EventEmitter<DeviceStubEvents> implements MachineStub {
  private exitInfo: QemuExit | undefined;
  private notice: LeaseExitNotice['exit'] | undefined;
  private resolveExited!: (exit: QemuExit) => void;
  readonly exited: Promise<QemuExit>;
  private stopPromise: Promise<void> | undefined;
  private stopping = false;
  private noticeTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly dir: string,
    readonly offer: QemuOffer,
    readonly config: ResolvedStubConfig,
    private readonly lease: net.Socket,
    readonly qtest: QtestClient,
    readonly qmp: QmpClient,
    readonly ram: GuestRamFile,
    readonly timings: StubTimings,
    readonly pid: number | undefined,
  ) {
    super();
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
    lease.on(
      'data',
      lineReader((line) => {
        try {
          this.notice = (JSON.parse(line) as LeaseExitNotice).exit;
        } catch {
          log.debug({ line }, 'unreadable line from the launcher');
        }
      }),
    );
    lease.on('close', () => this.gone('the launcher closed the lease'));
    qtest.on('close', () => {
      if (this.stopping || this.exitInfo) return;
      this.noticeTimer ??= setTimeout(() => this.gone('the qtest connection closed'), EXIT_NOTICE_WAIT_MS);
    });
  }

  /** Takes the lease on the QEMU waiting in `dir` and connects to its qtest and QMP sockets. */
  static async attach(opts: AttachStubOptions): Promise<AttachedStub> {
    const dir = path.resolve(opts.dir);
    const t0 = performance.now();
    const { lease, offer } = await takeLease(dir, opts.waitMs ?? 10_000);
    let qtest: QtestClient | undefined;
    let qmp: QmpClient | undefined;
    let ram: GuestRamFile | undefined;
    try {
      const qtestSocket = await connect(path.join(dir, offer.qtestSocket));
      const qtestConnectMs = performance.now() - t0;
      qtest = new QtestClient(qtestSocket, { commandTimeoutMs: opts.qtestCommandTimeoutMs ?? 5000 });
      await qtest.readl(0);
      const firstReplyMs = performance.now() - t0;
      qmp = await QmpClient.connect(await connect(path.join(dir, offer.qmpSocket)));
      ram = GuestRamFile.open(path.join(dir, offer.ramFile), offer.memoryMiB * 1024 * 1024);
      const config: ResolvedStubConfig = {
        machine: 'pc',
        memoryMiB: offer.memoryMiB,
        nic: offer.nic,
        mac: offer.mac,
        netdev: offer.netdev,
        sharedRam: true,
        extraArgs: [],
        qemuBinary: `(the launcher's, in ${dir})`,
        startTimeoutMs: opts.waitMs ?? 10_000,
        stopGraceMs: 0,
        qtestCommandTimeoutMs: opts.qtestCommandTimeoutMs ?? 5000,
      };
      const timings = { qtestConnectMs, firstReplyMs, readyMs: performance.now() - t0 };
      log.debug({ dir, generation: offer.generation, timings }, 'attached to QEMU');
      return new AttachedStub(dir, offer, config, lease, qtest, qmp, ram, timings, samePidNamespace(offer));
    } catch (err) {
      qtest?.close();
      qmp?.close();
      ram?.close();
      lease.destroy();
      throw new AttachError(`attaching to the QEMU in ${dir} failed: ${(err as Error).message}`, { dir, generation: offer.generation }, { cause: err });
    }
  }

  get wire(): { qemuPort: number; peerPort: number } | undefined {
    const n = this.config.netdev;
    return n.kind === 'dgram' ? { qemuPort: n.qemuPort, peerPort: n.peerPort } : undefined;
  }

  get exit(): QemuExit | undefined {
    return this.exitInfo;
  }

  async explain(err: unknown, waitMs = 1000): Promise<unknown> {
    if (!this.isConnectionLoss(err)) return err;
    if (!this.exitInfo) await Promise.race([this.exited, new Promise((r) => setTimeout(r, waitMs).unref())]);
    return this.explainNow(err);
  }

  explainNow(err: unknown): unknown {
    if (!this.isConnectionLoss(err) || !this.exitInfo) return err;
    const exit = this.exitInfo;
    const command = err instanceof QtestDisconnectedError || err instanceof QmpDisconnectedError ? err.context.command : undefined;
    return new QemuExitedError(
      `QEMU is gone (${describe(exit)})${command ? ` during ${String(command)}` : ''}`,
      { command, exitCode: exit.exitCode, signal: exit.signal, stderr: exit.stderr, expected: exit.expected, dir: this.dir },
      { cause: err },
    );
  }

  /** Lets go of the QEMU: the launcher stops it and starts a fresh one for the next host. Idempotent. */
  stop(): Promise<void> {
    this.stopPromise ??= (async () => {
      this.stopping = true;
      clearTimeout(this.noticeTimer);
      this.qtest.close();
      this.qmp.close();
      this.ram.close();
      await new Promise<void>((resolve) => {
        if (this.lease.destroyed) return resolve();
        this.lease.once('close', () => resolve());
        this.lease.end();
      });
      this.finish({ exitCode: undefined, signal: undefined, stderr: '', expected: true });
    })();
    return this.stopPromise;
  }

  private isConnectionLoss(err: unknown): boolean {
    if (err instanceof QtestDisconnectedError || err instanceof QmpDisconnectedError) return true;
    const code = (err as { code?: unknown } | null)?.code;
    return (code === 'EPIPE' || code === 'ECONNRESET') && this.qtest.closed;
  }

  private gone(why: string): void {
    if (this.stopping || this.exitInfo) return;
    const n = this.notice;
    this.finish(n ? { exitCode: n.exitCode, signal: n.signal, stderr: n.stderr, expected: false } : { exitCode: undefined, signal: undefined, stderr: why, expected: false });
  }

  private finish(exit: QemuExit): void {
    if (this.exitInfo) return;
    clearTimeout(this.noticeTimer);
    this.exitInfo = exit;
    if (!exit.expected) this.ram.close();
    this.resolveExited(exit);
    this.emit('exit', exit);
  }
}

/**
 * Connects to the lease socket and asks for the QEMU. No launcher listening is an error at once;
 * a launcher whose QEMU is held or still starting is waited for (its ready file reappears).
 */
async function takeLease(dir: string, waitMs: number): Promise<{ lease: net.Socket; offer: QemuOffer }> {
  const deadline = Date.now() + waitMs;
  const leasePath = path.join(dir, LEASE_SOCKET);
  for (;;) {
    let lease: net.Socket;
    try {
      lease = await connect(leasePath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const what = code === 'ENOENT' ? (fs.existsSync(dir) ? `${LEASE_SOCKET} is not there` : 'the directory does not exist') : `nobody listens on ${LEASE_SOCKET} (${code})`;
      throw new AttachError(`no QEMU launcher in ${dir}: ${what}; ${launcherHint(dir)}`, { dir, code }, { cause: err });
    }
    const answer = await askForLease(lease, Math.max(1, deadline - Date.now()));
    if (answer.granted) return { lease, offer: answer.offer };
    lease.destroy();
    const left = deadline - Date.now();
    if (left <= 0 || !(await readyFileAppears(dir, left))) {
      throw new AttachError(`no QEMU became free in ${dir} within ${waitMs} ms: ${answer.reason}`, { dir, waitMs, reason: answer.reason });
    }
  }
}

function askForLease(lease: net.Socket, timeoutMs: number): Promise<LeaseAnswer> {
  return new Promise((resolve) => {
    const done = (a: LeaseAnswer) => {
      clearTimeout(timer);
      lease.off('data', onData);
      lease.off('close', onClose);
      resolve(a);
    };
    const onData = lineReader((line) => {
      try {
        done(JSON.parse(line) as LeaseAnswer);
      } catch {
        done({ granted: false, reason: `the launcher answered ${JSON.stringify(line.slice(0, 80))}` });
      }
    });
    const onClose = () => done({ granted: false, reason: 'the launcher closed the lease without answering' });
    const timer = setTimeout(() => done({ granted: false, reason: `the launcher did not answer within ${timeoutMs} ms` }), timeoutMs);
    lease.on('data', onData);
    lease.on('close', onClose);
    lease.on('error', (err) => log.debug({ err }, 'lease socket error'));
    lease.write(encodeLine({ hello: { pid: process.pid } } satisfies LeaseHello));
  });
}

/** Resolves true once the ready file exists (watching the directory), false after `timeoutMs`. */
function readyFileAppears(dir: string, timeoutMs: number): Promise<boolean> {
  const file = path.join(dir, READY_FILE);
  return new Promise((resolve) => {
    const watcher = fs.watch(dir, (_event, name) => {
      if (name === READY_FILE && fs.existsSync(file)) done(true);
    });
    const timer = setTimeout(() => done(false), timeoutMs);
    const done = (v: boolean) => {
      clearTimeout(timer);
      watcher.close();
      resolve(v);
    };
    if (fs.existsSync(file)) done(true);
  });
}

function connect(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** QEMU's pid means something here only when the launcher runs in this pid namespace (not across containers). */
function samePidNamespace(offer: QemuOffer): number | undefined {
  if (offer.qemuPid === undefined) return undefined;
  try {
    const cmdline = fs.readFileSync(`/proc/${offer.qemuPid}/cmdline`, 'utf8');
    return cmdline.includes(`dirql-launcher-${offer.launcherPid}-${offer.generation}`) ? offer.qemuPid : undefined;
  } catch {
    return undefined;
  }
}

function describe(exit: QemuExit): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  if (exit.exitCode !== undefined) return `exit code ${exit.exitCode}`;
  return exit.stderr || 'gone';
}
