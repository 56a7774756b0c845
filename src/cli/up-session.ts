/**
 * What `dirql up` runs once its flags are checked: the full stack (QEMU's NIC as a child process,
 * the kernel model, the facade with the driver, the upper edge), a report of what came up, then a
 * halt and stop — or, held, link changes, the control socket and echo until Ctrl-C. Loaded only
 * when the command runs, so the log level is set before any logger exists.
 */
import { QemuBinaryMissingError } from '../../qemu/errors.ts';
import type { ControlServer } from '../control/index.ts';
import { isDeviceLostReport, type BugCheckReport } from '../kernel/index.ts';
import { startControl } from '../host/control.ts';
import { DriverHost, type DriverHostOptions } from '../host/driver-host.ts';
import { startEcho } from '../host/echo.ts';
import { markReady, type ReadyFile } from '../host/ready-file.ts';
import { describeNetdev } from '../host/netdev.ts';
import { acquireDhcpLease } from '../host/dhcp-client.ts';
import { startResponder, type Responder, type ResponderAddress } from '../host/responder.ts';
import type { NetdevStall } from '../host/netdev-watch.ts';
import type { SurpriseRemoval } from '../host/surprise-removal.ts';
import { LiveView, summaryLines } from './live-view.ts';
import { recordingLine, shownPath, type RunDirectory } from './run-dir.ts';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './usage.ts';

export interface UpSession {
  host: DriverHostOptions;
  /** Where the run's outputs go: named at start and at exit, its run.json finished with the exit. */
  runDir?: RunDirectory;
  hold: boolean;
  control: boolean;
  echo: boolean;
  /** Held: answer ARP and ICMP echo for this address on the upper edge ('dhcp': the one a DHCP server on the wire leases). */
  responder?: ResponderAddress | 'dhcp';
  out: (line: string) => void;
  err: (line: string) => void;
  /** Held: the live status line — 'tty' rewritten in place, 'lines' one line per sample, off when absent. */
  status?: { mode: 'tty' | 'lines'; write: (text: string) => void; intervalMs?: number };
  /** Held: a file that exists exactly while the driver is up (a container healthcheck tests it). */
  readyFile?: string;
}

function report(host: DriverHost): string {
  const m = host.machine;
  const link = host.link;
  const route = m.nic.route;
  const hex = (n: number) => '0x' + n.toString(16);
  return [
    `dirql: ${m.nic.model.qemuModel} ${m.nic.bdf} driven by the ${host.framework} miniport  MAC ${host.mac}`,
    `  link ${host.linkUp ? 'up' : 'DOWN'}, ${link.speedMbps} Mb/s, ${link.fullDuplex ? 'full' : 'half'} duplex`,
    `  BAR${m.nic.model.registerBar} ${hex(m.nic.registers.base)} (${m.nic.registers.size / 1024} KiB)` +
      (m.nic.ioBase !== undefined ? `  I/O ${hex(m.nic.ioBase)}` : '') +
      `  IRQ ${m.nic.irqLine} (INT${'ABCD'[route.pin - 1]} -> PIRQ${'ABCD'[route.pirq]})`,
    `  wire: ${describeNetdev(m.netdev)}`,
    `  kernel: ${host.kernel.processorCount} processor(s), seed ${host.kernel.seed}`,
    `  QEMU ${m.stub.pid !== undefined ? `pid ${m.stub.pid}` : `attached in ${m.stub.dir}`}, first qtest reply after ${m.timings.firstReplyMs.toFixed(0)} ms, bring-up ${m.timings.bringUpMs.toFixed(0)} ms`,
  ].join('\n');
}

function describeCounters(r: Responder): string {
  const c = r.counters;
  return `${c.arpRequests} ARP requests, ${c.arpReplies} replies; ${c.echoRequests} echo requests, ${c.echoReplies} replies; ${c.ignored} frames ignored${c.refused ? `, ${c.refused} replies refused (TX ring full)` : ''}`;
}

/** Resolves with the exit status once everything it started has stopped. */
/** "NIC 00:02.0 surprise-removed: the driver ran X (PASSIVE_LEVEL), Y ...; the host stays up". */
export function describeRemoval(r: SurpriseRemoval): string {
  const ran = r.callbacks.length > 0 ? r.callbacks.map((c) => `${c.handler} (${c.irql})`).join(', ') : 'no callbacks';
  const dropped = r.droppedWrites > 0 ? `; ${r.droppedWrites} register write${r.droppedWrites === 1 ? '' : 's'} after removal dropped` : '';
  return `dirql: NIC ${r.bdf} surprise-removed: the driver ran ${ran}${dropped}; the host stays up (Ctrl-C to stop)`;
}

