/** The wire harness: the peer on the far end of QEMU's virtual Ethernet wire, and its tools. */
export * from './errors.ts';
export * from './ethernet.ts';
export { SeededRandom, mix32 } from './prng.ts';
export * from './traffic.ts';
export * from './faults.ts';
export * from './pcap.ts';
export * from './wire-peer.ts';
export * from './peer-session.ts';
