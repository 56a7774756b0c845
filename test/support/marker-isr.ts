import type { Kernel } from '../../src/kernel/index.ts';

/** What connectMarkerIsr returns: how often the marker ISR ran. */
export interface MarkerIsr {
  readonly calls: number;
}

/**
 * The positive control for "an ISR disconnected from `line` is never called again": another
 * device's ISR, connected to the same line afterwards, that claims every interrupt and calls
 * `quiet` to deassert the line (mask the device's causes). Raise the device, `await
 * kernel.quiesce()` (it returns only once no connected line is asserted, so the marker ran), then
 * assert: the kernel asks a line's ISRs in the order they connected, so an ISR wrongly still
 * connected would have been asked before the marker.
 */
export function connectMarkerIsr(kernel: Kernel, line: number, quiet: () => void): MarkerIsr {
  const marker = { calls: 0 };
  kernel.connectInterrupt({
    line,
    name: 'MarkerIsr',
    isr: () => {
      marker.calls++;
      quiet();
      return true;
    },
  });
  return marker;
}
