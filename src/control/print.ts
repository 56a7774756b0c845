/**
 * Human-readable rendering of control replies and events (used by scripts/dirqlctl.ts). Values are
 * whatever msgpack carried: records, arrays, Buffers (frames), bigints (64-bit counters), Dates.
 */

const BYTES_SHOWN = 16;

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

/** `<1514 bytes: 52 54 00 12 34 56 …>` */
export function formatBytes(bytes: Uint8Array, shown = BYTES_SHOWN): string {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, shown))
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1 ');
  const more = bytes.length > shown ? ' …' : '';
  return bytes.length === 0 ? '<0 bytes>' : `<${bytes.length} bytes: ${head}${more}>`;
}

function formatScalar(value: unknown): string | undefined {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  if (isBytes(value)) return formatBytes(value);
  return undefined;
}

/** One line: `{up: true, frames: 12, data: <60 bytes: …>}`; for streams of events. */
export function formatInline(value: unknown): string {
  const scalar = formatScalar(value);
  if (scalar !== undefined) return typeof value === 'string' ? JSON.stringify(value) : scalar;
  if (Array.isArray(value)) return `[${value.map(formatInline).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as object)
      .map(([k, v]) => `${k}: ${formatInline(v)}`)
      .join(', ')}}`;
  }
  return String(value);
}

function formatScalarList(values: unknown[]): string {
  return `[${values.map((v) => formatScalar(v)).join(', ')}]`;
}

/** Indented `key: value` lines, nested records indented by two spaces; arrays as `- item`. */
export function formatValue(value: unknown, indent = 0): string {
  const pad = ' '.repeat(indent);
  const scalar = formatScalar(value);
  if (scalar !== undefined) return pad + scalar;
  if (Array.isArray(value)) {
    if (value.length === 0) return pad + '[]';
    if (value.every((v) => formatScalar(v) !== undefined)) return pad + formatScalarList(value);
    return value.map((v) => `${pad}- ${formatValue(v, indent + 2).trimStart()}`).join('\n');
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as object);
    if (entries.length === 0) return pad + '{}';
    const width = Math.max(...entries.map(([k]) => k.length));
    return entries
      .map(([k, v]) => {
        const inline = formatScalar(v) ?? (Array.isArray(v) && v.every((x) => formatScalar(x) !== undefined) ? formatScalarList(v) : undefined);
        if (inline !== undefined || (typeof v === 'object' && Object.keys(v as object).length === 0)) {
          return `${pad}${(k + ':').padEnd(width + 1)} ${inline ?? formatValue(v).trim()}`;
        }
        return `${pad}${k}:\n${formatValue(v, indent + 2)}`;
      })
      .join('\n');
  }
  return pad + String(value);
}

/** JSON with bigints as numbers (strings beyond 2^53) and bytes as hex strings. */
export function toJson(value: unknown, space?: number): string {
  return JSON.stringify(
    value,
    function (this: Record<string, unknown>, key: string, v: unknown) {
      const original = this[key];
      if (isBytes(original)) return Buffer.from(original.buffer, original.byteOffset, original.length).toString('hex');
      if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
      return v;
    },
    space,
  );
}

/** "DPCs 3 (1 queued by the driver itself, ...)": where an idle host's lone DPC (MiniportRestart's) is explained. */
export function describeDpcs(dpc: number, dpcWithoutIsr: number | undefined): string {
  if (!dpcWithoutIsr) return `DPCs ${dpc}`;
  return `DPCs ${dpc} (${dpcWithoutIsr} queued by the driver itself, not by an ISR: MiniportRestart's catch-up DPC, a requeue or a timer)`;
}

interface StatsShape {
  framework?: unknown;
  rings?: { rx?: { enqueued?: unknown }; tx?: { dequeued?: unknown } };
  calls?: { isr?: unknown; dpc?: unknown; dpcWithoutIsr?: unknown };
  receiveDrops?: { total?: unknown };
  surpriseRemoved?: unknown;
}

/** The line `stats` prints before the detail (a host's `stats` record, as msgpack carried it); undefined for another shape. */
export function statsSummaryLine(record: unknown): string | undefined {
  const r = record as StatsShape | null | undefined;
  if (typeof r !== 'object' || r === null || !r.rings?.rx || !r.rings.tx || !r.calls || !r.receiveDrops) return undefined;
  const n = (v: unknown) => Number(v);
  const withoutIsr = r.calls.dpcWithoutIsr === undefined ? undefined : n(r.calls.dpcWithoutIsr);
  return [
    `summary: ${typeof r.framework === 'string' ? r.framework : '?'}`,
    `rx ${n(r.rings.rx.enqueued)}`,
    `tx ${n(r.rings.tx.dequeued)}`,
    `ISRs ${n(r.calls.isr)}`,
    describeDpcs(n(r.calls.dpc), withoutIsr),
    `drops ${n(r.receiveDrops.total)}`,
    ...(r.surpriseRemoved ? ['NIC surprise-removed'] : []),
  ].join('  ');
}
