import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QtestClient, type QtestClientOptions } from '../../../src/transport/qtest-client.ts';

/**
 * The far end of a real unix socket, scripted by the test: it records the lines the client
 * sends and lets the test write arbitrary bytes back (split, coalesced, interleaved).
 */
export interface FakeQemu {
  client: QtestClient;
  peer: Socket;
  /** Lines received so far. */
  lines: string[];
  /** Resolves when at least n lines have arrived. */
  waitLines(n: number): Promise<string[]>;
  close(): void;
}

export async function fakeQemu(opts?: QtestClientOptions): Promise<FakeQemu> {
  const dir = mkdtempSync(join(tmpdir(), 'dirql-fake-qtest-'));
  const path = join(dir, 'qtest.sock');
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(path, r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const sock = connect(path);
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const peer = await accepted;
  const lines: string[] = [];
  let partial = '';
  let waiters: Array<{ n: number; resolve: (l: string[]) => void }> = [];
  peer.on('data', (d: Buffer) => {
    const parts = (partial + d.toString('latin1')).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    waiters = waiters.filter((w) => (lines.length >= w.n ? (w.resolve(lines.slice()), false) : true));
  });
  peer.on('error', () => {});
  const client = new QtestClient(sock, opts);
  return {
    client,
    peer,
    lines,
    waitLines: (n) => (lines.length >= n ? Promise.resolve(lines.slice()) : new Promise((resolve) => waiters.push({ n, resolve }))),
    close: () => {
      client.close();
      peer.destroy();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
