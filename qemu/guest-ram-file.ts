import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { DeviceStubError } from './errors.ts';

/**
 * The guest RAM file in /dev/shm. The host creates and sizes it (mode 0600) before QEMU starts,
 * because QEMU connects to qtest before it creates guest RAM; once QEMU has answered a qtest
 * command it has mapped the file, and `unlink()` removes the name so that a crash of either
 * side leaks nothing. The host keeps reading and writing through its fd.
 */
export class GuestRamFile {
  private fdValue: number | undefined;
  private linked = true;

  private constructor(
    readonly path: string,
    fd: number,
    readonly size: number,
    owned = true,
  ) {
    this.fdValue = fd;
    this.linked = owned;
  }

  /**
   * Opens a RAM file someone else created and sized (a launcher's QEMU): its name is theirs to
   * remove, so unlink() leaves it; close() only closes the fd.
   */
  static open(path: string, size: number): GuestRamFile {
    const fd = fs.openSync(path, 'r+');
    try {
      const actual = fs.fstatSync(fd).size;
      if (actual !== size) throw new DeviceStubError(`guest RAM file ${path} is ${actual} bytes, not ${size}`, { path, size, actual });
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    return new GuestRamFile(path, fd, size, false);
  }

  static create(size: number, dir = '/dev/shm'): GuestRamFile {
    const path = `${dir}/dirql-${process.pid}-${randomBytes(4).toString('hex')}`;
    const fd = fs.openSync(path, 'wx+', 0o600);
    try {
      fs.ftruncateSync(fd, size);
    } catch (err) {
      fs.closeSync(fd);
      fs.rmSync(path, { force: true });
      throw err;
    }
    return new GuestRamFile(path, fd, size);
  }

  /** The open fd; throws once closed so that a stale number is never used on a reused fd. */
  get fd(): number {
    if (this.fdValue === undefined) {
      throw new DeviceStubError('guest RAM file is closed (machine stopped)', { path: this.path });
    }
    return this.fdValue;
  }

  get closed(): boolean {
    return this.fdValue === undefined;
  }

  get isLinked(): boolean {
    return this.linked;
  }

  unlink(): void {
    if (!this.linked) return;
    this.linked = false;
    fs.rmSync(this.path, { force: true });
  }

  close(): void {
    this.unlink();
    if (this.fdValue === undefined) return;
    const fd = this.fdValue;
    this.fdValue = undefined;
    fs.closeSync(fd);
  }
}
