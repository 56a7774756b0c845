/**
 * A tiny NDIS 6 miniport for QEMU's RTL8139, written against `dirql/driver` alone: it reads the
 * station address from IDR0–5 (byte registers, READ_REGISTER_UCHAR), reports the link from the
 * PHY (BMSR link bit, MSR speed, the negotiated duplex), and takes the chip's link-change interrupt (PUN/LinkChg) to
 * indicate link changes. It moves no frames: sends complete with NDIS_STATUS_FAILURE.
 *
 *   npx dirql up --driver examples/rtl8139-ndis6/driver.ts
 *
 * Registers: Realtek RTL8139C(L) datasheet, section 6; QEMU 7.2 hw/net/rtl8139.c (BAR0 I/O, BAR1
 * the same 256 bytes as MMIO; QEMU clears BMSR bit 2 and raises LinkChg on `set_link off`).
 */
import {
  MediaConnectState,
  MediaDuplexState,
  NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL,
  NdisPacketType,
  NdisRequestType,
  NdisStatus,
  Oid,
  registerNames,
  type DeviceRegisters,
  type DriverEntryContext,
  type MiniportAdapter,
  type MiniportDriver,
  type MiniportInterruptResult,
  type Ndis6Library,
  type NdisInterrupt,
  type NdisOidRequest,
  type NetBufferList,
  type NDIS_STATUS,
} from 'dirql/driver';

export const framework = 'ndis6';
export const device = 'rtl8139';

/** RTL8139 registers (offsets into BAR1). */
export const Rtl = {
  IDR0: 0x00,
  MAR0: 0x08,
  CR: 0x37,
  IMR: 0x3c,
  ISR: 0x3e,
  MSR: 0x58,
  BMCR: 0x62,
  BMSR: 0x64,
  ANAR: 0x66,
  ANLPAR: 0x68,
} as const;

/** ISR/IMR bit 5: packet underrun / link change (QEMU raises it on every link change). */
const INT_LINK_CHANGE = 0x0020;
/** BMSR bit 2: link status (QEMU clears it on `set_link off`). */
const BMSR_LINK = 0x0004;
/** MSR bit 3: 10 Mb/s (clear: 100). */
const MSR_SPEED_10 = 0x08;
/** BMCR bit 12: auto-negotiation on (QEMU's reset value); bit 8: full duplex when forced. */
const BMCR_ANE = 0x1000;
const BMCR_FULL_DUPLEX = 0x0100;
/** ANAR/ANLPAR abilities: 100BASE-TX full duplex, 100BASE-TX, 10BASE-T full duplex. */
const NWAY_100_FULL = 0x0100;
const NWAY_100_HALF = 0x0080;
const NWAY_10_FULL = 0x0040;

export const registerName = registerNames(Rtl);

interface Link {
  up: boolean;
  speed: number;
  fullDuplex: boolean;
}

/** MiniportAdapterContext. */
class Rtl8139Adapter {
  interrupt: NdisInterrupt | null = null;
  mac = new Uint8Array(6);
  link: Link = { up: false, speed: 0, fullDuplex: false };
  /** ISR causes the DPC has not handled yet (written at DIRQL, taken under synchronize). */
  pendingCauses = 0;
  packetFilter = 0;
  isrCalls = 0;
  dpcCalls = 0;
  constructor(
    readonly handle: MiniportAdapter,
    readonly regs: DeviceRegisters,
  ) {}
}

/** The link as the PHY reports it: up from BMSR, speed from MSR, duplex negotiated (ANAR & ANLPAR) or forced (BMCR). */
async function readLink(regs: DeviceRegisters): Promise<Link> {
  const up = ((await regs.read16(Rtl.BMSR)) & BMSR_LINK) !== 0;
  if (!up) return { up, speed: 0, fullDuplex: false };
  const speed = ((await regs.read8(Rtl.MSR)) & MSR_SPEED_10) !== 0 ? 10_000_000 : 100_000_000;
  const bmcr = await regs.read16(Rtl.BMCR);
  let fullDuplex = (bmcr & BMCR_FULL_DUPLEX) !== 0;
  if ((bmcr & BMCR_ANE) !== 0) {
    const common = (await regs.read16(Rtl.ANAR)) & (await regs.read16(Rtl.ANLPAR));
    // The best mode both ends offer (IEEE 802.3 28B.3 priority): 100 FD, 100 HD, 10 FD, 10 HD.
    fullDuplex = (common & NWAY_100_FULL) !== 0 || ((common & NWAY_100_HALF) === 0 && (common & NWAY_10_FULL) !== 0);
  }
  return { up, speed, fullDuplex };
}

function ndisLink(link: Link) {
  return {
    mediaConnectState: link.up ? MediaConnectState.Connected : MediaConnectState.Disconnected,
    mediaDuplexState: link.fullDuplex ? MediaDuplexState.Full : MediaDuplexState.Half,
    xmitLinkSpeed: link.speed,
    rcvLinkSpeed: link.speed,
  };
}

