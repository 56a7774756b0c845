import { describe, expect, it } from 'vitest';
import { E1000ConfigError, E1000EepromError, E1000StateError, E1000TimeoutError } from '../../../src/drivers/e1000/errors.ts';
import { E1000Hardware, interruptRateToItr } from '../../../src/drivers/e1000/nic.ts';
import { Ctrl, Icr, MTA_REGISTER_COUNT, ral, rah, Rctl, Reg, Tctl } from '../../../src/drivers/e1000/registers.ts';
import { TxCmd } from '../../../src/drivers/e1000/descriptors.ts';
import { BumpDma, FakeRegisters, RecordingMemory, RingModel } from './fakes.ts';

const MAC_WORDS = [0x5452, 0x1200, 0x5634];

/** Just enough of the 82540EM's register semantics for the hardware layer's bookkeeping. */
function nicRegisters(opts: { eeprom?: number[]; rstSticks?: boolean } = {}): FakeRegisters {
  const regs = new FakeRegisters();
  const eeprom = new Array(64).fill(0);
  (opts.eeprom ?? MAC_WORDS).forEach((w, i) => (eeprom[i] = w));
  eeprom[0x3f] = (0xbaba - eeprom.slice(0, 0x3f).reduce((a, b) => a + b, 0)) & 0xffff;
  regs.values.set(Reg.STATUS, 0x80080783);
  regs.values.set(ral(0), 0x12005452);
  regs.values.set(rah(0), 0x8000_5634);
  regs.onWrite.set(Reg.CTRL, (v) => {
    if (!opts.rstSticks) regs.values.set(Reg.CTRL, v & ~Ctrl.RST);
  });
  regs.onRead.set(Reg.EERD, (v) => (v & 1 ? ((eeprom[v >>> 8]! << 16) | 0x10 | (v & 0xff00)) >>> 0 : v));
  regs.onRead.set(Reg.ICR, (v) => {
    regs.values.set(Reg.ICR, 0);
    return v;
  });
  regs.onWrite.set(Reg.IMS, (v) => regs.values.set(Reg.IMS, v));
  return regs;
}

function hardware(regs = nicRegisters(), extra: { timeoutMs?: number; delay?: (us: number) => Promise<void> } = {}) {
  const memory = new RecordingMemory();
  const dma = new BumpDma();
  const nic = new E1000Hardware({ registers: regs, memory, dma, txRingSize: 8, rxRingSize: 8, ...extra });
  return { nic, regs, memory, dma };
}

