import { DeviceRegisters, Dpc, KernelError, type Kernel } from '../../kernel/index.ts';
import { NdisViolation, ndisBugCheck } from '../common/bugcheck.ts';
import { NdisCharacteristicsError, NdisError, NdisOperationError } from '../common/errors.ts';
import { NdisFramework } from '../common/framework.ts';
import { named } from '../common/named.ts';
import type { NdisTimer, NdisTimerFunction } from '../common/timer.ts';
import { inRoutine, requireNdisIrql, requireNdisIrqlIfInRoutine } from '../common/irql-rules.ts';
import { oidName } from '../common/oids.ts';
import { NdisStatus, ndisStatusName, ndisStatusSucceeded, type NDIS_STATUS } from '../common/status.ts';
import { Ndis5Adapter, Ndis5Driver, NdisMiniportInterrupt } from './adapter.ts';
import { NdisPacket, NdisPacketPool, type NdisPacketPoolOptions } from './packet.ts';
import type {
  AdapterResources, MiniportIsrResult, Ndis5MiniportCharacteristics, NdisInformationRequest, ProtocolBinding5,
  RegisterInterruptOptions,
} from './types.ts';

export interface SetAttributesExOptions {
  checkForHangTimeInSeconds?: number;
  /** NDIS_ATTRIBUTE_* (NdisAttribute). */
  attributeFlags?: number;
  interfaceType?: number;
}

/** Emitted as 'poolExhausted' when NdisAllocatePacket fails. */
export interface PacketPoolExhaustedEvent {
  readonly pool: NdisPacketPool;
  readonly api: string;
  readonly failures: number;
}

/**
 * The NDIS 5.x facade: what an NDIS 5.1 miniport calls (NdisMRegisterInterrupt,
 * NdisMSynchronizeWithInterrupt, NdisMIndicateReceivePacket, NDIS_PACKET pools...) and the host side
 * of NDIS that calls MiniportISR / MiniportDisableInterrupt at DIRQL and MiniportHandleInterrupt at
 * DISPATCH_LEVEL, exactly as the seed pages describe.
 *
 * Events: 'poolExhausted' (PacketPoolExhaustedEvent), 'status' (adapter, generalStatus, buffer).
 */
export class Ndis5 extends NdisFramework {
  readonly drivers = new Set<Ndis5Driver>();
  readonly adapters = new Set<Ndis5Adapter>();

  constructor(kernel: Kernel) {
    super(kernel, 'ndis5');
  }

  // ================================================================ registration and attributes

  /** NdisMRegisterMiniport (PASSIVE_LEVEL): throws NdisCharacteristicsError for a version that is not 5.x or a missing handler. */
  registerMiniport(characteristics: Ndis5MiniportCharacteristics): Ndis5Driver {
    requireNdisIrqlIfInRoutine(this.kernel, 'NdisMRegisterMiniport');
    const major = characteristics.majorNdisVersion ?? 5;
    if (major !== 5) throw new NdisCharacteristicsError(`NdisMRegisterMiniport: MajorNdisVersion ${major} is not 5`, NdisStatus.BAD_VERSION);
    for (const h of ['initializeHandler', 'haltHandler', 'sendPacketsHandler', 'queryInformationHandler', 'setInformationHandler'] as const) {
      if (typeof characteristics[h] !== 'function') throw new NdisCharacteristicsError(`NdisMRegisterMiniport: ${h} is required`, NdisStatus.BAD_CHARACTERISTICS, { handler: h });
    }
    const driver = new Ndis5Driver(characteristics);
    this.drivers.add(driver);
    return driver;
  }

  /** NdisMSetAttributesEx (PASSIVE_LEVEL, inside MiniportInitialize): gives NDIS the MiniportAdapterContext. */
  setAttributesEx(adapterHandle: Ndis5Adapter, miniportAdapterContext: unknown, opts: SetAttributesExOptions = {}): void {
    const api = 'NdisMSetAttributesEx';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    if (!adapterHandle.initializing) ndisBugCheck(this.kernel, NdisViolation.BAD_ATTRIBUTES, api, `${api}(${adapterHandle.name}) outside MiniportInitialize`, adapterHandle.id);
    adapterHandle.context = miniportAdapterContext;
    adapterHandle.attributeFlags = opts.attributeFlags ?? 0;
    adapterHandle.checkForHangTimeInSeconds = opts.checkForHangTimeInSeconds ?? 2;
    adapterHandle.attributesSet = true;
  }

