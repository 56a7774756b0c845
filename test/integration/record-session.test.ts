/**
 * Recording a real session on QEMU's e1000 (src/record): the file holds the qtest stream with IRQ
 * edges in position and the driver's guest-memory reads, and ends with the driver's counters.
 */

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RECORDING_VERSION, RecordKind, readRecording } from '../../src/record/format.ts';
import { closeHostWithPeer, openHostWithPeer, receiveFromPeer, sendToPeer } from './support/e1000-exchange.ts';

const dir = mkdtempSync(join(tmpdir(), 'dirql-record-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('recording an NDIS 6 session on QEMU', () => {
  it('writes the qtest stream, IRQ edges, DMA reads, config, driver hash and final counters', async () => {
    const file = join(dir, 'ndis6.rec');
    const f = await openHostWithPeer('dirql-record-', { framework: 'ndis6', processors: 1, seed: 1, record: file });
    try {
      await sendToPeer(f.host, f.peer, 500, 3);
      await receiveFromPeer(f.host, f.peer, 500, 4);
    } finally {
      await closeHostWithPeer(f);
    }
    const rec = readRecording(file);
    expect(rec.header).toMatchObject({ format: 'dirql-recording', version: RECORDING_VERSION, config: { framework: 'ndis6', seed: 1, processors: 1 } });
    expect(rec.header.driverHash).toMatch(/^[0-9a-f]{64}$/);
    const kinds = new Map<RecordKind, number>();
    for (const e of rec.events) kinds.set(e[0], (kinds.get(e[0]) ?? 0) + 1);
    expect(kinds.get(RecordKind.Command)).toBeGreaterThan(100);
    expect(kinds.get(RecordKind.Reply)).toBe(kinds.get(RecordKind.Command));
    expect(kinds.get(RecordKind.Irq)).toBeGreaterThan(0);
    expect(kinds.get(RecordKind.MemoryRead)).toBeGreaterThan(0);
    expect(rec.trailer.counters).toHaveProperty('frameworkSide');
    console.log(`recording of 500 TX + 500 RX frames: ${rec.events.length} events, ${statSync(file).size} bytes`);
  });
});
