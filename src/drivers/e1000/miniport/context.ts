import { E1000StateError } from '../errors.ts';
import type { E1000Hardware, LinkState } from '../nic.ts';
import { zeroCounters, type AdapterCounters } from './counters.ts';
import type { MiniportEdge } from './edge.ts';

/**
 * created → initialized → running ⇄ (pausing → paused) → quiescing → quiesced → released.
 * Only `running` takes sends and indicates receives; `pausing` still finishes queued sends.
 */
export type AdapterState = 'created' | 'initialized' | 'running' | 'pausing' | 'paused' | 'quiescing' | 'quiesced' | 'released';

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
  /** The link state last read from STATUS. */
  link: LinkState = { up: false, speedMbps: 1000, fullDuplex: true };

  constructor(edge: MiniportEdge) {
    this.edge = edge;
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