  // ================================================================ interrupts

  /**
   * NdisMRegisterInterrupt (PASSIVE_LEVEL). With RequestIsr and no sharing NDIS calls MiniportISR;
   * without RequestIsr (and not shared) NDIS' own ISR calls MiniportDisableInterrupt at DIRQL on each
   * interrupt and queues MiniportHandleInterrupt; a shared line always goes through MiniportISR, and
   * MiniportHandleInterrupt runs only if it set QueueMiniportHandleInterrupt. After
   * MiniportHandleInterrupt NDIS calls MiniportEnableInterrupt (if any) synchronized with the ISR.
   * Throws NdisOperationError where Windows returns a failure status.
   */
  registerInterrupt(adapterHandle: Ndis5Adapter, opts: RegisterInterruptOptions): NdisMiniportInterrupt {
    const api = 'NdisMRegisterInterrupt';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    const ch = adapterHandle.driver.characteristics;
    if (adapterHandle.interrupt) throw new NdisOperationError(`${api}: ${adapterHandle.name} already has an interrupt`, NdisStatus.FAILURE, { adapter: adapterHandle.name });
    const interrupt = new NdisMiniportInterrupt(adapterHandle, opts.requestIsr, opts.sharedInterrupt);
    if (interrupt.usesIsr && typeof ch.isrHandler !== 'function') {
      throw new NdisOperationError(`${api}: ${opts.sharedInterrupt ? 'a shared interrupt' : 'RequestIsr'} needs MiniportISR`, NdisStatus.BAD_CHARACTERISTICS, { adapter: adapterHandle.name });
    }
    if (!interrupt.usesIsr && typeof ch.disableInterruptHandler !== 'function') {
      throw new NdisOperationError(`${api}: without RequestIsr NDIS calls MiniportDisableInterrupt, which the miniport does not have`, NdisStatus.BAD_CHARACTERISTICS, { adapter: adapterHandle.name });
    }
    if (typeof ch.handleInterruptHandler !== 'function') {
      throw new NdisOperationError(`${api}: MiniportHandleInterrupt is required for a NIC that interrupts`, NdisStatus.BAD_CHARACTERISTICS, { adapter: adapterHandle.name });
    }
    const handleInterrupt = ch.handleInterruptHandler;
    interrupt.dpc = new Dpc(() => this.runHandleInterrupt(interrupt, handleInterrupt), interrupt, handleInterrupt.name || 'MiniportHandleInterrupt');
    const res = adapterHandle.resources.interrupt;
    const line = opts.line ?? res.line;
    const irql = opts.level ?? res.irql;
    try {
      interrupt.kernelInterrupt = this.kernel.connectInterrupt({
        line,
        ...(irql !== undefined ? { irql } : {}),
        ...(res.processors ? { processors: res.processors } : {}),
        shareVector: opts.sharedInterrupt,
        name: interrupt.usesIsr ? (ch.isrHandler!.name || 'MiniportISR') : 'ndisMIsr',
        isr: () => this.runIsr(interrupt),
        context: adapterHandle.context,
        dpcs: [interrupt.dpc],
      });
    } catch (err) {
      if (err instanceof KernelError) {
        throw new NdisOperationError(`${api}(${adapterHandle.name}) on line ${line}: ${err.message}`, NdisStatus.RESOURCE_CONFLICT, { adapter: adapterHandle.name, line }, { cause: err });
      }
      throw err;
    }
    adapterHandle.interrupt = interrupt;
    return interrupt;
  }

  /** NdisMDeregisterInterrupt (PASSIVE_LEVEL): afterwards MiniportISR and MiniportHandleInterrupt are never called again. */
  async deregisterInterrupt(interrupt: NdisMiniportInterrupt): Promise<void> {
    const api = 'NdisMDeregisterInterrupt';
    requireNdisIrql(this.kernel, api);
    this.checkInterrupt(interrupt, api);
    interrupt.deregistered = true;
    await interrupt.kernelInterrupt.disconnectWithDpcs();
    if (interrupt.adapter.interrupt === interrupt) interrupt.adapter.interrupt = null;
  }