/** DriverEntry: NdisMRegisterMiniportDriver. */
export function driverEntry(ndis: Ndis6Library, _ctx: DriverEntryContext): MiniportDriver {
  const ctxOf = (c: unknown) => c as Rtl8139Adapter;

  /** MiniportInterrupt (DIRQL): ours if an unmasked cause is set; acknowledge it, mask, ask for the DPC. */
  async function MiniportInterrupt(c: unknown): Promise<MiniportInterruptResult> {
    const a = ctxOf(c);
    const causes = await a.regs.read16(Rtl.ISR);
    if ((causes & INT_LINK_CHANGE) === 0) return { recognized: false, queueDefaultDpc: false };
    a.isrCalls++;
    a.pendingCauses |= causes;
    await a.regs.write16(Rtl.ISR, causes);
    await a.regs.write16(Rtl.IMR, 0);
    return { recognized: true, queueDefaultDpc: true };
  }

  function takeCauses(c: unknown): boolean {
    const a = ctxOf(c);
    const causes = a.pendingCauses;
    a.pendingCauses = 0;
    return causes !== 0;
  }

  async function unmask(c: unknown): Promise<boolean> {
    await ctxOf(c).regs.write16(Rtl.IMR, INT_LINK_CHANGE);
    return true;
  }

  /** MiniportInterruptDPC (DISPATCH_LEVEL): read the PHY, indicate a changed link, unmask. */
  async function MiniportInterruptDpc(c: unknown): Promise<void> {
    const a = ctxOf(c);
    a.dpcCalls++;
    await ndis.synchronizeWithInterruptEx(a.interrupt!, 0, takeCauses, a);
    const link = await readLink(a.regs);
    if (link.up !== a.link.up || link.speed !== a.link.speed) {
      a.link = link;
      ndis.indicateStatusEx(a.handle, { statusCode: NdisStatus.LINK_STATE, buffer: ndisLink(link) });
    }
    await ndis.synchronizeWithInterruptEx(a.interrupt!, 0, unmask, a);
  }

  return ndis.registerMiniportDriver({
    name: 'rtl8139',
    majorNdisVersion: 6,
    minorNdisVersion: 20,

    /** MiniportInitializeEx (PASSIVE_LEVEL). */
    async initializeHandlerEx(handle, _driverContext, init): Promise<NDIS_STATUS> {
      const regs = init.allocatedResources.registers;
      const a = new Rtl8139Adapter(handle, regs);
      for (let i = 0; i < 6; i++) a.mac[i] = await regs.read8(Rtl.IDR0 + i);
      a.link = await readLink(regs);
      ndis.setMiniportAttributes(handle, { type: 'registration', miniportAdapterContext: a, checkForHangTimeInSeconds: 0 });
      ndis.setMiniportAttributes(handle, {
        type: 'general',
        mtuSize: 1500,
        maxXmitLinkSpeed: 100_000_000,
        maxRcvLinkSpeed: 100_000_000,
        ...ndisLink(a.link),
        supportedPacketFilters: NdisPacketType.DIRECTED | NdisPacketType.MULTICAST | NdisPacketType.BROADCAST | NdisPacketType.PROMISCUOUS,
        maxMulticastListSize: 0,
        permanentMacAddress: Uint8Array.from(a.mac),
        currentMacAddress: Uint8Array.from(a.mac),
      });
      a.interrupt = ndis.registerInterruptEx(handle, a, { interruptHandler: MiniportInterrupt, interruptDpcHandler: MiniportInterruptDpc });
      // Clear what reset left pending, then take link changes.
      await regs.write16(Rtl.ISR, 0xffff);
      await regs.write16(Rtl.IMR, INT_LINK_CHANGE);
      return NdisStatus.SUCCESS;
    },

    /** MiniportHaltEx (PASSIVE_LEVEL): mask, then give the interrupt back. */
    async haltHandlerEx(c) {
      const a = ctxOf(c);
      await a.regs.write16(Rtl.IMR, 0);
      if (a.interrupt) await ndis.deregisterInterruptEx(a.interrupt);
      a.interrupt = null;
    },

    /** MiniportSendNetBufferLists: this driver has no transmit path; every NBL fails. */
    sendNetBufferListsHandler(c, nbls) {
      for (let nbl: NetBufferList | null = nbls; nbl; nbl = nbl.next) nbl.status = NdisStatus.FAILURE;
      ndis.sendNetBufferListsComplete(ctxOf(c).handle, nbls, NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL);
    },

    /** MiniportReturnNetBufferLists: never called, nothing is indicated. */
    returnNetBufferListsHandler() {},

    /** MiniportOidRequest (PASSIVE_LEVEL). */
    oidRequestHandler(c, request: NdisOidRequest): NDIS_STATUS {
      const a = ctxOf(c);
      const query = request.requestType === NdisRequestType.QueryInformation;
      switch (request.oid) {
        case Oid.GEN_CURRENT_PACKET_FILTER:
          if (query) request.informationBuffer = a.packetFilter;
          else a.packetFilter = request.informationBuffer as number;
          return NdisStatus.SUCCESS;
        case Oid['802_3_CURRENT_ADDRESS']:
        case Oid['802_3_PERMANENT_ADDRESS']:
          if (!query) return NdisStatus.NOT_SUPPORTED;
          request.informationBuffer = Uint8Array.from(a.mac);
          request.bytesWritten = 6;
          return NdisStatus.SUCCESS;
        default:
          return NdisStatus.NOT_SUPPORTED;
      }
    },

    pauseHandler: () => NdisStatus.SUCCESS,
    restartHandler: () => NdisStatus.SUCCESS,
  });
}
