import { E1000StateError } from '../errors.ts';
import type { E1000Hardware, LinkState } from '../nic.ts';
import type { E1000Registers } from '../registers.ts';
import { zeroCounters, type AdapterCounters } from './counters.ts';
import type { MiniportEdge } from './edge.ts';

/**
 * created → initialized → running ⇄ (pausing → paused) → quiescing → quiesced → released.
 * Only `running` takes sends and indicates receives; `pausing` still finishes queued sends.
 */
export type AdapterState = 'created' | 'initialized' | 'running' | 'pausing' | 'paused' | 'quiescing' | 'quiesced' | 'released';

/** What DeviceRegisters.shared looks like (the core does not import the kernel). */
interface SharedStateDeclaration {
  shared(obj: object, structure: string, opts: { fields: readonly string[] }): unknown;
}

/**
 * What the adapter's parts (send path, receive path, interrupt handling, lifecycle) share: pcidrv's
 * FDO_DATA, cut down to the state more than one of them reads. Each part keeps the rest to itself.
 */
export class AdapterContext {
  readonly edge: MiniportEdge;
  readonly counters: AdapterCounters = zeroCounters();
  state: AdapterState = 'created';
  /** The hardware layer, from initialize() on. */
  hw: E1000Hardware | undefined;
  /** The device was surprise-removed: the hardware is not waited on any more. */
  removed = false;
  /** The link state last read from STATUS. */
  link: LinkState = { up: false, speedMbps: 1000, fullDuplex: true };

  private readonly registers: E1000Registers | undefined;

  constructor(edge: MiniportEdge, registers?: E1000Registers) {
    this.edge = edge;
    this.registers = registers;
  }

  /**
   * Declare `fields` of `part` shared with the ISR, the DPC, the send path or OID handlers, for the
   * lockset verifier (src/kernel/README.md). It is reached through the registers when they are the
   * kernel's DeviceRegisters (the core holds no kernel); otherwise, or with the verifier off, nothing.
   */
  shared(part: object, structure: string, fields: readonly string[]): void {
    const regs = this.registers as (E1000Registers & Partial<SharedStateDeclaration>) | undefined;
    if (typeof regs?.shared === 'function') regs.shared(part, structure, { fields });
  }

  get nic(): E1000Hardware {
    if (!this.hw) throw new E1000StateError('the adapter is not initialized', { state: this.state });
    return this.hw;
  }

  expectState(op: string, state: AdapterState): void {
    if (this.state !== state) {
      throw new E1000StateError(`${op}() in state ${this.state}; it needs ${state}`, { op, state: this.state });
    }
  }
}
