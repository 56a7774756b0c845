import { RegisterAccessError, hex } from './errors.ts';

/**
 * Device registers, as drivers and the kernel see them: 32-bit always; 8- and 16-bit where the
 * backend has them (byte registers such as the RTL8139's IDR0–5).
 */
export interface RegisterBackend {
  read32(offset: number): Promise<number>;
  /** Posted: returns at once; a later read or `flush()` orders after it. */
  write32(offset: number, value: number): void;
  /** Waits until every posted write has reached the device (qtest fence). */
  flush(): Promise<void>;
  read8?(offset: number): Promise<number>;
  read16?(offset: number): Promise<number>;
  write8?(offset: number, value: number): void;
  write16?(offset: number, value: number): void;
}

/** What a memory-mapped region needs from the transport (QtestClient provides it; the 8/16-bit calls are optional). */
export interface MmioTransport {
  readl(addr: number): Promise<number>;
  writel(addr: number, value: number): void;
  fence(): Promise<void>;
  readb?(addr: number): Promise<number>;
  readw?(addr: number): Promise<number>;
  writeb?(addr: number, value: number): void;
  writew?(addr: number, value: number): void;
}

export interface MmioRegionOptions {
  /** Shown in errors, e.g. `00:02.0 BAR0`. */
  name?: string;
  /** Maps a transport failure to a better error (e.g. QEMU's exit status); default: unchanged. */
  explain?: (err: unknown) => Promise<unknown>;
  /** Synchronous variant for posted writes. */
  explainNow?: (err: unknown) => unknown;
}

const unsigned = (v: number): number => v >>> 0;

/** What a read of a removed PCI device returns: the master abort's all ones. */
export const REMOVED_DEVICE_READ = 0xffff_ffff;

/**
 * A device's MMIO BAR as a RegisterBackend: offsets are checked against the BAR size and for
 * natural alignment before anything reaches QEMU (qtest readl/writel; readb/readw/writeb/writew for
 * the 8- and 16-bit accesses).
 * Once the device is surprise-removed (deviceRemoved()), reads return all ones and writes are
 * dropped, as on PCI: QEMU itself would answer 0 from the unassigned range.
 */
export class MmioRegion implements RegisterBackend {
  readonly name: string;
  private removed = false;
  /** Writes dropped because the device was gone. */
  droppedWrites = 0;
  private readonly explain: (err: unknown) => Promise<unknown>;
  private readonly explainNow: (err: unknown) => unknown;

  constructor(
    private readonly io: MmioTransport,
    readonly base: number,
    readonly size: number,
    opts: MmioRegionOptions = {},
  ) {
    this.name = opts.name ?? `MMIO@${hex(base)}`;
    this.explain = opts.explain ?? (async (e) => e);
    this.explainNow = opts.explainNow ?? ((e) => e);
  }

  /** The device is gone from the bus (surprise removal): from now on nothing reaches QEMU. */
  deviceRemoved(): void {
    this.removed = true;
  }

  get isRemoved(): boolean {
    return this.removed;
  }

  // Not async: two promises per read (the transport's and the .then's) instead of three (the
  // transport's, the async function's and, under the kernel's async hooks, its await's).
  read32(offset: number): Promise<number> {
    let addr: number;
    try {
      addr = this.address(offset, 'read32');
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.removed) return Promise.resolve(REMOVED_DEVICE_READ);
    return this.io.readl(addr).then(unsigned, this.explained);
  }

  /** A failed transport read, as `explain` tells it (QEMU's exit status, …). */
  private readonly explained = (err: unknown): Promise<never> =>
    this.explain(err).then((e) => {
      throw e;
    });

  write32(offset: number, value: number): void {
    const addr = this.address(offset, 'write32');
    if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0xffff_ffff) {
      throw new RegisterAccessError(`${this.name}: write32 of ${value} at ${hex(offset)} is not a 32-bit value`, {
        region: this.name,
        offset,
        value,
      });
    }
    if (this.removed) {
      this.droppedWrites++;
      return;
    }
    try {
      this.io.writel(addr, value >>> 0);
    } catch (err) {
      throw this.explainNow(err);
    }
  }

  /** READ_REGISTER_UCHAR's access: qtest readb. */
  read8(offset: number): Promise<number> {
    return this.readNarrow(offset, 1);
  }

  /** READ_REGISTER_USHORT's access: qtest readw. */
  read16(offset: number): Promise<number> {
    return this.readNarrow(offset, 2);
  }

  write8(offset: number, value: number): void {
    this.writeNarrow(offset, 1, value);
  }

  write16(offset: number, value: number): void {
    this.writeNarrow(offset, 2, value);
  }

  async flush(): Promise<void> {
    if (this.removed) return;
    try {
      await this.io.fence();
    } catch (err) {
      throw await this.explain(err);
    }
  }

  // Kept apart from read32/write32 so the e1000's 32-bit path stays as it was.
  private async readNarrow(offset: number, bytes: 1 | 2): Promise<number> {
    const op = bytes === 1 ? 'read8' : 'read16';
    const addr = this.address(offset, op, bytes);
    if (this.removed) return bytes === 1 ? 0xff : 0xffff;
    const read = bytes === 1 ? this.io.readb : this.io.readw;
    if (!read) throw this.unsupported(op, offset);
    try {
      return (await read.call(this.io, addr)) >>> 0;
    } catch (err) {
      throw await this.explain(err);
    }
  }

  private writeNarrow(offset: number, bytes: 1 | 2, value: number): void {
    const op = bytes === 1 ? 'write8' : 'write16';
    const addr = this.address(offset, op, bytes);
    const max = bytes === 1 ? 0xff : 0xffff;
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new RegisterAccessError(`${this.name}: ${op} of ${value} at ${hex(offset)} is not a ${bytes * 8}-bit value`, { region: this.name, offset, value });
    }
    if (this.removed) {
      this.droppedWrites++;
      return;
    }
    const write = bytes === 1 ? this.io.writeb : this.io.writew;
    if (!write) throw this.unsupported(op, offset);
    try {
      write.call(this.io, addr, value);
    } catch (err) {
      throw this.explainNow(err);
    }
  }

  private unsupported(op: string, offset: number): RegisterAccessError {
    return new RegisterAccessError(`${this.name}: ${op} at ${hex(offset)}: the transport has no ${op === 'read8' || op === 'write8' ? '8' : '16'}-bit access`, {
      region: this.name,
      offset,
      op,
    });
  }

  private address(offset: number, op: string, bytes = 4): number {
    if (!Number.isInteger(offset) || offset < 0 || offset + bytes > this.size) {
      throw new RegisterAccessError(`${this.name}: ${op} at ${hex(offset)} is outside the ${hex(this.size)}-byte region`, {
        region: this.name,
        offset,
        size: this.size,
        op,
      });
    }
    if (offset % bytes !== 0) {
      throw new RegisterAccessError(`${this.name}: ${op} at ${hex(offset)} is not ${bytes}-byte aligned`, {
        region: this.name,
        offset,
        op,
      });
    }
    return this.base + offset;
  }
}
