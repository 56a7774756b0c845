import type { DeviceRegisters } from '../../../src/kernel/index.ts';
import {
  Ndis5,
  NdisAttribute,
  NdisStatus,
  Oid,
  type Ndis5Adapter,
  type Ndis5Driver,
  type Ndis5Library,
  type Ndis5MiniportCharacteristics,
  type NdisMiniportInterrupt,
  type NdisPacket,
  type NdisPacketPool,
  type ProtocolBinding5,
} from '../../../src/ndis/ndis5/index.ts';
import { ICR, IMC, IMS, LINE, LSC, RXT0, makeKernelRig, type KernelRig } from './fakes.ts';

export const STATUS = 0x8;
export const STATUS_LU = 0x2;

export interface Ndis5MiniportOptions {
  requestIsr?: boolean;
  sharedInterrupt?: boolean;
  /** Supply MiniportEnableInterrupt (else MiniportHandleInterrupt re-enables the NIC itself). */
  withEnableHandler?: boolean;
  /** MiniportISR recognises the interrupt but asks for no MiniportHandleInterrupt on these calls (1-based). */
  noDpcOnIsrCalls?: number[];
  deserialized?: boolean;
  /** MiniportSendPackets leaves packets pending and completes them from MiniportHandleInterrupt. */
  pendSends?: boolean;
  /** Indicate receives with NDIS_STATUS_RESOURCES in each packet. */
  resources?: boolean;
  poolSize?: number;
  leakInterrupt?: boolean;
  pendQueries?: boolean;
}

/** The test miniport's MiniportAdapterContext. */
export class Adapter5 {
  interrupt: NdisMiniportInterrupt | null = null;
  pool: NdisPacketPool | null = null;
  causes = 0;
  isrCalls = 0;
  readonly rxQueue: Uint8Array[] = [];
  readonly events: string[] = [];
  readonly pendingSends: NdisPacket[] = [];
  readonly packetArray: NdisPacket[] = [];
  sent = 0;
  returned = 0;
  packetFilter = 0;
  allocationFailures = 0;
  constructor(
    readonly handle: Ndis5Adapter,
    readonly regs: DeviceRegisters,
  ) {}
}

/** An NDIS 5.1 miniport for the fake NIC, in the classic shape: ISR or DisableInterrupt, then HandleInterrupt. */
export function ndis5Characteristics(ndis: Ndis5Library, opts: Ndis5MiniportOptions = {}): Ndis5MiniportCharacteristics & { adapters: Adapter5[] } {
  const k = ndis.kernel;
  const adapters: Adapter5[] = [];
  const where = () => `at ${k.currentIrql()} on ${k.currentProcessor()}`;

  async function TestIsr(ctx: unknown) {
    const a = ctx as Adapter5;
    a.isrCalls++;
    const icr = await a.regs.read32(ICR);
    if (icr === 0) {
      a.events.push(`isr not mine ${where()}`);
      return { interruptRecognized: false, queueMiniportHandleInterrupt: false };
    }
    a.causes |= icr;
    const queue = !(opts.noDpcOnIsrCalls ?? []).includes(a.isrCalls);
    a.events.push(`isr ${where()}${queue ? '' : ' no dpc'}`);
    if (queue) await a.regs.write32(IMC, 0xffffffff);
    return { interruptRecognized: true, queueMiniportHandleInterrupt: queue };
  }

  async function TestDisableInterrupt(ctx: unknown) {
    const a = ctx as Adapter5;
    a.events.push(`disable ${where()}`);
    await a.regs.write32(IMC, 0xffffffff);
  }

  async function TestEnableInterrupt(ctx: unknown) {
    const a = ctx as Adapter5;
    a.events.push(`enable ${where()}`);
    await a.regs.write32(IMS, RXT0 | LSC);
  }

  function TakeCauses(ctx: unknown): boolean {
    const a = ctx as Adapter5;
    a.events.push(`take causes ${where()}`);
    a.causes = 0;
    return true;
  }

  async function TestHandleInterrupt(ctx: unknown) {
    const a = ctx as Adapter5;
    a.events.push(`handle ${where()}`);
    if (!a.interrupt!.usesIsr) a.causes |= await a.regs.read32(ICR);
    await ndis.synchronizeWithInterrupt(a.interrupt!, TakeCauses, a);
    let n = 0;
    while (a.rxQueue.length > 0) {
      const f = a.rxQueue[0]!;
      const p = ndis.allocatePacket(a.pool!, f, 0, f.length);
      if (!p) {
        a.allocationFailures++;
        break;
      }
      a.rxQueue.shift();
      p.status = opts.resources ? NdisStatus.RESOURCES : NdisStatus.SUCCESS;
      a.packetArray[n++] = p;
    }
    if (n > 0) {
      await ndis.indicateReceivePacket(a.handle, a.packetArray, n);
      if (opts.resources) for (let i = 0; i < n; i++) ndis.freePacket(a.packetArray[i]!);
    }
    for (const p of a.pendingSends.splice(0)) ndis.sendComplete(a.handle, p, NdisStatus.SUCCESS);
    const status = await a.regs.read32(STATUS);
    const up = (status & STATUS_LU) !== 0;
    if (a.handle.mediaConnected !== up) {
      ndis.indicateStatus(a.handle, up ? NdisStatus.MEDIA_CONNECT : NdisStatus.MEDIA_DISCONNECT, null);
      ndis.indicateStatusComplete(a.handle);
    }
    if (!opts.withEnableHandler) await a.regs.write32(IMS, RXT0 | LSC);
  }

  return {
    adapters,
    name: 'TestNdis5Miniport',
    majorNdisVersion: 5,
    minorNdisVersion: 1,
    async initializeHandler(handle, params) {
      const a = new Adapter5(handle, params.allocatedResources.registers);
      adapters.push(a);
      a.events.push(`initialize ${where()}`);
      ndis.setAttributesEx(handle, a, { attributeFlags: NdisAttribute.BUS_MASTER | (opts.deserialized ? NdisAttribute.DESERIALIZE : 0) });
      a.pool = ndis.allocatePacketPool(opts.poolSize ?? 16, { tag: 'Rx5', owner: handle });
      a.interrupt = ndis.registerInterrupt(handle, { requestIsr: opts.requestIsr ?? false, sharedInterrupt: opts.sharedInterrupt ?? false });
      await a.regs.write32(IMS, RXT0 | LSC);
      return NdisStatus.SUCCESS;
    },
    async haltHandler(ctx) {
      const a = ctx as Adapter5;
      a.events.push(`halt ${where()}`);
      await a.regs.write32(IMC, 0xffffffff);
      if (!opts.leakInterrupt && a.interrupt) await ndis.deregisterInterrupt(a.interrupt);
      ndis.freePacketPool(a.pool!);
    },
    isrHandler: TestIsr,
    handleInterruptHandler: TestHandleInterrupt,
    disableInterruptHandler: TestDisableInterrupt,
    ...(opts.withEnableHandler ? { enableInterruptHandler: TestEnableInterrupt } : {}),
    sendPacketsHandler(ctx, packets, count) {
      const a = ctx as Adapter5;
      a.events.push(`send ${count} ${where()}`);
      for (let i = 0; i < count; i++) {
        const p = packets[i]!;
        a.sent++;
        if (opts.pendSends) {
          p.status = NdisStatus.PENDING;
          a.pendingSends.push(p);
        } else if (opts.deserialized) {
          ndis.sendComplete(a.handle, p, NdisStatus.SUCCESS);
        } else {
          p.status = NdisStatus.SUCCESS;
        }
      }
    },
    returnPacketHandler(ctx, packet) {
      const a = ctx as Adapter5;
      a.events.push(`return ${where()}`);
      a.returned++;
      ndis.freePacket(packet);
    },
    queryInformationHandler(ctx, request) {
      const a = ctx as Adapter5;
      if (request.oid !== Oid.GEN_CURRENT_PACKET_FILTER) return NdisStatus.INVALID_OID;
      request.informationBuffer = a.packetFilter;
      request.bytesWritten = 4;
      if (!opts.pendQueries) return NdisStatus.SUCCESS;
      setImmediate(() => {
        void k.runAtPassive('QueryWorker', () => ndis.queryInformationComplete(a.handle, NdisStatus.SUCCESS));
      });
      return NdisStatus.PENDING;
    },
    setInformationHandler(ctx, request) {
      const a = ctx as Adapter5;
      a.events.push(`set ${request.oid.toString(16)} ${where()}`);
      if (request.oid !== Oid.GEN_CURRENT_PACKET_FILTER) return NdisStatus.INVALID_OID;
      a.packetFilter = request.informationBuffer as number;
      return NdisStatus.SUCCESS;
    },
  };
}

