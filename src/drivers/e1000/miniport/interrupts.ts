import { logger } from '../../../util/log.ts';
import { E1000StateError } from '../errors.ts';
import { DEFAULT_INTERRUPT_MASK, type InterruptThrottle } from '../nic.ts';
import { Icr } from '../registers.ts';
import type { AdapterContext } from './context.ts';
import { ISR_NOT_OURS, ISR_RECOGNIZED, type IsrResult } from './edge.ts';
import type { ReceivePath } from './receive-path.ts';
import type { SendPath } from './send-path.ts';

const log = logger('e1000.miniport');

/**
 * ITR while interrupts carry only transmit completions (adaptive moderation): at most about 1,000
 * interrupts per second. QEMU raises the first edge at once and defers the next ones to the end
 * of the window, so a receive interrupt right after a send burst can wait up to 1 ms, once.
 */
export const BULK_TX_ITR = 3906;

const RECEIVE_CAUSES = Icr.RXT0 | Icr.RXDMT0 | Icr.RXO | Icr.RXSEQ | Icr.LSC;
const TRANSMIT_CAUSES = Icr.TXDW | Icr.TXQE;

export interface InterruptOptions {
  interruptMask?: number;
  throttle?: InterruptThrottle;
  bulkTransmitItr?: number;
}

/**
 * Interrupt handling (pcidrv's isrdpc.c): the ISR and DPC bodies, mask and unmask, adaptive
 * moderation, link detection. IMS/IMC and the moderation registers are written only here and only
 * through edge.synchronize once the interrupt is connected (the ISR may run at any time).
 */
export class InterruptControl {
  private readonly ctx: AdapterContext;
  private readonly send: SendPath;
  private readonly receive: ReceivePath;
  private mask: number;

  /** Causes the ISR read from ICR and the DPC has not taken yet (OR-accumulated). Written at DIRQL. */
  private savedCauses = 0;
  /** The ISR masked the NIC and its DPC has not re-enabled it yet. Written at DIRQL. */
  private dpcPending = false;
  /** The core wants interrupts unmasked (false before start() and from quiesce() on). */
  private enabled = false;
  /** connect() ran: the interrupt is registered, so shared registers go through synchronize. */
  private connected = false;
  /** ITR for transmit-only interrupt load (adaptive moderation); 0 once it is off. */
  private bulkTransmitItr: number;
  /** ITR in the register now, and the one the next re-enable writes (adaptive moderation). */
  private itrInForce = 0;
  private itrWanted = 0;

  private readonly reenable = async (): Promise<boolean> => {
    this.dpcPending = false;
    const nic = this.ctx.nic;
    if (this.itrWanted !== this.itrInForce) {
      this.itrInForce = this.itrWanted;
      await nic.writeInterruptRate(this.itrWanted);
    }
    if (this.enabled) await nic.enableInterrupts(this.mask);
    return true;
  };

  private readonly maskAll = async (): Promise<boolean> => {
    this.enabled = false;
    await this.ctx.nic.disableInterrupts();
    return true;
  };

  constructor(ctx: AdapterContext, send: SendPath, receive: ReceivePath, options: InterruptOptions) {
    this.ctx = ctx;
    this.send = send;
    this.receive = receive;
    this.mask = (options.interruptMask ?? DEFAULT_INTERRUPT_MASK) >>> 0;
    this.bulkTransmitItr = options.throttle ? 0 : (options.bulkTransmitItr ?? BULK_TX_ITR);
    ctx.shared(this, 'E1000_INTERRUPTS', ['savedCauses', 'dpcPending', 'enabled', 'mask', 'bulkTransmitItr', 'itrInForce', 'itrWanted']);
  }

  /** The causes unmasked while running. */
  get enabledCauses(): number {
    return this.mask;
  }

  /** Initialisation wrote this ITR (interrupts are not connected yet). */
  itrWritten(itr: number): void {
    this.itrInForce = this.itrWanted = itr;
  }

  /** The interrupt is registered (start): unmask the causes, through synchronize. */
  async connect(): Promise<void> {
    this.connected = true;
    await this.ctx.edge.synchronize(async () => {
      this.enabled = true;
      if (!this.dpcPending) await this.ctx.nic.enableInterrupts(this.mask);
      return true;
    });
  }

  /** Halt: mask every cause for good (through synchronize while connected). */
  async maskForHalt(): Promise<void> {
    if (this.connected) await this.ctx.edge.synchronize(this.maskAll);
    else await this.ctx.nic.disableInterrupts();
  }

  /** The interrupt is deregistered (release). */
  disconnect(): void {
    this.connected = false;
  }

