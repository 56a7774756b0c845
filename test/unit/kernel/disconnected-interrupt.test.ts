import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, Dpc, Irql, VerifierViolation } from '../../../src/kernel/index.ts';
import { makeRig, type Rig } from './fakes.ts';

let rig: Rig;
afterEach(async () => rig?.cleanup());

const LINE = 11;

// Windows frees the interrupt object in IoDisconnectInterruptEx; dirql stops where the driver uses it.
describe('an interrupt used after IoDisconnectInterruptEx', () => {
  for (const [api, use] of [
    ['KeSynchronizeExecution', (k: Rig['kernel'], i: ReturnType<Rig['kernel']['connectInterrupt']>) => k.synchronizeExecution(i, () => true)],
    ['KeAcquireInterruptSpinLock', (k: Rig['kernel'], i: ReturnType<Rig['kernel']['connectInterrupt']>) => k.acquireInterruptSpinLock(i)],
  ] as const) {
    it(`${api} on a disconnected interrupt is a check (0xC4, 0xE004), not a silent run`, async () => {
      rig = makeRig();
      const { kernel } = rig;
      const interrupt = kernel.connectInterrupt({ line: LINE, irql: 5, isr: () => false });
      await kernel.runAtPassive('MiniportHaltEx', () => interrupt.disconnect());
      let ran = false;
      await expect(
        kernel.runAtPassive('Late', () =>
          use(kernel, interrupt).then(() => {
            ran = true;
          }),
        ),
      ).rejects.toMatchObject({
        code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
        parameters: [VerifierViolation.INTERRUPT_USED_AFTER_DISCONNECT, Irql.PASSIVE_LEVEL, interrupt.id, 0],
        report: { api },
      });
      expect(ran).toBe(false);
    });
  }
});

// IoDisconnectInterruptEx stops the ISR only; NDIS's and KMDF's deregistration also remove the DPCs.
describe('IoDisconnectInterruptEx and queued DPCs', () => {
  for (const withDpcs of [false, true]) {
    it(
      withDpcs
        ? "the frameworks' deregistration (disconnectWithDpcs) removes a DPC the ISR queued: it never runs"
        : 'IoDisconnectInterruptEx leaves a queued DPC queued: it runs afterwards, and KeFlushQueuedDpcs waits for it',
      async () => {
        rig = makeRig({ processors: 2 });
        const { kernel } = rig;
        let ran = false;
        const dpc = new Dpc(
          () => {
            ran = true;
          },
          undefined,
          'InterruptDpc',
        );
        dpc.setTargetProcessor(1);
        const interrupt = kernel.connectInterrupt({ line: LINE, irql: 5, isr: () => false, dpcs: [dpc] });
        let held!: () => void;
        const holding = new Promise<void>((r) => {
          held = r;
        });
        let release = false;
        const holder = kernel.runOnProcessor(1, Irql.DISPATCH_LEVEL, 'Holder', async () => {
          held();
          while (!release) await kernel.stallExecutionProcessor(200);
        });
        await holding;
        const queuedAfter = await kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'MiniportHaltEx', async () => {
          await kernel.insertQueueDpc(dpc);
          await (withDpcs ? interrupt.disconnectWithDpcs() : interrupt.disconnect());
          return dpc.queued;
        });
        release = true;
        await holder;
        await kernel.runAtPassive('Flush', () => kernel.flushQueuedDpcs());
        expect(queuedAfter).toBe(!withDpcs);
        expect(ran).toBe(!withDpcs);
      },
    );
  }
});