describe('E1000Hardware', () => {
  it('reset masks interrupts, stops RX/TX, sets CTRL.RST and writes a known state', async () => {
    const { nic, regs } = hardware();
    regs.values.set(Reg.RDT, 55);
    regs.values.set(Reg.MTA + 4 * 9, 0xffff);
    regs.values.set(ral(3), 0x1234);
    regs.values.set(Reg.ICR, Icr.LSC);
    await nic.reset();
    const offsets = regs.writes.map((w) => w.offset);
    expect(offsets.slice(0, 3)).toEqual([Reg.IMC, Reg.RCTL, Reg.TCTL]);
    expect(regs.writesTo(Reg.IMC)[0]).toBe(0xffffffff);
    expect(regs.writesTo(Reg.CTRL)[0]! & Ctrl.RST).toBe(Ctrl.RST);
    expect(regs.values.get(Reg.CTRL)! & (Ctrl.SLU | Ctrl.RST)).toBe(Ctrl.SLU);
    for (const reg of [Reg.RDT, Reg.RDH, Reg.TDT, Reg.TDH, Reg.ITR, Reg.RADV, Reg.TADV, Reg.MTA + 4 * 9, ral(3), rah(3)]) {
      expect(regs.values.get(reg)).toBe(0);
    }
    expect(regs.values.get(Reg.ICR)).toBe(0);
  });

  it('reset fails with a typed timeout when CTRL.RST never clears', async () => {
    const { nic } = hardware(nicRegisters({ rstSticks: true }), { timeoutMs: 20 });
    await expect(nic.reset()).rejects.toThrow(E1000TimeoutError);
  });

  it("waits between polls with the driver's own sleep (the kernel's NdisMSleep), not a timer of its own", async () => {
    const sleeps: number[] = [];
    const { nic } = hardware(nicRegisters({ rstSticks: true }), {
      timeoutMs: 20,
      delay: async (us) => {
        sleeps.push(us);
        // A real millisecond, as NdisMSleep takes: the reset's 20 ms timeout must elapse.
        await new Promise((r) => setTimeout(r, 1));
      },
    });
    await expect(nic.reset()).rejects.toBeInstanceOf(E1000TimeoutError);
    expect(sleeps.length).toBeGreaterThan(0);
    expect(sleeps.every((us) => us === 1000)).toBe(true);
  });

  it('reads the MAC from RAL0/RAH0 and the EEPROM and accepts them when they agree', async () => {
    const { nic } = hardware();
    expect(await nic.readMacAddress()).toBe('52:54:00:12:34:56');
    expect(nic.mac).toBe('52:54:00:12:34:56');
    expect(await nic.validateEepromChecksum()).toBe(0xbaba);
  });

  it('refuses a MAC in RAL0/RAH0 that the EEPROM contradicts', async () => {
    const { nic } = hardware(nicRegisters({ eeprom: [0x5452, 0x1200, 0x9934] }));
    await expect(nic.readMacAddress()).rejects.toThrow(E1000EepromError);
  });

  it('programs RAL0/RAH0 from the EEPROM when RAH0 holds no valid address', async () => {
    const regs = nicRegisters();
    regs.values.set(ral(0), 0);
    regs.values.set(rah(0), 0);
    const { nic } = hardware(regs);
    expect(await nic.readMacAddress()).toBe('52:54:00:12:34:56');
    expect(regs.values.get(ral(0))).toBe(0x12005452);
    expect(regs.values.get(rah(0))).toBe(0x8000_5634);
  });

  it('setMacAddress programs RAL0/RAH0 with AV and refuses a multicast address', async () => {
    const { nic, regs } = hardware();
    await nic.setMacAddress('02:11:22:33:44:55');
    expect(regs.values.get(ral(0))).toBe(0x33221102);
    expect(regs.values.get(rah(0))).toBe(0x8000_5544);
    expect(nic.mac).toBe('02:11:22:33:44:55');
    await expect(nic.setMacAddress('03:11:22:33:44:55')).rejects.toThrow(E1000ConfigError);
  });

  it('detects a wrong EEPROM checksum', async () => {
    const regs = nicRegisters();
    const hook = regs.onRead.get(Reg.EERD)!;
    regs.onRead.set(Reg.EERD, (v) => (v >>> 8 === 0x3f && v & 1 ? (hook(v) ^ 0x10000) >>> 0 : hook(v)));
    const { nic } = hardware(regs);
    await expect(nic.validateEepromChecksum()).rejects.toThrow(E1000EepromError);
  });

  it('decodes link state from STATUS', async () => {
    const regs = nicRegisters();
    const { nic } = hardware(regs);
    expect(await nic.readLinkState()).toEqual({ up: true, speedMbps: 1000, fullDuplex: true });
    regs.values.set(Reg.STATUS, 0x80080741); // LU clear, SPEED 01, FD set
    expect(await nic.readLinkState()).toEqual({ up: false, speedMbps: 100, fullDuplex: true });
  });

  it('initialize enables TX and RX with 2048-byte buffers, CRC stripping and broadcasts', async () => {
    const { nic, regs } = hardware();
    const { mac, link } = await nic.initialize();
    expect(mac).toBe('52:54:00:12:34:56');
    expect(link.up).toBe(true);
    const rctl = regs.values.get(Reg.RCTL)!;
    expect(rctl & (Rctl.EN | Rctl.BAM | Rctl.SECRC)).toBe(Rctl.EN | Rctl.BAM | Rctl.SECRC);
    expect(rctl & (Rctl.BSIZE_MASK | Rctl.BSEX | Rctl.UPE | Rctl.MPE | Rctl.LPE)).toBe(0);
    const tctl = regs.values.get(Reg.TCTL)!;
    expect(tctl & (Tctl.EN | Tctl.PSP)).toBe(Tctl.EN | Tctl.PSP);
    expect(regs.values.get(Reg.TDLEN)).toBe(8 * 16);
    expect(regs.values.get(Reg.RDT)).toBe(7);
    expect(regs.values.get(Reg.IMS) ?? 0).toBe(0);
  });

  it('setPacketFilter writes only the MTA registers that change and RCTL only when it changes', async () => {
    const { nic, regs } = hardware();
    await nic.initialize();
    regs.writes.length = 0;
    await nic.setPacketFilter({ broadcast: true, multicast: ['01:00:5e:00:00:01', '33:33:ff:12:34:56'] });
    expect(regs.writes).toEqual([
      { offset: Reg.MTA + 0, value: 1 << 16 },
      { offset: Reg.MTA + 4 * 43, value: 1 << 3 },
    ]);
    regs.writes.length = 0;
    await nic.setPacketFilter({ broadcast: true, multicast: ['33:33:ff:12:34:56'] });
    expect(regs.writes).toEqual([{ offset: Reg.MTA + 0, value: 0 }]);
    regs.writes.length = 0;
    await nic.setPacketFilter({ broadcast: true, promiscuous: true, multicast: ['33:33:ff:12:34:56'] });
    expect(regs.writes).toHaveLength(1);
    expect(regs.writes[0]!.offset).toBe(Reg.RCTL);
    expect(regs.writes[0]!.value & (Rctl.UPE | Rctl.MPE | Rctl.BAM | Rctl.EN)).toBe(Rctl.UPE | Rctl.MPE | Rctl.BAM | Rctl.EN);
  });

  it('setPacketFilter rejects a unicast address in the multicast list', async () => {
    const { nic } = hardware();
    await expect(nic.setPacketFilter({ multicast: ['52:54:00:00:00:01'] })).rejects.toThrow(E1000ConfigError);
  });

  it('setInterruptThrottle writes the values in NIC units and enables IDE while TX delays are set', async () => {
    const { nic, regs, memory } = hardware();
    const model = new RingModel(regs, memory);
    await nic.initialize();
    await nic.setInterruptThrottle({ itr: interruptRateToItr(8000), tadv: 64 });
    expect(regs.values.get(Reg.ITR)).toBe(488);
    expect(regs.values.get(Reg.TADV)).toBe(64);
    expect(nic.interruptThrottle).toEqual({ itr: 488, rdtr: 0, radv: 0, tidv: 0, tadv: 64 });
    await nic.tx.submit(1, (_, view) => Buffer.alloc(60, 1).copy(view));
    expect(memory.bytes[nic.tx.descriptors.address + 11]! & TxCmd.IDE).toBe(TxCmd.IDE);
    expect(model.sent).toHaveLength(1);
    await expect(nic.setInterruptThrottle({ radv: 0x10000 })).rejects.toThrow(E1000ConfigError);
  });

  it('readAndClearCauses returns ICR and clears it', async () => {
    const { nic, regs } = hardware();
    regs.values.set(Reg.ICR, Icr.TXDW | Icr.RXT0);
    expect(await nic.readAndClearCauses()).toBe(Icr.TXDW | Icr.RXT0);
    expect(await nic.readAndClearCauses()).toBe(0);
  });

  it('quiesce masks interrupts, disables RX, lets TX drain, disables TX and clears causes', async () => {
    const regs = nicRegisters();
    const { nic, memory } = hardware(regs);
    const model = new RingModel(regs, memory);
    model.autoTransmit = false;
    await nic.initialize();
    await nic.enableInterrupts();
    await nic.tx.submit(2, (_, view) => Buffer.alloc(64, 2).copy(view));
    regs.values.set(Reg.ICR, Icr.RXT0);
    let tdhReads = 0;
    regs.onRead.set(Reg.TDH, (v) => {
      if (++tdhReads === 3) model.transmit();
      return regs.values.get(Reg.TDH) ?? v;
    });
    regs.writes.length = 0;
    await nic.quiesce();
    expect(regs.writes[0]).toEqual({ offset: Reg.IMC, value: 0xffffffff });
    expect(regs.values.get(Reg.RCTL)! & Rctl.EN).toBe(0);
    expect(regs.values.get(Reg.TCTL)! & Tctl.EN).toBe(0);
    expect(tdhReads).toBe(3);
    expect(regs.values.get(Reg.ICR)).toBe(0);
    expect(nic.tx.counters.completed).toBe(2);
  });

  it('quiesce reports TX that never drains, and still disables TX', async () => {
    const regs = nicRegisters();
    const { nic, memory } = hardware(regs, { timeoutMs: 20 });
    new RingModel(regs, memory).autoTransmit = false;
    await nic.initialize();
    await nic.tx.submit(1, (_, view) => Buffer.alloc(64, 2).copy(view));
    await expect(nic.quiesce()).rejects.toThrow(E1000TimeoutError);
    expect(regs.values.get(Reg.TCTL)! & Tctl.EN).toBe(0);
  });

  it('refuses to free DMA memory the NIC may still use, and frees it after quiesce', async () => {
    const { nic, dma } = hardware();
    await nic.initialize();
    expect(() => nic.release()).toThrow(E1000StateError);
    await nic.quiesce();
    nic.release();
    nic.release();
    expect(dma.live.size).toBe(0);
    await expect(nic.reset()).rejects.toThrow(E1000StateError);
  });

  it('writes every MTA register to zero on reset', async () => {
    const { nic, regs } = hardware();
    await nic.reset();
    const mtaWrites = regs.writes.filter((w) => w.offset >= Reg.MTA && w.offset < Reg.MTA + 4 * MTA_REGISTER_COUNT);
    expect(mtaWrites).toHaveLength(MTA_REGISTER_COUNT);
    expect(mtaWrites.every((w) => w.value === 0)).toBe(true);
  });
});
