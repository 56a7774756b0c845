/**
 * The real loop below the kernel: QEMU's e1000 brought up by the platform code, frames moving
 * between descriptor rings in the shared RAM file and a UDP wire peer, the INTx line seen
 * through qtest, and nothing left behind however the machine or the host ends.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QemuExitedError } from '../../qemu/errors.ts';
import { e1000Device, readStationAddress } from '../../src/drivers/e1000/device.ts';
import { startMachine, type Machine } from '../../src/platform/machine.ts';
import { QtestDisconnectedError } from '../../src/transport/errors.ts';
import { waitUntil } from '../support/wait.ts';
import { processGone, shmFilesOf } from './support/leftovers.ts';

const MAC = '52:54:00:ab:cd:01';

const REG = {
  STATUS: 0x0008,
  ICR: 0x00c0,
  IMS: 0x00d0,
  IMC: 0x00d8,
  RCTL: 0x0100,
  TCTL: 0x0400,
  RDBAL: 0x2800,
  RDBAH: 0x2804,
  RDLEN: 0x2808,
  RDH: 0x2810,
  RDT: 0x2818,
  TDBAL: 0x3800,
  TDBAH: 0x3804,
  TDLEN: 0x3808,
  TDH: 0x3810,
  TDT: 0x3818,
  RAL0: 0x5400,
  RAH0: 0x5404,
} as const;
const STATUS_LU = 1 << 1;
const RAH_AV = 1 << 31;
const RCTL_EN = 1 << 1;
const RCTL_BAM = 1 << 15;
const RCTL_SECRC = 1 << 26;
const TCTL_EN = 1 << 1;
const TCTL_PSP = 1 << 3;
const TXD_CMD_EOP = 0x01;
const TXD_CMD_IFCS = 0x02;
const TXD_CMD_RS = 0x08;
const DESC_DD = 0x01;
const RXD_EOP = 0x02;
const ICR_RXT0 = 1 << 7;
const DESCRIPTORS = 8; // 8 × 16 B = 128 B, the smallest legal ring length

const repoRoot = path.resolve(import.meta.dirname, '../..');

function frame(dst: string, src: string, payloadSeed: number, length = 100): Buffer {
  const f = Buffer.alloc(length);
  Buffer.from(dst.split(':').map((h) => Number.parseInt(h, 16))).copy(f, 0);
  Buffer.from(src.split(':').map((h) => Number.parseInt(h, 16))).copy(f, 6);
  f.writeUInt16BE(0x88b5, 12); // local experimental EtherType
  for (let i = 14; i < length; i++) f[i] = (i * 31 + payloadSeed) & 0xff;
  return f;
}

function nextDatagram(sock: dgram.Socket, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.off('message', onMessage);
      reject(new Error(`no datagram within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (msg: Buffer) => {
      clearTimeout(timer);
      resolve(msg);
    };
    sock.once('message', onMessage);
  });
}

function lineChange(m: Machine, line: number, asserted: boolean, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`IRQ ${line} did not go ${asserted ? 'up' : 'down'} within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = m.lines.onChange((l, a) => {
      if (l !== line || a !== asserted) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

describe('real QEMU loop (shared machine)', () => {
  let peer: dgram.Socket;
  let m: Machine;

  beforeAll(async () => {
    peer = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve));
    m = await startMachine({ device: e1000Device(), mac: MAC, netdev: { kind: 'dgram', peerPort: peer.address().port } });
  });

  afterAll(async () => {
    await m?.stop();
    peer?.close();
  });

  it('brings the e1000 up with the link up and the configured MAC in RAL0/RAH0', async () => {
    const status = await m.nic.registers.read32(REG.STATUS);
    expect(status & STATUS_LU).toBe(STATUS_LU);
    expect(m.nic.mac).toBe(MAC);
    expect(await readStationAddress(m.nic.registers)).toBe(MAC);
    const rah = await m.nic.registers.read32(REG.RAH0);
    expect(rah & RAH_AV).not.toBe(0);
    expect(m.nic.bdf).toBe('00:02.0');
    expect(m.nic.irqLine).toBe(11);
    expect(m.wire.peerPort).toBe(peer.address().port);
  });

  it('sees the same bytes through the shared file and through qtest b64read/b64write', async () => {
    const region = m.dma.alloc(64, { tag: 'coherence' });
    const a = Buffer.from('written through the shared RAM file');
    m.memory.write(region.address, a);
    expect((await m.qtest.memread(region.address, a.length)).equals(a)).toBe(true);
    const b = Buffer.from('written through qtest b64write......');
    m.qtest.memwrite(region.address, b);
    await m.qtest.fence();
    expect(m.memory.read(region.address, b.length).equals(b)).toBe(true);
    m.dma.free(region);
  });

  it('sends a frame from a TX ring in guest RAM byte-identical to the wire peer', async () => {
    const regs = m.nic.registers;
    const ring = m.dma.alloc(DESCRIPTORS * 16, { align: 128, tag: 'tx ring' });
    const buf = m.dma.alloc(2048, { tag: 'tx buffer' });
    const out = frame('02:00:00:00:00:02', MAC, 7, 120);
    m.memory.write(buf.address, out);
    const desc = Buffer.alloc(16);
    desc.writeBigUInt64LE(BigInt(buf.address), 0);
    desc.writeUInt16LE(out.length, 8);
    desc[11] = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS;
    m.memory.write(ring.address, desc);

    regs.write32(REG.TDBAL, ring.address);
    regs.write32(REG.TDBAH, 0);
    regs.write32(REG.TDLEN, DESCRIPTORS * 16);
    regs.write32(REG.TDH, 0);
    regs.write32(REG.TDT, 0);
    regs.write32(REG.TCTL, TCTL_EN | TCTL_PSP);
    const arrived = nextDatagram(peer, 5000);
    regs.write32(REG.TDT, 1);
    await regs.flush();

    expect((await arrived).equals(out)).toBe(true);
    expect(m.memory.read(ring.address + 12, 1)[0]! & DESC_DD).toBe(DESC_DD);
    expect(await regs.read32(REG.TDH)).toBe(1);
  });

  it('DMAs a frame from the peer into an RX buffer, raises IRQ 11 for RXT0, and ICR read lowers it', async () => {
    const regs = m.nic.registers;
    regs.write32(REG.IMC, 0xffffffff);
    await regs.read32(REG.ICR);
    const ring = m.dma.alloc(DESCRIPTORS * 16, { align: 128, tag: 'rx ring' });
    const bufs = Array.from({ length: DESCRIPTORS }, () => m.dma.alloc(2048, { tag: 'rx buffer' }));
    const ringBytes = Buffer.alloc(DESCRIPTORS * 16);
    bufs.forEach((b, i) => ringBytes.writeBigUInt64LE(BigInt(b.address), i * 16));
    m.memory.write(ring.address, ringBytes);

    regs.write32(REG.RDBAL, ring.address);
    regs.write32(REG.RDBAH, 0);
    regs.write32(REG.RDLEN, DESCRIPTORS * 16);
    regs.write32(REG.RDH, 0);
    regs.write32(REG.RDT, DESCRIPTORS - 1);
    regs.write32(REG.IMS, ICR_RXT0);
    regs.write32(REG.RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC);
    await regs.flush();
    expect(m.lines.isAsserted(m.nic.irqLine)).toBe(false);

    // Writing RCTL arms a ~1 s timer during which the NIC accepts nothing: the frame waits.
    const up = lineChange(m, m.nic.irqLine, true, 5000);
    const incoming = frame(MAC, '02:00:00:00:00:09', 3, 100);
    peer.send(incoming, m.wire.qemuPort, '127.0.0.1');
    await up;

    const d = m.memory.read(ring.address, 16);
    expect(d[12]! & (DESC_DD | RXD_EOP)).toBe(DESC_DD | RXD_EOP);
    expect(d.readUInt16LE(8)).toBe(incoming.length);
    expect(m.memory.read(bufs[0]!.address, incoming.length).equals(incoming)).toBe(true);

    const down = lineChange(m, m.nic.irqLine, false, 2000);
    const icr = await regs.read32(REG.ICR);
    expect(icr & ICR_RXT0).toBe(ICR_RXT0);
    await down;
    await m.lines.settle();
    expect(m.lines.isAsserted(m.nic.irqLine)).toBe(false);
  });

  it('stop() leaves no QEMU process, no socket directory and no /dev/shm file', async () => {
    const pid = m.stub.pid!;
    const ramPath = m.stub.ram!.path;
    await m.stop();
    await m.stop();
    expect(processGone(pid)).toBe(true);
    expect(fs.existsSync(m.stub.dir)).toBe(false);
    expect(fs.existsSync(ramPath)).toBe(false);
    expect(shmFilesOf(process.pid)).toEqual([]);
    expect(() => m.memory.read(1024 * 1024, 4)).toThrow(/closed/);
  });
});

describe('real QEMU loop (failures)', () => {
  it('rejects the next qtest call with a typed error when QEMU is SIGKILLed mid-test', async () => {
    const m = await startMachine({ device: e1000Device() });
    try {
      expect(await m.nic.registers.read32(REG.STATUS)).not.toBe(0);
      process.kill(m.stub.pid!, 'SIGKILL');
      const direct = await m.qtest.readl(m.nic.registers.base + REG.STATUS).catch((e: unknown) => e);
      expect(direct).toBeInstanceOf(QtestDisconnectedError);
      const viaRegisters = await m.nic.registers.read32(REG.STATUS).catch((e: unknown) => e);
      expect(viaRegisters).toBeInstanceOf(QemuExitedError);
      expect((viaRegisters as QemuExitedError).context.signal).toBe('SIGKILL');
      expect((viaRegisters as QemuExitedError).cause).toBeInstanceOf(QtestDisconnectedError);
    } finally {
      await m.stop();
    }
    expect(shmFilesOf(process.pid)).toEqual([]);
  });

  it('a host killed with SIGKILL leaves no QEMU and no /dev/shm file', async () => {
    const host = spawn(process.execPath, ['--import', 'tsx', 'src/host/main.ts', '--hold'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DIRQL_LOG: 'silent' },
    });
    let out = '';
    let err = '';
    host.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const qemuPid = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`host did not come up: ${out} ${err}`)), 20_000);
      host.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const pid = /QEMU pid (\d+)/.exec(out);
        if (pid && out.includes('holding')) {
          clearTimeout(timer);
          resolve(Number(pid[1]));
        }
      });
      host.once('exit', (code) => reject(new Error(`host exited early (${code}): ${out} ${err}`)));
    });
    expect(processGone(qemuPid)).toBe(false);
    const exited = new Promise((r) => host.once('exit', r));
    host.kill('SIGKILL');
    await exited;
    await waitUntil(`QEMU (pid ${qemuPid}) to exit`, () => processGone(qemuPid), 5000, 50);
    expect(shmFilesOf(host.pid!)).toEqual([]);
  });
});
