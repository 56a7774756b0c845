import { Dpc, KernelError } from '../../kernel/index.ts';
import { NdisViolation, ndisBugCheck } from '../common/bugcheck.ts';
import { NdisOperationError } from '../common/errors.ts';
import { checkInterruptHandle } from '../common/handle-checks.ts';
import { named } from '../common/named.ts';
import { requireNdisIrql } from '../common/irql-rules.ts';
import { NdisStatus } from '../common/status.ts';
import type { MiniportAdapter } from './adapter.ts';
import { Ndis6CoreApi } from './api-core.ts';
import { NdisInterrupt } from './interrupt.ts';
import type { MiniportInterruptCharacteristics, MiniportInterruptResult } from './types.ts';

/**
 * The NDIS 6 library's interrupt calls (NdisMRegisterInterruptEx, NdisMDeregisterInterruptEx,
 * NdisMSynchronizeWithInterruptEx, NdisMQueueDpcEx), with NDIS' own ISR and DPC that call
 * MiniportInterrupt and MiniportInterruptDPC.
 */
export abstract class Ndis6InterruptApi extends Ndis6CoreApi {
  /**
   * NdisMRegisterInterruptEx (PASSIVE_LEVEL): connects MiniportInterrupt to the adapter's line at its
   * DIRQL. Throws NdisOperationError (NDIS_STATUS_RESOURCE_CONFLICT, INVALID_PARAMETER, FAILURE) where
   * Windows returns a failure status.
   */
  registerInterruptEx(adapterHandle: MiniportAdapter, miniportInterruptContext: unknown, characteristics: MiniportInterruptCharacteristics): NdisInterrupt {
    const api = 'NdisMRegisterInterruptEx';
    requireNdisIrql(this.kernel, api);
    this.checkAdapter(adapterHandle, api);
    if (typeof characteristics.interruptHandler !== 'function' || typeof characteristics.interruptDpcHandler !== 'function') {
      throw new NdisOperationError(`${api}: MiniportInterrupt and MiniportInterruptDPC are required`, NdisStatus.INVALID_PARAMETER, { adapter: adapterHandle.name });
    }
    if (adapterHandle.interrupt) {
      throw new NdisOperationError(`${api}: ${adapterHandle.name} already has a registered interrupt`, NdisStatus.FAILURE, { adapter: adapterHandle.name });
    }
    const handle = new NdisInterrupt(adapterHandle, miniportInterruptContext, characteristics);
    const dpcName = characteristics.interruptDpcHandler.name || 'MiniportInterruptDPC';
    for (let i = 0; i < this.kernel.processorCount; i++) {
      const dpc = new Dpc((d, _ctx, messageId, dpcContext) => this.runInterruptDpc(handle, i, d, messageId, dpcContext), handle, dpcName);
      dpc.setTargetProcessor(i);
      handle.dpcs.push(dpc);
      handle.throttles.push({ maxNblsToIndicate: this.maxNblsToIndicate, moreNblsPending: false });
    }
    const res = adapterHandle.resources.interrupt;
    try {
      handle.kernelInterrupt = this.kernel.connectInterrupt({
        line: res.line,
        ...(res.irql !== undefined ? { irql: res.irql } : {}),
        ...(res.processors ? { processors: res.processors } : {}),
        shareVector: res.shared ?? true,
        name: characteristics.interruptHandler.name || 'MiniportInterrupt',
        isr: () => this.runInterrupt(handle),
        context: miniportInterruptContext,
        dpcs: handle.dpcs,
      });
    } catch (err) {
      if (err instanceof KernelError) {
        throw new NdisOperationError(
          `${api}(${adapterHandle.name}) on line ${res.line}: ${err.message}`,
          NdisStatus.RESOURCE_CONFLICT,
          { adapter: adapterHandle.name, line: res.line },
          { cause: err },
        );
      }
      throw err;
    }
    adapterHandle.interrupt = handle;
    return handle;
  }

  /**
   * NdisMDeregisterInterruptEx (PASSIVE_LEVEL): once it returns, MiniportInterrupt and
   * MiniportInterruptDPC are never called again (it waits for a running ISR and for queued and
   * running DPCs).
   */
  async deregisterInterruptEx(interruptHandle: NdisInterrupt): Promise<void> {
    const api = 'NdisMDeregisterInterruptEx';
    requireNdisIrql(this.kernel, api);
    this.checkInterrupt(interruptHandle, api);
    interruptHandle.deregistered = true;
    await interruptHandle.kernelInterrupt.disconnectWithDpcs();
    if (interruptHandle.adapter.interrupt === interruptHandle) interruptHandle.adapter.interrupt = null;
  }

