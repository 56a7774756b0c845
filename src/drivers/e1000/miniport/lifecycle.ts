import { logger } from '../../../util/log.ts';
import { E1000StateError } from '../errors.ts';
import { E1000Hardware, type LinkState, type PacketFilter } from '../nic.ts';
import type { RingDma, RingMemory } from '../ring-storage.ts';
import type { E1000Registers } from '../registers.ts';
import type { E1000Settings } from '../settings.ts';
import type { AdapterContext } from './context.ts';
import type { InterruptControl } from './interrupts.ts';
import type { ReceivePath } from './receive-path.ts';
import type { SendPath } from './send-path.ts';

const log = logger('e1000.miniport');

/** How long pause() waits for sends to finish and held receives to come back. */
const PAUSE_DRAIN_LIMIT_MS = 2000;

export interface LifecycleOptions extends Pick<E1000Settings, 'txRingSize' | 'rxRingSize' | 'throttle' | 'mac'> {
  registers: E1000Registers;
  memory: RingMemory;
  dma: RingDma;
  tag?: string;
}

/**
 * The adapter's lifecycle (pcidrv's nic_init.c and the D0 entry/exit of isrdpc.c): initialise the
 * hardware, start, pause and restart, and the two halves of halt. The core has no reset of its
 * own: NDIS 6's MiniportResetEx and NDIS 5's MiniportReset are not implemented by the variants.
 */
export class AdapterLifecycle {
  private readonly ctx: AdapterContext;
  private readonly options: LifecycleOptions;
  private readonly send: SendPath;
  private readonly receive: ReceivePath;
  private readonly interrupts: InterruptControl;
  private eepromMac: string | undefined;

  constructor(ctx: AdapterContext, options: LifecycleOptions, send: SendPath, receive: ReceivePath, interrupts: InterruptControl) {
    this.ctx = ctx;
    this.options = options;
    this.send = send;
    this.receive = receive;
    this.interrupts = interrupts;
  }

  /** The permanent address (EEPROM words 0–2), once initialized. */
  get permanentMac(): string {
    if (!this.eepromMac) throw new E1000StateError('the adapter is not initialized', { state: this.ctx.state });
    return this.eepromMac;
  }

  /** E1000Adapter.initialize (NICInitializeAdapter): see there. `validate` checks the filter first. */
  async initialize(filter: PacketFilter, validate: () => void): Promise<{ mac: string; link: LinkState }> {
    const ctx = this.ctx;
    ctx.expectState('initialize', 'created');
    const o = this.options;
    const hw = new E1000Hardware({
      registers: o.registers,
      memory: o.memory,
      dma: o.dma,
      txRingSize: o.txRingSize,
      rxRingSize: o.rxRingSize,
      tag: o.tag,
      delay: (us) => ctx.edge.delay(us),
      upTimeMs: () => ctx.edge.upTimeMs(),
    });
    ctx.hw = hw;
    try {
      validate();
      let { mac, link } = await hw.initialize(filter);
      this.eepromMac = mac;
      if (o.mac !== undefined && o.mac.toLowerCase() !== mac) {
        await hw.setMacAddress(o.mac);
        mac = hw.mac;
      }
      if (o.throttle) await hw.setInterruptThrottle(o.throttle);
      this.interrupts.itrWritten(hw.interruptThrottle.itr);
      ctx.link = link;
      ctx.state = 'initialized';
      log.debug({ mac, link }, 'adapter initialized');
      return { mac, link };
    } catch (err) {
      await hw.quiesce().catch((e: unknown) => log.warn({ err: e }, 'quiesce after a failed initialisation failed too'));
      try {
        hw.release();
      } catch (e) {
        log.warn({ err: e }, 'could not free the rings after a failed initialisation');
      }
      ctx.hw = undefined;
      throw err;
    }
  }

  /** E1000Adapter.start (NICEvtDeviceD0EntryPostInterruptsEnabled): see there. */
  async start(opts: { paused?: boolean }): Promise<void> {
    const ctx = this.ctx;
    ctx.expectState('start', 'initialized');
    ctx.state = opts.paused ? 'paused' : 'running';
    await this.interrupts.connect();
  }

  /** E1000Adapter.pause (MiniportPause): see there. */
  async pause(): Promise<void> {
    const ctx = this.ctx;
    ctx.expectState('pause', 'running');
    ctx.state = 'pausing';
    const deadline = ctx.edge.upTimeMs() + PAUSE_DRAIN_LIMIT_MS;
    for (;;) {
      // A removed NIC completes nothing: its sends are aborted at once (the adapter's
      // fMP_ADAPTER_SURPRISE_REMOVED in Intel's NDIS samples).
      if (ctx.removed) await this.send.abortAll();
      else await this.send.service();
      const receiving = await this.receive.outstanding();
      // What a removed NIC still holds never comes back (and was reported aborted): waiting for it
      // would only hold the pause to its deadline.
      const sending = !ctx.removed && this.send.outstanding;
      if (!sending && !receiving) break;
      if (ctx.edge.upTimeMs() > deadline) {
        log.warn({ queued: this.send.queued, inFlight: ctx.nic.tx.inFlight, heldReceives: this.receive.held }, 'pause: gave up waiting for the rings to drain');
        if (sending) await this.send.abortAll();
        break;
      }
      await ctx.edge.delay(1000);
    }
    ctx.state = 'paused';
  }

  /** E1000Adapter.restart (MiniportRestart): see there. */
  async restart(): Promise<void> {
    const ctx = this.ctx;
    ctx.expectState('restart', 'paused');
    ctx.state = 'running';
    if (await ctx.edge.queueDpc()) ctx.counters.dpcQueuedWithoutIsr++;
  }

  /** E1000Adapter.surpriseRemoved: see there. */
  surpriseRemoved(): void {
    this.ctx.removed = true;
    this.ctx.hw?.deviceRemoved();
  }

  /** E1000Adapter.quiesce (halt, first part; NICEvtDeviceD0ExitPreInterruptsDisabled): see there. */
  async quiesce(): Promise<void> {
    const ctx = this.ctx;
    if (ctx.state !== 'running' && ctx.state !== 'paused' && ctx.state !== 'initialized') {
      throw new E1000StateError(`quiesce() in state ${ctx.state}`, { state: ctx.state });
    }
    ctx.state = 'quiescing';
    const nic = ctx.nic;
    await this.interrupts.maskForHalt();
    try {
      await nic.quiesce();
    } catch (err) {
      log.warn({ err }, 'the NIC did not quiesce cleanly; its unfinished frames are aborted');
    }
    await this.send.abortAll();
    ctx.state = 'quiesced';
  }

  /** E1000Adapter.release (halt, second part; NICFreeSoftwareResources): see there. */
  release(): void {
    const ctx = this.ctx;
    ctx.expectState('release', 'quiesced');
    ctx.nic.release();
    this.interrupts.disconnect();
    ctx.state = 'released';
  }
}
