/**
 * Just enough of Source Map v3 (https://tc39.es/ecma426/) to do what a debugger front end (VS
 * Code's js-debug, Chrome DevTools) does with tsx's inline maps: original line → generated position
 * to set a breakpoint, generated position → original line to show where it paused.
 */
export interface Mapping {
  readonly genLine: number;
  readonly genColumn: number;
  readonly source: number;
  readonly origLine: number;
  readonly origColumn: number;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function decodeVlq(segment: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of segment) {
    const digit = B64.indexOf(ch);
    if (digit < 0) throw new Error(`bad base64 VLQ digit '${ch}'`);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

/** The mappings of a map, all 0-based, in generated order. */
export function decodeMappings(mappings: string): Mapping[] {
  const out: Mapping[] = [];
  let source = 0;
  let origLine = 0;
  let origColumn = 0;
  mappings.split(';').forEach((line, genLine) => {
    let genColumn = 0;
    for (const seg of line.split(',')) {
      if (seg === '') continue;
      const f = decodeVlq(seg);
      genColumn += f[0]!;
      if (f.length < 4) continue;
      source += f[1]!;
      origLine += f[2]!;
      origColumn += f[3]!;
      out.push({ genLine, genColumn, source, origLine, origColumn });
    }
  });
  return out;
}

/** The JSON of a `data:application/json;base64,…` source map URL. */
export function inlineSourceMap(url: string): { sources: string[]; mappings: string } {
  const m = /^data:application\/json[^,]*;base64,(.*)$/.exec(url);
  if (!m) throw new Error(`not an inline base64 source map: ${url.slice(0, 60)}`);
  return JSON.parse(Buffer.from(m[1]!, 'base64').toString('utf8')) as { sources: string[]; mappings: string };
}

/** The first generated position of original line `origLine` (0-based), as a debugger would bind it. */
export function generatedFor(mappings: readonly Mapping[], origLine: number): Mapping | undefined {
  return mappings.find((m) => m.origLine === origLine);
}

/** The original line of a generated position: the last mapping at or before it on its line. */
export function originalFor(mappings: readonly Mapping[], genLine: number, genColumn: number): Mapping | undefined {
  let best: Mapping | undefined;
  for (const m of mappings) if (m.genLine === genLine && m.genColumn <= genColumn && (!best || m.genColumn >= best.genColumn)) best = m;
  return best;
}
