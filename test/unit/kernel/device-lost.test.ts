import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { QemuExit } from '../../../qemu/device-stub.ts';
import { QemuExitedError } from '../../../qemu/errors.ts';
import { qemuDeviceLoss } from '../../../src/host/device-loss.ts';
import { BugCheckCode, BugCheckError, DeviceLostError, DeviceLostWhere, type BugCheckReport } from '../../../src/kernel/bugcheck.ts';
import { DeviceRegisters, Dpc, Kernel } from '../../../src/kernel/index.ts';
import { QtestDisconnectedError, QtestProtocolError, QtestTimeoutError } from '../../../src/transport/errors.ts';
import { QmpDisconnectedError } from '../../../src/transport/qmp-errors.ts';
import { FakeDevice, FakeLines, ICR } from './fakes.ts';

/** The QEMU process as the monitor sees it; die() is what SIGKILL does to it. */
class FakeQemu {
  readonly pid = 4242;
  exit: QemuExit | undefined;
  readonly exited: Promise<QemuExit>;
  private resolveExit!: (e: QemuExit) => void;

  constructor() {
    this.exited = new Promise((r) => {
      this.resolveExit = r;
    });
  }

  die(how: { signal?: string; exitCode?: number; stderr?: string }): void {
    this.exit = { signal: how.signal, exitCode: how.exitCode, stderr: how.stderr ?? '', expected: false };
    this.resolveExit(this.exit);
  }
}

/** A register file whose accesses fail the way the qtest transport fails once QEMU is gone. */
class VanishingDevice extends FakeDevice {
  gone: Error | undefined;

  override read32(offset: number): Promise<number> {
    return this.gone ? Promise.reject(this.gone) : super.read32(offset);
  }
}

/** Lines whose settle() (a qtest fence on the real machine) fails once QEMU is gone. */
class VanishingLines extends FakeLines {
  gone: Error | undefined;

  override async settle(): Promise<void> {
    if (this.gone) throw this.gone;
    return super.settle();
  }
}

const socketClosed = () => new QtestDisconnectedError('qtest connection closed (QEMU gone?)', { command: 'readl 0xe00000c0' });

interface Rig {
  kernel: Kernel;
  device: VanishingDevice;
  lines: VanishingLines;
  qemu: FakeQemu;
  regs: DeviceRegisters;
  dir: string;
  events: { bugcheck: BugCheckReport[]; deviceLost: BugCheckReport[] };
  /** QEMU dies: later register reads and line settles fail as qtest's would. */
  kill(how?: { signal?: string; exitCode?: number; stderr?: string }): void;
}

let rig: Rig | undefined;

function makeRig(processors = 1): Rig {
  const dir = mkdtempSync(join(tmpdir(), 'dirql-device-lost-'));
  const lines = new VanishingLines();
  const qemu = new FakeQemu();
  const kernel = new Kernel({ processors, lines, bugCheckDir: dir, deviceLoss: qemuDeviceLoss(qemu, { exitWaitMs: 200 }) });
  const device = new VanishingDevice(lines);
  const events = { bugcheck: [] as BugCheckReport[], deviceLost: [] as BugCheckReport[] };
  kernel.on('bugcheck', (r: BugCheckReport) => events.bugcheck.push(r));
  kernel.on('device-lost', (r: BugCheckReport) => events.deviceLost.push(r));
  const r: Rig = {
    kernel,
    device,
    lines,
    qemu,
    dir,
    events,
    regs: new DeviceRegisters(kernel, device, { name: 'e1000' }),
    kill(how = { signal: 'SIGKILL' }) {
      device.gone = socketClosed();
      lines.gone = socketClosed();
      qemu.die(how);
    },
  };
  rig = r;
  return r;
}

afterEach(async () => {
  if (!rig) return;
  rig.kernel.dispose();
  if (rig.kernel.stopped) await rig.kernel.bugCheckReport;
  rmSync(rig.dir, { recursive: true, force: true });
  rig = undefined;
});

/** What a driver engineer must never read in a device-lost report. */
const BLAMES_DRIVER = /exception|threw|KMODE|SYSTEM_THREAD|crashing processor/i;

function expectDeviceLost(r: BugCheckReport, routine: string | null, where: number): void {
  expect(r.code).toBe(BugCheckCode.DIRQL_DEVICE_LOST);
  expect(r.name).toBe('DIRQL_DEVICE_LOST');
  expect(r.parameters[0]).toBe(where);
  expect(r.device).toMatchObject({ device: 'QEMU e1000 (pid 4242)', signal: 'SIGKILL', summary: 'QEMU (pid 4242) was killed by SIGKILL' });
  expect(r.message).toContain('killed by SIGKILL');
  expect(r.message).toContain('not a driver fault');
  if (routine) expect(r.message).toContain(routine);
  expect(r.message).not.toMatch(BLAMES_DRIVER);
}

