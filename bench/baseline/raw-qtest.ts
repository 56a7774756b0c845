import type { Socket } from 'node:net';

/**
 * The baseline every MMIO figure is divided by: the least a Node client can do over the same
 * socket — write one command, wait for one newline, parse the hex — with no queue, no
 * validation, no events. Not for use outside benchmarks.
 */
export class RawQtest {
  private waiting: ((line: string) => void) | undefined;
  private partial = '';

  constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      const s = this.partial + d.toString('latin1');
      let start = 0;
      let nl = s.indexOf('\n');
      while (nl !== -1) {
        const line = s.slice(start, nl);
        start = nl + 1;
        nl = s.indexOf('\n', start);
        if (line.startsWith('IRQ')) continue;
        const w = this.waiting;
        this.waiting = undefined;
        w?.(line);
      }
      this.partial = s.slice(start);
    });
  }

  readl(addr: number): Promise<number> {
    return new Promise((resolve) => {
      this.waiting = (line) => resolve(Number.parseInt(line.slice(5), 16));
      this.socket.write(`readl 0x${addr.toString(16)}\n`);
    });
  }

  /** Fire-and-forget write whose reply is consumed by the next awaited command's wait. */
  command(line: string): Promise<string> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.socket.write(line + '\n');
    });
  }

  detach(): Socket {
    this.socket.removeAllListeners('data');
    return this.socket;
  }
}
