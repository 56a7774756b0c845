/**
 * The device is configuration: a QEMU PCI NIC dirql has no description of is brought up by its
 * -device name alone, as the one network controller (class 02h) on the bus, its registers in its
 * first memory BAR; one with no memory BAR is refused naming it.
 */
import { describe, expect, it } from 'vitest';
import { resolveNicModel } from '../../src/host/nic-models.ts';
import { startMachine } from '../../src/platform/machine.ts';

describe('any QEMU PCI NIC by its -device name (real QEMU)', () => {
  it.each([
    ['pcnet', 0x1022, 0x2000, 1, 0x20],
    ['virtio-net-pci', 0x1af4, 0x1000, 1, 0x1000],
  ])("%s: found as the bus's network controller %s:%s, registers in BAR%s", async (name, vendorId, deviceId, bar, size) => {
    const m = await startMachine({ device: resolveNicModel(name), netdev: { kind: 'dgram' } });
    try {
      expect(m.nic.model).toMatchObject({ qemuModel: name, vendorId, deviceId, registerBar: bar });
      expect(m.nic.pci.classCode).toBe(0x02);
      expect(m.nic.registers.size).toBe(size);
    } finally {
      await m.stop();
    }
  });

  it('a NIC without a memory BAR (ne2k_pci: I/O only) is refused, naming it', async () => {
    await expect(startMachine({ device: resolveNicModel('ne2k_pci'), netdev: { kind: 'dgram' } })).rejects.toThrow(/^ne2k_pci at 00:02\.0 has no memory BAR$/);
  });
});
