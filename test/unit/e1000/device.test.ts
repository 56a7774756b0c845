import { describe, expect, it } from 'vitest';
import { e1000Device, readStationAddress } from '../../../src/drivers/e1000/device.ts';
import { Reg, rah, ral } from '../../../src/drivers/e1000/registers.ts';
import { FakeRegisters } from './fakes.ts';

/** RAL0/RAH0 and STATUS as QEMU's e1000 comes out of reset with 52:54:00:12:34:56. */
function afterReset(): FakeRegisters {
  const regs = new FakeRegisters();
  regs.values.set(ral(0), 0x12005452);
  regs.values.set(rah(0), 0x8000_5634);
  regs.values.set(Reg.STATUS, 0x80080783);
  return regs;
}

describe('the e1000 as a PCI NIC model', () => {
  it('is QEMU e1000, the 82540EM at 8086:100E with its registers in BAR0, mitigation on unless turned off', () => {
    const device = e1000Device();
    expect(device).toMatchObject({ qemuModel: 'e1000', vendorId: 0x8086, deviceId: 0x100e, registerBar: 0 });
    expect(device.qemuProperties).toEqual({ mitigation: true });
    expect(e1000Device({ mitigation: false }).qemuProperties).toEqual({ mitigation: false });
  });

  it('reads the station address from RAL0 (bytes 0-3) and RAH0 (bytes 4-5), ignoring Address Valid', async () => {
    const regs = afterReset();
    expect(await readStationAddress(regs)).toBe('52:54:00:12:34:56');
    expect(regs.writes).toEqual([]);
  });

  it('identifies the device for the bring-up log by reading RAL0/RAH0 and STATUS only', async () => {
    const regs = afterReset();
    expect(await e1000Device().identify!(regs)).toEqual({ mac: '52:54:00:12:34:56', status: '0x80080783' });
    expect(regs.reads).toEqual([ral(0), rah(0), Reg.STATUS]);
    expect(regs.writes).toEqual([]);
  });
});