  /**
   * NdisMSynchronizeWithInterrupt (<= DIRQL): runs MiniportSynchronizeISR at DIRQL holding the
   * interrupt spin lock, so that neither MiniportISR nor MiniportDisableInterrupt can run meanwhile
   * on any processor; releases the lock, restores the caller's IRQL, returns the function's boolean.
   */
  synchronizeWithInterrupt(interrupt: NdisMiniportInterrupt, synchronizeFunction: (synchronizeContext: unknown) => boolean | Promise<boolean>, synchronizeContext?: unknown): Promise<boolean> {
    const api = 'NdisMSynchronizeWithInterrupt';
    this.checkInterrupt(interrupt, api);
    requireNdisIrql(this.kernel, api, interrupt.irql);
    const fn = synchronizeFunction.name ? synchronizeFunction : named('MiniportSynchronizeISR', synchronizeFunction);
    return this.kernel.synchronizeExecution(interrupt.kernelInterrupt, fn, synchronizeContext);
  }

  /** NDIS' ISR: MiniportISR, or MiniportDisableInterrupt for a non-shared line without RequestIsr. */
  private async runIsr(interrupt: NdisMiniportInterrupt): Promise<boolean> {
    if (interrupt.deregistered) return false;
    const adapter = interrupt.adapter;
    const ch = adapter.driver.characteristics;
    if (interrupt.usesIsr) {
      const r: MiniportIsrResult = await ch.isrHandler!(adapter.context);
      if (r === null || typeof r !== 'object' || typeof r.interruptRecognized !== 'boolean') {
        ndisBugCheck(this.kernel, NdisViolation.BAD_RETURN_VALUE, 'MiniportISR', 'MiniportISR must return { interruptRecognized, queueMiniportHandleInterrupt }', adapter.id, interrupt.id);
      }
      if (r.interruptRecognized && r.queueMiniportHandleInterrupt) this.kernel.enqueueDpc(interrupt.dpc);
      return r.interruptRecognized;
    }
    const disable = ch.disableInterruptHandler!;
    await this.kernel.callRoutine(disable.name || 'MiniportDisableInterrupt', () => disable(adapter.context));
    this.kernel.enqueueDpc(interrupt.dpc);
    return true;
  }

  /** NDIS' DPC: MiniportHandleInterrupt at DISPATCH_LEVEL, then MiniportEnableInterrupt synchronized with the ISR. */
  private async runHandleInterrupt(interrupt: NdisMiniportInterrupt, handleInterrupt: (ctx: unknown) => unknown): Promise<void> {
    if (interrupt.deregistered) return;
    const adapter = interrupt.adapter;
    adapter.statistics.handleInterruptCalls++;
    await handleInterrupt(adapter.context);
    const enable = adapter.driver.characteristics.enableInterruptHandler;
    if (enable && !interrupt.deregistered) {
      await this.kernel.synchronizeExecution(interrupt.kernelInterrupt, named(enable.name || 'MiniportEnableInterrupt', async (ctx: unknown) => {
        await enable(ctx);
        return true;
      }), adapter.context);
    }
  }

  // ================================================================ timers

  /** NdisMInitializeTimer (<= DISPATCH_LEVEL): the timer function runs at DISPATCH_LEVEL in a DPC. */
  initializeTimer(miniportAdapterHandle: Ndis5Adapter, timerFunction: NdisTimerFunction, functionContext?: unknown): NdisTimer {
    return this.createTimer('NdisMInitializeTimer', timerFunction, functionContext, miniportAdapterHandle);
  }

  /** NdisMSetTimer (<= DISPATCH_LEVEL): one shot after `millisecondsToDelay`. */
  setTimer(timer: NdisTimer, millisecondsToDelay: number): void {
    this.setNdisTimer('NdisMSetTimer', timer, millisecondsToDelay, 0);
  }

  /** NdisMSetPeriodicTimer (<= DISPATCH_LEVEL): every `millisecondPeriod`. */
  setPeriodicTimer(timer: NdisTimer, millisecondPeriod: number): void {
    this.setNdisTimer('NdisMSetPeriodicTimer', timer, millisecondPeriod, millisecondPeriod);
  }

  /** NdisMCancelTimer (<= DISPATCH_LEVEL): TimerCancelled, true if it was set. */
  cancelTimer(timer: NdisTimer): boolean {
    return this.cancelNdisTimer('NdisMCancelTimer', timer);
  }

  // ================================================================ packets

  /** NdisAllocatePacketPool (<= DISPATCH_LEVEL, or host code). */
  allocatePacketPool(size: number, opts: NdisPacketPoolOptions = {}): NdisPacketPool {
    requireNdisIrqlIfInRoutine(this.kernel, 'NdisAllocatePacketPool');
    if (!Number.isInteger(size) || size < 1) throw new NdisError(`NdisAllocatePacketPool: size ${size} must be a positive integer`, { size });
    const pool = new NdisPacketPool(size, opts);
    if (opts.owner instanceof Ndis5Adapter) opts.owner.pools.add(pool);
    return pool;
  }

