import { registerName } from '../../drivers/e1000/registers.ts';
import type { AdapterResources } from '../../ndis/ndis6/index.ts';
import type { Machine } from '../../platform/machine.ts';
import type { VariantSettings } from './variant.ts';

/** The core settings every e1000 variant takes from the host's VariantSettings alike. */
export function coreSettings(settings: VariantSettings) {
  return {
    txRingSize: settings.txRingSize,
    rxRingSize: settings.rxRingSize,
    receiveBatch: settings.receiveBatch,
    receiveBudget: settings.receiveBudget,
    throttle: settings.throttle,
    mac: settings.mac,
  };
}

/**
 * The machine's NIC as NDIS adapter resources (NDIS 5 and NDIS 6 initializeMiniport): its register
 * BAR, INTx line, guest memory and DMA allocator, QEMU's MAC; `registerName` names registers in traces.
 */
export function nicAdapterResources(machine: Machine, registerName?: (offset: number) => string | undefined): AdapterResources {
  return {
    registers: machine.nic.registers,
    ...(registerName ? { registerName } : {}),
    interrupt: { line: machine.nic.irqLine },
    memory: machine.memory,
    dma: machine.dma,
    macAddress: machine.nic.mac,
    name: machine.nic.model.qemuModel,
  };
}

/** The machine's e1000 as NDIS adapter resources, its registers named. */
export function ndisAdapterResources(machine: Machine): AdapterResources {
  return { ...nicAdapterResources(machine, registerName), name: 'e1000' };
}
