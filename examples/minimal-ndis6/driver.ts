/**
 * The smallest useful NDIS 6 miniport for QEMU's e1000, written against `dirql/driver` alone: it
 * reads the station address from RAL0/RAH0, the link from STATUS, unmasks only the link-change
 * interrupt (ICR.LSC), counts its ISRs and DPCs, and indicates link changes
 * (NDIS_STATUS_LINK_STATE). It moves no frames: sends complete with NDIS_STATUS_FAILURE.
 *
 *   npx dirql up --driver examples/minimal-ndis6/driver.ts
 *   npx dirql run examples/minimal-ndis6/link.scenario.ts
 *
 * Registers: Intel 8254x Software Developer's Manual, 13.4 (STATUS, ICR, IMS, IMC) and 13.5 (RAL/RAH).
 */
import {
  MediaConnectState,
  MediaDuplexState,
  NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL,
  NdisPacketType,
  NdisRequestType,
  NdisStatus,
  Oid,
  defineRegisterMap,
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
export const device = 'e1000';

/** The few e1000 registers this driver touches, with the semantics the lockset verifier needs. */
const Reg = { STATUS: 0x0008, ICR: 0x00c0, IMS: 0x00d0, IMC: 0x00d8, RAL0: 0x5400, RAH0: 0x5404 } as const;
export const registerName = defineRegisterMap({
  STATUS: Reg.STATUS,
  ICR: { offset: Reg.ICR, semantics: 'read-to-clear' },
  IMS: { offset: Reg.IMS, semantics: { pair: 'IMS', op: 'set' } },
  IMC: { offset: Reg.IMC, semantics: { pair: 'IMS', op: 'clear' } },
  RAL0: Reg.RAL0,
  RAH0: Reg.RAH0,
});

/** ICR/IMS bit 2: link status change. */
const LSC = 1 << 2;
/** STATUS: bit 0 full duplex, bit 1 link up, bits 7:6 speed (00 10 Mb/s, 01 100 Mb/s, 1x 1000 Mb/s). */
const STATUS_FD = 1 << 0;
const STATUS_LU = 1 << 1;

interface Link {
  up: boolean;
  speed: number;
  fullDuplex: boolean;
}

/** MiniportAdapterContext. */
export class MinimalAdapter {
  interrupt: NdisInterrupt | null = null;
  mac = new Uint8Array(6);
  link: Link = { up: false, speed: 0, fullDuplex: false };
  /** Causes the ISR saw and the DPC has not handled: written at DIRQL, taken under synchronize. */
  pendingCauses = 0;
  packetFilter = 0;
  isrCalls = 0;
  dpcCalls = 0;
  linkIndications = 0;
  constructor(
    readonly handle: MiniportAdapter,
    readonly regs: DeviceRegisters,
  ) {}
}

async function readLink(regs: DeviceRegisters): Promise<Link> {
  const status = await regs.read32(Reg.STATUS);
  if ((status & STATUS_LU) === 0) return { up: false, speed: 0, fullDuplex: false };
  const speedBits = (status >>> 6) & 3;
  const speed = speedBits === 0 ? 10_000_000 : speedBits === 1 ? 100_000_000 : 1_000_000_000;
  return { up: true, speed, fullDuplex: (status & STATUS_FD) !== 0 };
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
  const ctxOf = (c: unknown) => c as MinimalAdapter;

  /** MiniportInterrupt (DIRQL): ICR is read-to-clear, so one read acknowledges; mask LSC until the DPC ran. */
  async function MiniportInterrupt(c: unknown): Promise<MiniportInterruptResult> {
    const a = ctxOf(c);
    const causes = await a.regs.read32(Reg.ICR);
    if ((causes & LSC) === 0) return { recognized: false, queueDefaultDpc: false };
    a.isrCalls++;
    a.pendingCauses |= causes;
    await a.regs.write32(Reg.IMC, LSC);
    return { recognized: true, queueDefaultDpc: true };
  }

  /** MiniportSynchronizeInterrupt callbacks: what the ISR also touches is only touched under its lock. */
  function takeCauses(c: unknown): boolean {
    const a = ctxOf(c);
    const causes = a.pendingCauses;
    a.pendingCauses = 0;
    return causes !== 0;
  }
  async function unmask(c: unknown): Promise<boolean> {
    await ctxOf(c).regs.write32(Reg.IMS, LSC);
    return true;
  }
  async function maskAll(c: unknown): Promise<boolean> {
    await ctxOf(c).regs.write32(Reg.IMC, 0xffffffff);
    return true;
  }
  async function maskAllThenUnmaskLinkChange(c: unknown): Promise<boolean> {
    const regs = ctxOf(c).regs;
    await regs.write32(Reg.IMC, 0xffffffff);
    await regs.read32(Reg.ICR);
    await regs.write32(Reg.IMS, LSC);
    return true;
  }

  /** MiniportInterruptDPC (DISPATCH_LEVEL): read STATUS, indicate a changed link, unmask. */
  async function MiniportInterruptDpc(c: unknown): Promise<void> {
    const a = ctxOf(c);
    a.dpcCalls++;
    await ndis.synchronizeWithInterruptEx(a.interrupt!, 0, takeCauses, a);
    const link = await readLink(a.regs);
    if (link.up !== a.link.up || link.speed !== a.link.speed) {
      a.link = link;
      a.linkIndications++;
      ndis.indicateStatusEx(a.handle, { statusCode: NdisStatus.LINK_STATE, buffer: ndisLink(link) });
    }
    await ndis.synchronizeWithInterruptEx(a.interrupt!, 0, unmask, a);
  }

  return ndis.registerMiniportDriver({
    name: 'minimal-e1000',
    majorNdisVersion: 6,
    minorNdisVersion: 20,

    /** MiniportInitializeEx (PASSIVE_LEVEL). */
    async initializeHandlerEx(handle, _driverContext, init): Promise<NDIS_STATUS> {
      const regs = init.allocatedResources.registers;
      const a = new MinimalAdapter(handle, regs);
      // RAL0 holds bytes 0–3 little-endian, RAH0 bytes 4–5 in its low half (QEMU loads them from the EEPROM at reset).
      const ral = await regs.read32(Reg.RAL0);
      const rah = await regs.read32(Reg.RAH0);
      a.mac.set([ral & 0xff, (ral >>> 8) & 0xff, (ral >>> 16) & 0xff, ral >>> 24, rah & 0xff, (rah >>> 8) & 0xff]);
      a.link = await readLink(regs);
      ndis.setMiniportAttributes(handle, { type: 'registration', miniportAdapterContext: a, checkForHangTimeInSeconds: 0 });
      ndis.setMiniportAttributes(handle, {
        type: 'general',
        mtuSize: 1500,
        maxXmitLinkSpeed: 1_000_000_000,
        maxRcvLinkSpeed: 1_000_000_000,
        ...ndisLink(a.link),
        supportedPacketFilters: NdisPacketType.DIRECTED | NdisPacketType.BROADCAST,
        maxMulticastListSize: 0,
        permanentMacAddress: Uint8Array.from(a.mac),
        currentMacAddress: Uint8Array.from(a.mac),
      });
      a.interrupt = ndis.registerInterruptEx(handle, a, { interruptHandler: MiniportInterrupt, interruptDpcHandler: MiniportInterruptDpc });
      // Everything masked, what reset left pending cleared, then link changes only: under the
      // interrupt lock, as the ISR writes the same mask.
      await ndis.synchronizeWithInterruptEx(a.interrupt, 0, maskAllThenUnmaskLinkChange, a);
      return NdisStatus.SUCCESS;
    },

    /** MiniportHaltEx (PASSIVE_LEVEL): mask, then give the interrupt back. */
    async haltHandlerEx(c) {
      const a = ctxOf(c);
      if (a.interrupt) {
        await ndis.synchronizeWithInterruptEx(a.interrupt, 0, maskAll, a);
        await ndis.deregisterInterruptEx(a.interrupt);
      }
      a.interrupt = null;
    },

    /** MiniportSendNetBufferLists: no transmit path; every NBL fails. */
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