  /** NdisFreePacketPool (<= DISPATCH_LEVEL): every packet must be back. */
  freePacketPool(pool: NdisPacketPool): void {
    const api = 'NdisFreePacketPool';
    requireNdisIrqlIfInRoutine(this.kernel, api);
    this.checkPool(pool, api);
    if (pool.inUse > 0) this.violation(NdisViolation.POOL_FREED_WITH_OUTSTANDING_NBLS, api, `${api}(${pool.tag}) with ${pool.inUse} packets still allocated`, pool.id, pool.inUse);
    pool.freed = true;
    if (pool.owner instanceof Ndis5Adapter) pool.owner.pools.delete(pool);
  }

  /**
   * NdisAllocatePacket (+ NdisChainBufferAtFront of one buffer) (<= DISPATCH_LEVEL). Returns null when
   * the pool is exhausted (Windows: NDIS_STATUS_RESOURCES), reported like an NBL pool's exhaustion.
   */
  allocatePacket(pool: NdisPacketPool, data: Uint8Array | null = null, offset = 0, length?: number): NdisPacket | null {
    const api = 'NdisAllocatePacket';
    requireNdisIrqlIfInRoutine(this.kernel, api);
    this.checkPool(pool, api);
    const p = pool.take();
    if (!p) {
      pool.allocationFailures++;
      this.kernel.trace.record('ndis', `${api}: pool ${pool.tag} exhausted (${pool.size} packets in use, failure ${pool.allocationFailures})`, this.kernel.current()?.processor.index);
      if ((pool.allocationFailures & (pool.allocationFailures - 1)) === 0) this.log.warn({ pool: pool.tag, failures: pool.allocationFailures }, `${api}: packet pool ${pool.tag} exhausted`);
      this.emit('poolExhausted', { pool, api, failures: pool.allocationFailures } satisfies PacketPoolExhaustedEvent);
      return null;
    }
    const buf = data ?? p.ownData;
    if (!buf) {
      pool.put(p);
      throw new NdisError(`${api}: no data given and pool ${pool.tag} has no dataSize`, { pool: pool.tag });
    }
    const len = length ?? buf.length - offset;
    if (offset < 0 || len < 0 || offset + len > buf.length) {
      pool.put(p);
      throw new NdisError(`${api}: offset ${offset} + length ${len} is outside the ${buf.length}-byte buffer`, { pool: pool.tag });
    }
    p.reset(buf, offset, len);
    return p;
  }

  /** NdisFreePacket (<= DISPATCH_LEVEL): only a packet its caller holds. */
  freePacket(packet: NdisPacket): void {
    const api = 'NdisFreePacket';
    requireNdisIrqlIfInRoutine(this.kernel, api);
    if (packet.owner !== 'allocated') {
      this.violation(NdisViolation.NBL_NOT_OWNED, api, `${api}(packet ${packet.id} of ${packet.pool.tag}) while it is ${packet.owner}`, packet.id);
      return;
    }
    packet.pool.put(packet);
  }

  // ================================================================ receive, send, status (miniport → NDIS)

