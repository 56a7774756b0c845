import { withRegisterSemantics, type RegisterMap, type RegisterSemantics } from '../../kernel/register-map.ts';

/**
 * Intel 82540EM (QEMU "e1000") register offsets and bit names, from the 8254x Software
 * Developer's Manual (SDM), chapter 13. Offsets are byte offsets into BAR0 (128 KiB MMIO).
 * Every register is 32 bits wide and must be accessed with 32-bit reads and writes.
 */

/**
 * Register access as the hardware layer needs it. Both the platform's register backend and the
 * kernel's DeviceRegisters fit. Writes may be posted (return void) or a preemption point
 * (return a promise); callers always `await` them so both behave correctly.
 */
export interface E1000Registers {
  read32(offset: number): Promise<number>;
  write32(offset: number, value: number): void | Promise<void>;
}

/** Register offsets (SDM table 13-2). */
export const Reg = {
  CTRL: 0x0000,
  STATUS: 0x0008,
  EECD: 0x0010,
  EERD: 0x0014,
  CTRL_EXT: 0x0018,
  MDIC: 0x0020,
  FCAL: 0x0028,
  FCAH: 0x002c,
  FCT: 0x0030,
  VET: 0x0038,
  ICR: 0x00c0,
  ITR: 0x00c4,
  ICS: 0x00c8,
  IMS: 0x00d0,
  IMC: 0x00d8,
  RCTL: 0x0100,
  FCTTV: 0x0170,
  TCTL: 0x0400,
  TIPG: 0x0410,
  PBA: 0x1000,
  RDBAL: 0x2800,
  RDBAH: 0x2804,
  RDLEN: 0x2808,
  RDH: 0x2810,
  RDT: 0x2818,
  RDTR: 0x2820,
  RADV: 0x282c,
  TDBAL: 0x3800,
  TDBAH: 0x3804,
  TDLEN: 0x3808,
  TDH: 0x3810,
  TDT: 0x3818,
  TIDV: 0x3820,
  TXDCTL: 0x3828,
  TADV: 0x382c,
  RXCSUM: 0x5000,
  /** Multicast Table Array: 128 registers, 4096 hash bits. */
  MTA: 0x5200,
  /** Receive Address Low/High pairs: 16 entries of 8 bytes (RAL n = RA + 8n, RAH n = RA + 8n + 4). */
  RA: 0x5400,
  VFTA: 0x5600,
} as const;

export const MTA_REGISTER_COUNT = 128;
export const RECEIVE_ADDRESS_COUNT = 16;

/** RAL n offset. */
export function ral(n: number): number {
  return Reg.RA + 8 * n;
}
/** RAH n offset. */
export function rah(n: number): number {
  return Reg.RA + 8 * n + 4;
}

/** Statistics block 0x4000–0x40FF (SDM 13.7). Counters saturate at their maximum. */
export const Stat = {
  CRCERRS: 0x4000,
  ALGNERRC: 0x4004,
  SYMERRS: 0x4008,
  RXERRC: 0x400c,
  MPC: 0x4010,
  SCC: 0x4014,
  ECOL: 0x4018,
  MCC: 0x401c,
  LATECOL: 0x4020,
  COLC: 0x4028,
  DC: 0x4030,
  TNCRS: 0x4034,
  SEC: 0x4038,
  CEXTERR: 0x403c,
  RLEC: 0x4040,
  XONRXC: 0x4048,
  XONTXC: 0x404c,
  XOFFRXC: 0x4050,
  XOFFTXC: 0x4054,
  FCRUC: 0x4058,
  PRC64: 0x405c,
  PRC127: 0x4060,
  PRC255: 0x4064,
  PRC511: 0x4068,
  PRC1023: 0x406c,
  PRC1522: 0x4070,
  GPRC: 0x4074,
  BPRC: 0x4078,
  MPRC: 0x407c,
  GPTC: 0x4080,
  GORCL: 0x4088,
  GORCH: 0x408c,
  GOTCL: 0x4090,
  GOTCH: 0x4094,
  RNBC: 0x40a0,
  RUC: 0x40a4,
  RFC: 0x40a8,
  ROC: 0x40ac,
  RJC: 0x40b0,
  MGTPRC: 0x40b4,
  MGTPDC: 0x40b8,
  MGTPTC: 0x40bc,
  TORL: 0x40c0,
  TORH: 0x40c4,
  TOTL: 0x40c8,
  TOTH: 0x40cc,
  TPR: 0x40d0,
  TPT: 0x40d4,
  PTC64: 0x40d8,
  PTC127: 0x40dc,
  PTC255: 0x40e0,
  PTC511: 0x40e4,
  PTC1023: 0x40e8,
  PTC1522: 0x40ec,
  MPTC: 0x40f0,
  BPTC: 0x40f4,
  TSCTC: 0x40f8,
  TSCTFC: 0x40fc,
} as const;