/** Protocol side of an NDIS 5 adapter: records, and keeps packets until told when `hold` is set. */
export class Binding5 implements ProtocolBinding5 {
  readonly frames: Uint8Array[] = [];
  readonly statuses: string[] = [];
  readonly completions: { id: number; status: number }[] = [];
  readonly held: NdisPacket[] = [];
  hold = false;

  constructor(private readonly ndis: Ndis5) {}

  async receivePackets(packets: readonly NdisPacket[], count: number, adapter: Ndis5Adapter): Promise<void> {
    for (let i = 0; i < count; i++) {
      const p = packets[i]!;
      this.frames.push(Uint8Array.from(p.bytes()));
      if (p.status === NdisStatus.RESOURCES) continue;
      if (this.hold) this.held.push(p);
      else await this.ndis.returnPacket(adapter, p);
    }
  }

  sendComplete(packet: NdisPacket, status: number): void {
    this.completions.push({ id: packet.id, status });
  }

  status(generalStatus: number): void {
    this.statuses.push(`status ${generalStatus.toString(16)}`);
  }

  statusComplete(): void {
    this.statuses.push('complete');
  }
}

export interface Ndis5Rig extends KernelRig {
  ndis: Ndis5;
  driver: Ndis5Driver;
  chars: ReturnType<typeof ndis5Characteristics>;
  binding: Binding5;
  start(): Promise<{ adapter: Ndis5Adapter; ctx: Adapter5 }>;
}

export function makeNdis5Rig(opts: Ndis5MiniportOptions & { processors?: number } = {}): Ndis5Rig {
  const base = makeKernelRig(opts.processors ? { processors: opts.processors } : {});
  const ndis = new Ndis5(base.kernel);
  const chars = ndis5Characteristics(ndis, opts);
  const driver = ndis.registerMiniport(chars);
  const binding = new Binding5(ndis);
  base.nic.regs.set(STATUS, STATUS_LU);
  return {
    ...base,
    ndis,
    driver,
    chars,
    binding,
    async start() {
      const adapter = await ndis.initializeMiniport(driver, { registers: base.nic, interrupt: { line: LINE }, name: 'nic5' }, { binding });
      return { adapter, ctx: chars.adapters[chars.adapters.length - 1]! };
    },
  };
}
