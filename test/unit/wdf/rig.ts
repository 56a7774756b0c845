import { Irql, type DeviceRegisters } from '../../../src/kernel/index.ts';
import {
  WdfFramework,
  type WDFDEVICE,
  type WDFINTERRUPT,
  type WdfDeviceAttributes,
  type WdfHardwareResources,
  type WdfInterruptConfig,
  type WdfPnpPowerEventCallbacks,
} from '../../../src/wdf/index.ts';
import { ICR, makeRig, type Rig } from '../kernel/fakes.ts';

export { ICR, IMC, IMS, ICS } from '../kernel/fakes.ts';
export const LINE = 11;

/** The device context of the test NIC driver. */
export interface NicContext {
  regs: DeviceRegisters | null;
  interrupt: WDFINTERRUPT;
  causes: number;
}

export interface WdfRig extends Rig {
  wdf: WdfFramework;
  /** Callback names with the IRQL they ran at, in order: "EvtDeviceD0Entry@0". */
  events: string[];
  resources: WdfHardwareResources;
}

export interface NicOptions {
  processors?: number;
  /** DIRQL of the interrupt resource. Default 7. */
  irql?: number;
  interrupt?: Partial<WdfInterruptConfig>;
  callbacks?: WdfPnpPowerEventCallbacks;
  deviceAttributes?: Omit<WdfDeviceAttributes<NicContext>, 'context'>;
  /** Extra work in EvtDriverDeviceAdd (create queues...). */
  onDeviceAdd?: (wdf: WdfFramework, device: WDFDEVICE) => void;
  /** Interrupt resources offered at start (default one: LINE at `irql`). */
  interrupts?: WdfHardwareResources['interrupts'];
}

export function makeWdfRig(opts: { processors?: number; powerDownTimeoutMs?: number; strictVerifier?: boolean } = {}): WdfRig {
  const rig = makeRig(opts.processors ? { processors: opts.processors } : {});
  const wdf = new WdfFramework(rig.kernel, {
    name: 'testnic',
    ...(opts.powerDownTimeoutMs ? { powerDownTimeoutMs: opts.powerDownTimeoutMs } : {}),
    ...(opts.strictVerifier ? { verifier: { strict: true } } : {}),
  });
  return { ...rig, wdf, events: [], resources: { memory: [{ registers: rig.device }], interrupts: [{ line: LINE, irql: 7 }] } };
}

/**
 * A small NIC driver on the fake e1000-like device: its ISR reads ICR (read-to-clear), remembers
 * the causes and queues its DPC; every callback is recorded in `events` with its IRQL.
 */
export async function loadNic(r: WdfRig, opts: NicOptions = {}): Promise<{ device: WDFDEVICE; context: NicContext }> {
  const { wdf, kernel, events } = r;
  const rec = (name: string): void => {
    events.push(`${name}@${kernel.currentIrql()}`);
  };
  if (opts.irql !== undefined || opts.interrupts) r.resources = { ...r.resources, interrupts: opts.interrupts ?? [{ line: LINE, irql: opts.irql ?? 7 }] };
  const cb = opts.callbacks ?? {};
  let device!: WDFDEVICE;
  await wdf.loadDriver((w) => {
    w.wdfDriverCreate({
      evtDriverDeviceAdd(_driver, init) {
        rec('EvtDriverDeviceAdd');
        device = w.wdfDeviceCreate<NicContext>(
          init,
          {
            async evtDevicePrepareHardware(dev, resources) {
              rec('EvtDevicePrepareHardware');
              const ctx = w.getContext<NicContext>(dev);
              for (const d of resources.descriptors) if (d.type === 'CmResourceTypeMemory') ctx.regs = d.registers;
              return cb.evtDevicePrepareHardware?.(dev, resources);
            },
            async evtDeviceReleaseHardware(dev, resources) {
              rec('EvtDeviceReleaseHardware');
              w.getContext<NicContext>(dev).regs = null;
              return cb.evtDeviceReleaseHardware?.(dev, resources);
            },
            async evtDeviceD0Entry(dev, previous) {
              rec(`EvtDeviceD0Entry(${previous})`);
              return cb.evtDeviceD0Entry?.(dev, previous);
            },
            async evtDeviceD0EntryPostInterruptsEnabled(dev, previous) {
              rec('EvtDeviceD0EntryPostInterruptsEnabled');
              return cb.evtDeviceD0EntryPostInterruptsEnabled?.(dev, previous);
            },
            async evtDeviceD0ExitPreInterruptsDisabled(dev, target) {
              rec('EvtDeviceD0ExitPreInterruptsDisabled');
              return cb.evtDeviceD0ExitPreInterruptsDisabled?.(dev, target);
            },
            async evtDeviceD0Exit(dev, target) {
              rec(`EvtDeviceD0Exit(${target})`);
              return cb.evtDeviceD0Exit?.(dev, target);
            },
            async evtDeviceSurpriseRemoval(dev) {
              rec('EvtDeviceSurpriseRemoval');
              await cb.evtDeviceSurpriseRemoval?.(dev);
            },
          },
          { ...opts.deviceAttributes, context: () => ({ regs: null, interrupt: 0 as WDFINTERRUPT, causes: 0 }) },
        );
        const ctx = w.getContext<NicContext>(device);
        ctx.interrupt = w.wdfInterruptCreate(device, {
          async evtInterruptIsr(interrupt) {
            const c = w.getContext<NicContext>(w.wdfInterruptGetDevice(interrupt));
            const icr = await c.regs!.read32(ICR);
            if (icr === 0) return false;
            c.causes |= icr;
            await w.wdfInterruptQueueDpcForIsr(interrupt);
            return true;
          },
          evtInterruptDpc() {
            rec('EvtInterruptDpc');
          },
          evtInterruptEnable() {
            rec('EvtInterruptEnable');
          },
          evtInterruptDisable() {
            rec('EvtInterruptDisable');
          },
          ...opts.interrupt,
        });
        opts.onDeviceAdd?.(w, device);
      },
    });
  });
  await wdf.addDevice();
  return { device, context: wdf.getContext<NicContext>(device) };
}

/** Run `fn` as a PASSIVE_LEVEL thread call (a driver routine the host started). */
export function atPassive<T>(r: WdfRig, fn: () => T | Promise<T>, name = 'TestRoutine'): Promise<T> {
  return r.kernel.runAtPassive(name, fn);
}

export { Irql };
