import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kernel, type KernelOptions } from '../../src/kernel/index.ts';
import { FakeLines } from './fake-lines.ts';

export interface KernelOnFakeLines {
  kernel: Kernel;
  lines: FakeLines;
  /** The kernel's bug check directory (removed by cleanup). */
  dir: string;
  /** Dispose the kernel, wait for a bug check report being written, remove the directory. */
  cleanup(): Promise<void>;
}

/**
 * A kernel on fake lines with a temporary bug check directory named `${tmpPrefix}XXXXXX`, or
 * `sharedDir` (made and removed by the caller: the explorer's thousands of runs share one).
 */
export function kernelOnFakeLines(tmpPrefix: string, opts: Omit<KernelOptions, 'lines' | 'bugCheckDir'> = {}, sharedDir?: string): KernelOnFakeLines {
  const dir = sharedDir ?? mkdtempSync(join(tmpdir(), tmpPrefix));
  const lines = new FakeLines();
  const kernel = new Kernel({ ...opts, lines, bugCheckDir: dir });
  return {
    kernel,
    lines,
    dir,
    async cleanup() {
      kernel.dispose();
      if (kernel.stopped) await kernel.bugCheckReport;
      if (sharedDir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
