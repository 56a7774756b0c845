export {
  argsOf,
  LazyArgs,
  Timeline,
  TimelineError,
  type TimelineArg,
  type TimelineArgs,
  type TimelineEvent,
  type TimelineOptions,
  type TimelineTrack,
  type TrackKind,
} from './timeline.ts';
export { encodePerfetto, writePerfettoTrace, perfettoTrackUuid, PerfettoField, TrackEventType, type PerfettoOptions } from './perfetto.ts';
export { htmlModel, renderHtmlTimeline, writeHtmlTimeline, type HtmlTimelineModel } from './html.ts';
export { DEFAULT_RECORDER_LIMIT, RunRecorder, timelineBase, type FrameSource, type RunRecorderOptions, type TimelineFiles } from './recorder.ts';
