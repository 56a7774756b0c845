import { describe, expect, it } from 'vitest';
import { E1000ConfigError } from '../../../src/drivers/e1000/errors.ts';
import { eepromWordsToMac, formatMac, isMulticast, macToReceiveAddress, parseMac, receiveAddressToMac } from '../../../src/drivers/e1000/mac-address.ts';

describe('MAC address helpers', () => {
  it('maps 52:54:00:12:34:56 to RAL0/RAH0 as QEMU reports them', () => {
    // RAL0 holds bytes 0–3 little-endian, RAH0 bytes 4–5 and the AV bit (SDM 13.5.2).
    expect(macToReceiveAddress(parseMac('52:54:00:12:34:56'))).toEqual({ low: 0x12005452, high: 0x5634 });
    expect(formatMac(receiveAddressToMac(0x12005452, 0x8000_5634))).toBe('52:54:00:12:34:56');
  });

  it('reads the address from EEPROM words 0–2, first byte in the low half', () => {
    expect(formatMac(eepromWordsToMac([0x5452, 0x1200, 0x5634]))).toBe('52:54:00:12:34:56');
  });

  it('tells multicast from unicast by the group bit', () => {
    expect(isMulticast(parseMac('01:00:5e:00:00:01'))).toBe(true);
    expect(isMulticast(parseMac('52:54:00:12:34:56'))).toBe(false);
  });

  it('rejects malformed addresses with a typed error', () => {
    expect(() => parseMac('52:54:00:12:34')).toThrow(E1000ConfigError);
    expect(() => parseMac('52:54:00:12:34:zz')).toThrow(E1000ConfigError);
  });
});
