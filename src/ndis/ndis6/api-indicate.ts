import { Irql } from '../../kernel/index.ts';
import { NdisViolation, StateTransition, ndisBugCheck } from '../common/bugcheck.ts';
import { requireNdisIrql } from '../common/irql-rules.ts';
import { MediaConnectState, MediaDuplexState, oidName, type NdisLinkState } from '../common/oids.ts';
import { NdisStatus, ndisStatusName, ndisStatusSucceeded, type NDIS_STATUS } from '../common/status.ts';
import type { MiniportAdapter } from './adapter.ts';
import { Ndis6NblApi } from './api-nbl.ts';
import { nblOwnerText, type NetBufferList } from './net-buffer-list.ts';
import { NdisReceiveFlags, NdisReturnFlags, NdisSendCompleteFlags, type NdisOidRequest, type NdisStatusIndication } from './types.ts';

/**
 * The NDIS 6 library's calls from the miniport towards the protocol and NDIS: receive indications,
 * send completions, status indications, and the completions of a pended OID request, pause or
 * restart. The path every frame takes: no allocation per call.
 */
export abstract class Ndis6IndicationApi extends Ndis6NblApi {
  /**
   * NdisMIndicateReceiveNetBufferLists (<= DISPATCH_LEVEL). Without NDIS_RECEIVE_FLAGS_RESOURCES the
   * protocol owns the chain until it returns it (MiniportReturnNetBufferLists); with it, the NBLs are
   * the miniport's again when this resolves. `numberOfNetBufferLists` must match the chain.
   * Only the default port (NDIS_DEFAULT_PORT_NUMBER, 0) exists here, so the port number is not used.
   */
  async indicateReceiveNetBufferLists(
    adapterHandle: MiniportAdapter,
    netBufferLists: NetBufferList,
    portNumber: number,
    numberOfNetBufferLists: number,
    receiveFlags: number,
  ): Promise<void> {
    const api = 'NdisMIndicateReceiveNetBufferLists';
    void portNumber;
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    this.checkDispatchFlag(receiveFlags & NdisReceiveFlags.DISPATCH_LEVEL, api, adapterHandle);
    if (adapterHandle.state !== 'running' && adapterHandle.state !== 'pausing') {
      ndisBugCheck(this.kernel, NdisViolation.INDICATION_WHILE_NOT_RUNNING, api, `${api}(${adapterHandle.name}) while the adapter is ${adapterHandle.state}`, adapterHandle.id);
    }
    let n = 0;
    for (let nbl: NetBufferList | null = netBufferLists; nbl; nbl = nbl.next) {
      n++;
      if (nbl.owner === 'allocated') continue;
      if (nbl.owner === 'indicated' || nbl.owner === 'lent') {
        ndisBugCheck(
          this.kernel,
          NdisViolation.INDICATED_PACKET_IN_USE,
          api,
          `${api}(${adapterHandle.name}) with NBL ${nbl.id}, which the protocol still holds from an earlier indication`,
          adapterHandle.id,
          nbl.id,
        );
      }
      ndisBugCheck(
        this.kernel,
        NdisViolation.NBL_NOT_OWNED,
        api,
        `${api}(${adapterHandle.name}) with NBL ${nbl.id}, which is ${nblOwnerText(nbl.owner)}`,
        adapterHandle.id,
        nbl.id,
      );
    }
    if (n !== numberOfNetBufferLists) {
      ndisBugCheck(
        this.kernel,
        NdisViolation.NBL_COUNT_MISMATCH,
        api,
        `${api}(${adapterHandle.name}): NumberOfNetBufferLists is ${numberOfNetBufferLists} but the chain has ${n}`,
        adapterHandle.id,
        numberOfNetBufferLists,
        n,
      );
    }
    const resources = (receiveFlags & NdisReceiveFlags.RESOURCES) !== 0;
    const owner = resources ? 'lent' : 'indicated';
    for (let nbl: NetBufferList | null = netBufferLists; nbl; nbl = nbl.next) {
      nbl.owner = owner;
      nbl.indicatedBy = adapterHandle;
    }
    adapterHandle.statistics.receivesIndicated += n;
    if (!resources) adapterHandle.receivesOutstanding += n;
    const binding = adapterHandle.binding;
    try {
      if (binding) {
        const r = binding.receiveNetBufferLists(netBufferLists, n, receiveFlags, adapterHandle);
        if (r !== undefined) await r;
      } else {
        adapterHandle.statistics.receivesDropped += n;
      }
    } finally {
      if (resources) {
        for (let nbl: NetBufferList | null = netBufferLists; nbl; nbl = nbl.next) if (nbl.owner === 'lent') nbl.owner = 'allocated';
      }
    }
    if (!binding && !resources && !this.kernel.stopped) {
      const inDispatch = this.kernel.currentIrql() >= Irql.DISPATCH_LEVEL;
      await this.returnNetBufferLists(adapterHandle, netBufferLists, inDispatch ? NdisReturnFlags.DISPATCH_LEVEL : 0);
    }
  }

