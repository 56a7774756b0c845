/**
 * Legacy transmit and receive descriptors (SDM 3.2.3 and 3.3.3): 16 bytes, little-endian,
 * encoded in place in a Buffer so a ring of them costs no allocation per descriptor.
 *
 * TX: 0 buffer address (u64) | 8 length (u16) | 10 CSO | 11 CMD | 12 STA (low nibble) | 13 CSS | 14 special (u16)
 * RX: 0 buffer address (u64) | 8 length (u16) | 10 checksum (u16) | 12 status | 13 errors | 14 special (u16)
 */

import { highHalf, lowHalf } from './ring-layout.ts';

export const DESCRIPTOR_SIZE = 16;

const OFF_ADDR_LO = 0;
const OFF_ADDR_HI = 4;
const OFF_LENGTH = 8;
const OFF_TX_CSO = 10;
const OFF_TX_CMD = 11;
const OFF_TX_STA = 12;
const OFF_TX_CSS = 13;
const OFF_RX_CHECKSUM = 10;
const OFF_RX_STATUS = 12;
const OFF_RX_ERRORS = 13;
const OFF_SPECIAL = 14;

/** TX descriptor CMD bits. */
export const TxCmd = {
  /** End of packet: last descriptor of a frame. */
  EOP: 0x01,
  /** Insert FCS (the CRC) on the wire. */
  IFCS: 0x02,
  /** Insert checksum at CSO. */
  IC: 0x04,
  /** Report status: write DD back when done. */
  RS: 0x08,
  RPS: 0x10,
  /** Extended descriptor (context/data); legacy when clear. */
  DEXT: 0x20,
  VLE: 0x40,
  /** Interrupt delay enable: TXDW waits for TIDV/TADV. */
  IDE: 0x80,
} as const;

/** TX descriptor STA bits. */
export const TxSta = {
  DD: 0x01,
  EC: 0x02,
  LC: 0x04,
  TU: 0x08,
} as const;

/** RX descriptor status bits. */
export const RxStatus = {
  /** Descriptor done: the NIC has written this descriptor back. */
  DD: 0x01,
  /** End of packet: last descriptor of a frame. */
  EOP: 0x02,
  /** Ignore checksum indication. */
  IXSM: 0x04,
  /** 802.1Q tag stripped into `special`. */
  VP: 0x08,
  TCPCS: 0x20,
  IPCS: 0x40,
  /** Passed in-exact filter. */
  PIF: 0x80,
} as const;

/** RX descriptor error bits. */
export const RxErrors = {
  /** CRC or alignment error. */
  CE: 0x01,
  /** Symbol error. */
  SE: 0x02,
  /** Sequence error. */
  SEQ: 0x04,
  /** Carrier extension error. */
  CXE: 0x10,
  TCPE: 0x20,
  IPE: 0x40,
  /** RX data error. */
  RXE: 0x80,
} as const;

/** Buffer addresses are guest-physical; 2^53 is far above any guest RAM here. */
function writeAddress(buf: Buffer, at: number, address: number): void {
  buf.writeUInt32LE(lowHalf(address), at + OFF_ADDR_LO);
  buf.writeUInt32LE(highHalf(address), at + OFF_ADDR_HI);
}

export function readAddress(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at + OFF_ADDR_HI) * 0x1_0000_0000 + buf.readUInt32LE(at + OFF_ADDR_LO);
}

export interface TxDescriptorFields {
  address: number;
  length: number;
  cmd: number;
  sta: number;
  cso: number;
  css: number;
  special: number;
}

/** Writes a legacy TX descriptor at byte offset `at`; STA, CSO, CSS and special are zero. */
export function encodeTxDescriptor(buf: Buffer, at: number, address: number, length: number, cmd: number): void {
  writeAddress(buf, at, address);
  buf.writeUInt16LE(length, at + OFF_LENGTH);
  buf[at + OFF_TX_CSO] = 0;
  buf[at + OFF_TX_CMD] = cmd;
  buf[at + OFF_TX_STA] = 0;
  buf[at + OFF_TX_CSS] = 0;
  buf.writeUInt16LE(0, at + OFF_SPECIAL);
}

export function txDescriptorSta(buf: Buffer, at: number): number {
  return buf[at + OFF_TX_STA]! & 0x0f;
}

/** Decodes every field; for tests and diagnostics, not the hot path. */
export function decodeTxDescriptor(buf: Buffer, at: number): TxDescriptorFields {
  return {
    address: readAddress(buf, at),
    length: buf.readUInt16LE(at + OFF_LENGTH),
    cso: buf[at + OFF_TX_CSO]!,
    cmd: buf[at + OFF_TX_CMD]!,
    sta: buf[at + OFF_TX_STA]! & 0x0f,
    css: buf[at + OFF_TX_CSS]!,
    special: buf.readUInt16LE(at + OFF_SPECIAL),
  };
}

export interface RxDescriptorFields {
  address: number;
  length: number;
  checksum: number;
  status: number;
  errors: number;
  special: number;
}

/** Writes an RX descriptor owned by the NIC: buffer address set, everything the NIC writes back zeroed. */
export function encodeRxDescriptor(buf: Buffer, at: number, address: number): void {
  writeAddress(buf, at, address);
  clearRxWriteBack(buf, at);
}

/**
 * Zeroes length, checksum, status, errors and special. QEMU writes the whole descriptor back but
 * only ORs DD/EOP into the status it read, so stale bits survive unless software clears them.
 */
export function clearRxWriteBack(buf: Buffer, at: number): void {
  buf.writeUInt32LE(0, at + OFF_LENGTH);
  buf.writeUInt32LE(0, at + OFF_RX_STATUS);
}

export function rxDescriptorStatus(buf: Buffer, at: number): number {
  return buf[at + OFF_RX_STATUS]!;
}
export function rxDescriptorErrors(buf: Buffer, at: number): number {
  return buf[at + OFF_RX_ERRORS]!;
}
export function rxDescriptorLength(buf: Buffer, at: number): number {
  return buf.readUInt16LE(at + OFF_LENGTH);
}

export function decodeRxDescriptor(buf: Buffer, at: number): RxDescriptorFields {
  return {
    address: readAddress(buf, at),
    length: buf.readUInt16LE(at + OFF_LENGTH),
    checksum: buf.readUInt16LE(at + OFF_RX_CHECKSUM),
    status: buf[at + OFF_RX_STATUS]!,
    errors: buf[at + OFF_RX_ERRORS]!,
    special: buf.readUInt16LE(at + OFF_SPECIAL),
  };
}
