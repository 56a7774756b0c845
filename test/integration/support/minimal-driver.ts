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

/** The minimal NDIS 6 example (examples/minimal-ndis6), its DPC calls counted in `calls`, with the faults asked for. */
export function minimalDriver(opts: MinimalDriverFaults, calls = { n: 0 }): Ndis6DriverModule {
  return {
    framework: 'ndis6',
    device: 'e1000',
    registerName: minimal.registerName,
    driverEntry(ndis, ctx) {
      const wrapped = new Proxy(ndis, {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver) as unknown;
          if (key !== 'registerInterruptEx' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
          return (handle: unknown, context: unknown, chars: { interruptDpcHandler: (...a: unknown[]) => Promise<void> }) =>
            value.call(target, handle, context, {
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
            });
        },
      }) as Ndis6Library;
      return minimal.driverEntry(wrapped, ctx);
    },
  };
}
