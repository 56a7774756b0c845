import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceStub } from '../../../qemu/device-stub.ts';
import { QemuStartError } from '../../../qemu/errors.ts';

/**
 * Start-up failure paths of the device stub that need no QEMU: a "QEMU" that never connects,
 * and one that cannot be executed. Neither may hang or leave files behind.
 */
describe('DeviceStub start failures', () => {
  const made: string[] = [];
  afterEach(() => {
    for (const p of made.splice(0)) fs.rmSync(p, { recursive: true, force: true });
  });

  function fakeQemu(body: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-qemu-'));
    made.push(dir);
    const file = path.join(dir, 'qemu');
    fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return file;
  }

  function shmFiles(): string[] {
    return fs.readdirSync('/dev/shm').filter((n) => n.startsWith(`dirql-${process.pid}-`));
  }

  it('gives up with QemuStartError when nothing connects to the qtest socket in time, and kills the process', async () => {
    const binary = fakeQemu('echo "pretending to be QEMU" >&2; exec sleep 30');
    const t0 = Date.now();
    const err = await DeviceStub.start({ nic: { model: 'e1000' }, qemuBinary: binary, startTimeoutMs: 300 }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(err).toBeInstanceOf(QemuStartError);
    const ctx = (err as QemuStartError).context;
    expect(ctx.stage).toBe('qtest connect');
    expect(String(ctx.stderr)).toContain('pretending to be QEMU');
    expect(ctx.signal).toBe('SIGKILL');
    expect(shmFiles()).toEqual([]);
  });

  it('reports the exit code and stderr of a process that exits at once', async () => {
    const binary = fakeQemu('echo "qemu: cannot do that" >&2; exit 3');
    const err = await DeviceStub.start({ nic: { model: 'e1000' }, qemuBinary: binary }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QemuStartError);
    expect((err as QemuStartError).context.exitCode).toBe(3);
    expect((err as Error).message).toContain('cannot do that');
    expect(shmFiles()).toEqual([]);
  });
});
