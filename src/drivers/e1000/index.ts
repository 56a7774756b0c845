/** The hardware half of the reference e1000 miniport: everything that knows the 82540EM, nothing of NDIS/KMDF. */
export * from './descriptors.ts';
export * from './device.ts';
export * from './errors.ts';
export * from './mac-address.ts';
export * from './multicast-table.ts';
export * from './nic.ts';
export * from './registers.ts';
export * from './ring-layout.ts';
export * from './rx-ring.ts';
export * from './statistics.ts';
export * from './tx-ring.ts';
export * from './ring-storage.ts';
export * from './settings.ts';