  /**
   * NdisMSendNetBufferListsComplete (<= DISPATCH_LEVEL): gives the chain back to the protocol; each
   * NBL's status says how its send went. Completing an NBL that is not in a send is a bug check.
   */
  sendNetBufferListsComplete(adapterHandle: MiniportAdapter, netBufferLists: NetBufferList, sendCompleteFlags: number): void {
    const api = 'NdisMSendNetBufferListsComplete';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    this.checkDispatchFlag(sendCompleteFlags & NdisSendCompleteFlags.DISPATCH_LEVEL, api, adapterHandle);
    let n = 0;
    let failed = 0;
    for (let nbl: NetBufferList | null = netBufferLists; nbl; nbl = nbl.next) {
      if (nbl.owner !== 'sending' || nbl.sentTo !== adapterHandle) {
        ndisBugCheck(
          this.kernel,
          NdisViolation.NBL_NOT_OWNED,
          api,
          `${api}(${adapterHandle.name}) with NBL ${nbl.id}, which is ${nbl.owner === 'sending' ? 'in a send to another adapter' : nblOwnerText(nbl.owner)} (completed twice?)`,
          adapterHandle.id,
          nbl.id,
        );
      }
      n++;
      if (!ndisStatusSucceeded(nbl.status)) failed++;
    }
    for (let nbl: NetBufferList | null = netBufferLists; nbl; nbl = nbl.next) {
      nbl.owner = 'allocated';
      nbl.sentTo = null;
    }
    adapterHandle.sendsOutstanding -= n;
    adapterHandle.statistics.sendsCompleted += n;
    adapterHandle.statistics.sendsFailed += failed;
    adapterHandle.binding?.sendNetBufferListsComplete(netBufferLists, sendCompleteFlags, adapterHandle);
  }

  /**
   * NdisMIndicateStatusEx (<= DISPATCH_LEVEL). NDIS_STATUS_LINK_STATE carries an NdisLinkState:
   * the adapter's link state is updated and the indication reaches the bound protocol.
   */
  indicateStatusEx(adapterHandle: MiniportAdapter, statusIndication: NdisStatusIndication): void {
    const api = 'NdisMIndicateStatusEx';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    if (statusIndication.sourceHandle !== undefined && statusIndication.sourceHandle !== adapterHandle) {
      ndisBugCheck(this.kernel, NdisViolation.INVALID_HANDLE, api, `${api}(${adapterHandle.name}): SourceHandle is another adapter`, adapterHandle.id);
    }
    if (statusIndication.statusCode === NdisStatus.LINK_STATE) {
      const ls = statusIndication.buffer as NdisLinkState | undefined;
      if (!isLinkState(ls)) {
        ndisBugCheck(
          this.kernel,
          NdisViolation.BAD_RETURN_VALUE,
          api,
          `${api}(${adapterHandle.name}): NDIS_STATUS_LINK_STATE needs an NDIS_LINK_STATE buffer { mediaConnectState, mediaDuplexState, xmitLinkSpeed, rcvLinkSpeed }`,
          adapterHandle.id,
        );
      }
      adapterHandle.linkState = { ...ls };
    }
    adapterHandle.statistics.statusIndications++;
    this.kernel.trace.record('ndis', `${api} ${adapterHandle.name} ${ndisStatusName(statusIndication.statusCode)}`, this.kernel.current()?.processor.index);
    const indication: NdisStatusIndication = { ...statusIndication, sourceHandle: adapterHandle };
    adapterHandle.binding?.statusIndication(indication, adapterHandle);
    this.emit('status', adapterHandle, indication);
  }

