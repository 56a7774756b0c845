/**
 * The raw baseline of the throughput and latency benchmarks: the best a Node client of this QEMU
 * does without the driver host. The e1000 hardware layer (src/drivers/e1000/nic.ts: descriptors and
 * packet buffers through the shared RAM file, posted register writes, one doorbell per batch)
 * driven straight over the platform's MmioRegion: no kernel, no IRQL, no framework, no upper edge.
 * Not for use outside benchmarks.
 */
import { E1000Hardware, Icr, e1000Device } from '../../src/drivers/e1000/index.ts';
import { startMachine, type Machine } from '../../src/platform/machine.ts';
import { WirePeer } from '../../harness/index.ts';

/** Frames per TDT write, and per RX harvest. */
export const RAW_BATCH = 64;

export type RawVisit = (view: Buffer, length: number) => void;

export class RawNic {
  private constructor(
    readonly machine: Machine,
    readonly hw: E1000Hardware,
    readonly mac: string,
  ) {}

  /** QEMU (netdev dgram to `peerPort`), then reset and initialise the NIC; interrupts stay masked. */
  static async start(opts: { peerPort: number }): Promise<RawNic> {
    const machine = await startMachine({ device: e1000Device(), netdev: { kind: 'dgram', peerPort: opts.peerPort } });
    try {
      const hw = new E1000Hardware({ registers: machine.nic.registers, memory: machine.memory, dma: machine.dma });
      const { mac } = await hw.initialize();
      return new RawNic(machine, hw, mac);
    } catch (err) {
      await machine.stop();
      throw err;
    }
  }

  get qemuPid(): number | undefined {
    return this.machine.stub.pid;
  }

  /**
   * Sends every batch with one doorbell each. Completions are reaped from the descriptors (no
   * register read); only when the ring cannot take a whole batch does it wait for the NIC (one
   * fence: TX is processed inside the TDT write). `pace(sent)` runs after each batch, e.g. to keep
   * within the receiver's window.
   */
  async transmit(batches: readonly Buffer[][], pace: (sent: number) => Promise<void> | void): Promise<void> {
    const { tx } = this.hw;
    let sent = 0;
    for (const batch of batches) {
      let done = 0;
      while (done < batch.length) {
        const from = done;
        done += await tx.submit(batch.length - from, (i, view) => batch[from + i]!.copy(view));
        tx.reap();
        if (tx.available < RAW_BATCH) {
          await this.hw.flushPostedWrites();
          tx.reap();
        }
      }
      sent += batch.length;
      await pace(sent);
    }
  }

  /**
   * Polls the RX ring until `stop()`: harvest up to a batch, give the descriptors back with one
   * RDT write, report the batch through `took`; when the ring is empty, one register round trip
   * (which also lets QEMU's main loop run) before looking again.
   */
  async receive(visit: RawVisit, took: (n: number) => void, stop: () => boolean): Promise<void> {
    const { rx } = this.hw;
    const accept = (view: Buffer, length: number): boolean => {
      visit(view, length);
      return true;
    };
    while (!stop()) {
      const n = rx.harvest(RAW_BATCH, accept);
      if (n > 0) {
        await rx.refill();
        took(n);
      } else {
        await this.hw.flushPostedWrites();
      }
    }
  }

  /**
   * Interrupt-driven receive, for latency: on each rise of the NIC's line (the qtest client's
   * `IRQ raise`), `stage('irq')`; read ICR (clears the cause, lowers the line), `stage('icr')`;
   * harvest, with `visit` per frame; refill. RXT0 is the only cause unmasked. Returns the unsubscribe.
   */
  async receiveOnInterrupt(visit: RawVisit, stage: (name: 'irq' | 'icr') => void): Promise<() => Promise<void>> {
    const { rx } = this.hw;
    const line = this.machine.nic.irqLine;
    let busy = false;
    let again = false;
    const accept = (view: Buffer, length: number): boolean => {
      visit(view, length);
      return true;
    };
    const service = async (): Promise<void> => {
      busy = true;
      do {
        again = false;
        await this.hw.readAndClearCauses();
        stage('icr');
        if (rx.harvest(RAW_BATCH, accept) > 0) await rx.refill();
      } while (again);
      busy = false;
    };
    const off = this.machine.lines.onChange((l, asserted) => {
      if (l !== line || !asserted) return;
      stage('irq');
      if (busy) again = true;
      // A failed register access here means QEMU is gone: fail the benchmark loudly.
      else
        service().catch((err: unknown) =>
          queueMicrotask(() => {
            throw err;
          }),
        );
    });
    await this.hw.readAndClearCauses();
    await this.hw.enableInterrupts(Icr.RXT0);
    return async () => {
      off();
      await this.hw.disableInterrupts();
      await this.hw.flushPostedWrites();
    };
  }

  /** Quiesce the NIC, free its rings, stop QEMU. */
  async stop(): Promise<void> {
    try {
      await this.hw.quiesce();
      this.hw.release();
    } finally {
      await this.machine.stop();
    }
  }
}

/** A raw client and its wire peer, connected; the peer is closed again if the client fails to start. */
export async function openRawWithPeer(): Promise<{ raw: RawNic; peer: WirePeer }> {
  const peer = await WirePeer.open({ receiveQueueLimit: 0 });
  let raw: RawNic;
  try {
    raw = await RawNic.start({ peerPort: peer.port });
  } catch (err) {
    await peer.close();
    throw err;
  }
  await peer.connect(raw.machine.wire.qemuPort);
  return { raw, peer };
}
