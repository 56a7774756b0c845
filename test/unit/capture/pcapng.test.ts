import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EPB_INBOUND, EPB_OUTBOUND, PcapngWriter, parsePcapng, readPcapng } from '../../../src/capture/pcapng.ts';
import { CAPTURE_RX_INTERFACE, CAPTURE_TX_INTERFACE, UpperEdgeCapture } from '../../../src/host/upper-edge-capture.ts';

const dir = mkdtempSync(join(tmpdir(), 'dirql-pcapng-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const frame = (n: number, fill: number) => Buffer.alloc(n, fill);

describe('PcapngWriter', () => {
  it('writes a section, two named interfaces in nanoseconds, packets with direction and comments, statistics', () => {
    const path = join(dir, 'a.pcapng');
    const w = new PcapngWriter(path, { application: 'test', interfaces: [{ name: 'rx', description: 'in' }, { name: 'tx' }] });
    // A view into a larger buffer: only [offset, offset + length) is written.
    const big = Buffer.concat([frame(3, 0xee), frame(61, 0x11), frame(5, 0xee)]);
    w.write(0, big, 3, 61, EPB_INBOUND, undefined, 1_700_000_000_123_456_789n);
    w.write(1, frame(1514, 0x22), 0, 1514, EPB_OUTBOUND, 'a comment', 1_700_000_000_200_000_000n);
    w.write(0, frame(60, 0x33), 0, 60);
    w.statistics(0, { received: 2, dropped: 1, comment: 'one lost' });
    w.close();
    w.close();
    const f = readPcapng(path);
    expect(f.application).toBe('test');
    expect(f.interfaces).toEqual([
      { linkType: 1, snaplen: 65535, name: 'rx', description: 'in', tsresol: 9 },
      { linkType: 1, snaplen: 65535, name: 'tx', tsresol: 9 },
    ]);
    expect(f.packets.map((p) => [p.interfaceId, p.capturedLength, p.originalLength, p.flags, p.comments])).toEqual([
      [0, 61, 61, EPB_INBOUND, []],
      [1, 1514, 1514, EPB_OUTBOUND, ['a comment']],
      [0, 60, 60, 0, []],
    ]);
    expect(f.packets[0]!.data.equals(frame(61, 0x11))).toBe(true);
    expect(f.packets[1]!.data.equals(frame(1514, 0x22))).toBe(true);
    expect(f.packets[0]!.timestampNs).toBe(1_700_000_000_123_456_789n);
    expect(f.statistics).toEqual([{ interfaceId: 0, received: 2n, dropped: 1n, comments: ['one lost'] }]);
    expect(w.packets).toBe(3);
  });

  it('truncates at the snaplen, recording the original length; every block is 32-bit aligned', () => {
    const path = join(dir, 'snap.pcapng');
    const w = new PcapngWriter(path, { interfaces: [{ name: 'x', snaplen: 13 }] });
    w.write(0, frame(100, 7), 0, 100, EPB_INBOUND);
    w.close();
    const bytes = readFileSync(path);
    expect(bytes.length % 4).toBe(0);
    const [p] = parsePcapng(bytes).packets;
    expect(p).toMatchObject({ capturedLength: 13, originalLength: 100 });
  });

  it('rejects an unknown interface and a file that is not pcapng', () => {
    const w = new PcapngWriter(join(dir, 'bad.pcapng'), { interfaces: [{ name: 'x' }] });
    expect(() => w.write(1, frame(60, 0), 0, 60)).toThrow(/no interface 1/);
    w.close();
    expect(() => parsePcapng(Buffer.alloc(40))).toThrow(/not a pcapng file/);
  });
});

describe('UpperEdgeCapture', () => {
  it('indicated frames inbound on rx, sent ones outbound on tx, drops with a reason and in the statistics', () => {
    const path = join(dir, 'edge.pcapng');
    const c = new UpperEdgeCapture(path);
    c.indicated(frame(60, 1), 0, 60);
    c.sent(frame(70, 2), 0, 70);
    c.indicationDropped('ring full', frame(80, 3), 0, 80);
    c.indicationDropped('oversize', frame(90, 4), 0, 90);
    c.sendFailed();
    c.close();
    expect(c.counters).toEqual({ indicated: 1, sent: 1, indicationsDropped: { ringFull: 1, oversize: 1 }, sendsFailed: 1 });
    expect(c.describe()).toBe(`${path}: 1 indicated, 1 sent; lost: 1 RX ring full, 1 oversize, 1 failed sends`);
    const f = readPcapng(path);
    expect(f.interfaces.map((i) => i.name)).toEqual(['rx (indicated)', 'tx (sent)']);
    expect(f.packets.map((p) => [p.interfaceId, p.flags, p.data.length, p.comments.length])).toEqual([
      [CAPTURE_RX_INTERFACE, EPB_INBOUND, 60, 0],
      [CAPTURE_TX_INTERFACE, EPB_OUTBOUND, 70, 0],
      [CAPTURE_RX_INTERFACE, EPB_INBOUND, 80, 1],
      [CAPTURE_RX_INTERFACE, EPB_INBOUND, 90, 1],
    ]);
    expect(f.packets[2]!.comments[0]).toMatch(/^dropped by the host: the host RX ring was full/);
    expect(f.statistics.map((s) => [s.interfaceId, s.received, s.dropped])).toEqual([
      [CAPTURE_RX_INTERFACE, 3n, 2n],
      [CAPTURE_TX_INTERFACE, 1n, 1n],
    ]);
    // Timestamps come from the host clock, in order.
    const ts = f.packets.map((p) => p.timestampNs);
    expect([...ts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(ts);
    expect(Number(ts[0]! / 1_000_000n)).toBeGreaterThan(Date.now() - 60_000);
  });
});
