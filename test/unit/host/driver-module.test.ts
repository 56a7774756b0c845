import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DriverModuleError, checkDriverModule, loadDriverModule } from '../../../src/host/frameworks/driver-module.ts';
import { userDriverVariant } from '../../../src/host/frameworks/user-driver.ts';
import type { VariantContext } from '../../../src/host/frameworks/variant.ts';
import { DriverHostError } from '../../../src/host/errors.ts';
import { knownNicModels, resolveNicModel } from '../../../src/host/nic-models.ts';
import type { Machine } from '../../../src/platform/machine.ts';
import { PacketRing } from '../../../src/ring/index.ts';
import { kernelOnFakeLines, type KernelOnFakeLines } from '../../support/kernel-rig.ts';

const fixture = (name: string) => join(import.meta.dirname, '..', '..', 'fixtures', 'driver-modules', name);
const entry = () => 0;

/** The error `f` throws (sync or async), checked to be a DriverModuleError. */
async function moduleError(f: () => unknown): Promise<DriverModuleError> {
  let err: unknown;
  try {
    await f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DriverModuleError);
  return err as DriverModuleError;
}

describe('the driver module contract', () => {
  it('takes framework, driverEntry and the optional device and registerName, nothing else', () => {
    const registerName = () => undefined;
    const m = checkDriverModule({ framework: 'ndis6', driverEntry: entry, device: 'rtl8139', registerName, helper: 1 }, 'm.ts');
    expect(m).toEqual({ framework: 'ndis6', driverEntry: entry, device: 'rtl8139', registerName });
  });

  it('a missing framework is named, with the exports the contract wants', async () => {
    const err = await moduleError(() => checkDriverModule({ driverEntry: entry }, 'my-miniport.ts'));
    expect(err.message).toMatch(/^my-miniport\.ts exports no 'framework' \(export const framework = 'ndis6'/);
    expect(err.context).toMatchObject({ driver: 'my-miniport.ts', key: 'framework', missing: 'framework' });
  });

  it('an unknown framework lists the three there are', async () => {
    const err = await moduleError(() => checkDriverModule({ framework: 'ndis7', driverEntry: entry }, 'm.ts'));
    expect(err.message).toBe('m.ts: framework must be one of ndis6, ndis5, kmdf (got "ndis7")');
    expect(err.context).toMatchObject({ key: 'framework', value: 'ndis7' });
  });

  it('a missing driverEntry is named, and a DriverEntry spelled the Windows way is pointed out', async () => {
    const missing = await moduleError(() => checkDriverModule({ framework: 'ndis5' }, 'm.ts'));
    expect(missing.message).toMatch(/^m\.ts exports no 'driverEntry' \(/);
    expect(missing.context).toMatchObject({ key: 'driverEntry', missing: 'driverEntry' });
    const misnamed = await moduleError(() => loadDriverModule(fixture('misnamed-entry.ts')));
    expect(misnamed.message).toContain("exports no 'driverEntry' (it exports 'DriverEntry': the name is driverEntry)");
  });

  it('a driverEntry that is not a function, a bad device or registerName are refused by key', async () => {
    expect((await moduleError(() => checkDriverModule({ framework: 'kmdf', driverEntry: 'x' }, 'm.ts'))).message).toBe('m.ts: driverEntry must be a function (got string)');
    const device = await moduleError(() =>
      checkDriverModule({ framework: 'kmdf', driverEntry: entry, device: { name: 'x', qemuModel: 'x', vendorId: 0x10ec, deviceId: 0x8139, registerBar: 6 } }, 'm.ts'),
    );
    expect(device.message).toBe('m.ts: device.registerBar must be a BAR index 0..5 (got 6)');
    expect(device.context).toMatchObject({ key: 'device' });
    const names = await moduleError(() => checkDriverModule({ framework: 'kmdf', driverEntry: entry, registerName: {} }, 'm.ts'));
    expect(names.context).toMatchObject({ key: 'registerName' });
  });

  it('loads a module from a path: the default export stands for the named ones', async () => {
    const m = await loadDriverModule(fixture('default-export.ts'));
    expect(m).toMatchObject({ framework: 'ndis6', device: 'rtl8139', source: fixture('default-export.ts') });
    expect(typeof m.driverEntry).toBe('function');
  });

  it('a path that does not exist, or a module that fails to load, says which file', async () => {
    const none = await moduleError(() => loadDriverModule('no/such/miniport.ts'));
    expect(none.message).toBe(`no driver module ${join(process.cwd(), 'no/such/miniport.ts')}`);
    const broken = await moduleError(() => loadDriverModule(fixture('throws-on-import.ts')));
    expect(broken.message).toContain(`loading the driver module ${fixture('throws-on-import.ts')} failed: the driver module blew up at import`);
    expect(broken.cause).toBeInstanceOf(Error);
  });
});

describe('running a driver module', () => {
  let rig: KernelOnFakeLines | undefined;
  afterEach(async () => rig?.cleanup());

  it('a driverEntry that returns no MiniportDriver fails the start with a DriverModuleError naming driverEntry', async () => {
    rig = kernelOnFakeLines('dirql-driver-module-');
    const driver = await loadDriverModule(fixture('returns-nothing.ts'));
    const ctx = {
      kernel: rig.kernel,
      machine: { nic: { model: resolveNicModel('rtl8139') }, memory: {}, dma: {} } as unknown as Machine,
      rxRing: new PacketRing({ slotCount: 4, slotSize: 64 }),
      txRing: new PacketRing({ slotCount: 4, slotSize: 64 }),
      settings: {},
    } satisfies VariantContext;
    const err = await moduleError(() => userDriverVariant(driver)(ctx));
    expect(err.message).toBe(`${fixture('returns-nothing.ts')}: driverEntry returned undefined, not the MiniportDriver of ndis.registerMiniportDriver`);
    expect(err.context).toMatchObject({ key: 'driverEntry' });
  });
});

describe('NIC models by their QEMU -device name', () => {
  it('knows the e1000 (default), the e1000e and the rtl8139, with the BAR of their registers', () => {
    expect(knownNicModels()).toEqual(['e1000', 'e1000e', 'rtl8139']);
    expect(resolveNicModel('rtl8139')).toMatchObject({ qemuModel: 'rtl8139', vendorId: 0x10ec, deviceId: 0x8139, registerBar: 1 });
    expect(resolveNicModel('e1000')).toMatchObject({ qemuModel: 'e1000', vendorId: 0x8086, deviceId: 0x100e, registerBar: 0 });
  });

  it("any other QEMU model name: the bus's one network controller, its first memory BAR (no ids, no BAR given)", () => {
    expect(resolveNicModel('pcnet')).toEqual({ name: 'pcnet', qemuModel: 'pcnet' });
    expect(() => resolveNicModel('rtl 8139')).toThrow(DriverHostError);
    expect(() => resolveNicModel('rtl 8139')).toThrow(/^'rtl 8139' is not a QEMU -device model name \(e\.g\. e1000, e1000e, rtl8139, pcnet, virtio-net-pci\)$/);
  });

  it('takes any PciNicModel whose fields check out; ids come both or neither', () => {
    const pcnet = { name: 'AMD PCnet', qemuModel: 'pcnet', vendorId: 0x1022, deviceId: 0x2000, registerBar: 1 };
    expect(resolveNicModel(pcnet)).toBe(pcnet);
    expect(() => resolveNicModel({ ...pcnet, vendorId: 0x10000 })).toThrow('device.vendorId must be a 16-bit PCI vendor id (got 65536)');
    expect(() => resolveNicModel({ name: 'AMD PCnet', qemuModel: 'pcnet', vendorId: 0x1022 })).toThrow(
      "device.deviceId must be given with vendorId (or neither: the bus's one network controller)",
    );
  });
});
