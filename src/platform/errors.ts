import { DirqlError } from '../util/errors.ts';

/** Anything the platform layer (PCI, registers, guest memory, DMA) refuses or fails at. */
export class PlatformError extends DirqlError {}

/** PCI configuration or bring-up failed (device missing, BAR unusable, bad config offset). */
export class PciError extends PlatformError {}

/** The bus/memory/I/O window has no room for a BAR. */
export class ResourceExhaustedError extends PlatformError {}

/** A register access outside the region or misaligned; `context.offset` names the register. */
export class RegisterAccessError extends PlatformError {}

/** A guest memory access outside guest RAM, or in the low megabyte overlaid by ROM. */
export class GuestMemoryError extends PlatformError {}

/** The DMA allocator cannot satisfy a request, or a region was freed twice / never allocated. */
export class DmaError extends PlatformError {}

export function hex(n: number | bigint): string {
  return '0x' + n.toString(16);
}

/**
 * Attaching to a QEMU someone else started (src/platform/attach.ts) failed: no launcher in the
 * directory, no QEMU free in time, or a QEMU that plays another NIC. `context.dir` names the directory.
 */
export class AttachError extends PlatformError {}
