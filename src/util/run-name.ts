/** Where run directories (timelines) go by default, under the working directory; ignored by git. */
export const DEFAULT_RUNS_DIR = 'runs';

/** A file-system-safe name for a run: `ndis6-2026-12-03T13-15-00-123Z`, `link-comes-up-2026-…`. */
export function runName(what: string, when = new Date()): string {
  const slug =
    what
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'run';
  return `${slug}-${when.toISOString().replace(/[:.]/g, '-')}`;
}
