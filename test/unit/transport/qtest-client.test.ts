import { afterEach, describe, expect, it } from 'vitest';
import { QtestDisconnectedError, QtestFailError, QtestInvalidCommandError, QtestProtocolError, QtestTimeoutError } from '../../../src/transport/errors.ts';
import { waitUntil } from '../../support/wait.ts';
import { fakeQemu, type FakeQemu } from './fake-qemu.ts';

let q: FakeQemu | undefined;
afterEach(() => {
  q?.close();
  q = undefined;
});

describe('QtestClient', () => {
  it('parses a reply that arrives split across several packets', async () => {
    q = await fakeQemu();
    const v = q.client.readl(0xfebc0008);
    expect(await q.waitLines(1)).toEqual(['readl 0xfebc0008']);
    // Not an absence check: the gaps are what make the reply arrive as separate packets.
    q.peer.write('OK 0x0000');
    await new Promise((r) => setTimeout(r, 5));
    q.peer.write('000080080783');
    await new Promise((r) => setTimeout(r, 5));
    q.peer.write('\n');
    expect(await v).toBe(0x80080783);
  });

  it('matches coalesced replies to commands in order', async () => {
    q = await fakeQemu();
    const a = q.client.readl(0x1000);
    const b = q.client.inb(0xcfc);
    const c = q.client.readq(0x2000);
    await q.waitLines(3);
    q.peer.write('OK 0x0000000000000001\nOK 0x00000000000000ab\nOK 0xffffffffffffffff\n');
    expect(await a).toBe(1);
    expect(await b).toBe(0xab);
    expect(await c).toBe(0xffffffffffffffffn);
  });

  it('delivers IRQ lines that arrive between a command and its reply as events', async () => {
    q = await fakeQemu();
    const events: Array<[number, boolean]> = [];
    q.client.on('irq', (line, raised) => events.push([line, raised]));
    const v = q.client.readl(0xc0);
    await q.waitLines(1);
    q.peer.write('IRQ raise 11\nOK 0x00000000000000');
    q.peer.write('80\nIRQ lower 11\n');
    expect(await v).toBe(0x80);
    await waitUntil('both IRQ events', () => events.length >= 2);
    expect(events).toEqual([
      [11, true],
      [11, false],
    ]);
    expect(q.client.lineLevel(11)).toBe(false);
  });

  it('shows an IRQ edge that came before a reply in a packet of its own with that reply, not before it', async () => {
    q = await fakeQemu();
    const seen: string[] = [];
    let parsed = 0;
    q.client.tap = { command: () => undefined, reply: () => undefined, irq: () => void parsed++ };
    q.client.on('irq', (line, raised) => seen.push(`irq ${line} ${raised}`));
    const v = q.client.readl(0xc8).then((x) => seen.push(`reply ${x}`));
    await q.waitLines(1);
    q.peer.write('IRQ raise 11\n');
    await waitUntil('the IRQ line parsed', () => parsed === 1);
    expect(seen).toEqual([]);
    expect(q.client.lineLevel(11)).toBe(false);
    q.peer.write('OK 0x0000000000000004\n');
    await v;
    expect(seen).toEqual(['irq 11 true', 'reply 4']);
    expect(q.client.lineLevel(11)).toBe(true);
  });

  it('keeps the last level of each intercepted line', async () => {
    q = await fakeQemu();
    let seen = 0;
    q.client.on('irq', () => seen++);
    q.peer.write('IRQ raise 11\nIRQ raise 0\nIRQ lower 0\n');
    await waitUntil('the three IRQ lines', () => seen === 3);
    expect(q.client.lineLevel(11)).toBe(true);
    expect(q.client.lineLevel(0)).toBe(false);
    expect(q.client.lineLevel(5)).toBe(false);
  });

  it('rejects a FAIL reply with a typed error naming the command', async () => {
    q = await fakeQemu();
    const v = q.client.irqInterceptIn('/machine/nothing');
    await q.waitLines(1);
    q.peer.write("FAIL Unknown command 'x'\n");
    const err = await v.catch((e) => e);
    expect(err).toBeInstanceOf(QtestFailError);
    expect(err.context.command).toBe('irq_intercept_in /machine/nothing');
  });

  it('posts writes without waiting and sends a burst in order', async () => {
    q = await fakeQemu();
    q.client.writel(0x100, 1);
    q.client.writel(0x104, 0xffffffff);
    q.client.outl(0xcf8, 0x80001000);
    expect(q.client.inFlight).toBe(3);
    const f = q.client.fence();
    expect(await q.waitLines(3)).toEqual(['writel 0x100 0x1', 'writel 0x104 0xffffffff', 'outl 0xcf8 0x80001000']);
    let fenced = false;
    void f.then(() => (fenced = true));
    q.peer.write('OK\nOK\n');
    // The positive control: the client has taken both replies; the fence waits for the third.
    await waitUntil('the first two replies', () => q!.client.inFlight === 1);
    expect(fenced).toBe(false);
    q.peer.write('OK\n');
    await f;
    expect(q.client.inFlight).toBe(0);
  });

  it('reports a failed posted write at the next fence', async () => {
    q = await fakeQemu();
    q.client.writel(0x100, 1);
    const f = q.client.fence();
    await q.waitLines(1);
    q.peer.write('FAIL nope\n');
    const err = await f.catch((e) => e);
    expect(err).toBeInstanceOf(QtestFailError);
    expect(err.context.command).toBe('writel 0x100 0x1');
  });

  it('reports a failed posted write at the next read', async () => {
    q = await fakeQemu();
    q.client.writel(0x100, 1);
    const r = q.client.readl(0x100);
    await q.waitLines(2);
    q.peer.write('FAIL nope\nOK 0x0000000000000001\n');
    const err = await r.catch((e) => e);
    expect(err).toBeInstanceOf(QtestFailError);
    expect(err.context.command).toBe('writel 0x100 0x1');
  });

  it('treats a malformed reply as a protocol error', async () => {
    q = await fakeQemu();
    const v = q.client.readl(0x10);
    await q.waitLines(1);
    q.peer.write('OK zzz\n');
    const err = await v.catch((e) => e);
    expect(err).toBeInstanceOf(QtestProtocolError);
    expect(err.context.reply).toBe('OK zzz');
  });

  it('closes on a reply that nobody asked for and rejects later calls', async () => {
    q = await fakeQemu();
    const closed = new Promise<Error | undefined>((r) => q!.client.once('close', r));
    q.peer.write('OK 0x1\n');
    expect(await closed).toBeInstanceOf(QtestProtocolError);
    expect(q.client.closed).toBe(true);
    await expect(q.client.readl(0)).rejects.toBeInstanceOf(QtestDisconnectedError);
    expect(() => q!.client.writel(0, 0)).toThrow(QtestDisconnectedError);
  });

  it('rejects every pending request when the connection drops', async () => {
    q = await fakeQemu();
    const a = q.client.readl(0x10);
    const b = q.client.inl(0xcfc);
    q.client.writel(0x20, 5);
    const f = q.client.fence();
    await q.waitLines(3);
    q.peer.destroy();
    for (const p of [a, b, f]) await expect(p).rejects.toBeInstanceOf(QtestDisconnectedError);
    const err = await a.catch((e) => e);
    expect(err.context.command).toBe('readl 0x10');
  });

  it('times out a command that gets no reply and names it', async () => {
    q = await fakeQemu({ commandTimeoutMs: 60 });
    const v = q.client.readl(0x30);
    const err = await v.catch((e) => e);
    expect(err).toBeInstanceOf(QtestTimeoutError);
    expect(err.context.command).toBe('readl 0x30');
    expect(q.client.closed).toBe(true);
  });

  it('refuses commands that would crash QEMU before sending them', async () => {
    q = await fakeQemu();
    expect(() => q!.client.outb(0x10000, 1)).toThrow(QtestInvalidCommandError);
    expect(() => q!.client.writel(0x100, 0x1_0000_0000)).toThrow(QtestInvalidCommandError);
    expect(() => q!.client.writeb(-1, 0)).toThrow(QtestInvalidCommandError);
    expect(() => q!.client.writeb(0x100, 0x100)).toThrow(QtestInvalidCommandError);
    expect(() => q!.client.writew(0x100, -1)).toThrow(QtestInvalidCommandError);
    expect(() => q!.client.writel(0x100, 1.5)).toThrow(QtestInvalidCommandError);
    expect(() => q!.client.writel(0x100, Number.NaN)).toThrow(QtestInvalidCommandError);
    await expect(q.client.memread(0x100000, 0)).rejects.toBeInstanceOf(QtestInvalidCommandError);
    await expect(q.client.irqInterceptIn('io apic')).rejects.toBeInstanceOf(QtestInvalidCommandError);
    q.client.writel(0x100, 2);
    expect(await q.waitLines(1)).toEqual(['writel 0x100 0x2']);
  });

  it('round-trips guest memory through b64read and b64write', async () => {
    q = await fakeQemu();
    q.client.memwrite(0x100000, Uint8Array.from([1, 2, 3, 250]));
    const r = q.client.memread(0x100000, 4);
    const lines = await q.waitLines(2);
    expect(lines[0]).toBe('b64write 0x100000 0x4 AQID+g==');
    expect(lines[1]).toBe('b64read 0x100000 0x4');
    q.peer.write('OK\nOK AQID+g==\n');
    expect([...(await r)]).toEqual([1, 2, 3, 250]);
  });
});

describe('QtestClient.release', () => {
  it('hands the socket over after pending commands are answered and refuses further use', async () => {
    q = await fakeQemu();
    q.client.writel(0x10, 1);
    const released = q.client.release();
    await q.waitLines(1);
    q.peer.write('OK\n');
    const sock = await released;
    expect(sock.destroyed).toBe(false);
    await expect(q.client.readl(0)).rejects.toBeInstanceOf(QtestDisconnectedError);
    const got = new Promise<string>((r) => sock.once('data', (d) => r(d.toString())));
    q.peer.write('OK 0x1\n');
    expect(await got).toBe('OK 0x1\n');
  });
});

describe('QtestClient on a socket error', () => {
  it('rejects the command at the head with the typed disconnect, keeping the socket error as cause', async () => {
    q = await fakeQemu();
    const a = q.client.readl(0x40);
    await q.waitLines(1);
    (q.client as unknown as { socket: import('node:net').Socket }).socket.destroy(new Error('EPIPE-like'));
    const err = await a.catch((e) => e);
    expect(err).toBeInstanceOf(QtestDisconnectedError);
    expect((err.cause as Error).message).toBe('EPIPE-like');
  });
});