  /**
   * NdisMIndicateReceivePacket (<= DISPATCH_LEVEL). A packet whose status is NDIS_STATUS_RESOURCES is
   * the miniport's again when this resolves; the others stay with the protocol until they come back
   * through MiniportReturnPacket.
   */
  async indicateReceivePacket(adapterHandle: Ndis5Adapter, packetArray: readonly NdisPacket[], numberOfPackets: number): Promise<void> {
    const api = 'NdisMIndicateReceivePacket';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    if (adapterHandle.state !== 'running') ndisBugCheck(this.kernel, NdisViolation.INDICATION_WHILE_NOT_RUNNING, api, `${api}(${adapterHandle.name}) while the adapter is ${adapterHandle.state}`, adapterHandle.id);
    if (!Number.isInteger(numberOfPackets) || numberOfPackets < 0 || numberOfPackets > packetArray.length) {
      ndisBugCheck(this.kernel, NdisViolation.NBL_COUNT_MISMATCH, api, `${api}(${adapterHandle.name}): NumberOfPackets ${numberOfPackets} with an array of ${packetArray.length}`, adapterHandle.id, numberOfPackets, packetArray.length);
    }
    for (let i = 0; i < numberOfPackets; i++) {
      const p = packetArray[i]!;
      if (p.owner === 'allocated') continue;
      ndisBugCheck(this.kernel, p.owner === 'indicated' || p.owner === 'lent' ? NdisViolation.INDICATED_PACKET_IN_USE : NdisViolation.NBL_NOT_OWNED, api,
        `${api}(${adapterHandle.name}) with packet ${p.id}, which is ${p.owner}`, adapterHandle.id, p.id);
    }
    let kept = 0;
    for (let i = 0; i < numberOfPackets; i++) {
      const p = packetArray[i]!;
      const lent = p.status === NdisStatus.RESOURCES;
      p.owner = lent ? 'lent' : 'indicated';
      p.indicatedBy = adapterHandle;
      if (!lent) kept++;
    }
    adapterHandle.statistics.packetsIndicated += numberOfPackets;
    adapterHandle.packetsOutstanding += kept;
    const binding = adapterHandle.binding;
    try {
      if (binding) {
        const r = binding.receivePackets(packetArray, numberOfPackets, adapterHandle);
        if (r !== undefined) await r;
      } else {
        adapterHandle.statistics.packetsDropped += numberOfPackets;
      }
    } finally {
      for (let i = 0; i < numberOfPackets; i++) {
        const p = packetArray[i]!;
        if (p.owner === 'lent') {
          p.owner = 'allocated';
          p.indicatedBy = null;
        }
      }
    }
    if (!binding && !this.kernel.stopped) {
      for (let i = 0; i < numberOfPackets; i++) {
        const p = packetArray[i]!;
        if (p.owner === 'indicated') await this.returnPacket(adapterHandle, p);
      }
    }
  }

  /** NdisMSendComplete (<= DISPATCH_LEVEL): completing a packet that is not in a send is a bug check. */
  sendComplete(adapterHandle: Ndis5Adapter, packet: NdisPacket, status: NDIS_STATUS): void {
    const api = 'NdisMSendComplete';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    if (packet.owner !== 'sending' || packet.sentTo !== adapterHandle) {
      ndisBugCheck(this.kernel, NdisViolation.NBL_NOT_OWNED, api, `${api}(${adapterHandle.name}) with packet ${packet.id}, which is ${packet.owner} (completed twice?)`, adapterHandle.id, packet.id);
    }
    this.completeSend(adapterHandle, packet, status);
  }

  /** NdisMIndicateStatus (<= DISPATCH_LEVEL): NDIS_STATUS_MEDIA_CONNECT / DISCONNECT update the link state. */
  indicateStatus(adapterHandle: Ndis5Adapter, generalStatus: NDIS_STATUS, statusBuffer: unknown = null): void {
    const api = 'NdisMIndicateStatus';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    if (generalStatus === NdisStatus.MEDIA_CONNECT) adapterHandle.mediaConnected = true;
    else if (generalStatus === NdisStatus.MEDIA_DISCONNECT) adapterHandle.mediaConnected = false;
    adapterHandle.statusPending = true;
    adapterHandle.statistics.statusIndications++;
    this.kernel.trace.record('ndis', `${api} ${adapterHandle.name} ${ndisStatusName(generalStatus)}`, this.kernel.current()?.processor.index);
    adapterHandle.binding?.status(generalStatus, statusBuffer, adapterHandle);
    this.emit('status', adapterHandle, generalStatus, statusBuffer);
  }

  /** NdisMIndicateStatusComplete (<= DISPATCH_LEVEL). */
  indicateStatusComplete(adapterHandle: Ndis5Adapter): void {
    const api = 'NdisMIndicateStatusComplete';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    adapterHandle.statusPending = false;
    adapterHandle.binding?.statusComplete(adapterHandle);
  }

  /** NdisMQueryInformationComplete (<= DISPATCH_LEVEL). */
  queryInformationComplete(adapterHandle: Ndis5Adapter, status: NDIS_STATUS): void {
    this.completeInformation(adapterHandle, status, 'query', 'NdisMQueryInformationComplete');
  }

  /** NdisMSetInformationComplete (<= DISPATCH_LEVEL). */
  setInformationComplete(adapterHandle: Ndis5Adapter, status: NDIS_STATUS): void {
    this.completeInformation(adapterHandle, status, 'set', 'NdisMSetInformationComplete');
  }

  // ================================================================ host side