  /** NdisMOidRequestComplete (<= DISPATCH_LEVEL): completes the request MiniportOidRequest pended. */
  oidRequestComplete(adapterHandle: MiniportAdapter, oidRequest: NdisOidRequest, status: NDIS_STATUS): void {
    const api = 'NdisMOidRequestComplete';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    const pending = adapterHandle.pendingOid;
    if (!pending || pending.request !== oidRequest || status === NdisStatus.PENDING) {
      ndisBugCheck(
        this.kernel,
        NdisViolation.INVALID_OID_COMPLETION,
        api,
        `${api}(${adapterHandle.name}, ${oidName(oidRequest.oid)}) for a request that is not pending${status === NdisStatus.PENDING ? ' (status NDIS_STATUS_PENDING)' : ''}`,
        adapterHandle.id,
        oidRequest.requestId,
      );
    }
    adapterHandle.pendingOid = null;
    pending.resolve(status);
  }

  /** NdisMPauseComplete (<= DISPATCH_LEVEL): completes a pended MiniportPause. */
  pauseComplete(adapterHandle: MiniportAdapter): void {
    const api = 'NdisMPauseComplete';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    const resolve = adapterHandle.pendingPause;
    if (!resolve)
      ndisBugCheck(
        this.kernel,
        NdisViolation.ILLEGAL_MINIPORT_STATE_TRANSITION,
        api,
        `${api}(${adapterHandle.name}) with no pause pending`,
        StateTransition.PAUSE_COMPLETE,
        adapterHandle.id,
      );
    adapterHandle.pendingPause = null;
    resolve(NdisStatus.SUCCESS);
  }

  /** NdisMRestartComplete (<= DISPATCH_LEVEL): completes a pended MiniportRestart. */
  restartComplete(adapterHandle: MiniportAdapter, status: NDIS_STATUS): void {
    const api = 'NdisMRestartComplete';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    const resolve = adapterHandle.pendingRestart;
    if (!resolve)
      ndisBugCheck(
        this.kernel,
        NdisViolation.ILLEGAL_MINIPORT_STATE_TRANSITION,
        api,
        `${api}(${adapterHandle.name}) with no restart pending`,
        StateTransition.RESTART_COMPLETE,
        adapterHandle.id,
      );
    adapterHandle.pendingRestart = null;
    resolve(status);
  }

  /**
   * NdisReturnNetBufferLists: an indication with no protocol bound gives the NBLs back at once
   * (the host side, `Ndis6`, implements it).
   */
  protected abstract returnNetBufferLists(adapter: MiniportAdapter, netBufferLists: NetBufferList, returnFlags?: number): Promise<void>;

  /** A *_DISPATCH_LEVEL flag claims DISPATCH_LEVEL: below it NDIS would take its locks wrongly. */
  private checkDispatchFlag(flag: number, api: string, adapter: MiniportAdapter): void {
    if (flag && this.kernel.currentIrql() < Irql.DISPATCH_LEVEL) {
      ndisBugCheck(
        this.kernel,
        NdisViolation.DISPATCH_FLAG_BELOW_DISPATCH,
        api,
        `${api}(${adapter.name}) with the DISPATCH_LEVEL flag at IRQL ${this.kernel.currentIrql()}`,
        adapter.id,
        this.kernel.currentIrql(),
      );
    }
  }
}

function isLinkState(v: unknown): v is NdisLinkState {
  if (v === null || typeof v !== 'object') return false;
  const ls = v as Record<string, unknown>;
  const states: number[] = Object.values(MediaConnectState);
  const duplex: number[] = Object.values(MediaDuplexState);
  return (
    states.includes(ls.mediaConnectState as number) && duplex.includes(ls.mediaDuplexState as number) && typeof ls.xmitLinkSpeed === 'number' && typeof ls.rcvLinkSpeed === 'number'
  );
}
