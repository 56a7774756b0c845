import type { DeviceRegisters } from '../../kernel/index.ts';

/**
 * What NDIS 6's and NDIS 5's NDIS_HANDLE MiniportAdapterHandle share: an id (numbered per facade),
 * a name (the resources' own, else `adapter<id>`), the driver and the resources and registers the
 * adapter was started with, and a state that ends in 'halted'.
 */
export abstract class NdisAdapterHandle<TDriver, TResources extends { readonly name?: string }, TState extends string> {
  readonly id: number;
  readonly name: string;
  readonly driver: TDriver;
  readonly resources: TResources;
  /** The adapter's BAR0 as the kernel's DeviceRegisters (each access a preemption point). */
  readonly registers: DeviceRegisters;
  abstract state: TState;

  protected constructor(id: number, driver: TDriver, resources: TResources, registers: DeviceRegisters) {
    this.id = id;
    this.name = resources.name ?? `adapter${id}`;
    this.driver = driver;
    this.resources = resources;
    this.registers = registers;
  }

  get halted(): boolean {
    return this.state === 'halted';
  }
}
