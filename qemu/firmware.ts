/**
 * The halting firmware: 64 KiB of zeros with `cli; hlt; jmp $-3` (FA F4 EB FD) at 0xFFF0, the
 * x86 reset vector. The vCPU parks at once and never touches a device, so nothing but the host
 * programs the PCI devices (SeaBIOS would assign BARs and route interrupts itself). Generated at
 * run time so the repository holds no binary.
 */
export const HALT_FIRMWARE_SIZE = 64 * 1024;
export const RESET_VECTOR_OFFSET = 0xfff0;
const HALT_LOOP = [0xfa, 0xf4, 0xeb, 0xfd];

export function haltingFirmware(): Buffer {
  const image = Buffer.alloc(HALT_FIRMWARE_SIZE);
  image.set(HALT_LOOP, RESET_VECTOR_OFFSET);
  return image;
}
