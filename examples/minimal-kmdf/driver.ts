/**
 * The smallest useful KMDF driver for QEMU's e1000, shaped like Microsoft's pcidrv and written
 * against `dirql/driver` alone: EvtDevicePrepareHardware maps BAR0 and reads the station address
 * (RAL0/RAH0) and the link (STATUS); EvtInterruptEnable unmasks only the link-change interrupt
 * (ICR.LSC); EvtInterruptIsr acknowledges, masks and queues the DPC; EvtInterruptDpc takes the
 * causes under WdfInterruptSynchronize, reads STATUS, reports the link and unmasks. It counts its
 * ISRs and DPCs in its device context. It moves no frames: writes fail, reads wait until the
 * device goes.
 *
 *   npx dirql run examples/minimal-kmdf/link.scenario.ts
 *
 * KMDF has no link indication of its own: the host's `ctx.indicateLink` stands in for what a NIC
 * driver would report to its upper edge (NetAdapterCx, or a private interface).
 */
import { NtStatus, defineRegisterMap, type DeviceRegisters, type DriverEntryContext, type NTSTATUS, type WDFDEVICE, type WDFINTERRUPT, type WdfFramework } from 'dirql/driver';

export const framework = 'kmdf';
export const device = 'e1000';

const Reg = { STATUS: 0x0008, ICR: 0x00c0, IMS: 0x00d0, IMC: 0x00d8, RAL0: 0x5400, RAH0: 0x5404 } as const;
export const registerName = defineRegisterMap({
  STATUS: Reg.STATUS,
  ICR: { offset: Reg.ICR, semantics: 'read-to-clear' },
  IMS: { offset: Reg.IMS, semantics: { pair: 'IMS', op: 'set' } },
  IMC: { offset: Reg.IMC, semantics: { pair: 'IMS', op: 'clear' } },
  RAL0: Reg.RAL0,
  RAH0: Reg.RAH0,
});

const LSC = 1 << 2;
const STATUS_FD = 1 << 0;
const STATUS_LU = 1 << 1;

/** The device context (WDF_DECLARE_CONTEXT_TYPE). */
export interface MinimalDeviceContext {
  regs: DeviceRegisters | null;
  interrupt: WDFINTERRUPT;
  /** Causes the ISR saw and the DPC has not handled: written at DIRQL, taken under WdfInterruptSynchronize. */
  pendingCauses: number;
  link: { up: boolean; speedMbps: number; fullDuplex: boolean };
  isrCalls: number;
  dpcCalls: number;
}

async function readLink(regs: DeviceRegisters): Promise<MinimalDeviceContext['link']> {
  const status = await regs.read32(Reg.STATUS);
  if ((status & STATUS_LU) === 0) return { up: false, speedMbps: 0, fullDuplex: false };
  const speedBits = (status >>> 6) & 3;
  return { up: true, speedMbps: speedBits === 0 ? 10 : speedBits === 1 ? 100 : 1000, fullDuplex: (status & STATUS_FD) !== 0 };
}

