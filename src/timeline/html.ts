import { writeFile } from 'node:fs/promises';
import { argsOf, type Timeline, type TimelineArgs, type TimelineTrack } from './timeline.ts';

// A Timeline as one self-contained HTML page: per-processor lanes of slices (ISR, DPC,
// synchronize callbacks, lock holds) above the processor's IRQL, then the interrupt lines, the wire
// and host tracks; hover for details, wheel to zoom, drag to pan, double-click to reset; a URL
// fragment `#<from µs>-<to µs>` opens on that window. No server, no network: the data and the
// renderer are inline.

/** A slice, as the page draws it: [track, depth, start ns, end ns, name, category, details]. */
export type HtmlSlice = [number, number, number, number, string, string, string];
/** [track, ts ns, name, category, details]. */
export type HtmlInstant = [number, number, string, string, string];

export interface HtmlTimelineModel {
  readonly title: string;
  readonly end: number;
  readonly dropped: number;
  readonly tracks: readonly TimelineTrack[];
  readonly slices: HtmlSlice[];
  readonly instants: HtmlInstant[];
  /** Per counter track: [ts ns, value] steps. */
  readonly counters: Record<number, [number, number][]>;
}

/** What the page draws, computed from the events (slices paired, nesting depth per track). */
export function htmlModel(timeline: Timeline, title = timeline.name): HtmlTimelineModel {
  const slices: HtmlSlice[] = [];
  const instants: HtmlInstant[] = [];
  const counters: Record<number, [number, number][]> = {};
  const open = new Map<number, { start: number; name: string; category: string; details: string }[]>();
  let end = 0;
  for (const e of timeline.events) {
    end = Math.max(end, e.ts);
    switch (e.type) {
      case 'begin': {
        const stack = open.get(e.track) ?? [];
        stack.push({ start: e.ts, name: e.name, category: e.category, details: details(e.args) });
        open.set(e.track, stack);
        break;
      }
      case 'end': {
        const stack = open.get(e.track);
        const s = stack?.pop();
        if (s) slices.push([e.track, stack!.length, s.start, e.ts, s.name, s.category, s.details]);
        break;
      }
      case 'instant':
        instants.push([e.track, e.ts, e.name, e.category, details(argsOf(e.args))]);
        break;
      case 'counter':
        (counters[e.track] ??= []).push([e.ts, e.value]);
        break;
    }
  }
  // Slices still open when the run stopped are drawn to its end.
  for (const [track, stack] of open) stack.forEach((s, depth) => slices.push([track, depth, s.start, end, `${s.name} (unfinished)`, s.category, s.details]));
  return { title, end, dropped: timeline.dropped, tracks: timeline.tracks, slices, instants, counters };
}

