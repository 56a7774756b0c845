import { RegisterAccessError, hex } from './errors.ts';

/** 32-bit device registers, as drivers and the kernel see them. */
export interface RegisterBackend {
  read32(offset: number): Promise<number>;
  /** Posted: returns at once; a later read or `flush()` orders after it. */
  write32(offset: number, value: number): void;
  /** Waits until every posted write has reached the device (qtest fence). */
  flush(): Promise<void>;
}

/** What a memory-mapped region needs from the transport (QtestClient provides it). */
export interface MmioTransport {
  readl(addr: number): Promise<number>;
  writel(addr: number, value: number): void;
  fence(): Promise<void>;
}

export interface MmioRegionOptions {
  /** Shown in errors, e.g. `00:02.0 BAR0`. */
  name?: string;
  /** Maps a transport failure to a better error (e.g. QEMU's exit status); default: unchanged. */
  explain?: (err: unknown) => Promise<unknown>;
  /** Synchronous variant for posted writes. */
  explainNow?: (err: unknown) => unknown;
}

/** What a read of a removed PCI device returns: the master abort's all ones. */
export const REMOVED_DEVICE_READ = 0xffff_ffff;

/**
 * A device's MMIO BAR as a RegisterBackend: offsets are checked against the BAR size and for
 * 4-byte alignment before anything reaches QEMU (a RegisterBackend is 32-bit: qtest readl/writel).
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

  async read32(offset: number): Promise<number> {
    const addr = this.address(offset, 'read32');
    if (this.removed) return REMOVED_DEVICE_READ;
    try {
      return (await this.io.readl(addr)) >>> 0;
    } catch (err) {
      throw await this.explain(err);
    }
  }

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

  async flush(): Promise<void> {
    if (this.removed) return;
    try {
      await this.io.fence();
    } catch (err) {
      throw await this.explain(err);
    }
  }

  private address(offset: number, op: string): number {
    if (!Number.isInteger(offset) || offset < 0 || offset + 4 > this.size) {
      throw new RegisterAccessError(`${this.name}: ${op} at ${hex(offset)} is outside the ${hex(this.size)}-byte region`, {
        region: this.name,
        offset,
        size: this.size,
        op,
      });
    }
    if (offset % 4 !== 0) {
      throw new RegisterAccessError(`${this.name}: ${op} at ${hex(offset)} is not 4-byte aligned`, {
        region: this.name,
        offset,
        op,
      });
    }
    return this.base + offset;
  }
}
