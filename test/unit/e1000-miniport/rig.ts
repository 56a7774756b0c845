/**
 * The miniport core on the real kernel model with a fake NIC: a minimal framework edge built
 * directly on kernel calls (connectInterrupt, synchronizeExecution, insertQueueDpc, spin locks),
 * playing the part a facade variant plays in production.
 */
import { E1000Adapter, type AdapterLock, type E1000AdapterOptions, type MiniportEdge, type ReceiveBatch, type SendOutcome } from '../../../src/drivers/e1000/miniport/index.ts';
import type { LinkState } from '../../../src/drivers/e1000/nic.ts';
import { registerName } from '../../../src/drivers/e1000/registers.ts';
import { DeviceRegisters, Dpc, Irql, Kernel, type InterruptObject } from '../../../src/kernel/index.ts';
import { LINE, type BumpDma, type FakeE1000 } from './fake-nic.ts';
import { fakeE1000Machine } from './fake-machine.ts';

export interface RigOptions extends Partial<Omit<E1000AdapterOptions, 'registers' | 'memory' | 'dma'>> {
  processors?: number;
  seed?: number;
  /** The upper layer keeps indicated frames until the test calls returnHeld(). */
  holdReceives?: boolean;
}

export class TestEdge implements MiniportEdge {
  interrupt: InterruptObject | undefined;
  dpc: Dpc | undefined;
  readonly received: Buffer[] = [];
  readonly batches: number[] = [];
  readonly completions: { count: number; outcome: SendOutcome }[] = [];
  readonly links: LinkState[] = [];
  held = 0;
  holdReceives = false;
  dpcQueued = 0;
  adapter: E1000Adapter | undefined;

  constructor(private readonly kernel: Kernel) {}

  synchronize(fn: () => boolean | Promise<boolean>): Promise<boolean> {
    if (!this.interrupt) throw new Error('synchronize before the interrupt is connected');
    return this.kernel.synchronizeExecution(this.interrupt, () => fn());
  }

  queueDpc(): boolean | Promise<boolean> {
    this.dpcQueued++;
    return this.kernel.insertQueueDpc(this.dpc!);
  }

  createLock(name: string): AdapterLock {
    const lock = this.kernel.createSpinLock(name);
    let old: number = Irql.PASSIVE_LEVEL;
    return {
      acquire: async () => {
        old = await lock.acquire();
      },
      release: () => lock.release(old),
    };
  }

  /** Copies the frames; gives them back at once (as a protocol that copies does) unless holding. */
  async indicateReceive(batch: ReceiveBatch): Promise<void> {
    this.batches.push(batch.count);
    for (let i = 0; i < batch.count; i++) this.received.push(Buffer.from(batch.views[i]!.subarray(0, batch.lengths[i]!)));
    if (this.holdReceives) this.held += batch.count;
    else await this.adapter!.returnReceives(batch.count);
  }

  completeSends(count: number, outcome: SendOutcome): void {
    this.completions.push({ count, outcome });
  }

  delay(microseconds: number): Promise<void> {
    return this.kernel.delayExecution(microseconds / 1000);
  }

  upTimeMs(): number {
    return Number(this.kernel.queryInterruptTime() / 10_000n);
  }

  indicateLink(state: LinkState): void {
    this.links.push(state);
  }

  completed(outcome: SendOutcome = 'sent'): number {
    return this.completions.filter((c) => c.outcome === outcome).reduce((a, c) => a + c.count, 0);
  }
}

export interface Rig {
  kernel: Kernel;
  nic: FakeE1000;
  edge: TestEdge;
  adapter: E1000Adapter;
  dma: BumpDma;
  isrCalls: () => number;
  /** initialize, connect the interrupt, start. */
  bringUp(): Promise<void>;
  /** Run `fn` as a thread call at DISPATCH_LEVEL on processor `p` (a protocol's send). */
  atDispatch<T>(fn: () => T | Promise<T>, p?: number): Promise<T>;
  atPassive<T>(fn: () => Promise<T>): Promise<T>;
  /** quiesce, disconnect, release. */
  halt(): Promise<void>;
  cleanup(): Promise<void>;
}

export function makeRig(opts: RigOptions = {}): Rig {
  const machine = fakeE1000Machine('dirql-miniport-', { processors: opts.processors ?? 1, seed: opts.seed ?? 1 });
  const { kernel, memory, dma, nic } = machine;
  const registers = new DeviceRegisters(kernel, nic, { name: 'e1000', registerName });
  const edge = new TestEdge(kernel);
  edge.holdReceives = opts.holdReceives ?? false;
  const { processors: _p, seed: _s, holdReceives: _h, ...adapterOptions } = opts;
  const adapter = new E1000Adapter(edge, { txRingSize: 64, rxRingSize: 64, ...adapterOptions, registers, memory, dma });
  edge.adapter = adapter;
  const dpc = new Dpc(async () => adapter.dpc(), undefined, 'E1000Dpc');
  edge.dpc = dpc;

  const rig: Rig = {
    kernel,
    nic,
    edge,
    adapter,
    dma,
    isrCalls: () => edge.interrupt?.calls ?? 0,
    async bringUp() {
      await kernel.runAtPassive('MiniportInitialize', async () => {
        await adapter.initialize();
        edge.interrupt = kernel.connectInterrupt({
          line: LINE,
          name: 'E1000Isr',
          dpcs: [dpc],
          isr: async () => {
            const r = await adapter.isr();
            if (r.queueDpc) await kernel.insertQueueDpc(dpc);
            return r.recognized;
          },
        });
        await adapter.start();
      });
    },
    atDispatch(fn, p = 0) {
      return kernel.runOnProcessor(p, Irql.DISPATCH_LEVEL, 'ProtocolSend', fn);
    },
    atPassive(fn) {
      return kernel.runAtPassive('PassiveCall', fn);
    },
    async halt() {
      await kernel.runAtPassive('MiniportHalt', async () => {
        await adapter.quiesce();
        await edge.interrupt!.disconnect();
        adapter.release();
      });
    },
    cleanup: () => machine.cleanup(),
  };
  return rig;
}

/** A frame whose bytes depend on (tag, seq), so any reordering or corruption shows. */
export function testFrame(seq: number, length: number, tag = 0): Buffer {
  const f = Buffer.alloc(length);
  Buffer.from([0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x02, 0, 0, 0, 0, 1]).copy(f, 0);
  f.writeUInt16BE(0x88b5, 12);
  if (length >= 20) {
    f.writeUInt32BE(seq, 14);
    f.writeUInt16BE(tag, 18);
  }
  for (let i = 20; i < length; i++) f[i] = (i * 31 + seq * 7 + tag) & 0xff;
  return f;
}

export function padded(f: Buffer): Buffer {
  return f.length >= 60 ? f : Buffer.concat([f, Buffer.alloc(60 - f.length)]);
}
