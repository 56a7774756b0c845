import * as dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { parseProcNetUdp, readNetdevSocket } from '../../../qemu/netdev-socket.ts';

const SAMPLE = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 5332: 0100007F:C92B 0100007F:A8EA 01 00000000:00000000 00:00000000 00000000     0        0 542314 2 0000000054d3695e 0
 9099: 0100007F:97E2 00000000:0000 07 00000000:00034A00 00:00000000 00000000     0        0 542312 2 000000006416da10 86123
 9100: 0200007F:97E2 00000000:0000 07 00000000:00000010 00:00000000 00000000     0        0 542399 2 000000006416da11 5
`;

describe('QEMU netdev socket counters from /proc/net/udp', () => {
  it('finds the socket bound to 127.0.0.1:port and reads rx_queue (hex) and drops (decimal)', () => {
    expect(parseProcNetUdp(SAMPLE, 0x97e2)).toEqual({ queuedBytes: 0x34a00, drops: 86123, inode: 542312 });
    expect(parseProcNetUdp(SAMPLE, 0xc92b)).toEqual({ queuedBytes: 0, drops: 0, inode: 542314 });
    // 127.0.0.2 on the same port is another socket.
    expect(parseProcNetUdp(SAMPLE, 0x97e2, '127.0.0.2')).toMatchObject({ drops: 5 });
    expect(parseProcNetUdp(SAMPLE, 1)).toBeUndefined();
  });

  it('reads a live socket, and finds nothing once it is closed', async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    const port = socket.address().port;
    const live = await readNetdevSocket(port, process.pid);
    expect(live).toMatchObject({ drops: 0, queuedBytes: 0 });
    expect(live!.inode).toBeGreaterThan(0);
    await new Promise<void>((r) => socket.close(() => r()));
    expect(await readNetdevSocket(port)).toBeUndefined();
  });
});
