import { DeviceRegisters } from '../../kernel/index.ts';
import { NdisViolation, ndisBugCheck } from '../common/bugcheck.ts';
import { NdisError, NdisOperationError } from '../common/errors.ts';
import type { ReleaseRules } from '../common/framework.ts';
import { inRoutine } from '../common/irql-rules.ts';
import { oidName } from '../common/oids.ts';
import { NdisDevicePnPEvent } from '../common/pnp.ts';
import { NdisStatus, ndisStatusName, ndisStatusSucceeded, type NDIS_STATUS } from '../common/status.ts';
import { Ndis5Adapter, type Ndis5Driver } from './adapter.ts';
import { Ndis5IndicationApi } from './api-indicate.ts';
import type { NdisPacket } from './packet.ts';
import type { AdapterResources, NdisInformationRequest, ProtocolBinding5 } from './types.ts';

/** What MiniportHalt and a failed MiniportInitialize must have released (NDIS 5 timers need only be cancelled). */
const RELEASE_RULES: ReleaseRules = { deregisterInterrupt: 'NdisMDeregisterInterrupt', freePool: 'NdisFreePacketPool', timersMustBeFreed: false };

/**
 * The NDIS 5.x facade: the NDIS library an NDIS 5.1 miniport calls (`Ndis5Library`: api-core.ts,
 * api-interrupt.ts, api-packet.ts, api-indicate.ts), and here the host side of NDIS that
 * initializes and halts the miniport, sends packets, returns receives and makes queries and sets.
 * NDIS calls MiniportISR / MiniportDisableInterrupt at DIRQL and MiniportHandleInterrupt at
 * DISPATCH_LEVEL exactly as the seed pages describe. The host-side calls refuse to run from driver
 * code; a miniport given an `Ndis5Library` cannot name them at all.
 *
 * Events: 'poolExhausted' (PacketPoolExhaustedEvent), 'status' (adapter, generalStatus, buffer).
 */
