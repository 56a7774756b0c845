import { describe, expect, it } from 'vitest';
import { DeviceStubConfigError } from '../../../qemu/errors.ts';
import { HALT_FIRMWARE_SIZE, haltingFirmware } from '../../../qemu/firmware.ts';
import { buildQemuArgs, validateStubConfig, type DeviceStubConfig, type ResolvedStubConfig } from '../../../qemu/stub-config.ts';
import { e1000Device } from '../../../src/drivers/e1000/device.ts';
import { deviceStubConfig } from '../../../src/platform/machine.ts';

const paths = { firmware: '/d/halt.bin', qtestSocket: '/d/qtest.sock', qmpSocket: '/d/qmp.sock', ramFile: '/dev/shm/r' };

const NIC = { model: 'e1000' };

function resolved(over: Partial<ResolvedStubConfig> = {}, cfg: DeviceStubConfig = { nic: NIC }): ResolvedStubConfig {
  const base = validateStubConfig(cfg);
  return { ...base, netdev: { kind: 'dgram', qemuPort: 40000, peerPort: 40001 }, ...over };
}

function after(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

describe('halting firmware', () => {
  it('is 64 KiB of zeros with cli; hlt; jmp at the reset vector', () => {
    const fw = haltingFirmware();
    expect(fw.length).toBe(HALT_FIRMWARE_SIZE);
    expect([...fw.subarray(0xfff0, 0xfff4)]).toEqual([0xfa, 0xf4, 0xeb, 0xfd]);
    expect(fw.subarray(0, 0xfff0).every((b) => b === 0)).toBe(true);
    expect(fw.subarray(0xfff4).every((b) => b === 0)).toBe(true);
  });
});

describe('QEMU argument list', () => {
  it('backs RAM with the shared file and connects qtest and QMP as clients', () => {
    const args = buildQemuArgs(resolved(), paths);
    expect(after(args, '-machine')).toEqual(['pc,memory-backend=ram0']);
    expect(after(args, '-object')).toEqual(['memory-backend-file,id=ram0,size=64M,mem-path=/dev/shm/r,share=on']);
    expect(after(args, '-qtest')).toEqual(['unix:/d/qtest.sock']);
    expect(after(args, '-qtest-log')).toEqual(['none']);
    expect(after(args, '-chardev')).toEqual(['socket,id=qmp0,path=/d/qmp.sock']);
    expect(after(args, '-bios')).toEqual(['/d/halt.bin']);
    expect(args).toContain('-nodefaults');
  });

  it('wires a dgram netdev between two 127.0.0.1 ports and keeps the option ROM off', () => {
    const args = buildQemuArgs(resolved({}, deviceStubConfig({ device: e1000Device({ mitigation: false }), mac: '02:00:00:aa:bb:cc' })), paths);
    expect(after(args, '-netdev')).toEqual(['dgram,id=net0,local.type=inet,local.host=127.0.0.1,local.port=40000,remote.type=inet,remote.host=127.0.0.1,remote.port=40001']);
    expect(after(args, '-device')).toEqual(['e1000,netdev=net0,id=nic0,mac=02:00:00:aa:bb:cc,romfile=,mitigation=off']);
  });

  it("passes the e1000's description through as the -device line, mitigation on unless turned off", () => {
    const args = buildQemuArgs(resolved({}, deviceStubConfig({ device: e1000Device() })), paths);
    expect(after(args, '-device')).toEqual(['e1000,netdev=net0,id=nic0,mac=52:54:00:12:34:56,romfile=,mitigation=on']);
  });

  it("names whatever NIC model it is given, its own properties after the stub's, commas doubled", () => {
    const nic = { model: 'rtl8139', properties: { label: 'a,b', flag: false, level: 3 } };
    const args = buildQemuArgs(resolved({}, { nic }), paths);
    expect(after(args, '-device')).toEqual(['rtl8139,netdev=net0,id=nic0,mac=52:54:00:12:34:56,romfile=,label=a,,b,flag=off,level=3']);
  });

  it('builds user and tap netdevs, plain RAM without the shared file, and appends extra args', () => {
    const user = buildQemuArgs(resolved({ netdev: { kind: 'user', options: ['hostfwd=udp::5555-:5555'] }, extraArgs: ['-S'] }), paths);
    expect(after(user, '-netdev')).toEqual(['user,id=net0,hostfwd=udp::5555-:5555']);
    expect(user.at(-1)).toBe('-S');
    const tap = buildQemuArgs(resolved({ netdev: { kind: 'tap', ifname: 'tap0' }, sharedRam: false, memoryMiB: 32 }), paths);
    expect(after(tap, '-netdev')).toEqual(['tap,id=net0,ifname=tap0,script=no,downscript=no']);
    expect(after(tap, '-machine')).toEqual(['pc']);
    expect(after(tap, '-m')).toEqual(['32M']);
    expect(tap).not.toContain('-object');
  });

  it('doubles commas in paths so QEMU reads them literally', () => {
    const args = buildQemuArgs(resolved(), { ...paths, ramFile: '/dev/shm/a,b' });
    expect(after(args, '-object')[0]).toContain('mem-path=/dev/shm/a,,b,');
  });

  it('rejects bad MACs, memory sizes and ports before starting anything', () => {
    expect(() => validateStubConfig({ nic: NIC, mac: '52:54:00:12:34' })).toThrow(DeviceStubConfigError);
    expect(() => validateStubConfig({ nic: NIC, mac: '01:00:5e:00:00:01' })).toThrow(/multicast/);
    expect(() => validateStubConfig({ nic: NIC, memoryMiB: 1 })).toThrow(DeviceStubConfigError);
    expect(() => validateStubConfig({ nic: NIC, netdev: { kind: 'dgram', peerPort: 70000 } })).toThrow(DeviceStubConfigError);
    expect(() => validateStubConfig({ nic: NIC, netdev: { kind: 'tap', ifname: 'tap0; rm -rf /' } })).toThrow(DeviceStubConfigError);
    expect(validateStubConfig({ nic: NIC, mac: '52:54:00:AB:CD:EF' }).mac).toBe('52:54:00:ab:cd:ef');
  });

  it('rejects a NIC without a model name, with a bad property name or with a property the stub sets', () => {
    expect(() => validateStubConfig({} as DeviceStubConfig)).toThrow(/QEMU device model/);
    expect(() => validateStubConfig({ nic: { model: 'e1000,mac=x' } })).toThrow(DeviceStubConfigError);
    expect(() => validateStubConfig({ nic: { model: 'e1000', properties: { 'a=b': 1 } } })).toThrow(/property name/);
    expect(() => validateStubConfig({ nic: { model: 'e1000', properties: { mac: '02:00:00:00:00:01' } } })).toThrow(/set by the device stub/);
  });
});