/** DriverEntry: WdfDriverCreate with EvtDriverDeviceAdd. */
export function driverEntry(wdf: WdfFramework, ctx: DriverEntryContext): NTSTATUS {
  const contextOf = (d: WDFDEVICE) => wdf.getContext<MinimalDeviceContext>(d);
  const contextOfInterrupt = (i: WDFINTERRUPT) => contextOf(wdf.wdfInterruptGetDevice(i));

  wdf.wdfDriverCreate({
    /** EvtDriverDeviceAdd (PASSIVE_LEVEL): the device with its context, and its interrupt. */
    evtDriverDeviceAdd(_driver, deviceInit) {
      const dev = wdf.wdfDeviceCreate<MinimalDeviceContext>(
        deviceInit,
        {
          /** EvtDevicePrepareHardware: map BAR0 (the CmResourceTypeMemory descriptor), read MAC and link. */
          async evtDevicePrepareHardware(d, resources) {
            const c = contextOf(d);
            for (const r of resources.descriptors) if (r.type === 'CmResourceTypeMemory') c.regs = r.registers;
            if (!c.regs) return NtStatus.STATUS_DEVICE_CONFIGURATION_ERROR;
            const ral = await c.regs.read32(Reg.RAL0);
            const rah = await c.regs.read32(Reg.RAH0);
            const mac = [ral & 0xff, (ral >>> 8) & 0xff, (ral >>> 16) & 0xff, ral >>> 24, rah & 0xff, (rah >>> 8) & 0xff];
            ctx.setMacAddress(mac.map((b) => b.toString(16).padStart(2, '0')).join(':'));
            c.link = await readLink(c.regs);
            ctx.indicateLink(c.link);
            return NtStatus.STATUS_SUCCESS;
          },
          /** EvtDeviceReleaseHardware: the mapping is gone. */
          evtDeviceReleaseHardware(d) {
            contextOf(d).regs = null;
            return NtStatus.STATUS_SUCCESS;
          },
        },
        {
          context: () => ({ regs: null, interrupt: 0 as WDFINTERRUPT, pendingCauses: 0, link: { up: false, speedMbps: 0, fullDuplex: false }, isrCalls: 0, dpcCalls: 0 }),
        },
      );

      // The host's upper edge sends write and read requests. This driver moves no frames: writes
      // fail at once, reads wait in a manual queue until the device goes (then they are cancelled).
      wdf.wdfIoQueueCreate(dev, {
        dispatch: 'parallel',
        defaultQueue: true,
        evtIoWrite(_queue, request) {
          wdf.wdfRequestComplete(request, NtStatus.STATUS_NOT_SUPPORTED);
        },
      });
      wdf.wdfDeviceConfigureRequestDispatching(dev, wdf.wdfIoQueueCreate(dev, { dispatch: 'manual' }), 'read');

      contextOf(dev).interrupt = wdf.wdfInterruptCreate(dev, {
        /** EvtInterruptIsr (DIRQL): ICR is read-to-clear; mask LSC until the DPC ran. */
        async evtInterruptIsr(interrupt) {
          const c = contextOfInterrupt(interrupt);
          const causes = await c.regs!.read32(Reg.ICR);
          if ((causes & LSC) === 0) return false;
          c.isrCalls++;
          c.pendingCauses |= causes;
          await c.regs!.write32(Reg.IMC, LSC);
          await wdf.wdfInterruptQueueDpcForIsr(interrupt);
          return true;
        },
        /** EvtInterruptDpc (DISPATCH_LEVEL). */
        async evtInterruptDpc(interrupt) {
          const c = contextOfInterrupt(interrupt);
          c.dpcCalls++;
          await wdf.wdfInterruptSynchronize(
            interrupt,
            () => {
              c.pendingCauses = 0;
              return true;
            },
            null,
          );
          const link = await readLink(c.regs!);
          if (link.up !== c.link.up || link.speedMbps !== c.link.speedMbps) {
            c.link = link;
            ctx.indicateLink(link);
          }
          await wdf.wdfInterruptSynchronize(
            interrupt,
            async () => {
              await c.regs!.write32(Reg.IMS, LSC);
              return true;
            },
            null,
          );
        },
        /** EvtInterruptEnable (DIRQL, under the interrupt lock): clear what is pending, unmask LSC. */
        async evtInterruptEnable(interrupt) {
          const c = contextOfInterrupt(interrupt);
          await c.regs!.read32(Reg.ICR);
          await c.regs!.write32(Reg.IMS, LSC);
          return NtStatus.STATUS_SUCCESS;
        },
        /** EvtInterruptDisable (DIRQL, under the interrupt lock): mask everything. */
        async evtInterruptDisable(interrupt) {
          await contextOfInterrupt(interrupt).regs!.write32(Reg.IMC, 0xffffffff);
          return NtStatus.STATUS_SUCCESS;
        },
      });
    },
  });
  return NtStatus.STATUS_SUCCESS;
}