/** CTRL bits. */
export const Ctrl = {
  FD: 1 << 0,
  LRST: 1 << 3,
  ASDE: 1 << 5,
  SLU: 1 << 6,
  ILOS: 1 << 7,
  SPEED_MASK: 3 << 8,
  FRCSPD: 1 << 11,
  FRCDPLX: 1 << 12,
  RST: 1 << 26,
  RFCE: 1 << 27,
  TFCE: 1 << 28,
  VME: 1 << 30,
  PHY_RST: 0x8000_0000,
} as const;

/** STATUS bits. SPEED: 00 = 10 Mb/s, 01 = 100 Mb/s, 1x = 1000 Mb/s. */
export const Status = {
  FD: 1 << 0,
  LU: 1 << 1,
  TXOFF: 1 << 4,
  SPEED_SHIFT: 6,
  SPEED_MASK: 3 << 6,
} as const;

/** EECD bits (bit-banged Microwire interface; EERD is the easy way). */
export const Eecd = {
  SK: 1 << 0,
  CS: 1 << 1,
  DI: 1 << 2,
  DO: 1 << 3,
  REQ: 1 << 6,
  GNT: 1 << 7,
  PRES: 1 << 8,
} as const;

/** EERD (EEPROM Read) fields on the 82540EM: START, DONE, word address 15:8, data 31:16. */
export const Eerd = {
  START: 1 << 0,
  DONE: 1 << 4,
  ADDR_SHIFT: 8,
  DATA_SHIFT: 16,
} as const;

/** EEPROM word addresses. Words 0–2 hold the MAC; words 0x00–0x3F sum to EEPROM_CHECKSUM_SUM. */
export const EEPROM_WORD_COUNT = 0x40;
export const EEPROM_CHECKSUM_SUM = 0xbaba;

/** Interrupt cause bits, shared by ICR, ICS, IMS and IMC (SDM 13.4.17–13.4.21). */
export const Icr = {
  /** Transmit descriptor written back. */
  TXDW: 1 << 0,
  /** Transmit queue empty. */
  TXQE: 1 << 1,
  /** Link status change. */
  LSC: 1 << 2,
  /** Receive sequence error. */
  RXSEQ: 1 << 3,
  /** Receive descriptor minimum threshold reached (RCTL.RDMTS). */
  RXDMT0: 1 << 4,
  /** Receiver overrun: a frame arrived and no descriptor was free. */
  RXO: 1 << 6,
  /** Receiver timer: a frame was stored (after RDTR/RADV if set). */
  RXT0: 1 << 7,
  /** MDI/O access complete. */
  MDAC: 1 << 9,
  RXCFG: 1 << 10,
  GPI_EN0: 1 << 11,
  GPI_EN1: 1 << 12,
  GPI_EN2: 1 << 13,
  GPI_EN3: 1 << 14,
  /** Transmit descriptor low threshold. */
  TXD_LOW: 1 << 15,
  /** Small receive packet detected. */
  SRPD: 1 << 16,
} as const;

/** Every cause bit; writing it to IMC masks everything. */
export const ICR_ALL = 0xffffffff;

/** RCTL bits. BSIZE selects 2048/1024/512/256 bytes (×16 with BSEX). */
export const Rctl = {
  EN: 1 << 1,
  SBP: 1 << 2,
  /** Unicast promiscuous. */
  UPE: 1 << 3,
  /** Multicast promiscuous. */
  MPE: 1 << 4,
  /** Long packet enable (frames over 1522 bytes). */
  LPE: 1 << 5,
  LBM_MASK: 3 << 6,
  RDMTS_HALF: 0 << 8,
  RDMTS_QUARTER: 1 << 8,
  RDMTS_EIGHTH: 2 << 8,
  /** Multicast offset: which 12 destination-address bits index the MTA. */
  MO_SHIFT: 12,
  MO_MASK: 3 << 12,
  /** Broadcast accept mode. */
  BAM: 1 << 15,
  BSIZE_2048: 0 << 16,
  BSIZE_1024: 1 << 16,
  BSIZE_512: 2 << 16,
  BSIZE_256: 3 << 16,
  BSIZE_MASK: 3 << 16,
  VFE: 1 << 18,
  CFIEN: 1 << 19,
  CFI: 1 << 20,
  DPF: 1 << 22,
  PMCF: 1 << 23,
  BSEX: 1 << 25,
  /** Strip Ethernet CRC: descriptor length then excludes the 4 FCS bytes. */
  SECRC: 1 << 26,
} as const;

