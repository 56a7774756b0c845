/** The minimal NDIS 6 driver with faults injected on a chosen DPC call, for the replay tests. */
import * as minimal from '../../../examples/minimal-ndis6/driver.ts';
import type { Ndis6DriverModule } from '../../../src/host/frameworks/driver-module.ts';
import type { DeviceRegisters } from '../../../src/kernel/index.ts';
import type { Ndis6Library } from '../../../src/ndis/ndis6/index.ts';

/** What minimalDriver does differently on one DPC call. */
export interface MinimalDriverFaults {
  /** Throw on this DPC call. */
  throwAt?: number;
  /** Write IMS once more before this DPC call. */
  extraWriteAt?: number;
  /** Busy-wait `spinMs` in this DPC call (a DPC hogging its processor). */
  spinAt?: number;
  spinMs?: number;
  /** Called at the start of every DPC call with the NDIS library (a driver that reads the time there, say). */
  onDpc?: (ndis: Ndis6Library) => void;
}

/**
 * The minimal NDIS 6 example (examples/minimal-ndis6) with one call of its Ndis6Library replaced:
 * `wrap` gets the library's own (bound) and returns what the driver calls instead.
 */
export function minimalWith(key: keyof Ndis6Library, wrap: (original: (...args: never[]) => unknown, ndis: Ndis6Library) => unknown): Ndis6DriverModule {
  return {
    framework: 'ndis6',
    device: 'e1000',
    registerName: minimal.registerName,
    driverEntry(ndis, ctx) {
      const wrapped = new Proxy(ndis, {
        get(target, k, receiver) {
          const value = Reflect.get(target, k, receiver) as unknown;
          if (typeof value !== 'function') return value;
          const bound = (value as (...args: never[]) => unknown).bind(target);
          return k === key ? wrap(bound, target) : bound;
        },
      }) as Ndis6Library;
      return minimal.driverEntry(wrapped, ctx);
    },
  };
}

/** The minimal NDIS 6 example (examples/minimal-ndis6), its DPC calls counted in `calls`, with the faults asked for. */
export function minimalDriver(opts: MinimalDriverFaults, calls = { n: 0 }): Ndis6DriverModule {
  return minimalWith(
    'registerInterruptEx',
    (register, target) => (handle: unknown, context: unknown, chars: { interruptDpcHandler: (...a: unknown[]) => Promise<void> }) =>
      (register as (...a: unknown[]) => unknown)(handle, context, {
        ...chars,
        interruptDpcHandler: async (...args: unknown[]) => {
          calls.n++;
          opts.onDpc?.(target);
          if (calls.n === opts.throwAt) throw new Error('adapter->RxRing was NULL');
          if (calls.n === opts.extraWriteAt) await (args[0] as { regs: DeviceRegisters }).regs.write32(0x00d0, 1 << 2);
          if (calls.n === opts.spinAt) {
            const end = performance.now() + (opts.spinMs ?? 0);
            while (performance.now() < end) {
              // The DPC keeps its processor: no preemption point, nothing else runs.
            }
          }
          return chars.interruptDpcHandler(...args);
        },
      }),
  );
}
