import { captureClockNs } from '../capture/capture-file.ts';
import { EPB_INBOUND, EPB_OUTBOUND, PcapngWriter } from '../capture/pcapng.ts';
import type { UpperEdgeTap } from '../upper-edge/index.ts';

/** Interface 0 of an upper-edge capture: what the driver indicated up. */
export const CAPTURE_RX_INTERFACE = 0;
/** Interface 1: what the stack handed the driver to send. */
export const CAPTURE_TX_INTERFACE = 1;

export interface UpperEdgeCaptureCounters {
  /** Frames the driver indicated that reached the RX ring (captured, inbound). */
  indicated: number;
  /** Frames the stack handed the driver (captured, outbound). */
  sent: number;
  /** Indicated frames the host dropped (RX ring full, or longer than a slot): captured with a comment saying so. */
  indicationsDropped: { ringFull: number; oversize: number };
  /** Sends the driver completed with a failure status (those frames were captured when handed out). */
  sendsFailed: number;
}

/**
 * `pcap` on DriverHost.start / `dirql up --pcap`: every frame at the driver's upper edge in one
 * pcapng file, in the order the edge saw them, host-clock timestamps in nanoseconds.
 *
 * Why pcapng and not two classic pcap files: one file keeps the order of sends and indications (a
 * reply after its request), and Wireshark shows each frame's interface (`frame.interface_name`:
 * "rx (indicated)" or "tx (sent)") and direction (`frame.packet_flags_direction`: 1 inbound, 2
 * outbound). Frames the host dropped are written too, each with a packet comment giving the reason
 * (`frame.comment`), and the counts close the file as Interface Statistics Blocks (isb_ifdrop;
 * Statistics → Capture File Properties). Checked with tshark 4.0. The wire peer's own capture
 * (harness/pcap.ts) stays classic pcap.
 */
export class UpperEdgeCapture implements UpperEdgeTap {
  readonly path: string;
  readonly counters: UpperEdgeCaptureCounters = { indicated: 0, sent: 0, indicationsDropped: { ringFull: 0, oversize: 0 }, sendsFailed: 0 };
  private readonly writer: PcapngWriter;
  private readonly startedNs = captureClockNs();

  constructor(path: string, what = 'dirql') {
    this.path = path;
    this.writer = new PcapngWriter(path, {
      application: what,
      interfaces: [
        { name: 'rx (indicated)', description: 'frames the driver indicated up to the stack (NdisMIndicateReceiveNetBufferLists, a completed read)' },
        { name: 'tx (sent)', description: 'frames the stack handed the driver to send (NdisSendNetBufferLists, a write request)' },
      ],
    });
  }

  get closed(): boolean {
    return this.writer.closed;
  }

  indicated(data: Uint8Array, offset: number, length: number): void {
    this.counters.indicated++;
    if (!this.writer.closed) this.writer.write(CAPTURE_RX_INTERFACE, data, offset, length, EPB_INBOUND);
  }

  indicationDropped(reason: 'ring full' | 'oversize', data: Uint8Array, offset: number, length: number): void {
    if (reason === 'ring full') this.counters.indicationsDropped.ringFull++;
    else this.counters.indicationsDropped.oversize++;
    const why = reason === 'ring full' ? 'the host RX ring was full (nobody drained it)' : 'longer than a host RX ring slot';
    if (!this.writer.closed) this.writer.write(CAPTURE_RX_INTERFACE, data, offset, length, EPB_INBOUND, `dropped by the host: ${why}; not delivered`);
  }

  sent(data: Uint8Array, offset: number, length: number): void {
    this.counters.sent++;
    if (!this.writer.closed) this.writer.write(CAPTURE_TX_INTERFACE, data, offset, length, EPB_OUTBOUND);
  }

  sendFailed(): void {
    this.counters.sendsFailed++;
  }

  /** Frames the host or driver lost: dropped indications and failed sends. */
  get lost(): number {
    const c = this.counters;
    return c.indicationsDropped.ringFull + c.indicationsDropped.oversize + c.sendsFailed;
  }

  /** Write the per-interface counts and close the file; idempotent. */
  close(): void {
    if (this.writer.closed) return;
    const c = this.counters;
    const endNs = captureClockNs();
    const rxDropped = c.indicationsDropped.ringFull + c.indicationsDropped.oversize;
    this.writer.statistics(CAPTURE_RX_INTERFACE, {
      received: c.indicated + rxDropped,
      dropped: rxDropped,
      startNs: this.startedNs,
      endNs,
      comment: `${c.indicated} indicated and delivered to the RX ring; dropped by the host: ${c.indicationsDropped.ringFull} RX ring full, ${c.indicationsDropped.oversize} oversize`,
    });
    this.writer.statistics(CAPTURE_TX_INTERFACE, {
      received: c.sent,
      dropped: c.sendsFailed,
      startNs: this.startedNs,
      endNs,
      comment: `${c.sent} handed to the driver; ${c.sendsFailed} completed with a failure status`,
    });
    this.writer.close();
  }

  /** One line for an exit summary; `shown`: the path as the user should see it. */
  describe(shown = this.path): string {
    const c = this.counters;
    const drops =
      this.lost > 0 ? `; lost: ${c.indicationsDropped.ringFull} RX ring full, ${c.indicationsDropped.oversize} oversize, ${c.sendsFailed} failed sends` : '; nothing lost';
    return `${shown}: ${c.indicated} indicated, ${c.sent} sent${drops}`;
  }
}