describe('device lost: a transport error caused by QEMU exiting is DIRQL_DEVICE_LOST, not a driver exception', () => {
  it('surfacing in a thread routine: the routine rejects with DeviceLostError, the report names the signal, the stderr tail and the routine', async () => {
    const { kernel, regs, dir, events, kill } = makeRig();
    const run = kernel.runAtPassive('MiniportOidRequest', async () => {
      await regs.read32(0x8);
      kill({ signal: 'SIGKILL', stderr: 'qemu-system-x86_64: terminating\nlast words of QEMU\n' });
      await regs.read32(0x8);
    });
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceLostError);
    expect((err as BugCheckError).code).toBe(BugCheckCode.DIRQL_DEVICE_LOST);
    expect((err as BugCheckError).cause).toBeInstanceOf(QtestDisconnectedError);
    const report = await kernel.bugCheckReport;
    expectDeviceLost(report, 'MiniportOidRequest', DeviceLostWhere.THREAD);
    expect(report.device?.stderrTail).toBe('qemu-system-x86_64: terminating\nlast words of QEMU');
    expect(report.routines.map((s) => s.name)).toEqual(['MiniportOidRequest']);
    expect(events.deviceLost).toEqual([report]);
    expect(events.bugcheck).toEqual([]);

    const files = readdirSync(dir).sort();
    expect(files).toEqual([expect.stringMatching(/^device-lost-.*\.json$/), expect.stringMatching(/^device-lost-.*\.txt$/)]);
    const text = readFileSync(join(dir, files[1]!), 'utf8');
    expect(text).toMatch(/^DIRQL_DEVICE_LOST \(e0000001\)/);
    expect(text).toContain('Signal:    SIGKILL');
    expect(text).toContain('last words of QEMU');
    expect(text).toContain('this is not a driver fault');
    expect(text).toContain('MiniportOidRequest');
    expect(text).not.toMatch(/crashing processor/);
    const json = JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as BugCheckReport;
    expect(json.device?.signal).toBe('SIGKILL');
  });

  it('surfacing in an ISR', async () => {
    const { kernel, regs, device, kill } = makeRig();
    kernel.connectInterrupt({ line: 11, irql: 5, name: 'E1000Isr', isr: async () => (await regs.read32(ICR)) !== 0 });
    kill();
    device.raise(0x80);
    const report = await kernel.bugCheckReport;
    expectDeviceLost(report, 'E1000Isr', DeviceLostWhere.ISR);
    expect(report.parameters[1]).toBe(5);
    expect(report.routines.map((s) => s.name)).toContain('E1000Isr');
  });

  it('surfacing in a DPC', async () => {
    const { kernel, regs, kill } = makeRig();
    const dpc = new Dpc(
      async () => {
        await regs.read32(ICR);
      },
      undefined,
      'E1000InterruptDpc',
    );
    kill();
    // Queued at PASSIVE_LEVEL the DPC runs inside the call, so the stop reaches the caller too.
    await kernel
      .runAtPassive('QueuesTheDpc', async () => {
        await kernel.insertQueueDpc(dpc);
      })
      .catch(() => undefined);
    const report = await kernel.bugCheckReport;
    expectDeviceLost(report, 'E1000InterruptDpc', DeviceLostWhere.DPC);
  });

  it("surfacing in host code (kernel.hostFailed), while another error there stays the host's own", async () => {
    const { kernel, kill } = makeRig();
    const misuse = new Error('unknown OID');
    expect(kernel.hostFailed(misuse)).toBe(misuse);
    expect(kernel.stopped).toBeNull();
    kill();
    const err = kernel.hostFailed(new QmpDisconnectedError('QMP connection closed', { command: 'query-status' }));
    expect(err).toBeInstanceOf(DeviceLostError);
    expect(kernel.stopped).toBe(err);
    expectDeviceLost(await kernel.bugCheckReport, null, DeviceLostWhere.HOST);
  });

  it('surfacing in the kernel settling the line after an ISR (a qtest fence fails)', async () => {
    const { kernel, device, lines, qemu, events } = makeRig();
    kernel.connectInterrupt({
      line: 11,
      name: 'E1000Isr',
      isr: () => {
        // The ISR itself gets its answer; QEMU dies before the kernel re-reads the level.
        lines.gone = socketClosed();
        qemu.die({ signal: 'SIGKILL' });
        return false;
      },
    });
    device.raise(0x80);
    const report = await kernel.bugCheckReport;
    expectDeviceLost(report, null, DeviceLostWhere.HOST);
    expect(report.processor).toBe(0);
    expect(events.bugcheck).toEqual([]);
  });

  it('a driver error that wraps the transport error (cause chain) is still the device going away', async () => {
    const { kernel, regs, kill } = makeRig();
    kill();
    const err = await kernel
      .runAtPassive('MiniportResetEx', async () => {
        try {
          await regs.read32(0);
        } catch (cause) {
          throw new Error('reset failed', { cause });
        }
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceLostError);
    expectDeviceLost(await kernel.bugCheckReport, 'MiniportResetEx', DeviceLostWhere.THREAD);
  });

  it("QEMU's exit noticed between register accesses (kernel.deviceLost from host code) names the routine waiting on the device", async () => {
    const { kernel, device, qemu } = makeRig();
    let failRead!: (e: Error) => void;
    device.read32 = () =>
      new Promise<number>((_, reject) => {
        failRead = reject;
      });
    const regs = new DeviceRegisters(kernel, device);
    const run = kernel.runAtPassive('MiniportOidRequest', () => regs.read32(0x8));
    await new Promise((r) => setImmediate(r));
    qemu.die({ signal: 'SIGKILL' });
    const stop = kernel.deviceLost(new QemuExitedError('QEMU (pid 4242) was killed by SIGKILL', { signal: 'SIGKILL' }));
    failRead(socketClosed());
    await expect(run).rejects.toBe(stop);
    const report = await kernel.bugCheckReport;
    expectDeviceLost(report, 'MiniportOidRequest', DeviceLostWhere.HOST);
    expect(report.message).toContain('register read');
    expect(report.message).toContain('thread routine on processor 0');
  });

  it('without an exit status within the wait, the report says the connection closed and QEMU had not exited', async () => {
    const { kernel, device } = makeRig();
    device.gone = socketClosed();
    await kernel.runAtPassive('MiniportOidRequest', () => new DeviceRegisters(kernel, device).read32(0)).catch(() => undefined);
    const report = await kernel.bugCheckReport;
    expect(report.code).toBe(BugCheckCode.DIRQL_DEVICE_LOST);
    expect(report.device?.summary).toBe('the connection to QEMU (pid 4242) closed, and QEMU had not exited 200 ms later');
    expect(report.device?.signal).toBeUndefined();
  });
});

