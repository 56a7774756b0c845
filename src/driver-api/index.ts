/**
 * Everything a driver written for dirql needs, from one module (`dirql/driver` in package.json
 * "exports"): the driver-module contract (framework, device, driverEntry), the NDIS 6, NDIS 5 and
 * KMDF libraries a driver is given and their types, the kernel's register access and IRQLs, the PCI
 * NIC description, and register-map helpers. Host-side pieces (DriverHost, the facades' host
 * classes) are not part of it: a driver gets its library from its driverEntry.
 *
 *   import { defineDriver, NdisStatus, type Ndis6Library } from 'dirql/driver';
 */
export {
  DRIVER_FRAMEWORKS,
  DriverModuleError,
  checkDriverModule,
  defineDriver,
  type DriverEntryContext,
  type DriverFramework,
  type DriverModule,
  type KmdfDriverModule,
  type Ndis5DriverModule,
  type Ndis6DriverModule,
} from '../host/frameworks/driver-module.ts';
export type { DriverStatistics, NicLinkState, RoutineCalls, RunningVariant, VariantContext, VariantFactory, VariantSettings } from '../host/frameworks/variant.ts';
export { nicAdapterResources } from '../host/frameworks/machine-resources.ts';
export { knownNicModels, type NicModelChoice } from '../host/nic-models.ts';
export type { PciNicModel } from '../platform/nic-model.ts';
export type { GuestMemory, AsyncGuestMemory } from '../platform/guest-memory.ts';
export type { DmaAllocator } from '../platform/dma-allocator.ts';
export {
  DeviceRegisters,
  Irql,
  DEFAULT_DIRQL,
  irqlName,
  defineRegisterMap,
  withRegisterSemantics,
  type KIRQL,
  type Kernel,
  type RegisterBackend,
  type RegisterDeclaration,
  type RegisterMap,
  type RegisterSemantics,
} from '../kernel/index.ts';
export { registerNames, formatMacAddress, parseMacAddress } from './register-map.ts';

// NDIS 6: the library type, handles, NBLs, attributes, OIDs, status codes (and what NDIS 5 shares).
export {
  MiniportAdapter,
  MiniportDriver,
  NdisInterrupt,
  NetBuffer,
  NetBufferList,
  NetBufferListPool,
  chainNetBufferLists,
  countNetBufferLists,
  netBufferListArray,
  type Ndis6Library,
  type NblOwner,
  type NetBufferListPoolOptions,
} from '../ndis/ndis6/index.ts';
export * from '../ndis/ndis6/types.ts';
export * from '../ndis/common/index.ts';

// NDIS 5.1.
export {
  Ndis5Adapter,
  Ndis5Driver,
  NdisMiniportInterrupt,
  NdisPacket,
  NdisPacketPool,
  type Ndis5Library,
  type PacketOwner,
  type NdisPacketPoolOptions,
} from '../ndis/ndis5/index.ts';
export * from '../ndis/ndis5/types.ts';

// KMDF: the framework object a DriverEntry gets, its handles, NTSTATUS values and types.
export * from '../wdf/index.ts';