  /** MiniportInitialize at PASSIVE_LEVEL; it must call NdisMSetAttributesEx. Rejects with NdisOperationError on failure. */
  async initializeMiniport(driver: Ndis5Driver, resources: AdapterResources, opts: { binding?: ProtocolBinding5 } = {}): Promise<Ndis5Adapter> {
    this.requireHost('initializeMiniport');
    const registers = new DeviceRegisters(this.kernel, resources.registers, {
      name: resources.name ?? driver.name, ...(resources.registerName ? { registerName: resources.registerName } : {}),
    });
    const adapter = new Ndis5Adapter(driver, resources, registers);
    driver.adapters.add(adapter);
    this.adapters.add(adapter);
    if (opts.binding) adapter.binding = opts.binding;
    const parameters = {
      allocatedResources: {
        registers, interruptLine: resources.interrupt.line, interruptIrql: resources.interrupt.irql ?? 5,
        memory: resources.memory, dma: resources.dma, macAddress: resources.macAddress,
      },
    };
    adapter.initializing = true;
    let status: NDIS_STATUS;
    try {
      status = await this.kernel.runAtPassive('MiniportInitialize', () => driver.characteristics.initializeHandler(adapter, parameters));
    } finally {
      adapter.initializing = false;
    }
    if (typeof status !== 'number' || status === NdisStatus.PENDING) {
      ndisBugCheck(this.kernel, NdisViolation.BAD_RETURN_VALUE, 'MiniportInitialize', `MiniportInitialize(${adapter.name}) returned ${String(status)}; it must return an NDIS_STATUS and cannot pend`, adapter.id);
    }
    if (ndisStatusSucceeded(status) && !adapter.attributesSet) {
      this.log.warn({ adapter: adapter.name }, 'MiniportInitialize succeeded without NdisMSetAttributesEx; NDIS fails the initialization');
      status = NdisStatus.FAILURE;
    }
    if (!ndisStatusSucceeded(status)) {
      adapter.state = 'halted';
      this.checkReleasedAfter(adapter, 'MiniportInitialize (failed)', true);
      throw new NdisOperationError(`MiniportInitialize(${adapter.name}) failed with ${ndisStatusName(status)}`, status, { adapter: adapter.name });
    }
    adapter.state = 'running';
    return adapter;
  }

  bindProtocol(adapter: Ndis5Adapter, binding: ProtocolBinding5 | null): void {
    adapter.binding = binding;
  }

  /**
   * MiniportHalt at PASSIVE_LEVEL; then the interrupt must be deregistered (BUGCODE_NDIS_DRIVER 0x08
   * otherwise) and the adapter's packet pools freed. Indicated packets must have been returned first.
   */
  async haltMiniport(adapter: Ndis5Adapter): Promise<void> {
    this.requireHost('haltMiniport');
    if (adapter.state !== 'running') throw new NdisError(`haltMiniport(${adapter.name}) in state ${adapter.state}`, { adapter: adapter.name });
    if (adapter.packetsOutstanding > 0) throw new NdisError(`haltMiniport(${adapter.name}): the protocol still holds ${adapter.packetsOutstanding} indicated packets; return them first`, { adapter: adapter.name });
    adapter.state = 'halting';
    await this.kernel.runAtPassive('MiniportHalt', () => adapter.driver.characteristics.haltHandler(adapter.context));
    adapter.state = 'halted';
    this.checkReleasedAfter(adapter, 'MiniportHalt', false);
    adapter.driver.adapters.delete(adapter);
    this.adapters.delete(adapter);
  }

  /**
   * NdisSendPackets from the protocol: MiniportSendPackets at DISPATCH_LEVEL. A serialized miniport
   * sets each packet's status (NDIS completes the ones not NDIS_STATUS_PENDING when it returns); a
   * deserialized one (NDIS_ATTRIBUTE_DESERIALIZE) completes every packet with NdisMSendComplete.
   */
  async sendPackets(adapter: Ndis5Adapter, packets: readonly NdisPacket[]): Promise<void> {
    const binding = adapter.binding;
    if (!binding) throw new NdisError(`sendPackets(${adapter.name}): no protocol bound to receive the completions`, { adapter: adapter.name });
    if (adapter.state !== 'running') throw new NdisError(`sendPackets(${adapter.name}) in state ${adapter.state}`, { adapter: adapter.name });
    for (const p of packets) {
      if (p.owner !== 'allocated') throw new NdisError(`sendPackets(${adapter.name}): packet ${p.id} is ${p.owner}`, { adapter: adapter.name, packet: p.id });
    }
    for (const p of packets) {
      p.owner = 'sending';
      p.sentTo = adapter;
      p.status = NdisStatus.SUCCESS;
    }
    adapter.sendsOutstanding += packets.length;
    adapter.statistics.packetsSent += packets.length;
    const handler = adapter.driver.characteristics.sendPacketsHandler;
    await this.runAtDispatch('MiniportSendPackets', async () => {
      await handler(adapter.context, packets, packets.length);
      if (adapter.deserialized) return;
      for (const p of packets) {
        if (p.owner === 'sending' && p.sentTo === adapter && p.status !== NdisStatus.PENDING) this.completeSend(adapter, p, p.status);
      }
    });
  }

