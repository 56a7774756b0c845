import { PciError, hex } from './errors.ts';
import { PciConfigSpace, PciReg, type PciAddress } from './pci-config.ts';
import type { PciFunctionInfo } from './pci-bus.ts';

/** PIIX3 PIRQ route control registers PIRQRC[A:D] (function 0 config 0x60..0x63). */
export const PIIX3_PIRQRC = 0x60;
/** Bit 7 of a PIRQRC byte disables the route. */
const PIRQ_DISABLE = 0x80;
/** ISA IRQs a PIRQ may be routed to (PIIX3 datasheet: not 0, 1, 2, 8, 13). */
export const ROUTABLE_ISA_IRQS: readonly number[] = [3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15];

/**
 * Which PIRQ (0 = A .. 3 = D) a device's INTx pin reaches on QEMU's i440FX board: the pins
 * rotate by slot, `(pin - 1 + slot - 1) mod 4`, so slot 1 INTA is PIRQA and slot 2 INTA is PIRQB.
 */
export function pirqForPin(slot: number, pin: number): number {
  if (!Number.isInteger(pin) || pin < 1 || pin > 4) throw new PciError(`bad interrupt pin ${pin}`, { pin });
  return (pin - 1 + slot - 1 + 4) & 3;
}

export interface IntxRoute {
  /** INTA#..INTD# as 1..4 (from config 0x3D). */
  pin: number;
  /** 0..3 for PIRQA..PIRQD. */
  pirq: number;
  /** The ISA IRQ line the interrupt arrives on (also written to config 0x3C). */
  irq: number;
}

/**
 * Routes a device's INTx pin to an ISA IRQ through the PIIX3: only that PIRQ's route byte is
 * written (others are left as they are), and the IRQ goes to the device's Interrupt Line
 * register, as a BIOS would leave it. System reset clears the routing: route again after it.
 */
export async function routeIntx(config: PciConfigSpace, isaBridge: PciAddress, device: PciFunctionInfo, irq: number): Promise<IntxRoute> {
  if (!ROUTABLE_ISA_IRQS.includes(irq)) {
    throw new PciError(`ISA IRQ ${irq} cannot take a PCI interrupt (use one of ${ROUTABLE_ISA_IRQS.join(', ')})`, { irq });
  }
  const pin = await config.read8(device, PciReg.InterruptPin);
  if (pin === 0) throw new PciError(`${device.bdf} has no interrupt pin`, { bdf: device.bdf });
  const pirq = pirqForPin(device.device, pin);
  await config.write8(isaBridge, PIIX3_PIRQRC + pirq, irq);
  const route = await config.read8(isaBridge, PIIX3_PIRQRC + pirq);
  if (route !== irq || (route & PIRQ_DISABLE) !== 0) {
    throw new PciError(`PIRQ${'ABCD'[pirq]} route reads ${hex(route)} after writing IRQ ${irq}`, { pirq, route, irq });
  }
  await config.write8(device, PciReg.InterruptLine, irq);
  return { pin, pirq, irq };
}