export async function runUp(session: UpSession): Promise<number> {
  const runDir = session.runDir;
  if (runDir) {
    runDir.started(session.host);
    session.out(`dirql: outputs in ${runDir.shown}`);
  }
  let host: DriverHost;
  try {
    host = await DriverHost.start(session.host);
  } catch (err) {
    runDir?.finish({ code: err instanceof QemuBinaryMissingError ? EXIT_USAGE : EXIT_FAILED, reason: `failed to start: ${err instanceof Error ? err.message : String(err)}` });
    throw err;
  }
  let live: LiveView | undefined;
  // Every other line first clears the live status line, so the two never share a row.
  const s: UpSession = {
    ...session,
    out: (line) => {
      live?.clearLine();
      session.out(line);
    },
    err: (line) => {
      live?.clearLine();
      session.err(line);
    },
  };
  let control: ControlServer | undefined;
  let responder: Responder | undefined;
  let ready: ReadyFile | undefined;
  let stopping = false;
  let reason = 'stopped';
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const stopAll = (code: number) => {
    (async () => {
      ready?.remove();
      live?.stop();
      live = undefined;
      // Read before the stop while the driver can still answer; after it, the last NIC reading.
      const before = await host.stats().catch(() => undefined);
      await control?.stop();
      await host.stop();
      // QEMU gone: the host's own counters still stand.
      const rings = { rx: host.rxRing.stats(), tx: host.txRing.stats() };
      const final =
        before ?? (await host.stats().catch(() => ({ rings, calls: host.calls(), delivered: rings.rx.dequeued, ...(host.removed ? { surpriseRemoved: host.removed } : {}) })));
      s.err(['dirql: counters at exit', ...summaryLines(final).map((l) => `  ${l}`)].join('\n'));
      if (responder) s.out(`dirql: responder: ${describeCounters(responder)}`);
      const t = host.traceFiles;
      if (t) s.out(`dirql: timeline ${t.perfetto} (open at ui.perfetto.dev) and ${t.html}`);
      if (host.capture) s.out(`dirql: upper-edge capture ${host.capture.describe(shownPath(host.capture.path))}`);
    })().then(
      () => {
        runDir?.finish({ code, reason });
        const recording = runDir?.keptRecording;
        if (recording) s.out(`dirql: ${recordingLine(recording)}`);
        if (runDir) s.out(`dirql: outputs in ${runDir.shown}`);
        finish(code);
      },
      (err: unknown) => {
        s.err(`dirql: stopping failed: ${err instanceof Error ? err.message : String(err)}`);
        runDir?.finish({ code: EXIT_FAILED, reason: `stopping failed after ${reason}: ${err instanceof Error ? err.message : String(err)}` });
        finish(EXIT_FAILED);
      },
    );
  };
  const shutdown = (why: string) => {
    if (stopping) return;
    stopping = true;
    reason = why;
    s.out(`dirql: ${why}, stopping`);
    stopAll(EXIT_OK);
  };
  const onSigint = () => shutdown('interrupted');
  const onSigterm = () => shutdown('terminated');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  // The host has already stopped itself (QEMU reaped, files removed): one line, then exit non-zero.
  const deviceGone = (line: string) => {
    if (stopping) return;
    stopping = true;
    reason = line.replace(/^dirql: /, '');
    s.err(line);
    stopAll(EXIT_FAILED);
  };
  host.on('device-lost', (r: BugCheckReport) => deviceGone(`dirql: device lost: ${r.message}${r.files ? ` (report: ${r.files.text})` : ''}`));
  host.on('qemu-exit', () => {
    // Without a device-lost stop, the driver had bug-checked before QEMU went (its report was printed).
    const stop = host.kernel.stopped;
    if (stop && !isDeviceLostReport(stop.report)) deviceGone(`dirql: QEMU exited after the driver bug-checked (${stop.report.name})`);
  });
  host.on('netdev-stalled', (st: NetdevStall) => {
    s.err(
      `dirql: netdev stalled: QEMU reads nothing from UDP port ${st.qemuPort} (${st.socketQueuedBytes} bytes waiting, ${st.socketDrops} dropped, ${st.nicFreeDescriptors} free RX descriptors)`,
    );
  });
  host.on('surprise-removed', (r: SurpriseRemoval) => s.err(describeRemoval(r)));
  host.on('bugcheck', (r: BugCheckReport) => {
    s.err(`dirql: driver bug check ${r.name}: ${r.message}${r.files ? `\n  report: ${r.files.text}` : ''}`);
  });

  try {
    s.out(report(host));
    if (!s.hold) {
      stopping = true;
      stopAll(EXIT_OK);
      return await finished;
    }
    host.on('link', (e: { up: boolean; speed: number }) => s.out(`dirql: link ${e.up ? `up, ${e.speed / 1e6} Mb/s` : 'down'}`));
    if (s.responder) {
      let address = s.responder;
      if (address === 'dhcp') {
        const lease = await acquireDhcpLease(host);
        address = lease.address;
        const lasts = lease.leaseSeconds !== undefined ? `, for ${lease.leaseSeconds} s` : '';
        s.out(`dirql: DHCP lease ${address.ip}/${address.prefixLength} from ${lease.server}${lease.router ? `, router ${lease.router}` : ''}${lasts}`);
      }
      responder = startResponder(host, address);
      s.out(`dirql: answering ARP and ping for ${address.ip}/${address.prefixLength} at ${host.mac}`);
    }
    // Opt-in: a host killed with SIGKILL cannot remove its socket (the next host sweeps it).
    if (s.control) {
      control = await startControl(host, responder ? { responder } : {});
      s.out(`dirql: control socket ${control.socketPath} (dirql ctl)`);
    }
    if (s.echo) {
      startEcho(host);
      s.out('dirql: echoing received frames back to the wire');
    }
    // Ready file first: whoever reads the "holding" line may check the file at once.
    if (s.readyFile) ready = markReady(s.readyFile);
    s.out('dirql: holding; Ctrl-C to stop');
    if (s.status) {
      const status = s.status;
      live = new LiveView({
        read: async () => ({ stats: await host.stats(), linkUp: host.linkUp, bugCheck: host.bugCheck?.name }),
        write: status.write,
        inPlace: status.mode === 'tty',
        ...(status.intervalMs ? { intervalMs: status.intervalMs } : {}),
      });
      live.start();
    }
    return await finished;
  } catch (err) {
    if (!stopping) {
      stopping = true;
      reason = `failed: ${err instanceof Error ? err.message : String(err)}`;
      stopAll(EXIT_FAILED);
      await finished;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
}
