/**
 * The netdev kinds other than dgram on real QEMU: Linux `ping` from a network namespace this test
 * creates reaches the responder over a tap device, through QEMU's e1000 and the NDIS 6 driver, and
 * gets its replies; the user netdev (slirp) comes up, and its gateway answers an ARP the host sends.
 *
 * The tap test needs root, /dev/net/tun, `ip` and `ping` (.ci/run installs iputils-ping). Without
 * them it fails saying what is missing: it never skips.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { DriverHost } from '../../src/host/driver-host.ts';
import { startResponder } from '../../src/host/responder.ts';
import { e1000Statistics } from './support/e1000-exchange.ts';
import { expectNothingLeft, machineTraces } from './support/leftovers.ts';
import { waitUntil } from '../support/wait.ts';

const OWN_IP = '10.0.2.15';
const PEER_IP = '10.0.2.1';

async function missingForTap(): Promise<string[]> {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (to create a tap device and a network namespace)');
  if (!existsSync('/dev/net/tun')) missing.push('/dev/net/tun');
  for (const tool of ['ip', 'ping']) {
    if ((await execa('sh', ['-c', `command -v ${tool}`], { reject: false })).exitCode !== 0) missing.push(`the ${tool} command${tool === 'ping' ? ' (Debian: iputils-ping)' : ''}`);
  }
  return missing;
}

/** Runs `ip …`, failing with its stderr. */
async function ip(...args: string[]): Promise<void> {
  const r = await execa('ip', args, { reject: false });
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(' ')} failed (${r.exitCode}): ${r.stderr}`);
}

describe('netdev tap', () => {
  it('answers ping from a network namespace over a tap, through the e1000 and the NDIS 6 driver', async () => {
    const missing = await missingForTap();
    expect(missing, `the tap ping test cannot run here: it needs ${missing.join(', ')}`).toEqual([]);
    const tag = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
    const tap = `dqt${tag}`.slice(0, 15);
    const netns = `dirql-ping-${tag}`;
    let host: DriverHost | undefined;
    try {
      await ip('tuntap', 'add', 'dev', tap, 'mode', 'tap');
      host = await DriverHost.start({ framework: 'ndis6', netdev: { kind: 'tap', ifname: tap } });
      const traces = machineTraces(host);
      const responder = startResponder(host, { ip: OWN_IP, prefixLength: 24 });
      // QEMU holds the tap open by now; moved into the namespace, its far end is ping's interface.
      await ip('netns', 'add', netns);
      await ip('link', 'set', tap, 'netns', netns);
      await ip('-n', netns, 'addr', 'add', `${PEER_IP}/24`, 'dev', tap);
      await ip('-n', netns, 'link', 'set', tap, 'up');

      const ping = await execa('ip', ['netns', 'exec', netns, 'ping', '-c', '3', '-W', '2', OWN_IP], { reject: false, timeout: 20_000 });
      expect(ping.exitCode, `${ping.stdout}\n${ping.stderr}`).toBe(0);
      expect(ping.stdout).toMatch(/3 packets transmitted, 3 received/);
      expect(responder.counters).toMatchObject({ echoRequests: 3, echoReplies: 3, refused: 0 });
      expect(responder.counters.arpReplies).toBeGreaterThanOrEqual(1);
      expect(responder.counters.arpReplies).toBe(responder.counters.arpRequests);

      const stats = await host.stats();
      expect(stats.netdev).toBe(`tap ${tap}`);
      expect(stats.wire).toBeUndefined();
      expect(e1000Statistics(stats).driver.rxIndicated).toBeGreaterThanOrEqual(4);
      await host.stop();
      await expectNothingLeft(traces);
    } finally {
      await host?.stop();
      // Deleting the namespace destroys the tap in it; a tap never moved is deleted by name.
      await execa('ip', ['netns', 'del', netns], { reject: false });
      await execa('ip', ['link', 'del', tap], { reject: false });
    }
    expect((await execa('ip', ['netns', 'list'])).stdout).not.toContain(netns);
    expect(existsSync(`/sys/class/net/${tap}`)).toBe(false);
  }, 60_000);
});

/** who-has 10.0.2.2 (slirp's gateway) tell `OWN_IP`, from `mac`. */
function arpForGateway(mac: string): Uint8Array {
  const m = mac.split(':').map((h) => Number.parseInt(h, 16));
  return Uint8Array.from([
    ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ...m,
    0x08,
    0x06,
    0x00,
    0x01,
    0x08,
    0x00,
    6,
    4,
    0x00,
    0x01,
    ...m,
    10,
    0,
    2,
    15,
    0,
    0,
    0,
    0,
    0,
    0,
    10,
    0,
    2,
    2,
    ...new Array<number>(18).fill(0),
  ]);
}

describe('netdev user', () => {
  it("comes up restricted, reports the driver's MAC, and slirp's gateway answers the host's ARP", async () => {
    const host = await DriverHost.start({ framework: 'ndis6', netdev: { kind: 'user' } });
    const traces = machineTraces(host);
    try {
      expect(host.linkUp).toBe(true);
      expect(host.mac).toBe('52:54:00:12:34:56');
      expect(host.machine.netdev).toEqual({ kind: 'user', options: ['restrict=on'] });
      expect(() => host.machine.wire).toThrow(/there is no UDP wire/);
      const replies: Buffer[] = [];
      host.onReceive((view, length) => {
        const f = Buffer.from(view.subarray(0, length));
        if (f.readUInt16BE(12) === 0x0806 && f.readUInt16BE(20) === 2) replies.push(f);
      });
      await host.sendAll([arpForGateway(host.mac)]);
      await waitUntil("slirp's ARP reply", () => replies.length > 0, 10_000, 10);
      expect([...replies[0]!.subarray(28, 32)]).toEqual([10, 0, 2, 2]);
      expect([...replies[0]!.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':')).toBe(host.mac);
      const stats = await host.stats();
      expect(stats.netdev).toBe('QEMU user network (slirp, restrict=on)');
      expect(stats.wire).toBeUndefined();
    } finally {
      await host.stop();
    }
    await expectNothingLeft(traces);
  }, 60_000);
});
