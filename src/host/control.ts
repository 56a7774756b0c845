import { TrafficGenerator } from '../test-frames/index.ts';
import { NIC_ID } from '../../qemu/stub-config.ts';
import { ControlMethods, ControlServer, ControlTopics, type LinkParams, type SendParams } from '../control/index.ts';
import type { DriverHost } from './driver-host.ts';
import { describeNetdev } from './netdev.ts';
import type { Responder } from './responder.ts';

/** How often the `stats` topic publishes while watched. */
const STATS_INTERVAL_MS = 1000;

/** Broadcast: the test frames dirqlctl asks for reach the wire peer whatever its MAC. */
const BROADCAST = 'ff:ff:ff:ff:ff:ff';

function checkLink(p: unknown): LinkParams {
  if (typeof (p as LinkParams | undefined)?.up !== 'boolean') throw new Error('link needs { up: boolean }');
  return p as LinkParams;
}

function checkSend(p: unknown): SendParams {
  const s = p as SendParams | undefined;
  if (!s || !Number.isInteger(s.size) || s.size < 60 || s.size > 1514) throw new Error('send needs size 60..1514');
  if (!Number.isInteger(s.count) || s.count < 1 || s.count > 1_000_000) throw new Error('send needs count 1..1000000');
  return s;
}

/**
 * The control plane of a running host (dirqlctl, the harness): `status`, `stats`, `link {up}`,
 * `surprise-remove` (DriverHost.surpriseRemove), `send {size, count}` (self-verifying test frames, stream 0xC0, to the broadcast address), and the
 * `link`, `bugcheck`, `device-lost` (QEMU went away under the driver: not a driver fault) and
 * `netdev-stalled` (QEMU stopped reading its netdev, see NetdevWatch), `surprise-removed` (the NIC was
 * ejected under the driver, see DriverHost.surpriseRemove) and `stats` (once a second
 * while watched) topics.
 */
export async function startControl(host: DriverHost, opts: { socketPath?: string; responder?: Responder } = {}): Promise<ControlServer> {
  const control = new ControlServer({ driver: `${host.machine.nic.model.qemuModel} (${host.framework})`, ...(opts.socketPath ? { socketPath: opts.socketPath } : {}) });
  let nextSeq = 0;
  control.handle(ControlMethods.status, () => ({
    framework: host.framework,
    mac: host.mac,
    link: host.linkUp ? 'up' : 'down',
    halted: host.halted,
    processors: host.kernel.processorCount,
    // What the wire is, whatever its kind; the UDP ports too when it is the dgram netdev.
    netdev: { ...host.machine.netdev, description: describeNetdev(host.machine.netdev) },
    ...(host.machine.stub.wire ? { wire: host.machine.stub.wire } : {}),
    qemuPid: host.machine.stub.pid,
    bugCheck: host.bugCheck ? { name: host.bugCheck.name, message: host.bugCheck.message, report: host.bugCheck.files?.text } : null,
    surpriseRemoved: host.removed ?? null,
    verifierFindings: { count: host.kernel.verifier.locksetFindings.length, findings: host.verifierFindings() },
    deviceLost: host.deviceLoss ? { message: host.deviceLoss.message, device: host.deviceLoss.device, report: host.deviceLoss.files?.text } : null,
  }));
  const responder = opts.responder;
  // The responder's counters beside the host's, when one answers on the upper edge.
  const stats = async () => ({ ...(await host.stats()), ...(responder ? { responder: { ...responder.counters } } : {}) });
  control.handle(ControlMethods.stats, stats);
  control.handle<LinkParams>(
    ControlMethods.link,
    async ({ up }) => {
      await host.machine.qmp.execute('set_link', { name: NIC_ID, up });
      return { up };
    },
    { validate: checkLink },
  );
  control.handle<SendParams>(
    ControlMethods.send,
    async ({ size, count }) => {
      const firstSeq = nextSeq;
      nextSeq += count;
      await host.sendAll(new TrafficGenerator({ src: host.mac, dst: BROADCAST, stream: 0xc0, startSeq: firstSeq, size }).take(count));
      return { sent: count, size, stream: 0xc0, firstSeq };
    },
    { validate: checkSend },
  );
  // The reply is the SurpriseRemoval (the callbacks the driver got); a second call answers the same.
  control.handle(ControlMethods.surpriseRemove, () => host.surpriseRemove());
  host.on('link', (event) => control.publish(ControlTopics.link, event));
  host.on('bugcheck', (report) => control.publish(ControlTopics.bugcheck, report));
  host.on('device-lost', (report) => control.publish(ControlTopics.deviceLost, report));
  host.on('netdev-stalled', (stall) => control.publish(ControlTopics.netdevStalled, stall));
  host.on('surprise-removed', (removal) => control.publish(ControlTopics.surpriseRemoved, removal));
  await control.start();
  // The stats topic: the `stats` record once a second, built only while someone watches.
  const statsTimer = setInterval(() => {
    if (!control.listening) return clearInterval(statsTimer);
    if (control.subscribers(ControlTopics.stats) === 0) return;
    control.publish(ControlTopics.stats, stats());
  }, STATS_INTERVAL_MS);
  statsTimer.unref();
  return control;
}