describe("a genuine driver exception while QEMU is alive stays the driver's bug check", () => {
  it('thread routine: SYSTEM_THREAD_EXCEPTION_NOT_HANDLED (0x7E), no device-lost event', async () => {
    const { kernel, regs, events, dir } = makeRig();
    const err = await kernel
      .runAtPassive('MiniportInitializeEx', async () => {
        await regs.read32(0);
        throw new TypeError('rxRing is undefined');
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BugCheckError);
    expect(err).not.toBeInstanceOf(DeviceLostError);
    expect((err as BugCheckError).code).toBe(BugCheckCode.SYSTEM_THREAD_EXCEPTION_NOT_HANDLED);
    const report = await kernel.bugCheckReport;
    expect(report.device).toBeUndefined();
    expect(events.deviceLost).toEqual([]);
    expect(events.bugcheck.map((r) => r.code)).toEqual([BugCheckCode.SYSTEM_THREAD_EXCEPTION_NOT_HANDLED]);
    expect(readdirSync(dir).every((f) => f.startsWith('bugcheck-'))).toBe(true);
  });

  it('ISR: KMODE_EXCEPTION_NOT_HANDLED (0x1E)', async () => {
    const { kernel, regs, device, events } = makeRig();
    kernel.connectInterrupt({
      line: 11,
      isr: async () => {
        await regs.read32(ICR);
        throw new RangeError('bad descriptor index');
      },
    });
    device.raise(0x80);
    expect((await kernel.bugCheckReport).code).toBe(BugCheckCode.KMODE_EXCEPTION_NOT_HANDLED);
    expect(events.deviceLost).toEqual([]);
  });

  it('DPC: KMODE_EXCEPTION_NOT_HANDLED (0x1E)', async () => {
    const { kernel, regs } = makeRig();
    const dpc = new Dpc(async () => {
      await regs.read32(ICR);
      throw new Error('ring corrupt');
    });
    // Queued at PASSIVE_LEVEL the DPC runs inside the call, so the stop reaches the caller too.
    await kernel
      .runAtPassive('QueuesTheDpc', async () => {
        await kernel.insertQueueDpc(dpc);
      })
      .catch(() => undefined);
    expect((await kernel.bugCheckReport).code).toBe(BugCheckCode.KMODE_EXCEPTION_NOT_HANDLED);
  });

  it('a transport fault with QEMU still there (qtest timeout) is not a device loss', async () => {
    const { kernel, device } = makeRig();
    const timeout = new QtestTimeoutError('qtest readl 0xe0000008: no reply within 5000 ms', { command: 'readl 0xe0000008' });
    device.gone = new QtestDisconnectedError('qtest connection lost: no reply', { command: 'readl 0xe0000008' }, { cause: timeout });
    await kernel.runAtPassive('MiniportOidRequest', () => new DeviceRegisters(kernel, device).read32(8)).catch(() => undefined);
    expect((await kernel.bugCheckReport).code).toBe(BugCheckCode.SYSTEM_THREAD_EXCEPTION_NOT_HANDLED);
  });

  it('the first stop wins: QEMU exiting after a bug check leaves the bug check in place', async () => {
    const { kernel, qemu } = makeRig();
    await kernel.runAtPassive('Crash', () => kernel.bugCheck(BugCheckCode.WDF_VIOLATION)).catch(() => undefined);
    qemu.die({ signal: 'SIGKILL' });
    const stop = kernel.deviceLost(new QemuExitedError('QEMU (pid 4242) was killed by SIGKILL', {}));
    expect(stop).not.toBeInstanceOf(DeviceLostError);
    expect(stop.code).toBe(BugCheckCode.WDF_VIOLATION);
    expect((await kernel.bugCheckReport).code).toBe(BugCheckCode.WDF_VIOLATION);
  });

  it("without a device-loss monitor every escaping error is the driver's (0x7E)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dirql-device-lost-'));
    const kernel = new Kernel({ lines: new FakeLines(), bugCheckDir: dir });
    try {
      const err = await kernel
        .runAtPassive('MiniportOidRequest', () => {
          throw socketClosed();
        })
        .catch((e: unknown) => e);
      expect((err as BugCheckError).code).toBe(BugCheckCode.SYSTEM_THREAD_EXCEPTION_NOT_HANDLED);
      await kernel.bugCheckReport;
    } finally {
      kernel.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("qemuDeviceLoss (the host's monitor for QEMU)", () => {
  const monitor = qemuDeviceLoss(new FakeQemu());

  it('counts a closed qtest or QMP connection and QemuExitedError as the device going away', () => {
    expect(monitor.isDeviceLoss(socketClosed())).toBe(true);
    expect(monitor.isDeviceLoss(new QmpDisconnectedError('QMP connection closed', {}))).toBe(true);
    expect(monitor.isDeviceLoss(new QemuExitedError('QEMU is gone (killed by SIGKILL)', { signal: 'SIGKILL' }))).toBe(true);
  });

  it('does not count driver errors, or a stream the client closed itself after a timeout or a bad reply', () => {
    expect(monitor.isDeviceLoss(new TypeError('x is undefined'))).toBe(false);
    expect(monitor.isDeviceLoss(new QtestTimeoutError('no reply', {}))).toBe(false);
    const afterTimeout = new QtestDisconnectedError('qtest connection lost', {}, { cause: new QtestTimeoutError('no reply', {}) });
    expect(monitor.isDeviceLoss(afterTimeout)).toBe(false);
    const afterBadReply = new QtestDisconnectedError(
      'qtest readl: connection is closed',
      {},
      {
        cause: new QtestDisconnectedError('qtest connection lost', {}, { cause: new QtestProtocolError('bad reply', {}) }),
      },
    );
    expect(monitor.isDeviceLoss(afterBadReply)).toBe(false);
  });

  it('describes an exit code and keeps only the last stderr lines', async () => {
    const qemu = new FakeQemu();
    const m = qemuDeviceLoss(qemu, { stderrLines: 2 });
    const described = m.describe(undefined);
    qemu.die({ exitCode: 1, stderr: 'one\ntwo\nthree\nfour\n' });
    expect(await described).toEqual({
      device: 'QEMU e1000 (pid 4242)',
      summary: 'QEMU (pid 4242) exited with code 1',
      exitCode: 1,
      stderrTail: 'three\nfour',
    });
  });
});