  /** NdisReturnPackets from the protocol: MiniportReturnPacket at DISPATCH_LEVEL (or the caller's IRQL inside a routine). */
  async returnPacket(adapter: Ndis5Adapter, packet: NdisPacket): Promise<void> {
    if (packet.owner !== 'indicated' || packet.indicatedBy !== adapter) {
      throw new NdisError(`returnPacket(${adapter.name}): packet ${packet.id} is ${packet.owner === 'lent' ? 'indicated with NDIS_STATUS_RESOURCES (never returned)' : packet.owner}`, { adapter: adapter.name, packet: packet.id });
    }
    packet.owner = 'allocated';
    packet.indicatedBy = null;
    adapter.packetsOutstanding--;
    adapter.statistics.packetsReturned++;
    const handler = adapter.driver.characteristics.returnPacketHandler;
    if (!handler) return;
    if (inRoutine(this.kernel)) {
      await this.kernel.callRoutine('MiniportReturnPacket', () => handler(adapter.context, packet));
      return;
    }
    await this.runAtDispatch('MiniportReturnPacket', () => handler(adapter.context, packet));
  }

  /** MiniportQueryInformation at DISPATCH_LEVEL; resolves with the answer, rejects with NdisOperationError on failure. */
  async queryInformation<T = unknown>(adapter: Ndis5Adapter, oid: number): Promise<T> {
    const { status, request } = await this.informationRequest(adapter, 'query', oid, undefined);
    if (!ndisStatusSucceeded(status)) throw new NdisOperationError(`query ${oidName(oid)} on ${adapter.name} failed with ${ndisStatusName(status)}`, status, { adapter: adapter.name, oid });
    return request.informationBuffer as T;
  }

  /** MiniportSetInformation at DISPATCH_LEVEL; rejects with NdisOperationError on failure. */
  async setInformation(adapter: Ndis5Adapter, oid: number, value: unknown): Promise<void> {
    const { status } = await this.informationRequest(adapter, 'set', oid, value);
    if (!ndisStatusSucceeded(status)) throw new NdisOperationError(`set ${oidName(oid)} on ${adapter.name} failed with ${ndisStatusName(status)}`, status, { adapter: adapter.name, oid });
  }

  /** One query or set, serialised per adapter; returns the final status (after a pended completion). */
  informationRequest(adapter: Ndis5Adapter, kind: 'query' | 'set', oid: number, value: unknown): Promise<{ status: NDIS_STATUS; request: NdisInformationRequest }> {
    this.requireHost('informationRequest');
    const request: NdisInformationRequest = { oid, informationBuffer: value, informationBufferLength: 0, bytesWritten: 0, bytesRead: 0, bytesNeeded: 0 };
    const run = async (): Promise<{ status: NDIS_STATUS; request: NdisInformationRequest }> => {
      if (adapter.state !== 'running') throw new NdisError(`${kind} ${oidName(oid)} on ${adapter.name} in state ${adapter.state}`, { adapter: adapter.name });
      const ch = adapter.driver.characteristics;
      const handler = kind === 'query' ? ch.queryInformationHandler : ch.setInformationHandler;
      const completed = new Promise<NDIS_STATUS>((resolve) => { adapter.pendingInformation = { request, kind, resolve }; });
      let status = await this.runAtDispatch(kind === 'query' ? 'MiniportQueryInformation' : 'MiniportSetInformation', () => handler(adapter.context, request));
      if (typeof status !== 'number') {
        ndisBugCheck(this.kernel, NdisViolation.BAD_RETURN_VALUE, kind === 'query' ? 'MiniportQueryInformation' : 'MiniportSetInformation', `returned ${String(status)}; it must return an NDIS_STATUS`, adapter.id);
      }
      if (status === NdisStatus.PENDING) {
        const stopped = this.kernel.bugCheckReport.then(() => { throw this.kernel.stopped; });
        status = await Promise.race([completed, stopped]);
      } else {
        adapter.pendingInformation = null;
      }
      return { status, request };
    };
    const result = adapter.requestChain.then(run, run);
    adapter.requestChain = result.catch(() => undefined);
    return result;
  }

