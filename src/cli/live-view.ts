/**
 * `dirql up`'s live view: one status line (link, frames/s each way, ISRs/s, DPCs/s, drops, bug
 * check) from host.stats() sampled on an unref'd timer, so the packet path never waits for it. On a
 * TTY the line is rewritten in place; off one (`--status`) each sample is its own line, no escapes.
 * The formatting is pure (sampleOf, statusLine, summaryLines) so it is tested without a host.
 */
import { describeDpcs } from '../control/print.ts';
import type { HostStatistics } from '../host/host-options.ts';

/** The counters the view reads from one host.stats() record. */
export interface LiveSample {
  /** When it was taken (ms, any monotonic clock). */
  atMs: number;
  linkUp: boolean;
  /** Frames the driver indicated up (the host RX ring's enqueued). */
  rxFrames: number;
  /** Frames the upper edge took from the host TX ring for the driver to send. */
  txFrames: number;
  isr: number;
  dpc: number;
  /** Of `dpc`, those the driver queued itself (restart, requeue, timer), when it counts them. */
  dpcWithoutIsr: number | undefined;
  drops: number;
  bugCheck: string | undefined;
  surpriseRemoved: boolean;
}

export function sampleOf(stats: HostStatistics, linkUp: boolean, bugCheck: string | undefined, atMs: number): LiveSample {
  return {
    atMs,
    linkUp,
    rxFrames: stats.rings.rx.enqueued,
    txFrames: stats.rings.tx.dequeued,
    isr: stats.calls.isr,
    dpc: stats.calls.dpc,
    dpcWithoutIsr: stats.calls.dpcWithoutIsr,
    drops: stats.receiveDrops.total,
    bugCheck,
    surpriseRemoved: stats.surpriseRemoved !== undefined,
  };
}

/** Per second, rounded: 0 when no time passed. */
function rate(now: number, before: number, seconds: number): string {
  if (seconds <= 0) return '0';
  const r = (now - before) / seconds;
  return r >= 100 ? Math.round(r).toString() : r.toFixed(r === Math.trunc(r) ? 0 : 1);
}

/** `link up  rx 812/s  tx 810/s  ISR 95/s  DPC 95/s  drops 0` (and the bug check or removal when there is one). */
export function statusLine(cur: LiveSample, prev: LiveSample | undefined): string {
  const before = prev ?? cur;
  const s = prev ? (cur.atMs - prev.atMs) / 1000 : 0;
  const parts = [
    `link ${cur.linkUp ? 'up' : 'DOWN'}`,
    `rx ${rate(cur.rxFrames, before.rxFrames, s)}/s`,
    `tx ${rate(cur.txFrames, before.txFrames, s)}/s`,
    `ISR ${rate(cur.isr, before.isr, s)}/s`,
    `DPC ${rate(cur.dpc, before.dpc, s)}/s`,
    `drops ${cur.drops}`,
  ];
  if (cur.surpriseRemoved) parts.push('NIC surprise-removed');
  if (cur.bugCheck) parts.push(`BUG CHECK ${cur.bugCheck}`);
  return parts.join('  ');
}

/** What the exit summary needs: a stats() record, or without `receiveDrops` the host-side counters alone (the NIC could not be read). */
export type SummaryCounters = Pick<HostStatistics, 'rings' | 'calls' | 'delivered' | 'surpriseRemoved'> & { receiveDrops?: HostStatistics['receiveDrops'] };

/** The counters at exit: a few lines, no escapes. */
export function summaryLines(stats: SummaryCounters): string[] {
  const d = stats.receiveDrops;
  const dropParts = d ? (Object.entries(d) as Array<[string, number]>).filter(([k, v]) => k !== 'total' && v > 0).map(([k, v]) => `${k} ${v}`) : [];
  const drops = d ? `${d.total}${dropParts.length > 0 ? ` (${dropParts.join(', ')})` : ''}` : 'unknown (the NIC could not be read)';
  return [
    `frames: ${stats.rings.rx.enqueued} received (indicated by the driver), ${stats.rings.tx.dequeued} sent (given to the driver), ${stats.delivered} delivered to the host`,
    `calls: ISRs ${stats.calls.isr}, ${describeDpcs(stats.calls.dpc, stats.calls.dpcWithoutIsr)}`,
    `drops: ${drops}${stats.surpriseRemoved ? `; the NIC was surprise-removed at ${stats.surpriseRemoved.at}` : ''}`,
  ];
}

export interface LiveViewOptions {
  /** Reads the host: its stats() record, link and bug check name. */
  read: () => Promise<{ stats: HostStatistics; linkUp: boolean; bugCheck: string | undefined }>;
  /** Writes raw text (no newline added). */
  write: (text: string) => void;
  /** true: rewrite one line in place (a TTY); false: one line per sample. */
  inPlace: boolean;
  intervalMs?: number;
  now?: () => number;
}

/** Samples on a timer and writes the status line; stop() clears the line it left on a TTY. */
export class LiveView {
  private timer: NodeJS.Timeout | undefined;
  private prev: LiveSample | undefined;
  private busy = false;
  private shown = false;

  constructor(private readonly opts: LiveViewOptions) {}

  start(): void {
    const interval = this.opts.intervalMs ?? 500;
    this.timer = setInterval(() => void this.tick(), interval);
    // The view never keeps the process alive.
    this.timer.unref();
  }

  /** One sample; skipped while the previous one is still being read. Failures end nothing (the host reports its own). */
  async tick(): Promise<void> {
    if (this.busy || !this.timer) return;
    this.busy = true;
    try {
      const { stats, linkUp, bugCheck } = await this.opts.read();
      if (!this.timer) return;
      const cur = sampleOf(stats, linkUp, bugCheck, (this.opts.now ?? performance.now.bind(performance))());
      const line = statusLine(cur, this.prev);
      this.prev = cur;
      this.opts.write(this.opts.inPlace ? `\r\x1b[2K${line}` : `${line}\n`);
      this.shown = true;
    } catch {
      // A host that is stopping cannot answer; the next sample or the exit summary says what is left.
    } finally {
      this.busy = false;
    }
  }

  /** Before any other line is printed on a TTY: clear the status line so the two do not mix. */
  clearLine(): void {
    if (this.opts.inPlace && this.shown) this.opts.write('\r\x1b[2K');
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.clearLine();
    this.shown = false;
  }
}
