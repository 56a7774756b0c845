import type { DriverHost } from './driver-host.ts';
import { logger } from '../util/log.ts';

const log = logger('echo');

/**
 * Reflector for demos and the compose stack: every frame the driver indicates goes back out
 * byte-identical (MACs untouched, so the wire peer's verifier checks the whole round trip).
 * Frames the TX ring cannot take are counted, never silent.
 */
export function startEcho(host: DriverHost): { stop(): void; readonly echoed: number; readonly refused: number } {
  const scratch = Buffer.alloc(2048);
  const one: Uint8Array[] = [scratch];
  let echoed = 0;
  let refused = 0;
  const stop = host.onReceive((view, length) => {
    if (length < 14 || length > scratch.length) return;
    scratch.set(view.subarray(0, length), 0);
    one[0] = scratch.subarray(0, length);
    if (host.send(one) === 1) echoed++;
    else if (++refused % 1000 === 1) log.warn({ refused }, 'TX ring full: echo refused frames');
  });
  return {
    stop,
    get echoed() {
      return echoed;
    },
    get refused() {
      return refused;
    },
  };
}
