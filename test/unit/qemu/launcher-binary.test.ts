import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { QemuBinaryMissingError } from '../../../qemu/errors.ts';
import { QemuLauncher } from '../../../qemu/launcher.ts';

describe('QemuLauncher without a QEMU binary', () => {
  let work: string | undefined;
  afterEach(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('fails at once with QemuBinaryMissingError naming the binary, before it makes its directory', async () => {
    work = mkdtempSync(join(tmpdir(), 'dirql-launcher-'));
    const dir = join(work, 'qemu');
    const err = await QemuLauncher.start({ dir, nic: { model: 'e1000' }, qemuBinary: join(work, 'no-such-qemu') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QemuBinaryMissingError);
    expect((err as Error).message).toContain(join(work, 'no-such-qemu'));
    expect((err as Error).message).toContain("the launcher's qemuBinary");
    expect(existsSync(dir)).toBe(false);
  });
});
