import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { QmpClient } from '../src/transport/qmp-client.ts';
import { logger } from '../src/util/log.ts';
import {
  FIRMWARE_FILE,
  LAUNCHER_QMP_SOCKET,
  LEASE_SOCKET,
  PROTOCOL_VERSION,
  QMP_SOCKET,
  QTEST_SOCKET,
  READY_FILE,
  encodeLine,
  lineReader,
  type LeaseAnswer,
  type LeaseExitNotice,
  type LeaseHello,
  type QemuOffer,
} from './attach-protocol.ts';
import { DeviceStubConfigError, QemuStartError } from './errors.ts';
import { haltingFirmware } from './firmware.ts';
import { registerStub, unregisterStub, type Reapable } from './stub-registry.ts';
import { checkedQemuBinary } from './qemu-binary.ts';
import { buildQemuArgs, resolveNetdev, validateStubConfig, type DeviceStubConfig, type ResolvedStubConfig } from './stub-config.ts';

const log = logger('launcher');
const STDERR_KEEP = 16 * 1024;
const HELLO_TIMEOUT_MS = 5000;

export interface LauncherConfig extends DeviceStubConfig {
  /** The shared directory: created if missing; the launcher's files in it are removed on stop(). */
  dir: string;
}

export interface LauncherEvents {
  /** A fresh QEMU waits for a host (the ready file is written). */
  ready: [offer: QemuOffer];
  /** A host took the lease. */
  attached: [info: { generation: number; hostPid: number }];
  /** The host let go (or died); its QEMU is being stopped. */
  released: [info: { generation: number; hostPid: number }];
  /** A QEMU exited without the launcher asking. */
  'qemu-exit': [info: { generation: number; exitCode: number | undefined; signal: string | undefined; stderr: string }];
  /** A fresh QEMU could not be started: the launcher has stopped. */
  failed: [err: Error];
}

interface Running {
  generation: number;
  sub: ResultPromise;
  exited: Promise<void>;
  stderr: string;
  ramPath: string;
  monitor: QmpClient | undefined;
  retiring: boolean;
  offer?: QemuOffer;
}

/**
 * Runs QEMU for hosts that attach to it (`dirql qemu --listen DIR`): one QEMU at a time, waiting
 * for a host on the lease socket; when that host goes away (stopped, crashed, SIGKILLed) its QEMU is
 * stopped and a fresh one started, so the next host finds a clean device. See attach-protocol.ts.
 */
export class QemuLauncher extends EventEmitter<LauncherEvents> implements Reapable {
  private running: Running | undefined;
  private generation = 0;
  private holder: { socket: net.Socket; hostPid: number } | undefined;
  private leaseServer: net.Server | undefined;
  private cycle: Promise<void> = Promise.resolve();
  private stopPromise: Promise<void> | undefined;
  private stopping = false;

  private constructor(
    readonly config: ResolvedStubConfig,
    readonly dir: string,
  ) {
    super();
  }

  /** Listens on the lease socket and starts the first QEMU; resolves once it waits for a host. */
  static async start(cfg: LauncherConfig): Promise<QemuLauncher> {
    const { dir, ...stub } = cfg;
    // Before any file or process: a missing binary would otherwise only show as QEMU exiting at once.
    const base = validateStubConfig({ ...stub, qemuBinary: checkedQemuBinary(stub.qemuBinary, "the launcher's qemuBinary") });
    if (!base.sharedRam) throw new DeviceStubConfigError('the launcher shares guest RAM through a file: sharedRam must stay on', { dir });
    const launcher = new QemuLauncher({ ...base, netdev: await resolveNetdev(base.netdev) }, path.resolve(dir));
    fs.mkdirSync(launcher.dir, { recursive: true });
    registerStub(launcher);
    try {
      launcher.removeFiles();
      fs.writeFileSync(launcher.file(FIRMWARE_FILE), haltingFirmware(), { mode: 0o600 });
      await launcher.listenForHosts();
      await launcher.startQemu();
    } catch (err) {
      await launcher.stop();
      throw err;
    }
    return launcher;
  }

  /** The QEMU waiting for a host, if one is. */
  get offer(): QemuOffer | undefined {
    return this.holder ? undefined : this.running?.offer;
  }

  /** The current QEMU's pid (waiting or held). */
  get qemuPid(): number | undefined {
    return this.running?.sub.pid;
  }

  get attachedHostPid(): number | undefined {
    return this.holder?.hostPid;
  }

  /** Stops QEMU, closes the lease socket, removes every file of the launcher's in the directory. Idempotent. */
  stop(): Promise<void> {
    this.stopPromise ??= (async () => {
      this.stopping = true;
      this.holder?.socket.destroy();
      this.holder = undefined;
      await new Promise<void>((resolve) => (this.leaseServer ? this.leaseServer.close(() => resolve()) : resolve()));
      await this.cycle.catch(() => undefined);
      await this.retire();
      this.removeFiles();
      unregisterStub(this);
    })();
    return this.stopPromise;
  }

