import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lineReader } from '../../../qemu/attach-protocol.ts';
import { DeviceStubError } from '../../../qemu/errors.ts';
import { GuestRamFile } from '../../../qemu/guest-ram-file.ts';
import { buildQemuArgs, validateStubConfig } from '../../../qemu/stub-config.ts';
import { markReady } from '../../../src/host/ready-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'dirql-attach-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function after(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

describe("a launcher's QEMU", () => {
  it('listens on the qtest and QMP sockets without waiting for a client (serve)', () => {
    const cfg = { ...validateStubConfig({ nic: { model: 'e1000' } }), netdev: { kind: 'dgram' as const, qemuPort: 40001, peerPort: 40000 } };
    const args = buildQemuArgs(cfg, { firmware: '/d/halt.bin', qtestSocket: '/d/qtest.sock', qmpSocket: '/d/qmp.sock', ramFile: '/d/ram-1', serve: true });
    expect(after(args, '-qtest')).toEqual(['unix:/d/qtest.sock,server=on,wait=off']);
    expect(after(args, '-chardev')).toEqual(['socket,id=qmp0,path=/d/qmp.sock,server=on,wait=off']);
  });
});

describe('GuestRamFile.open (the RAM file of a QEMU someone else started)', () => {
  it("opens it read-write and never removes its name: that is the launcher's", () => {
    const p = join(dir, 'ram-1');
    writeFileSync(p, Buffer.alloc(4096));
    const ram = GuestRamFile.open(p, 4096);
    expect(ram.isLinked).toBe(false);
    ram.close();
    expect(ram.closed).toBe(true);
    expect(existsSync(p)).toBe(true);
  });

  it('refuses a file of another size than the offer says', () => {
    const p = join(dir, 'ram-2');
    writeFileSync(p, Buffer.alloc(4096));
    expect(() => GuestRamFile.open(p, 8192)).toThrow(DeviceStubError);
    expect(() => GuestRamFile.open(p, 8192)).toThrow(/4096 bytes, not 8192/);
  });
});

describe('the lease protocol', () => {
  it('splits a stream into lines however it is chunked', () => {
    const lines: string[] = [];
    const push = lineReader((l) => lines.push(l));
    push(Buffer.from('{"a":1}\n{"b"'));
    push(Buffer.from(':2}\n\n{"c":3'));
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
    push(Buffer.from('}\n'));
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });
});

describe("the host's ready file (the compose healthcheck's)", () => {
  it('exists with the pid from markReady until remove()', () => {
    const p = join(dir, 'health', 'ready');
    const ready = markReady(p);
    expect(readFileSync(p, 'utf8')).toBe(`${process.pid}\n`);
    ready.remove();
    ready.remove();
    expect(existsSync(p)).toBe(false);
  });
});
