import { describe, expect, it } from 'vitest';
import {
  clearRxWriteBack,
  decodeRxDescriptor,
  decodeTxDescriptor,
  DESCRIPTOR_SIZE,
  encodeRxDescriptor,
  encodeTxDescriptor,
  rxDescriptorErrors,
  rxDescriptorLength,
  rxDescriptorStatus,
  TxCmd,
  txDescriptorSta,
} from '../../../src/drivers/e1000/descriptors.ts';

describe('legacy TX descriptor', () => {
  it('lays out address, length and CMD little-endian at the SDM offsets', () => {
    const buf = Buffer.alloc(DESCRIPTOR_SIZE * 2, 0xee);
    encodeTxDescriptor(buf, DESCRIPTOR_SIZE, 0x1_2345_6780, 1514, TxCmd.EOP | TxCmd.IFCS | TxCmd.RS);
    const d = buf.subarray(DESCRIPTOR_SIZE);
    expect([...d]).toEqual([
      0x80,
      0x67,
      0x45,
      0x23,
      0x01,
      0x00,
      0x00,
      0x00, // buffer address
      0xea,
      0x05, // length 1514
      0x00, // CSO
      0x0b, // CMD = EOP | IFCS | RS
      0x00, // STA
      0x00, // CSS
      0x00,
      0x00, // special
    ]);
    expect([...buf.subarray(0, DESCRIPTOR_SIZE)].every((b) => b === 0xee)).toBe(true);
  });

  it('decodes what it encodes and reads DD from the low nibble of STA only', () => {
    const buf = Buffer.alloc(DESCRIPTOR_SIZE);
    encodeTxDescriptor(buf, 0, 0x0010_0800, 60, TxCmd.EOP | TxCmd.RS | TxCmd.IDE);
    buf[12] = 0xf1; // reserved high nibble set by someone, DD set
    expect(decodeTxDescriptor(buf, 0)).toEqual({
      address: 0x0010_0800,
      length: 60,
      cso: 0,
      cmd: TxCmd.EOP | TxCmd.RS | TxCmd.IDE,
      sta: 0x1,
      css: 0,
      special: 0,
    });
    expect(txDescriptorSta(buf, 0)).toBe(1);
  });
});

describe('legacy RX descriptor', () => {
  it('encodes only the buffer address and zeroes everything the NIC writes back', () => {
    const buf = Buffer.alloc(DESCRIPTOR_SIZE, 0xff);
    encodeRxDescriptor(buf, 0, 0x0020_0000);
    expect(decodeRxDescriptor(buf, 0)).toEqual({ address: 0x0020_0000, length: 0, checksum: 0, status: 0, errors: 0, special: 0 });
  });

  it('reads length, status and errors from a written-back descriptor', () => {
    const buf = Buffer.from([0, 0, 0x20, 0, 0, 0, 0, 0, 0x3c, 0x00, 0x34, 0x12, 0x07, 0x80, 0x05, 0x00]);
    expect(rxDescriptorLength(buf, 0)).toBe(60);
    expect(rxDescriptorStatus(buf, 0)).toBe(0x07);
    expect(rxDescriptorErrors(buf, 0)).toBe(0x80);
    expect(decodeRxDescriptor(buf, 0)).toMatchObject({ address: 0x200000, checksum: 0x1234, special: 5 });
  });

  it('clearRxWriteBack keeps the buffer address', () => {
    const buf = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 9, 9, 9, 9]);
    clearRxWriteBack(buf, 0);
    expect([...buf]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});
