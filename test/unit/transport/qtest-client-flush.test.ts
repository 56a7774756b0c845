import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeQemu, type FakeQemu } from './fake-qemu.ts';

let q: FakeQemu | undefined;
afterEach(() => {
  q?.close();
  q = undefined;
});

const socketOf = (f: FakeQemu) => (f.client as unknown as { socket: { write: (...a: unknown[]) => boolean } }).socket;

describe('QtestClient: when commands leave', () => {
  it('posted writes issued in one synchronous run leave in one socket write, two microtask turns later', async () => {
    q = await fakeQemu();
    const write = vi.spyOn(socketOf(q), 'write');
    q.client.writel(0xd8, 0xffffffff);
    q.client.writel(0x2818, 0xa7);
    q.client.writel(0xd0, 0xd5);
    expect(write).not.toHaveBeenCalled();
    await Promise.resolve();
    expect(write).not.toHaveBeenCalled();
    await Promise.resolve();
    expect(write).toHaveBeenCalledTimes(1);
    expect(await q.waitLines(3)).toEqual(['writel 0xd8 0xffffffff', 'writel 0x2818 0xa7', 'writel 0xd0 0xd5']);
  });

  it('a read leaves at once, with the posted writes before it, in order and in one socket write', async () => {
    q = await fakeQemu();
    const write = vi.spyOn(socketOf(q), 'write');
    q.client.writel(0xd8, 0xffffffff);
    const icr = q.client.readl(0xc0);
    expect(write).toHaveBeenCalledTimes(1);
    expect(await q.waitLines(2)).toEqual(['writel 0xd8 0xffffffff', 'readl 0xc0']);
    q.peer.write('OK\nOK 0x0000000000000080\n');
    expect(await icr).toBe(0x80);
  });

  it('a read made after awaiting the posted write (an ISR masking, then reading ICR) leaves with it in one socket write', async () => {
    q = await fakeQemu();
    const write = vi.spyOn(socketOf(q), 'write');
    q.client.writel(0xd8, 0xffffffff);
    await Promise.resolve();
    const icr = q.client.readl(0xc0);
    expect(write).toHaveBeenCalledTimes(1);
    expect(await q.waitLines(2)).toEqual(['writel 0xd8 0xffffffff', 'readl 0xc0']);
    q.peer.write('OK\nOK 0x0000000000000080\n');
    expect(await icr).toBe(0x80);
    expect(write).toHaveBeenCalledTimes(1);
  });

  it('a fence sends the posted writes at once and resolves when they are answered', async () => {
    q = await fakeQemu();
    q.client.writel(0x3818, 0x40);
    const fenced = q.client.fence();
    expect(q.client.inFlight).toBe(1);
    expect(await q.waitLines(1)).toEqual(['writel 0x3818 0x40']);
    q.peer.write('OK\n');
    await fenced;
    expect(q.client.inFlight).toBe(0);
  });
});