  /** Synchronous last resort (process exit, signals): SIGKILL QEMU, remove the files. */
  reapNow(): void {
    this.stopping = true;
    const pid = this.running?.sub.pid;
    if (pid !== undefined) signal(pid, 'SIGKILL');
    this.removeFiles();
    unregisterStub(this);
  }

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  private listenForHosts(): Promise<void> {
    const server = net.createServer((socket) => this.onHostConnection(socket));
    this.leaseServer = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.file(LEASE_SOCKET), () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  private onHostConnection(socket: net.Socket): void {
    socket.on('error', (err) => log.debug({ err }, 'lease socket error'));
    const timer = setTimeout(() => socket.destroy(), HELLO_TIMEOUT_MS);
    let greeted = false;
    socket.on(
      'data',
      lineReader((line) => {
        if (greeted) return;
        greeted = true;
        clearTimeout(timer);
        const hostPid = helloPid(line);
        if (hostPid === undefined) {
          socket.end(encodeLine({ granted: false, reason: 'the first line on the lease socket must be {"hello":{"pid":N}}' } satisfies LeaseAnswer));
          return;
        }
        this.grant(socket, hostPid);
      }),
    );
    socket.on('close', () => clearTimeout(timer));
  }

  private grant(socket: net.Socket, hostPid: number): void {
    const offer = this.offer;
    if (!offer || this.stopping) {
      const reason = this.holder
        ? `a host (pid ${this.holder.hostPid}) holds the QEMU in ${this.dir}`
        : `no QEMU is ready in ${this.dir} yet (${this.stopping ? 'the launcher is stopping' : 'a fresh one is starting'})`;
      socket.end(encodeLine({ granted: false, reason } satisfies LeaseAnswer));
      return;
    }
    this.holder = { socket, hostPid };
    fs.rmSync(this.file(READY_FILE), { force: true });
    socket.write(encodeLine({ granted: true, offer } satisfies LeaseAnswer));
    log.info({ generation: offer.generation, hostPid }, 'host attached');
    this.emit('attached', { generation: offer.generation, hostPid });
    socket.once('close', () => {
      if (this.holder?.socket !== socket) return;
      this.holder = undefined;
      log.info({ generation: offer.generation, hostPid }, 'host went away: stopping its QEMU, starting a fresh one');
      this.emit('released', { generation: offer.generation, hostPid });
      this.replace();
    });
  }

  /** Stop the current QEMU and start a fresh one, after whatever transition is under way. */
  private replace(): void {
    this.cycle = this.cycle.then(async () => {
      await this.retire();
      if (this.stopping) return;
      try {
        await this.startQemu();
      } catch (err) {
        log.error({ err }, 'a fresh QEMU did not start: the launcher stops');
        this.emit('failed', err as Error);
        await this.stop();
      }
    });
  }

  private async startQemu(): Promise<void> {
    const generation = ++this.generation;
    const ramPath = this.file(`ram-${generation}`);
    const fd = fs.openSync(ramPath, 'wx', 0o600);
    try {
      fs.ftruncateSync(fd, this.config.memoryMiB * 1024 * 1024);
    } finally {
      fs.closeSync(fd);
    }
    const monitorPath = this.file(LAUNCHER_QMP_SOCKET);
    fs.rmSync(monitorPath, { force: true });
    const monitorServer = net.createServer();
    const monitorSocket = new Promise<net.Socket>((resolve) => monitorServer.once('connection', resolve));
    await new Promise<void>((resolve, reject) => {
      monitorServer.once('error', reject);
      monitorServer.listen(monitorPath, () => resolve());
    });
    const argv = [
      ...buildQemuArgs(
        this.config,
        { firmware: this.file(FIRMWARE_FILE), qtestSocket: this.file(QTEST_SOCKET), qmpSocket: this.file(QMP_SOCKET), ramFile: ramPath, serve: true },
        `dirql-launcher-${process.pid}-${generation}`,
      ),
      '-chardev',
      `socket,id=launcher0,path=${monitorPath}`,
      '-mon',
      'chardev=launcher0,mode=control',
    ];
    // pdeathsig: QEMU dies with the launcher even on SIGKILL. Own process group: a Ctrl-C reaches
    // the launcher, which stops QEMU itself.
    const sub = execa('setpriv', ['--pdeathsig', 'KILL', '--', this.config.qemuBinary, ...argv], {
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      cleanup: false,
      detached: true,
      env: { ...process.env, LC_ALL: 'C' },
    });
    const run: Running = { generation, sub, exited: Promise.resolve(), stderr: '', ramPath, monitor: undefined, retiring: false };
    const keep = (chunk: Buffer) => {
      run.stderr = (run.stderr + chunk.toString('utf8')).slice(-STDERR_KEEP);
    };
    sub.stdout?.on('data', keep);
    sub.stderr?.on('data', keep);
    run.exited = sub.then((result) => this.onQemuExit(run, result.exitCode, result.signal));
    this.running = run;
    try {
      const socket = await this.beforeExit(run, monitorSocket, 'monitor connect');
      run.monitor = await this.beforeExit(run, QmpClient.connect(socket), 'QMP greeting');
      // Commands run in QEMU's main loop, which starts after the machine (and its RAM) exists.
      await this.beforeExit(run, run.monitor.execute('query-status'), 'query-status');
    } catch (err) {
      run.retiring = true;
      if (sub.pid !== undefined) signal(sub.pid, 'SIGKILL');
      await run.exited;
      throw new QemuStartError(`${(err as Error).message}${run.stderr.trim() ? `; QEMU stderr: ${run.stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`, {
        stage: 'launcher',
        argv: [this.config.qemuBinary, ...argv],
        stderr: run.stderr,
      });
    } finally {
      monitorServer.close();
    }
    run.offer = {
      version: PROTOCOL_VERSION,
      generation,
      launcherPid: process.pid,
      qemuPid: sub.pid,
      qtestSocket: QTEST_SOCKET,
      qmpSocket: QMP_SOCKET,
      ramFile: path.basename(ramPath),
      memoryMiB: this.config.memoryMiB,
      mac: this.config.mac,
      nic: this.config.nic,
      netdev: this.config.netdev,
    };
    const tmp = this.file(`.${READY_FILE}.${generation}`);
    fs.writeFileSync(tmp, JSON.stringify(run.offer, null, 2) + '\n', { mode: 0o644 });
    fs.renameSync(tmp, this.file(READY_FILE));
    log.info({ generation, qemuPid: sub.pid, dir: this.dir }, 'QEMU ready for a host');
    this.emit('ready', run.offer);
  }

  /** One start step, failing at once if QEMU exits or the start timeout passes. */
  private async beforeExit<T>(run: Running, step: Promise<T>, stage: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`QEMU did not reach "${stage}" within ${this.config.startTimeoutMs} ms`)), this.config.startTimeoutMs);
    });
    const exited = run.exited.then(() => {
      throw new Error(`QEMU exited before "${stage}"`);
    });
    exited.catch(() => undefined);
    try {
      return await Promise.race([step, timeout, exited]);
    } finally {
      clearTimeout(timer);
    }
  }

  private onQemuExit(run: Running, exitCode: number | undefined, sig: string | undefined): void {
    run.monitor?.close();
    fs.rmSync(run.ramPath, { force: true });
    if (run.retiring) return;
    // Nobody asked: tell the host holding it (its connections close too), then start afresh.
    log.warn({ generation: run.generation, exitCode, signal: sig, stderr: run.stderr }, 'QEMU exited on its own');
    this.emit('qemu-exit', { generation: run.generation, exitCode, signal: sig, stderr: run.stderr });
    fs.rmSync(this.file(READY_FILE), { force: true });
    if (this.holder) {
      const notice: LeaseExitNotice = { exit: { exitCode, signal: sig, stderr: run.stderr } };
      this.holder.socket.end(encodeLine(notice));
    } else if (!this.stopping) {
      this.replace();
    }
  }

  /** Stops the current QEMU (SIGTERM, SIGKILL after the grace) and removes its RAM file. */
  private async retire(): Promise<void> {
    const run = this.running;
    if (!run) return;
    this.running = undefined;
    run.retiring = true;
    const pid = run.sub.pid;
    if (pid !== undefined) {
      signal(pid, 'SIGTERM');
      const ended = await Promise.race([run.exited.then(() => true), delay(this.config.stopGraceMs).then(() => false)]);
      if (!ended) {
        log.warn({ qemuPid: pid }, 'QEMU ignored SIGTERM; sending SIGKILL');
        signal(pid, 'SIGKILL');
        await run.exited;
      }
    }
    run.monitor?.close();
    fs.rmSync(run.ramPath, { force: true });
    for (const name of [QTEST_SOCKET, QMP_SOCKET]) fs.rmSync(this.file(name), { force: true });
  }

  private removeFiles(): void {
    for (const name of [READY_FILE, LEASE_SOCKET, QTEST_SOCKET, QMP_SOCKET, LAUNCHER_QMP_SOCKET, FIRMWARE_FILE]) fs.rmSync(this.file(name), { force: true });
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return;
    }
    for (const name of names) if (/^ram-\d+$/.test(name) || name.startsWith(`.${READY_FILE}.`)) fs.rmSync(this.file(name), { force: true });
  }
}

function helloPid(line: string): number | undefined {
  try {
    const pid = (JSON.parse(line) as LeaseHello).hello.pid;
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
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
