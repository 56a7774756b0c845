import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GuestMemoryError } from '../../../src/platform/errors.ts';
import { QtestMemory, SharedFileMemory, type QtestMemoryTransport } from '../../../src/platform/guest-memory.ts';

const MiB = 1024 * 1024;

describe('SharedFileMemory', () => {
  let dir: string;
  let fd: number;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gm-'));
    fd = fs.openSync(path.join(dir, 'ram'), 'w+');
    fs.ftruncateSync(fd, 2 * MiB);
  });
  afterEach(() => {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes and reads at file offset = guest physical address', () => {
    const mem = new SharedFileMemory({ fd, size: 2 * MiB });
    mem.write(MiB + 100, Buffer.from('hello'));
    expect(mem.read(MiB + 100, 5).toString()).toBe('hello');
    const target = new Uint8Array(3);
    mem.readInto(MiB + 101, target);
    expect(Buffer.from(target).toString()).toBe('ell');
    const raw = Buffer.alloc(5);
    fs.readSync(fd, raw, 0, 5, MiB + 100);
    expect(raw.toString()).toBe('hello');
  });

  it('refuses the low megabyte and anything past the end of RAM', () => {
    const mem = new SharedFileMemory({ fd, size: 2 * MiB });
    expect(() => mem.write(0xc0000, Buffer.from('x'))).toThrow(/below 1 MiB/);
    expect(() => mem.read(2 * MiB - 2, 4)).toThrow(GuestMemoryError);
    expect(() => mem.read(MiB, -1)).toThrow(GuestMemoryError);
  });

  it('refuses a RAM file with nothing above 1 MiB', () => {
    expect(() => new SharedFileMemory({ fd, size: MiB })).toThrow(GuestMemoryError);
  });
});

describe('QtestMemory', () => {
  it('refuses synchronous access and points at the async methods', () => {
    const t: QtestMemoryTransport = {
      memread: async () => Buffer.alloc(0),
      memwrite: () => undefined,
      fence: async () => undefined,
    };
    const mem = new QtestMemory(t, 4 * MiB);
    expect(() => mem.read(MiB, 4)).toThrow(/readAsync/);
    expect(() => mem.write(MiB, new Uint8Array(4))).toThrow(/writeAsync/);
  });

  it('splits large transfers into 64 KiB commands and fences after writing', async () => {
    const calls: string[] = [];
    const store = new Map<number, number>();
    const t: QtestMemoryTransport = {
      memread: async (addr, len) => {
        calls.push(`read ${len}`);
        return Buffer.from(Array.from({ length: len }, (_, i) => store.get(addr + i) ?? 0));
      },
      memwrite: (addr, data) => {
        calls.push(`write ${data.byteLength}`);
        data.forEach((b, i) => store.set(addr + i, b));
      },
      fence: async () => {
        calls.push('fence');
      },
    };
    const mem = new QtestMemory(t, 4 * MiB);
    const data = Buffer.alloc(150 * 1024, 0);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    await mem.writeAsync(MiB, data);
    expect(calls).toEqual(['write 65536', 'write 65536', 'write 22528', 'fence']);
    expect((await mem.readAsync(MiB, data.length)).equals(data)).toBe(true);
    await expect(mem.readAsync(4 * MiB - 10, 11)).rejects.toBeInstanceOf(GuestMemoryError);
  });
});
