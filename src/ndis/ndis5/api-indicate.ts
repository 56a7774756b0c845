import { NdisViolation, ndisBugCheck } from '../common/bugcheck.ts';
import { requireNdisIrql } from '../common/irql-rules.ts';
import { NdisStatus, ndisStatusName, ndisStatusSucceeded, type NDIS_STATUS } from '../common/status.ts';
import type { Ndis5Adapter } from './adapter.ts';
import { Ndis5PacketApi } from './api-packet.ts';
import type { NdisPacket } from './packet.ts';

/**
 * The NDIS 5 library's calls from the miniport towards the protocol and NDIS: receive indications,
 * send completions, status indications, and the completions of a pended query or set.
 */
export abstract class Ndis5IndicationApi extends Ndis5PacketApi {
  /**
   * NdisMIndicateReceivePacket (<= DISPATCH_LEVEL). A packet whose status is NDIS_STATUS_RESOURCES is
   * the miniport's again when this resolves; the others stay with the protocol until they come back
   * through MiniportReturnPacket.
   */
  async indicateReceivePacket(adapterHandle: Ndis5Adapter, packetArray: readonly NdisPacket[], numberOfPackets: number): Promise<void> {
    const api = 'NdisMIndicateReceivePacket';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    if (adapterHandle.state !== 'running')
      ndisBugCheck(this.kernel, NdisViolation.INDICATION_WHILE_NOT_RUNNING, api, `${api}(${adapterHandle.name}) while the adapter is ${adapterHandle.state}`, adapterHandle.id);
    if (!Number.isInteger(numberOfPackets) || numberOfPackets < 0 || numberOfPackets > packetArray.length) {
      ndisBugCheck(
        this.kernel,
        NdisViolation.NBL_COUNT_MISMATCH,
        api,
        `${api}(${adapterHandle.name}): NumberOfPackets ${numberOfPackets} with an array of ${packetArray.length}`,
        adapterHandle.id,
        numberOfPackets,
        packetArray.length,
      );
    }
    for (let i = 0; i < numberOfPackets; i++) {
      const p = packetArray[i]!;
      if (p.owner === 'allocated') continue;
      ndisBugCheck(
        this.kernel,
        p.owner === 'indicated' || p.owner === 'lent' ? NdisViolation.INDICATED_PACKET_IN_USE : NdisViolation.NBL_NOT_OWNED,
        api,
        `${api}(${adapterHandle.name}) with packet ${p.id}, which is ${p.owner}`,
        adapterHandle.id,
        p.id,
      );
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
      ndisBugCheck(
        this.kernel,
        NdisViolation.NBL_NOT_OWNED,
        api,
        `${api}(${adapterHandle.name}) with packet ${packet.id}, which is ${packet.owner} (completed twice?)`,
        adapterHandle.id,
        packet.id,
      );
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

  /**
   * NdisReturnPackets: an indication with no protocol bound gives the packets back at once (the host
   * side, `Ndis5`, implements it).
   */
  protected abstract returnPacket(adapter: Ndis5Adapter, packet: NdisPacket): Promise<void>;

  /** A packet's send is over: back to the protocol with its status. */
  protected completeSend(adapter: Ndis5Adapter, packet: NdisPacket, status: NDIS_STATUS): void {
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
}
