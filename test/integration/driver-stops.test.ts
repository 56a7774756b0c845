/**
 * A driver that throws in its DPC, on real QEMU: the kernel bug-checks as Windows would
 * (KMODE_EXCEPTION_NOT_HANDLED family, naming the routine), the report is on disk, and the host
 * stays controllable: `ctl status` shows the stop with the report's path, `ctl stats` answers,
 * and stop() ends it leaving nothing behind. The driver is the minimal NDIS 6 example with its
 * MiniportInterruptDPC wrapped to throw once the link changes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as minimal from '../../examples/minimal-ndis6/driver.ts';
import { linkDown } from '../../harness/index.ts';
import { NIC_ID } from '../../qemu/stub-config.ts';
import { ControlClient, type ControlServer } from '../../src/control/index.ts';
import { startControl } from '../../src/host/control.ts';
import { DriverHost } from '../../src/host/driver-host.ts';
import type { Ndis6DriverModule } from '../../src/host/frameworks/driver-module.ts';
import type { Ndis6Library } from '../../src/ndis/ndis6/index.ts';
import { waitUntil } from '../support/wait.ts';
import { expectNothingLeft, machineTraces, type MachineTraces } from './support/leftovers.ts';

class DriverBugError extends Error {}

/** The example, except that its DPC throws once it has been called after a link change was asked for. */
function throwingDriver(armed: { on: boolean }): Ndis6DriverModule {
  return {
    framework: 'ndis6',
    device: 'e1000',
    registerName: minimal.registerName,
    driverEntry(ndis, ctx) {
      const wrapped = new Proxy(ndis, {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver) as unknown;
          if (key !== 'registerInterruptEx' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
          return (handle: unknown, context: unknown, chars: { interruptDpcHandler: (...a: unknown[]) => Promise<void> }) =>
            value.call(target, handle, context, {
              ...chars,
              interruptDpcHandler: async (...args: unknown[]) => {
                if (armed.on) throw new DriverBugError('adapter->RxRing was NULL');
                return chars.interruptDpcHandler(...args);
              },
            });
        },
      }) as Ndis6Library;
      return minimal.driverEntry(wrapped, ctx);
    },
  };
}

describe('a driver that throws in its DPC (NDIS 6, real QEMU)', () => {
  const armed = { on: false };
  let host: DriverHost;
  let crashDir: string;
  let controlDir: string;
  let control: ControlServer;
  let client: ControlClient;
  let traces: MachineTraces;

  beforeAll(async () => {
    crashDir = mkdtempSync(join(tmpdir(), 'dirql-driver-stops-'));
    controlDir = mkdtempSync(join(tmpdir(), 'dirql-driver-stops-ctl-'));
    host = await DriverHost.start({ driver: throwingDriver(armed), bugCheckDir: crashDir, processors: 1 });
    traces = machineTraces(host);
    control = await startControl(host, { socketPath: join(controlDir, 'host.sock') });
    client = await ControlClient.connect({ socketPath: control.socketPath });
  });

  afterAll(async () => {
    await client?.close();
    await control?.stop();
    await host?.stop();
    rmSync(crashDir, { recursive: true, force: true });
    rmSync(controlDir, { recursive: true, force: true });
  });

  it('runs clean until the fault is armed', async () => {
    await waitUntil('link up', () => host.linkUp, 10_000);
    expect(host.kernel.stopped).toBeNull();
    expect(await client.call<{ bugCheck: unknown }>('status')).toMatchObject({ bugCheck: null });
  });

  it('a link change runs the DPC, which throws: the kernel bug-checks naming the DPC and the exception, and writes its report', async () => {
    armed.on = true;
    await linkDown(host.machine.qmp, NIC_ID);
    await waitUntil('the bug check', () => host.bugCheck !== null && host.bugCheck !== undefined, 10_000);
    const bc = host.bugCheck!;
    expect(bc.name).toMatch(/EXCEPTION/);
    const text = readFileSync(bc.files!.text, 'utf8');
    expect(text).toContain('adapter->RxRing was NULL');
    expect(text).toContain('interruptDpcHandler');
    expect(text).toContain('IRQL: DISPATCH_LEVEL');
    expect(existsSync(bc.files!.json)).toBe(true);
  });

  it('the host stays controllable: ctl status shows the stop and its report, ctl stats answers', async () => {
    const status = await client.call<{ bugCheck: { name: string; report: string } | null; link: string }>('status');
    expect(status.bugCheck).toMatchObject({ name: host.bugCheck!.name, report: host.bugCheck!.files!.text });
    const stats = await client.call<Record<string, unknown>>('stats');
    expect(stats).toBeTypeOf('object');
  });

  it('stop() ends it and leaves no QEMU, socket or RAM file', async () => {
    await client.close();
    await control.stop();
    await host.stop();
    await expectNothingLeft(traces);
  });
});
