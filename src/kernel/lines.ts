/**
 * The interrupt lines the kernel listens to. Declared here (the kernel consumes it); the platform
 * implements it over qtest "IRQ raise/lower" events, tests implement it with a fake.
 */
export interface InterruptLineSource {
  /** Last level reported for the line (level-triggered: true while the device asserts it). */
  isAsserted(line: number): boolean;
  /** Called on every level change; returns an unsubscribe function. */
  onChange(listener: (line: number, asserted: boolean) => void): () => void;
  /** Make earlier posted writes take effect before the level is re-read (a qtest fence). */
  settle(): Promise<void>;
  /**
   * Optional, used after a line's ISRs ran, instead of settle(): make `line`'s level current enough
   * to decide whether to enter the ISRs again. A source that knows the reported level cannot be
   * stale in a way that matters may skip the wait (return undefined): a low level that a posted
   * write is about to raise is reported as a level change later, and the kernel takes it then.
   */
  settleLine?(line: number): Promise<void> | undefined;
}