  // ================================================================ internals

  private completeSend(adapter: Ndis5Adapter, packet: NdisPacket, status: NDIS_STATUS): void {
    packet.owner = 'allocated';
    packet.sentTo = null;
    packet.status = status;
    adapter.sendsOutstanding--;
    adapter.statistics.sendsCompleted++;
    if (!ndisStatusSucceeded(status)) adapter.statistics.sendsFailed++;
    adapter.binding?.sendComplete(packet, status, adapter);
  }

  private completeInformation(adapter: Ndis5Adapter, status: NDIS_STATUS, kind: 'query' | 'set', api: 'NdisMQueryInformationComplete' | 'NdisMSetInformationComplete'): void {
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapter, api);
    const pending = adapter.pendingInformation;
    if (!pending || pending.kind !== kind || status === NdisStatus.PENDING) {
      ndisBugCheck(this.kernel, NdisViolation.INVALID_OID_COMPLETION, api, `${api}(${adapter.name}) with no ${kind} request pending`, adapter.id);
    }
    adapter.pendingInformation = null;
    pending.resolve(status);
  }

  private checkAdapter(adapter: Ndis5Adapter, api: string): void {
    if (!(adapter instanceof Ndis5Adapter) || adapter.halted) {
      ndisBugCheck(this.kernel, NdisViolation.INVALID_HANDLE, api, `${api} with ${adapter instanceof Ndis5Adapter ? `halted adapter ${adapter.name}` : 'an invalid MiniportAdapterHandle'}`,
        adapter instanceof Ndis5Adapter ? adapter.id : 0);
    }
  }

  private checkInterrupt(interrupt: NdisMiniportInterrupt, api: string): void {
    if (!(interrupt instanceof NdisMiniportInterrupt) || interrupt.deregistered) {
      ndisBugCheck(this.kernel, NdisViolation.INVALID_HANDLE, api, `${api} with ${interrupt instanceof NdisMiniportInterrupt ? 'a deregistered' : 'an invalid'} NDIS_MINIPORT_INTERRUPT`,
        interrupt instanceof NdisMiniportInterrupt ? interrupt.adapter.id : 0, interrupt instanceof NdisMiniportInterrupt ? interrupt.id : 0);
    }
  }

  private checkPool(pool: NdisPacketPool, api: string): void {
    if (!(pool instanceof NdisPacketPool) || pool.freed) {
      this.violation(NdisViolation.INVALID_HANDLE, api, `${api} with ${pool instanceof NdisPacketPool ? `freed pool ${pool.tag}` : 'an invalid pool handle'}`, pool instanceof NdisPacketPool ? pool.id : 0);
    }
  }

  private checkReleasedAfter(adapter: Ndis5Adapter, what: string, failedInit: boolean): void {
    this.checkTimersAfter(adapter, what, false, failedInit);
    const irq = adapter.interrupt;
    if (irq && !irq.deregistered) {
      irq.deregistered = true;
      ndisBugCheck(this.kernel, failedInit ? NdisViolation.INTERRUPT_NOT_DEREGISTERED_AT_FAILED_INIT : NdisViolation.INTERRUPT_NOT_DEREGISTERED_AT_HALT, what,
        `${what} returned for ${adapter.name} without NdisMDeregisterInterrupt: the interrupt on line ${irq.kernelInterrupt.line} is still connected`, adapter.id, irq.id);
    }
    const pools = [...adapter.pools];
    if (pools.length > 0) {
      ndisBugCheck(this.kernel, NdisViolation.POOL_FREED_WITH_OUTSTANDING_NBLS, what,
        `${what} returned for ${adapter.name} without NdisFreePacketPool for ${pools.map((p) => `${p.tag} (${p.inUse} in use)`).join(', ')}`, adapter.id, pools.length);
    }
  }

  private violation(code: number, api: string, message: string, p2 = 0, p3 = 0): void {
    if (inRoutine(this.kernel)) ndisBugCheck(this.kernel, code, api, message, p2, p3);
    throw new NdisError(message, { api, violation: code });
  }
}
