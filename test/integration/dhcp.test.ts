/**
 * DHCP through QEMU's user network (slirp) on real QEMU: the host's DHCP client, on the upper edge
 * of the NDIS 6 driver, gets slirp's lease (10.0.2.15/24 from 10.0.2.2, no router: restrict=on); and with
 * the dgram wire, where no server listens, it fails saying so instead of waiting for ever.
 */
import { describe, expect, it } from 'vitest';
import { acquireDhcpLease, DhcpError } from '../../src/host/dhcp-client.ts';
import { DriverHost } from '../../src/host/driver-host.ts';
import { expectNothingLeft, machineTraces } from './support/leftovers.ts';

describe('DHCP on the upper edge', () => {
  it("gets slirp's lease through the e1000 and the driver (--netdev user)", async () => {
    const host = await DriverHost.start({ framework: 'ndis6', netdev: { kind: 'user' } });
    const traces = machineTraces(host);
    try {
      const lease = await acquireDhcpLease(host);
      expect(lease).toMatchObject({ address: { ip: '10.0.2.15', prefixLength: 24 }, server: '10.0.2.2' });
      // restrict=on (the default): slirp offers no router (nor DNS) to a guest that may reach nothing outside.
      expect(lease.router).toBeUndefined();
      expect(lease.leaseSeconds).toBeGreaterThan(0);
    } finally {
      await host.stop();
    }
    await expectNothingLeft(traces);
  }, 60_000);

  it('fails with a DhcpError naming the netdev when no server answers (dgram wire)', async () => {
    const host = await DriverHost.start({ framework: 'ndis6' });
    const traces = machineTraces(host);
    try {
      const err = await acquireDhcpLease(host, { timeoutMs: 600, retryMs: 200 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DhcpError);
      expect((err as DhcpError).message).toMatch(/no DHCP server answered the DHCPDISCOVER within 600 ms.*--netdev user.*--ip/);
      expect((err as DhcpError).context).toMatchObject({ netdev: 'dgram' });
    } finally {
      await host.stop();
    }
    await expectNothingLeft(traces);
  }, 60_000);
});
