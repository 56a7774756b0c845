import { registerName } from '../../drivers/e1000/registers.ts';
import type { AdapterResources } from '../../ndis/ndis6/index.ts';
import type { Machine } from '../../platform/machine.ts';
import type { VariantSettings } from './variant.ts';

/** The core settings every e1000 variant takes from the host's VariantSettings alike. */
export function coreSettings(settings: VariantSettings) {
  return {
    txRingSize: settings.txRingSize, rxRingSize: settings.rxRingSize,
    receiveBatch: settings.receiveBatch, receiveBudget: settings.receiveBudget,
    throttle: settings.throttle, mac: settings.mac,
  };
}

/** The machine's e1000 as NDIS adapter resources (NDIS 5 and NDIS 6 initializeMiniport). */
export function ndisAdapterResources(machine: Machine): AdapterResources {
  return {
    registers: machine.nic.registers,
    registerName,
    interrupt: { line: machine.nic.irqLine },
    memory: machine.memory,
    dma: machine.dma,
    macAddress: machine.nic.mac,
    name: 'e1000',
  };
}
