/**
 * Splits the qtest byte stream into lines and sorts them: `IRQ raise N` / `IRQ lower N` are
 * asynchronous events that can arrive anywhere (even between a command and its reply); every
 * other line is the reply to the oldest pending command.
 */
export interface ReplySink {
  reply(line: string): void;
  irq(line: number, raised: boolean): void;
  garbage(line: string): void;
}

export class ReplyParser {
  private partial = '';

  constructor(private readonly sink: ReplySink) {}

  push(chunk: Buffer): void {
    // latin1 is a 1:1 byte mapping: replies are ASCII, and no multibyte sequence can be split.
    const data = this.partial.length > 0 ? this.partial + chunk.toString('latin1') : chunk.toString('latin1');
    let start = 0;
    let nl = data.indexOf('\n', start);
    while (nl !== -1) {
      this.line(data.slice(start, nl));
      start = nl + 1;
      nl = data.indexOf('\n', start);
    }
    this.partial = start === data.length ? '' : data.slice(start);
  }

  /** Bytes received after the last newline (a reply still in flight). */
  get pendingBytes(): number {
    return this.partial.length;
  }

  private line(line: string): void {
    if (line.charCodeAt(0) === 0x49 /* I */ && line.startsWith('IRQ ')) {
      const m = /^IRQ (raise|lower) (\d+)$/.exec(line);
      if (m) {
        this.sink.irq(Number(m[2]), m[1] === 'raise');
        return;
      }
      this.sink.garbage(line);
      return;
    }
    this.sink.reply(line);
  }
}