  /** E1000Adapter.isr (NICEvtInterruptIsr): see there. */
  async isr(): Promise<IsrResult> {
    this.ctx.counters.isrCalls++;
    const nic = this.ctx.nic;
    await nic.disableInterrupts();
    const causes = await nic.readAndClearCauses();
    // All ones: the device is gone (a removed PCI device's read), not an interrupt of ours.
    if (causes === 0xffff_ffff) return ISR_NOT_OURS;
    if (causes === 0) {
      if (this.enabled && !this.dpcPending) await nic.enableInterrupts(this.mask);
      return ISR_NOT_OURS;
    }
    this.savedCauses |= causes;
    this.dpcPending = true;
    this.ctx.counters.isrRecognized++;
    return ISR_RECOGNIZED;
  }

  /** E1000Adapter.dpc (NICEvtInterruptDpc): see there. */
  async dpc(receiveBudget: number): Promise<void> {
    const ctx = this.ctx;
    ctx.counters.dpcCalls++;
    let causes = 0;
    // The moderation decision is taken under the interrupt lock too: setThrottle turns adaptive
    // moderation off inside synchronize, and a decision taken outside could turn it back on.
    await ctx.edge.synchronize(() => {
      causes = this.savedCauses;
      this.savedCauses = 0;
      if (this.bulkTransmitItr > 0 && causes !== 0) {
        const transmitOnly = (causes & RECEIVE_CAUSES) === 0 && (causes & TRANSMIT_CAUSES) !== 0;
        this.itrWanted = transmitOnly ? this.bulkTransmitItr : ctx.nic.interruptThrottle.itr;
      }
      return true;
    });
    if (causes & Icr.RXO) ctx.counters.rxOverruns++;
    await this.send.service();
    const more = await this.receive.service(Math.max(1, receiveBudget));
    if (causes & Icr.LSC) await this.updateLink();
    if (more && ctx.state === 'running') {
      if (await ctx.edge.queueDpc()) {
        ctx.counters.dpcRequeued++;
        ctx.counters.dpcQueuedWithoutIsr++;
      }
      return;
    }
    await ctx.edge.synchronize(this.reenable);
  }

  /** NICEvtInterruptDisable's body, at DIRQL under the interrupt lock: mask every cause. */
  async disableAtDirql(): Promise<void> {
    await this.ctx.nic.disableInterrupts();
  }

  /** NICEvtInterruptEnable's body, at DIRQL: unmask the causes again (not while the DPC is pending). */
  async enableAtDirql(): Promise<void> {
    if (this.enabled && !this.dpcPending) await this.ctx.nic.enableInterrupts(this.mask);
  }

  /** Moderation registers, through synchronize; adaptive moderation stops. */
  async setThrottle(throttle: InterruptThrottle): Promise<void> {
    const nic = this.ctx.nic;
    await this.synchronizeIfStarted(async () => {
      this.bulkTransmitItr = 0;
      await nic.setInterruptThrottle(throttle);
      const itr = nic.interruptThrottle.itr;
      if (throttle.itr === undefined && this.itrInForce !== itr) await nic.writeInterruptRate(itr);
      this.itrInForce = this.itrWanted = itr;
      return true;
    });
  }

  /** The causes unmasked while running (IMS/IMC), through synchronize; left alone while the DPC is pending. */
  async setMask(mask: number): Promise<void> {
    const next = mask >>> 0;
    const nic = this.ctx.nic;
    await this.synchronizeIfStarted(async () => {
      this.mask = next;
      if (this.enabled && !this.dpcPending) {
        await nic.disableInterrupts();
        await nic.enableInterrupts(next);
      }
      return true;
    });
  }

  /** Through synchronize once the interrupt is registered; directly before that (initialisation). */
  async synchronizeIfStarted(fn: () => Promise<boolean>): Promise<void> {
    const state = this.ctx.state;
    if (state === 'created' || state === 'released') {
      throw new E1000StateError(`the adapter is ${state === 'created' ? 'not initialized' : 'released'}`, { state });
    }
    if (this.connected) await this.ctx.edge.synchronize(fn);
    else await fn();
  }

  /** STATUS after LSC (NICLinkDetection): indicate the new state if it differs from the last one. */
  private async updateLink(): Promise<void> {
    const ctx = this.ctx;
    const link = await ctx.nic.readLinkState();
    const old = ctx.link;
    if (link.up === old.up && link.speedMbps === old.speedMbps && link.fullDuplex === old.fullDuplex) return;
    ctx.link = link;
    ctx.counters.linkChanges++;
    log.debug({ link }, 'link changed');
    await ctx.edge.indicateLink({ ...link });
  }
}
