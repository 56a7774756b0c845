/**
 * `dirql up --hold --echo --record FILE` on real QEMU with a wire peer sending frames through the
 * driver and back, Ctrl-C, then `dirql replay FILE` (REPLAY, no QEMU): the replay exits 0 and
 * reaches the counters the session ended with.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { TrafficGenerator, WirePeer } from '../../../harness/index.ts';
import { RecordKind, RecordingWriter, readRecording } from '../../../src/record/format.ts';
import { DIRQL_BIN, dirql } from '../../support/dirql-cli.ts';

const cwd = mkdtempSync(join(tmpdir(), 'dirql-up-record-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

const FRAMES = 300;

/**
 * Frames the peer keeps in flight. With one, each echo is a send the driver's send path takes
 * alone; with more, echoes queued while the send path is busy are taken in batches that depend on
 * timing, which the recording holds (`[9, 'take', count]`) and the replay repeats.
 */
const CASES = [
  { framework: 'ndis6', window: 1, file: 'up.rec' },
  { framework: 'ndis6', window: 64, file: 'up-64.rec' },
  { framework: 'ndis5', window: 64, file: 'up-ndis5-64.rec' },
  { framework: 'kmdf', window: 64, file: 'up-kmdf-64.rec' },
] as const;

/** Resolves with the first match of `pattern` in what `read()` returns, re-checked on each `tick`. */
function matchOn(read: () => string, pattern: RegExp, subscribe: (tick: () => void) => void): Promise<RegExpExecArray> {
  return new Promise((resolve) => {
    const check = (): boolean => {
      const m = pattern.exec(read());
      if (m) resolve(m);
      return m !== null;
    };
    if (!check()) subscribe(check);
  });
}

describe('dirql up --record, then dirql replay (REPLAY, no QEMU)', () => {
  it.each(CASES)('an echoing $framework session of 300 frames, $window in flight, replays to the same counters and exits 0', async ({ framework, window, file: name }) => {
    const file = join(cwd, name);
    const peer = await WirePeer.open();
    try {
      const up = execa(process.execPath, [DIRQL_BIN, 'up', '--hold', '--echo', '--framework', framework, '--peer-port', String(peer.port), '--record', file], {
        cwd,
        reject: false,
        timeout: 60_000,
        env: { DIRQL_LOG: 'silent', DIRQL_OUTPUT_DIR: join(cwd, 'out') },
      });
      let stdout = '';
      let stderr = '';
      const ticks: (() => boolean)[] = [];
      const onData = (): void => {
        for (const t of ticks.splice(0)) if (!t()) ticks.push(t);
      };
      up.stdout!.on('data', (d: Buffer) => ((stdout += d.toString()), onData()));
      up.stderr!.on('data', (d: Buffer) => ((stderr += d.toString()), onData()));
      void up.once('exit', () => onData());
      const waitOut = (re: RegExp): Promise<RegExpExecArray> =>
        Promise.race([
          matchOn(
            () => stdout,
            re,
            (t) => ticks.push(t as () => boolean),
          ),
          up.then((r) => Promise.reject(new Error(`dirql up exited ${r.exitCode} before ${re}:\n${stdout}\n${stderr}`))),
        ]);
      const qemuPort = Number((await waitOut(/wire: QEMU udp 127\.0\.0\.1:(\d+)/))[1]);
      await waitOut(/^dirql: holding/m);
      await peer.connect(qemuPort);

      const frames = new TrafficGenerator({ src: '02:00:00:00:00:01', dst: '52:54:00:12:34:56', stream: 5, size: 'mixed', seed: 7 }).take(FRAMES);
      let echoed = 0;
      const allBack = new Promise<void>((resolve) => {
        const off = peer.onFrame(() => {
          if (++echoed < FRAMES) return;
          off();
          resolve();
        });
      });
      await peer.sendBatch(frames, { maxInFlight: window, inFlight: () => peer.counters.framesSent - echoed });
      await allBack;

      up.kill('SIGINT');
      const r = await up;
      expect(r.exitCode, stderr).toBe(0);
      expect(stderr).toMatch(new RegExp(`^ {2}frames: ${FRAMES} received \\(indicated by the driver\\), ${FRAMES} sent`, 'm'));
      // Shown relative to the working directory.
      expect(stdout).toContain(`dirql: recording ${name} (replay it without QEMU: dirql replay ${name})`);
      expect(statSync(file).size).toBeGreaterThan(0);
    } finally {
      await peer.close();
    }

    const replayed = await dirql(['replay', file, '--json'], { cwd });
    expect(replayed.exitCode, replayed.stdout + replayed.stderr).toBe(0);
    const result = JSON.parse(replayed.stdout) as {
      outcome: string;
      finished: boolean;
      counters: { delivered: number; frameworkSide: { ndis?: Record<string, number>; wdf?: { requestPool: { created: number } } } };
    };
    expect(result).toMatchObject({ replay: true, outcome: 'same', finished: true });
    expect(result.counters.delivered).toBe(FRAMES);
    if (framework === 'ndis6') expect(result.counters.frameworkSide.ndis).toMatchObject({ receivesIndicated: FRAMES, sendsCompleted: FRAMES });
    // As many WDFREQUESTs live at once as in the session: each batch of writes was submitted after the
    // completions recorded before it (the reads pending plus one batch of writes, not two).
    if (framework === 'kmdf') {
      const recorded = readRecording(file).trailer.counters as typeof result.counters;
      expect(result.counters.frameworkSide.wdf!.requestPool.created).toBe(recorded.frameworkSide.wdf!.requestPool.created);
    }

    const text = await dirql(['replay', file], { cwd });
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/^REPLAY \(no QEMU\) of .*: SAME — (\d+) of \1 events/);
  });

  it('dirql replay --trace writes the replay timeline beside the recording, the same file every replay', async () => {
    const traces: Buffer[] = [];
    for (const sub of ['a', 'b']) {
      const r = await dirql(['replay', join(cwd, 'up-64.rec'), '--trace', join(cwd, 'trace', sub)], { cwd });
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      const m = /^REPLAY timeline: {3}(\S+\.html) \(and (\S+\.perfetto-trace)/m.exec(r.stdout);
      expect(m, r.stdout).not.toBeNull();
      expect(basename(m![2]!)).toBe('up-64.replay.perfetto-trace');
      traces.push(readFileSync(m![2]!));
    }
    expect(traces[0]!.length).toBeGreaterThan(1000);
    expect(traces[1]!.equals(traces[0]!)).toBe(true);
  });

  it('a recording cut before its stop (trailer rewritten) replays as STALLED, exit 1, instead of Node exiting under it', async () => {
    const whole = readRecording(join(cwd, 'up.rec'));
    const receive = whole.events.findIndex((e) => e[0] === RecordKind.Host && e[1] === 'receive');
    expect(receive).toBeGreaterThan(0);
    const cut = join(cwd, 'no-stop.rec');
    const { format: _f, version: _v, ...header } = whole.header;
    const w = new RecordingWriter(cut, header);
    for (const e of whole.events.slice(0, receive + 1)) w.event(e);
    await w.close({ counters: whole.trailer.counters });
    const r = await dirql(['replay', cut], { cwd });
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^REPLAY \(no QEMU\) of .*: STALLED — /);
    expect(r.stdout).toMatch(/^REPLAY stalled at event \d+/m);
  });
});