export function renderHtmlTimeline(timeline: Timeline, title = timeline.name): string {
  const model = htmlModel(timeline, title);
  // `<` escaped so that no string in the data can close the script element.
  const data = JSON.stringify(model).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>${STYLE}</style></head>
<body><header><h1>${escapeHtml(title)}</h1><span id="summary"></span><span class="hint">wheel: zoom · drag: pan · double-click: reset</span></header>
<div id="chart"></div><div id="tip" role="tooltip"></div>
<script type="application/json" id="timeline-data">${data}</script>
<script>${SCRIPT}</script></body></html>
`;
}

export async function writeHtmlTimeline(timeline: Timeline, file: string, title?: string): Promise<void> {
  await writeFile(file, renderHtmlTimeline(timeline, title));
}

function details(args: TimelineArgs | undefined): string {
  if (!args) return '';
  return Object.entries(args)
    .map(([k, v]) => `${k}: ${typeof v === 'number' && Number.isInteger(v) && k.toLowerCase().includes('value') ? `0x${v.toString(16)}` : String(v)}`)
    .join('\n');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

const STYLE = `
body{font:12px system-ui,sans-serif;margin:0;background:#fafafa;color:#222}
header{display:flex;gap:16px;align-items:baseline;padding:8px 12px;border-bottom:1px solid #ddd;background:#fff}
h1{font-size:15px;margin:0}.hint{color:#888;margin-left:auto}
#chart{padding:4px 0;user-select:none}
svg text{font-size:11px;fill:#333}svg text.axis{font-size:10px;fill:#777}
.lane-label{font-weight:600}
.slice{stroke:#0003;stroke-width:.5}
.slice.isr{fill:#e8743b}.slice.dpc{fill:#4c8bf5}.slice.sync{fill:#b55fd1}.slice.lock{fill:#8fbf5a}.slice.thread{fill:#9aa5b1}.slice.other{fill:#c9b458}
.instant{stroke:#333;stroke-width:1}.instant.register{stroke:#0a7}.instant.line{stroke:#d33}.instant.wire{stroke:#36c}.instant.bugcheck{stroke:#d00;stroke-width:3}
.irql{fill:#f6b26b55;stroke:#e69138;stroke-width:1}
#tip{position:fixed;pointer-events:none;background:#222;color:#fff;padding:6px 8px;border-radius:4px;white-space:pre;display:none;max-width:60ch;font:12px ui-monospace,monospace}
`;

// The renderer runs in the page: plain ES2017, no dependencies.
const SCRIPT = `
(function(){
var M=JSON.parse(document.getElementById('timeline-data').textContent);
var chart=document.getElementById('chart'),tip=document.getElementById('tip');
var LABEL=110,ROW=14,IRQL_H=36,GAP=10;
var view={from:0,to:Math.max(M.end,1)};
var want=/^#(\\d+(?:\\.\\d+)?)-(\\d+(?:\\.\\d+)?)$/.exec(location.hash);
if(want&&+want[2]>+want[1])view={from:want[1]*1000,to:want[2]*1000};
var lanes=[];
M.tracks.forEach(function(t){lanes.push(t);});
var depth={};M.slices.forEach(function(s){depth[s[0]]=Math.max(depth[s[0]]||0,s[1]+1);});
function cls(c){return ['isr','dpc','sync','lock','thread'].indexOf(c)>=0?c:'other';}
function us(ns){return (ns/1000).toFixed(1)+' µs';}
document.getElementById('summary').textContent=M.slices.length+' slices, '+M.instants.length+' instants over '+us(M.end)+(M.dropped?' ('+M.dropped+' events dropped at the limit)':'');
function render(){
  var W=Math.max(chart.clientWidth,600)-LABEL-10,span=view.to-view.from;
  function x(t){return LABEL+(t-view.from)/span*W;}
  var y=18,out=[];
  for(var k=0;k<=8;k++){var tx=view.from+span*k/8,px=LABEL+W*k/8;out.push('<line x1="'+px+'" x2="'+px+'" y1="12" y2="16" stroke="#999"/><text class="axis" x="'+px+'" y="10" text-anchor="middle">'+us(tx)+'</text>');}
  lanes.forEach(function(t){
    var h=t.counter?IRQL_H:Math.max(1,depth[t.id]||1)*ROW;
    out.push('<text class="lane-label" x="4" y="'+(y+12)+'">'+esc(t.name)+'</text>');
    out.push('<line x1="'+LABEL+'" x2="'+(LABEL+W)+'" y1="'+(y+h+GAP/2)+'" y2="'+(y+h+GAP/2)+'" stroke="#eee"/>');
    if(t.counter){
      var pts=M.counters[t.id]||[],d='M'+LABEL+','+(y+h),v=0;
      pts.forEach(function(p){var px=Math.min(Math.max(x(p[0]),LABEL),LABEL+W);d+=' L'+px+','+(y+h-v/15*h)+' L'+px+','+(y+h-p[1]/15*h);v=p[1];});
      d+=' L'+(LABEL+W)+','+(y+h-v/15*h)+' L'+(LABEL+W)+','+(y+h)+' Z';
      out.push('<path class="irql" d="'+d+'"/>');
    }
    M.slices.forEach(function(s,i){
      if(s[0]!==t.id||s[3]<view.from||s[2]>view.to)return;
      var x0=Math.max(x(s[2]),LABEL),x1=Math.min(x(s[3]),LABEL+W);
      out.push('<rect class="slice '+cls(s[5])+'" data-kind="slice" data-i="'+i+'" x="'+x0+'" y="'+(y+s[1]*ROW)+'" width="'+Math.max(x1-x0,1)+'" height="'+(ROW-2)+'"/>');
    });
    M.instants.forEach(function(e,i){
      if(e[0]!==t.id||e[1]<view.from||e[1]>view.to)return;
      var px=x(e[1]);
      out.push('<line class="instant '+esc(e[3])+'" data-kind="instant" data-i="'+i+'" x1="'+px+'" x2="'+px+'" y1="'+y+'" y2="'+(y+h)+'"/>');
    });
    y+=h+GAP;
  });
  chart.innerHTML='<svg width="'+(LABEL+W+10)+'" height="'+y+'">'+out.join('')+'</svg>';
}
function esc(s){return String(s).replace(/[&<>"]/g,function(c){return {'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c];});}
chart.addEventListener('mousemove',function(ev){
  var d=ev.target.dataset||{};
  if(!d.kind){tip.style.display='none';return;}
  var text;
  if(d.kind==='slice'){var s=M.slices[+d.i];text=s[4]+'\\n'+s[5]+' · '+us(s[2])+' → '+us(s[3])+' ('+us(s[3]-s[2])+')'+(s[6]?'\\n'+s[6]:'');}
  else{var e=M.instants[+d.i];text=e[2]+'\\n'+e[3]+' · '+us(e[1])+(e[4]?'\\n'+e[4]:'');}
  tip.textContent=text;tip.style.display='block';tip.style.left=(ev.clientX+12)+'px';tip.style.top=(ev.clientY+12)+'px';
});
chart.addEventListener('mouseleave',function(){tip.style.display='none';});
chart.addEventListener('wheel',function(ev){
  ev.preventDefault();
  var W=Math.max(chart.clientWidth,600)-LABEL-10,f=ev.deltaY>0?1.25:0.8,span=view.to-view.from;
  var at=view.from+Math.min(Math.max(ev.offsetX-LABEL,0),W)/W*span,ns=Math.max(span*f,100);
  view.from=at-(at-view.from)*ns/span;view.to=view.from+ns;render();
},{passive:false});
var drag=null;
chart.addEventListener('mousedown',function(ev){drag={x:ev.clientX,from:view.from,to:view.to};});
window.addEventListener('mouseup',function(){drag=null;});
window.addEventListener('mousemove',function(ev){
  if(!drag)return;var W=Math.max(chart.clientWidth,600)-LABEL-10,dt=(ev.clientX-drag.x)/W*(drag.to-drag.from);
  view.from=drag.from-dt;view.to=drag.to-dt;render();
});
chart.addEventListener('dblclick',function(){view={from:0,to:Math.max(M.end,1)};render();});
window.addEventListener('resize',render);
render();
})();
`;
