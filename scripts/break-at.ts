/**
 * A line breakpoint in a .ts file of a running host, from outside its process (and container):
 * what VS Code does through tsx's inline source maps, for a terminal (`node inspect` reads no
 * source maps). Connects to the inspector, binds `<file>:<line>` (a path suffix, 1-based line),
 * waits for the first hit, evaluates each `--eval` on the paused frame, removes the breakpoint and
 * resumes.
 *
 *   node --experimental-websocket --import tsx scripts/break-at.ts 127.0.0.1:9229 \
 *     src/drivers/e1000/miniport/interrupts.ts:112 --eval 'dirql.irql()' --eval 'this.ctx.counters.isrCalls'
 *
 * In compose: `compose.sh netns node --experimental-websocket --import tsx scripts/break-at.ts …`.
 */
import { parseArgs } from 'node:util';
import { decodeMappings, generatedFor, inlineSourceMap, originalFor, type Mapping } from '../src/debugger/source-map.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { eval: { type: 'string', multiple: true, default: [] }, timeout: { type: 'string', default: '60' } },
});
const [address, target] = positionals;
const at = target ? /^(.+):(\d+)$/.exec(target) : null;
if (!address || !at) {
  console.error('usage: break-at.ts <host:port> <file.ts>:<line> [--eval EXPR]... [--timeout SECONDS]');
  process.exit(2);
}
const [, file, lineText] = at;
const line = Number(lineText);

const targets = (await (await fetch(`http://${address}/json/list`)).json()) as { webSocketDebuggerUrl: string; title: string }[];
const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
await new Promise((resolve, reject) => {
  ws.onopen = resolve;
  ws.onerror = reject;
});
let nextId = 1;
const pending = new Map<number, (r: { result?: unknown; error?: { message: string } }) => void>();
const events: ((method: string, params: Record<string, unknown>) => void)[] = [];
ws.onmessage = (m) => {
  const msg = JSON.parse(String(m.data)) as { id?: number; method?: string; params?: Record<string, unknown>; result?: unknown; error?: { message: string } };
  if (msg.id !== undefined) pending.get(msg.id)?.(msg);
  else for (const e of events) e(msg.method!, msg.params!);
};
async function send<T>(method: string, params: object = {}): Promise<T> {
  const id = nextId++;
  ws.send(JSON.stringify({ id, method, params }));
  const r = await new Promise<{ result?: unknown; error?: { message: string } }>((resolve) => pending.set(id, resolve));
  if (r.error) throw new Error(`${method}: ${r.error.message}`);
  return r.result as T;
}

// The script whose URL ends with the file: its inline source map says where the .ts line went.
let script: { scriptId: string; url: string; mappings: Mapping[] } | undefined;
events.push((method, p) => {
  if (method !== 'Debugger.scriptParsed' || script) return;
  const url = String(p.url);
  if (!url.endsWith(file!) || typeof p.sourceMapURL !== 'string' || !p.sourceMapURL.startsWith('data:')) return;
  script = { scriptId: String(p.scriptId), url, mappings: decodeMappings(inlineSourceMap(p.sourceMapURL).mappings) };
});
await send('Debugger.enable');
if (!script) throw new Error(`no loaded script ends with ${file} (with an inline source map)`);
const gen = generatedFor(script.mappings, line - 1);
if (!gen) throw new Error(`${file}:${line} has no code`);
const bp = await send<{ breakpointId: string }>('Debugger.setBreakpoint', { location: { scriptId: script.scriptId, lineNumber: gen.genLine, columnNumber: gen.genColumn } });
console.log(`breakpoint at ${script.url}:${line} (generated ${gen.genLine + 1}:${gen.genColumn + 1}); waiting for a hit`);

const paused = await new Promise<{ callFrames: { callFrameId: string; functionName: string; location: { lineNumber: number; columnNumber: number } }[] }>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no hit within ${values.timeout} s`)), Number(values.timeout) * 1000);
  events.push((method, p) => {
    if (method !== 'Debugger.paused') return;
    clearTimeout(timer);
    resolve(p as never);
  });
});
const top = paused.callFrames[0]!;
const back = originalFor(script.mappings, top.location.lineNumber, top.location.columnNumber);
console.log(`paused in ${top.functionName || '(anonymous)'} at ${file}:${back ? back.origLine + 1 : '?'}`);
console.log(`stack: ${paused.callFrames.map((f) => f.functionName || '(anonymous)').join(' < ')}`);
for (const expression of values.eval) {
  const r = await send<{ result: { value?: unknown; description?: string } }>('Debugger.evaluateOnCallFrame', { callFrameId: top.callFrameId, expression, returnByValue: true });
  console.log(`${expression} = ${JSON.stringify(r.result.value ?? r.result.description)}`);
}
await send('Debugger.removeBreakpoint', { breakpointId: bp.breakpointId });
await send('Debugger.resume');
console.log('resumed');
ws.close();
