import fs from 'node:fs';
import { GuestMemoryError, hex } from './errors.ts';

/**
 * Below 1 MiB the guest sees pc.rom (0xC0000–0xDFFFF) and the BIOS (0xF0000–0xFFFFF) instead
 * of RAM, so DMA there would not see what the host wrote into the file: it is refused.
 */
export const LOW_MEMORY_LIMIT = 1024 * 1024;

/** Guest physical memory with synchronous access (the shared RAM file). */
export interface GuestMemory {
  readonly size: number;
  read(addr: number, length: number): Buffer;
  /**
   * Fills `target` from `addr`. `used`, when given, names the parts of it the caller will look at
   * (offset, length pairs, increasing, not overlapping): all of `target` is still filled, but a
   * session recording keeps only those parts, and a replay gives back the rest as last recorded.
   * The e1000 rings read a batch's frames as one span with the slots' unused tails between them.
   */
  readInto(addr: number, target: Uint8Array, used?: readonly number[]): void;
  write(addr: number, data: Uint8Array): void;
}

/** Guest physical memory with asynchronous access: every implementation has it. */
export interface AsyncGuestMemory {
  readonly size: number;
  readAsync(addr: number, length: number): Promise<Buffer>;
  /** Resolves once the data is in guest memory (visible to the device). */
  writeAsync(addr: number, data: Uint8Array): Promise<void>;
}

function checkRange(size: number, addr: number, length: number, op: string): void {
  if (!Number.isSafeInteger(addr) || !Number.isSafeInteger(length) || length < 0) {
    throw new GuestMemoryError(`${op}: bad address ${addr} / length ${length}`, { op, address: addr, length });
  }
  if (addr < LOW_MEMORY_LIMIT) {
    throw new GuestMemoryError(`${op} at ${hex(addr)}: below 1 MiB guest RAM is overlaid by ROM`, { op, address: addr, length });
  }
  if (addr + length > size) {
    throw new GuestMemoryError(`${op} of ${length} bytes at ${hex(addr)} runs past guest RAM (${hex(size)})`, {
      op,
      address: addr,
      length,
      size,
    });
  }
}

/** An open RAM file; `fd` throws once the machine has stopped. */
export interface RamFileHandle {
  readonly fd: number;
  readonly size: number;
}

/**
 * Guest RAM through the shared /dev/shm file: file offset = guest physical address, and
 * pread/pwrite are coherent with QEMU's mapping (the same tmpfs pages), so descriptors and
 * buffers move without a socket round trip.
 */
export class SharedFileMemory implements GuestMemory, AsyncGuestMemory {
  readonly size: number;

  constructor(private readonly file: RamFileHandle) {
    if (file.size <= LOW_MEMORY_LIMIT) {
      throw new GuestMemoryError(`guest RAM of ${file.size} bytes leaves nothing above 1 MiB`, { size: file.size });
    }
    this.size = file.size;
  }

  read(addr: number, length: number): Buffer {
    checkRange(this.size, addr, length, 'read');
    const buf = Buffer.allocUnsafe(length);
    this.readInto(addr, buf);
    return buf;
  }

  readInto(addr: number, target: Uint8Array): void {
    checkRange(this.size, addr, target.byteLength, 'read');
    const fd = this.file.fd;
    let done = 0;
    while (done < target.byteLength) {
      const n = fs.readSync(fd, target, done, target.byteLength - done, addr + done);
      if (n === 0) throw new GuestMemoryError(`read at ${hex(addr + done)}: unexpected end of the RAM file`, { address: addr + done });
      done += n;
    }
  }

  write(addr: number, data: Uint8Array): void {
    checkRange(this.size, addr, data.byteLength, 'write');
    const fd = this.file.fd;
    let done = 0;
    while (done < data.byteLength) {
      done += fs.writeSync(fd, data, done, data.byteLength - done, addr + done);
    }
  }

  async readAsync(addr: number, length: number): Promise<Buffer> {
    return this.read(addr, length);
  }

  async writeAsync(addr: number, data: Uint8Array): Promise<void> {
    this.write(addr, data);
  }
}

/** What QtestMemory needs from the transport (QtestClient provides it). */
export interface QtestMemoryTransport {
  memread(addr: number, length: number): Promise<Buffer>;
  memwrite(addr: number, data: Uint8Array): void;
  fence(): Promise<void>;
}

/** Keeps each b64read/b64write line at a sane length. */
const QTEST_CHUNK = 64 * 1024;

/**
 * Guest RAM through qtest `b64read`/`b64write`: the fallback when QEMU's RAM is not a shared
 * file. Asynchronous only; the synchronous GuestMemory methods refuse with a typed error.
 */
export class QtestMemory implements GuestMemory, AsyncGuestMemory {
  constructor(
    private readonly io: QtestMemoryTransport,
    readonly size: number,
  ) {}

  async readAsync(addr: number, length: number): Promise<Buffer> {
    checkRange(this.size, addr, length, 'readAsync');
    const parts: Promise<Buffer>[] = [];
    for (let off = 0; off < length; off += QTEST_CHUNK) {
      parts.push(this.io.memread(addr + off, Math.min(QTEST_CHUNK, length - off)));
    }
    return Buffer.concat(await Promise.all(parts), length);
  }

  async writeAsync(addr: number, data: Uint8Array): Promise<void> {
    checkRange(this.size, addr, data.byteLength, 'writeAsync');
    for (let off = 0; off < data.byteLength; off += QTEST_CHUNK) {
      this.io.memwrite(addr + off, data.subarray(off, Math.min(off + QTEST_CHUNK, data.byteLength)));
    }
    await this.io.fence();
  }

  read(addr: number, length: number): Buffer {
    return this.syncRefused('read', addr, length);
  }

  readInto(addr: number, target: Uint8Array): void {
    this.syncRefused('readInto', addr, target.byteLength);
  }

  write(addr: number, data: Uint8Array): void {
    this.syncRefused('write', addr, data.byteLength);
  }

  private syncRefused(op: string, addr: number, length: number): never {
    throw new GuestMemoryError(
      `${op} at ${hex(addr)}: synchronous guest memory access needs the shared RAM file (start with sharedRam: true) — use ${op === 'write' ? 'writeAsync' : 'readAsync'}`,
      { op, address: addr, length },
    );
  }
}
