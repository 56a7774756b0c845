import { describe, expect, it } from 'vitest';
import { ral, rah, Reg, registerName, Stat } from '../../../src/drivers/e1000/registers.ts';

describe('registerName', () => {
  it('names plain registers, statistics and the register arrays', () => {
    expect(registerName(0x00c0)).toBe('ICR');
    expect(registerName(Reg.RDT)).toBe('RDT');
    expect(registerName(Stat.GORCH)).toBe('GORCH');
    expect(registerName(Reg.MTA + 4 * 125)).toBe('MTA[125]');
    expect(registerName(ral(0))).toBe('RAL0');
    expect(registerName(rah(15))).toBe('RAH15');
    expect(registerName(0x0004)).toBeUndefined();
  });

  it('gives RA, the array base, its RAL0 name and MTA its MTA[0] name', () => {
    expect(registerName(Reg.RA)).toBe('RAL0');
    expect(registerName(Reg.MTA)).toBe('MTA[0]');
  });
});