/** TCTL bits and fields. CT bits 11:4 (collision threshold), COLD bits 21:12 (collision distance). */
export const Tctl = {
  EN: 1 << 1,
  /** Pad short packets to 64 bytes. */
  PSP: 1 << 3,
  CT_SHIFT: 4,
  CT_MASK: 0xff << 4,
  COLD_SHIFT: 12,
  COLD_MASK: 0x3ff << 12,
  SWXOFF: 1 << 22,
  RTLC: 1 << 24,
} as const;

/** SDM-recommended values: 15 retries, 64-byte collision distance at full duplex (512 at half). */
export const TCTL_CT_DEFAULT = 0x0f;
export const TCTL_COLD_FULL_DUPLEX = 0x40;
export const TCTL_COLD_HALF_DUPLEX = 0x200;

/** TIPG fields: IPGT 9:0, IPGR1 19:10, IPGR2 29:20. */
export const Tipg = {
  IPGR1_SHIFT: 10,
  IPGR2_SHIFT: 20,
} as const;

/** 82540EM copper values from the SDM's transmit initialisation section (IPGT 10, IPGR1 8, IPGR2 6). */
export const TIPG_DEFAULT = 10 | (8 << Tipg.IPGR1_SHIFT) | (6 << Tipg.IPGR2_SHIFT);

/** RAH: address valid bit. Bit-31 constants are written unsigned: `1 << 31` is negative in JS. */
export const RAH_AV = 0x8000_0000;

/** Interrupt throttle units: ITR counts 256 ns, RDTR/RADV/TIDV/TADV count 1.024 µs. */
export const ITR_UNIT_NS = 256;
export const DELAY_TIMER_UNIT_NS = 1024;

const NAMES = new Map<number, string>([
  ...Object.entries(Reg).map(([name, offset]) => [offset, name] as [number, string]),
  ...Object.entries(Stat).map(([name, offset]) => [offset, name] as [number, string]),
]);

function nameOf(offset: number): string | undefined {
  if (offset >= Reg.MTA && offset < Reg.MTA + 4 * MTA_REGISTER_COUNT) return `MTA[${(offset - Reg.MTA) / 4}]`;
  if (offset >= Reg.RA && offset < Reg.RA + 8 * RECEIVE_ADDRESS_COUNT) {
    const n = Math.floor((offset - Reg.RA) / 8);
    return `${(offset - Reg.RA) % 8 === 0 ? 'RAL' : 'RAH'}${n}`;
  }
  if (offset >= Reg.VFTA && offset < Reg.VFTA + 4 * 128) return `VFTA[${(offset - Reg.VFTA) / 4}]`;
  return NAMES.get(offset);
}

/**
 * The registers that are not plain, for the lockset verifier (SDM 13.4.17–13.4.21, 13.7): reading
 * ICR clears it; ICS only triggers; IMS sets and IMC clears bits of one interrupt mask (a write
 * alone is atomic, reading IMS and writing it back is not); the statistics clear on read.
 */
const SEMANTICS: Readonly<Record<string, RegisterSemantics>> = {
  ICR: 'read-to-clear',
  ICS: 'command',
  IMS: { pair: 'IMS', op: 'set' },
  IMC: { pair: 'IMS', op: 'clear' },
  ...Object.fromEntries(Object.keys(Stat).map((name) => [name, 'read-to-clear' as const])),
};

/**
 * The register map: the register's name for traces ("ICR", "RDT", "MTA[5]", "RAH0", "GPRC"), or
 * undefined for an offset this map does not know, with each register's semantics attached for the
 * lockset verifier. Fits DeviceRegistersOptions.registerName.
 */
export const registerName: RegisterMap = withRegisterSemantics(nameOf, SEMANTICS);
