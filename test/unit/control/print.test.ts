import { describe, expect, it } from 'vitest';
import { formatBytes, formatInline, formatValue, toJson } from '../../../src/control/print.ts';

describe('control value printing', () => {
  it('summarises a frame as its length and first bytes', () => {
    const frame = Buffer.alloc(1514);
    frame.set([0x52, 0x54, 0x00, 0x12], 0);
    expect(formatBytes(frame, 4)).toBe('<1514 bytes: 52 54 00 12 …>');
    expect(formatBytes(Buffer.from([1, 2]))).toBe('<2 bytes: 01 02>');
    expect(formatBytes(Buffer.alloc(0))).toBe('<0 bytes>');
  });

  it('prints records as aligned key: value lines with nested records indented', () => {
    const text = formatValue({ link: true, rx: { frames: 10n, bytes: 640 }, queues: [1, 2], mac: '52:54:00:12:34:56' });
    expect(text).toBe(['link:   true', 'rx:', '  frames: 10', '  bytes:  640', 'queues: [1, 2]', 'mac:    52:54:00:12:34:56'].join('\n'));
  });

  it('prints arrays of records as dash items', () => {
    expect(formatValue([{ a: 1 }, { a: 2 }])).toBe('- a: 1\n- a: 2');
  });

  it('prints an event on one line', () => {
    expect(formatInline({ dir: 'rx', data: Buffer.from([0xff, 0xee]), n: 3n })).toBe('{dir: "rx", data: <2 bytes: ff ee>, n: 3}');
  });

  it('writes JSON with bigints as numbers (or strings when too large) and bytes as hex', () => {
    expect(toJson({ a: 5n, b: 2n ** 64n, d: Buffer.from([0xab, 0xcd]) })).toBe('{"a":5,"b":"18446744073709551616","d":"abcd"}');
  });
});