export class Ndis5 extends Ndis5IndicationApi {
  /** MiniportInitialize at PASSIVE_LEVEL; it must call NdisMSetAttributesEx. Rejects with NdisOperationError on failure. */
  async initializeMiniport(driver: Ndis5Driver, resources: AdapterResources, opts: { binding?: ProtocolBinding5 } = {}): Promise<Ndis5Adapter> {
    this.requireHost('initializeMiniport');
    const registers = new DeviceRegisters(this.kernel, resources.registers, {
      name: resources.name ?? driver.name,
      ...(resources.registerName ? { registerName: resources.registerName } : {}),
    });
    const adapter = new Ndis5Adapter(driver, resources, registers);
    driver.adapters.add(adapter);
    this.adapters.add(adapter);
    if (opts.binding) adapter.binding = opts.binding;
    const parameters = {
      allocatedResources: {
        registers,
        interruptLine: resources.interrupt.line,
        interruptIrql: resources.interrupt.irql ?? 5,
        memory: resources.memory,
        dma: resources.dma,
        macAddress: resources.macAddress,
      },
    };
    adapter.initializing = true;
    let status: NDIS_STATUS;
    try {
      status = await this.runPnpHandler('MiniportInitialize', () => driver.characteristics.initializeHandler(adapter, parameters));
    } finally {
      adapter.initializing = false;
    }
    if (typeof status !== 'number' || status === NdisStatus.PENDING) {
      ndisBugCheck(
        this.kernel,
        NdisViolation.BAD_RETURN_VALUE,
        'MiniportInitialize',
        `MiniportInitialize(${adapter.name}) returned ${String(status)}; it must return an NDIS_STATUS and cannot pend`,
        adapter.id,
      );
    }
    if (ndisStatusSucceeded(status) && !adapter.attributesSet) {
      this.log.warn({ adapter: adapter.name }, 'MiniportInitialize succeeded without NdisMSetAttributesEx; NDIS fails the initialization');
      status = NdisStatus.FAILURE;
    }
    if (!ndisStatusSucceeded(status)) {
      adapter.state = 'halted';
      this.checkReleasedAfter(adapter, 'MiniportInitialize (failed)', true, RELEASE_RULES);
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
    if (adapter.packetsOutstanding > 0)
      throw new NdisError(`haltMiniport(${adapter.name}): the protocol still holds ${adapter.packetsOutstanding} indicated packets; return them first`, { adapter: adapter.name });
    adapter.state = 'halting';
    await this.runPnpHandler('MiniportHalt', () => adapter.driver.characteristics.haltHandler(adapter.context));
    adapter.state = 'halted';
    this.checkReleasedAfter(adapter, 'MiniportHalt', false, RELEASE_RULES);
    adapter.driver.adapters.delete(adapter);
    this.adapters.delete(adapter);
  }

  /**
   * The device was surprise-removed: MiniportPnPEventNotify with NdisDevicePnPEventSurpriseRemoved
   * at PASSIVE_LEVEL, if the miniport has one, then MiniportHalt.
   */
  async surpriseRemoveMiniport(adapter: Ndis5Adapter): Promise<void> {
    this.requireHost('surpriseRemoveMiniport');
    if (adapter.state !== 'running') throw new NdisError(`surpriseRemoveMiniport(${adapter.name}) in state ${adapter.state}`, { adapter: adapter.name });
    this.kernel.trace.record('ndis', `${adapter.name} surprise-removed`);
    const notify = adapter.driver.characteristics.pnpEventNotifyHandler;
    if (notify) await this.runPnpHandler('MiniportPnPEventNotify', () => notify(adapter.context, NdisDevicePnPEvent.SurpriseRemoved, null, 0));
    await this.haltMiniport(adapter);
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
  override async returnPacket(adapter: Ndis5Adapter, packet: NdisPacket): Promise<void> {
    if (packet.owner !== 'indicated' || packet.indicatedBy !== adapter) {
      throw new NdisError(
        `returnPacket(${adapter.name}): packet ${packet.id} is ${packet.owner === 'lent' ? 'indicated with NDIS_STATUS_RESOURCES (never returned)' : packet.owner}`,
        { adapter: adapter.name, packet: packet.id },
      );
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
    if (!ndisStatusSucceeded(status))
      throw new NdisOperationError(`query ${oidName(oid)} on ${adapter.name} failed with ${ndisStatusName(status)}`, status, { adapter: adapter.name, oid });
    return request.informationBuffer as T;
  }

  /** MiniportSetInformation at DISPATCH_LEVEL; rejects with NdisOperationError on failure. */
  async setInformation(adapter: Ndis5Adapter, oid: number, value: unknown): Promise<void> {
    const { status } = await this.informationRequest(adapter, 'set', oid, value);
    if (!ndisStatusSucceeded(status))
      throw new NdisOperationError(`set ${oidName(oid)} on ${adapter.name} failed with ${ndisStatusName(status)}`, status, { adapter: adapter.name, oid });
  }

  /** One query or set, serialised per adapter; returns the final status (after a pended completion). */
  informationRequest(adapter: Ndis5Adapter, kind: 'query' | 'set', oid: number, value: unknown): Promise<{ status: NDIS_STATUS; request: NdisInformationRequest }> {
    this.requireHost('informationRequest');
    const request: NdisInformationRequest = { oid, informationBuffer: value, informationBufferLength: 0, bytesWritten: 0, bytesRead: 0, bytesNeeded: 0 };
    const run = async (): Promise<{ status: NDIS_STATUS; request: NdisInformationRequest }> => {
      if (adapter.state !== 'running') throw new NdisError(`${kind} ${oidName(oid)} on ${adapter.name} in state ${adapter.state}`, { adapter: adapter.name });
      const ch = adapter.driver.characteristics;
      const handler = kind === 'query' ? ch.queryInformationHandler : ch.setInformationHandler;
      const completed = new Promise<NDIS_STATUS>((resolve) => {
        adapter.pendingInformation = { request, kind, resolve };
      });
      let status = await this.runAtDispatch(kind === 'query' ? 'MiniportQueryInformation' : 'MiniportSetInformation', () => handler(adapter.context, request));
      if (typeof status !== 'number') {
        ndisBugCheck(
          this.kernel,
          NdisViolation.BAD_RETURN_VALUE,
          kind === 'query' ? 'MiniportQueryInformation' : 'MiniportSetInformation',
          `returned ${String(status)}; it must return an NDIS_STATUS`,
          adapter.id,
        );
      }
      if (status === NdisStatus.PENDING) status = await this.waitForCompletion(completed);
      else adapter.pendingInformation = null;
      return { status, request };
    };
    const result = adapter.requestChain.then(run, run);
    adapter.requestChain = result.catch(() => undefined);
    return result;
  }
}
