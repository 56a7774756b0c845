import { afterEach, describe, expect, it } from 'vitest';
import { makeRig, testFrame, type Rig } from './rig.ts';
import { waitUntil } from '../../support/wait.ts';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.cleanup();
  rig = undefined;
});

describe('e1000 core under the lockset verifier (stop mode, as every e1000 rig runs)', () => {
  it.each([1, 2])('tracks its registers and shared state and finds no race in traffic both ways, a mask and a throttle change (%i processor(s))', async (processors) => {
    rig = makeRig({ processors, seed: 5 });
    const r = rig;
    await r.bringUp();
    const frames = Array.from({ length: 300 }, (_, i) => testFrame(i, 60 + (i % 200)));
    for (let i = 0; i < frames.length; i += 50) {
      const batch = frames.slice(i, i + 50);
      await r.atDispatch(() =>
        r.adapter.send((add) => {
          for (const f of batch) add(f, 0, f.length);
        }),
      );
      for (const f of batch) r.nic.inject(f);
    }
    await r.atPassive(() => r.adapter.setInterruptMask(r.adapter.enabledInterrupts));
    await r.atPassive(() => r.adapter.setInterruptThrottle({ itr: 0 }));
    await waitUntil('every frame received', () => r.edge.received.length === frames.length);
    await r.kernel.quiesce();
    await r.halt();
    expect(r.kernel.stopped).toBeNull();
    expect(r.kernel.verifier.locksetFindings).toEqual([]);
    expect(r.kernel.verifier.lockset!.trackedLocations).toEqual(
      expect.arrayContaining([
        'e1000.IMS',
        'e1000.TDT',
        'e1000.RDT',
        'E1000_INTERRUPTS.savedCauses',
        'E1000_INTERRUPTS.dpcPending',
        'E1000_INTERRUPTS.itrWanted',
        'E1000_SEND.txReported',
      ]),
    );
    expect(r.kernel.verifier.lockset!.trackedLocations).not.toContain('e1000.ICR');
  });
});
