import { Dpc, KernelError } from '../../kernel/index.ts';
import { NdisViolation, ndisBugCheck } from '../common/bugcheck.ts';
import { NdisOperationError } from '../common/errors.ts';
import { checkInterruptHandle } from '../common/handle-checks.ts';
import { named } from '../common/named.ts';
import { requireNdisIrql } from '../common/irql-rules.ts';
import { NdisStatus } from '../common/status.ts';
import { NdisMiniportInterrupt, type Ndis5Adapter } from './adapter.ts';
import { Ndis5CoreApi } from './api-core.ts';
import type { MiniportIsrResult, RegisterInterruptOptions } from './types.ts';

/**
 * The NDIS 5 library's interrupt calls (NdisMRegisterInterrupt, NdisMDeregisterInterrupt,
 * NdisMSynchronizeWithInterrupt), with NDIS' own ISR and DPC that call MiniportISR or
 * MiniportDisableInterrupt, MiniportHandleInterrupt and MiniportEnableInterrupt.
 */
export abstract class Ndis5InterruptApi extends Ndis5CoreApi {
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
      throw new NdisOperationError(`${api}: ${opts.sharedInterrupt ? 'a shared interrupt' : 'RequestIsr'} needs MiniportISR`, NdisStatus.BAD_CHARACTERISTICS, {
        adapter: adapterHandle.name,
      });
    }
    if (!interrupt.usesIsr && typeof ch.disableInterruptHandler !== 'function') {
      throw new NdisOperationError(`${api}: without RequestIsr NDIS calls MiniportDisableInterrupt, which the miniport does not have`, NdisStatus.BAD_CHARACTERISTICS, {
        adapter: adapterHandle.name,
      });
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
        name: interrupt.usesIsr ? ch.isrHandler!.name || 'MiniportISR' : 'ndisMIsr',
        isr: () => this.runIsr(interrupt),
        context: adapterHandle.context,
        dpcs: [interrupt.dpc],
      });
    } catch (err) {
      if (err instanceof KernelError) {
        throw new NdisOperationError(
          `${api}(${adapterHandle.name}) on line ${line}: ${err.message}`,
          NdisStatus.RESOURCE_CONFLICT,
          { adapter: adapterHandle.name, line },
          { cause: err },
        );
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
  synchronizeWithInterrupt(
    interrupt: NdisMiniportInterrupt,
    synchronizeFunction: (synchronizeContext: unknown) => boolean | Promise<boolean>,
    synchronizeContext?: unknown,
  ): Promise<boolean> {
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
        ndisBugCheck(
          this.kernel,
          NdisViolation.BAD_RETURN_VALUE,
          'MiniportISR',
          'MiniportISR must return { interruptRecognized, queueMiniportHandleInterrupt }',
          adapter.id,
          interrupt.id,
        );
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
      await this.kernel.synchronizeExecution(
        interrupt.kernelInterrupt,
        named(enable.name || 'MiniportEnableInterrupt', async (ctx: unknown) => {
          await enable(ctx);
          return true;
        }),
        adapter.context,
      );
    }
  }

  /** NDIS_MINIPORT_INTERRUPT given by driver code: an interrupt of this facade, not deregistered. */
  protected checkInterrupt(interrupt: NdisMiniportInterrupt, api: string): void {
    checkInterruptHandle(this.kernel, NdisMiniportInterrupt, interrupt, api, 'NDIS_MINIPORT_INTERRUPT');
  }
}
