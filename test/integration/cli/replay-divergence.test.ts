/**
 * A changed driver replayed against a recording of the original (real QEMU to record, REPLAY to
 * replay): `dirql replay FILE --driver changed.ts` stops at the first divergence and names the
 * driver routine that made it and the frames of its stack in the changed driver's own file, not
 * only dirql's qtest and register plumbing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { linkDown } from '../../../harness/index.ts';
import { NIC_ID } from '../../../qemu/stub-config.ts';
import { DriverHost } from '../../../src/host/driver-host.ts';
import { REPO, dirql } from '../../support/dirql-cli.ts';
import { waitUntil } from '../../support/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'dirql-replay-divergence-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const minimal = join(REPO, 'examples', 'minimal-ndis6', 'driver.ts');

/** The minimal NDIS 6 example, with one register write more (IMS, LSC) at the start of every DPC. */
const CHANGED = `import * as minimal from ${JSON.stringify(minimal)};
export const framework = 'ndis6';
export const device = 'e1000';
export const registerName = minimal.registerName;
export function driverEntry(ndis, ctx) {
  const wrapped = new Proxy(ndis, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (key !== 'registerInterruptEx' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      return (handle, context, chars) =>
        value.call(target, handle, context, {
          ...chars,
          interruptDpcHandler: async (...args) => {
            await args[0].regs.write32(0x00d0, 1 << 2);
            return chars.interruptDpcHandler(...args);
          },
        });
    },
  });
  return minimal.driverEntry(wrapped, ctx);
}
`;

describe('dirql replay --driver: a changed driver diverges (REPLAY, no QEMU)', () => {
  it("names the DPC and the changed driver's own source line", async () => {
    const file = join(dir, 'minimal.rec');
    const host = await DriverHost.start({ driver: minimal, processors: 1, record: file, bugCheckDir: join(dir, 'crash') });
    try {
      await waitUntil('link up', () => host.linkUp, 10_000);
      // A link change: the driver's ISR and DPC run on the recorded session.
      await linkDown(host.machine.qmp, NIC_ID);
      await waitUntil('the link change indicated', () => !host.linkUp, 10_000);
    } finally {
      await host.stop();
    }
    expect((await dirql(['replay', file])).exitCode, 'the recorded driver replays').toBe(0);

    // .mts: outside the repository there is no package.json saying ESM.
    const changed = join(dir, 'changed.mts');
    writeFileSync(changed, CHANGED);
    const r = await dirql(['replay', file, '--driver', changed, '--json']);
    expect(r.exitCode, r.stderr).toBe(1);
    const d = (JSON.parse(r.stdout) as { outcome: string; divergence: { routine: string; actual: string; driverFrames: string[] } }).divergence;
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'diverged', sameDriver: false });
    expect(d.actual).toMatch(/^writel 0x[0-9a-f]+0d0 0x4$/);
    expect(d.routine).toMatch(/Dpc/i);
    // The first frame outside dirql's plumbing is the changed driver's write (line 14 of CHANGED).
    expect(d.driverFrames[0]).toContain(`${changed}:14:`);

    const text = await dirql(['replay', file, '--driver', changed]);
    expect(text.stdout).toMatch(/^REPLAY diverged at event \d+ in \S*Dpc/im);
    expect(text.stdout).toMatch(new RegExp(`^ {2}in the driver:\\n {4}at .*${changed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:14:`, 'm'));
  });
});
