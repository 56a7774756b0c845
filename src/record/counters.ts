/**
 * How a replay's counters are held against the recorded ones (the trailer's
 * `DriverHost.sessionCounters()`), and what the recorded ones say a replay cannot repeat.
 */

/**
 * The replay reached the recorded counters: every value the recording has is the same in the
 * replay. A counter the recording does not have (one a later dirql added) is not compared: a file
 * recorded before it still replays `same`.
 */
export function countersMatch(replayed: unknown, recorded: unknown): boolean {
  if (recorded === null || typeof recorded !== 'object') return Object.is(replayed, recorded);
  if (replayed === null || typeof replayed !== 'object' || Array.isArray(recorded) !== Array.isArray(replayed)) return false;
  if (Array.isArray(recorded)) {
    const r = replayed as unknown[];
    return r.length === recorded.length && recorded.every((v, i) => countersMatch(r[i], v));
  }
  const r = replayed as Record<string, unknown>;
  return Object.entries(recorded as Record<string, unknown>).every(([key, value]) => key in r && countersMatch(r[key], value));
}

/**
 * What the recorded counters say the session did at the RX ring's speed that a replay may not
 * repeat (src/record/README.md, "Not recorded yet"). Before format 9 the host's takes from the RX
 * ring are not recorded, so a replay's listener takes every frame at once and NDIS ring-full drops
 * and the frames delivered may differ. The note says so, so a `different` is not read as a driver
 * finding. `version`: the recording's. (KMDF's read top-ups are recorded from format 8 and replay
 * at their steps on one processor too.)
 */
export function rxDrainNotes(recorded: Record<string, unknown> | undefined, version = 9): string[] {
  const rx = ((recorded?.frameworkSide as { upperEdge?: { rx?: Record<string, unknown> } } | undefined)?.upperEdge?.rx ?? {}) as {
    ringFull?: number;
  };
  const notes: string[] = [];
  if ((rx.ringFull ?? 0) > 0 && version < 9) {
    notes.push(
      `the recorded session dropped ${rx.ringFull} frame(s) indicated into a full RX ring (its listener fell behind); a replay's listener keeps up, so its ringFull and delivered may differ`,
    );
  }
  return notes;
}