  /**
   * NdisMSynchronizeWithInterruptEx (<= DIRQL): runs MiniportSynchronizeInterrupt at the interrupt's
   * DIRQL holding its interrupt spin lock (MiniportInterrupt cannot run on any processor meanwhile),
   * restores the caller's IRQL and returns the routine's boolean. `messageId` is 0 for line interrupts.
   */
  synchronizeWithInterruptEx(
    interruptHandle: NdisInterrupt,
    messageId: number,
    synchronizeFunction: (synchronizeContext: unknown) => boolean | Promise<boolean>,
    synchronizeContext?: unknown,
  ): Promise<boolean> {
    const api = 'NdisMSynchronizeWithInterruptEx';
    this.checkInterrupt(interruptHandle, api);
    requireNdisIrql(this.kernel, api, interruptHandle.irql);
    void messageId;
    const fn = synchronizeFunction.name ? synchronizeFunction : named('MiniportSynchronizeInterrupt', synchronizeFunction);
    return this.kernel.synchronizeExecution(interruptHandle.kernelInterrupt, fn, synchronizeContext);
  }

  /**
   * NdisMQueueDpcEx (<= DIRQL): queue MiniportInterruptDPC on each processor in the
   * `targetProcessors` bitmask; `miniportDpcContext` reaches the DPC. Returns the bitmask of
   * processors where it was queued (a DPC already queued there is not queued twice).
   */
  queueDpcEx(interruptHandle: NdisInterrupt, messageId: number, targetProcessors: number, miniportDpcContext?: unknown): number | Promise<number> {
    const api = 'NdisMQueueDpcEx';
    this.checkInterrupt(interruptHandle, api);
    requireNdisIrql(this.kernel, api, interruptHandle.irql);
    const self = this.kernel.currentProcessor();
    let queued = 0;
    for (let i = 0; i < interruptHandle.dpcs.length && i < 32; i++) {
      if (i === self || ((targetProcessors >>> i) & 1) === 0) continue;
      if (this.kernel.enqueueDpc(interruptHandle.dpcs[i]!, messageId, miniportDpcContext)) queued |= 1 << i;
    }
    if (self >= 32 || ((targetProcessors >>> self) & 1) === 0 || !interruptHandle.dpcs[self]) return queued >>> 0;
    // Last, so that below DISPATCH_LEVEL the caller's own DPC runs (KeInsertQueueDpc) before we return.
    const mine = this.kernel.insertQueueDpc(interruptHandle.dpcs[self], messageId, miniportDpcContext);
    const withMine = (q: boolean): number => (q ? queued | (1 << self) : queued) >>> 0;
    return typeof mine === 'boolean' ? withMine(mine) : mine.then(withMine);
  }

  /** NDIS' ISR for the line: calls MiniportInterrupt and queues the DPCs it asks for. */
  private async runInterrupt(handle: NdisInterrupt): Promise<boolean> {
    if (handle.deregistered) return false;
    const result: MiniportInterruptResult = await handle.characteristics.interruptHandler(handle.context);
    if (result === null || typeof result !== 'object' || typeof result.recognized !== 'boolean') {
      ndisBugCheck(
        this.kernel,
        NdisViolation.BAD_RETURN_VALUE,
        'MiniportInterrupt',
        'MiniportInterrupt must return { recognized, queueDefaultDpc, targetProcessors? }',
        handle.adapter.id,
        handle.id,
      );
    }
    // QueueDefaultInterruptDpc TRUE: NDIS ignores TargetProcessors and queues exactly one
    // MiniportInterruptDPC, on the current processor (MINIPORT_ISR_HANDLER).
    if (result.queueDefaultDpc) {
      this.kernel.enqueueDpc(handle.dpcs[this.kernel.currentProcessor()]!, 0, undefined);
    } else if (result.targetProcessors) {
      const targets = result.targetProcessors;
      for (let i = 0; i < handle.dpcs.length && i < 32; i++) {
        if ((targets >>> i) & 1) this.kernel.enqueueDpc(handle.dpcs[i]!, 0, undefined);
      }
    }
    return result.recognized;
  }

  /** NDIS' DPC for one processor: MiniportInterruptDPC with receive throttling; queued again while it reports more pending. */
  private async runInterruptDpc(handle: NdisInterrupt, processor: number, dpc: Dpc, messageId: unknown, dpcContext: unknown): Promise<void> {
    if (handle.deregistered) return;
    const throttle = handle.throttles[processor]!;
    throttle.maxNblsToIndicate = this.maxNblsToIndicate;
    throttle.moreNblsPending = false;
    handle.adapter.statistics.interruptDpcs++;
    await handle.characteristics.interruptDpcHandler(handle.context, typeof messageId === 'number' ? messageId : 0, throttle, dpcContext);
    if (throttle.moreNblsPending && !handle.deregistered) this.kernel.enqueueDpc(dpc, messageId, dpcContext);
  }

  /** NdisInterruptHandle given by driver code: an interrupt of this facade, not deregistered. */
  protected checkInterrupt(handle: NdisInterrupt, api: string): void {
    checkInterruptHandle(this.kernel, NdisInterrupt, handle, api, 'NdisInterruptHandle');
  }
}
