/**
 * On several processors, a processor that runs nothing starts on its pending work (an interrupt,
 * a DPC) at a scheduler tick. A source that logs services (a recording, a replay) is asked that
 * start as a turn of its own, labelled `service@<processor>`, and may hold it back (-1) as a replay
 * does until its recording gets there; a plain seeded source is not asked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Dpc, type ChoiceSource } from '../../../src/kernel/index.ts';
import { waitUntil } from '../../support/wait.ts';
import { makeRig, type Rig } from './fakes.ts';

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.cleanup();
});

/** A labelled source that runs the first runnable activation and holds service starts while `hold`. */
function serviceSource(services: boolean): ChoiceSource & { asked: string[]; hold: boolean; wake: () => void } {
  const source = {
    labelled: true,
    everyChoice: true,
    services,
    asked: [] as string[],
    hold: true,
    wake: (): void => undefined,
    attach(wake: () => void) {
      source.wake = wake;
    },
    below(_n: number, labels?: readonly string[]) {
      const label = labels?.[0] ?? '';
      if (!label.startsWith('service@')) return 0;
      source.asked.push(label);
      return source.hold ? -1 : 0;
    },
  };
  return source;
}

function dpcOn(rig: Rig, processor: number, ran: number[]): Dpc {
  const dpc = new Dpc(() => void ran.push(rig.kernel.currentProcessor()), undefined, 'D');
  dpc.setTargetProcessor(processor);
  return dpc;
}

describe("a processor's service start", () => {
  it('is a turn labelled by its processor, held while the source says so', async () => {
    const choices = serviceSource(true);
    const rig = makeRig({ processors: 2, choices, seed: 1 });
    rigs.push(rig);
    const ran: number[] = [];
    rig.kernel.enqueueDpc(dpcOn(rig, 1, ran));
    await waitUntil('the service start asked', () => choices.asked.length > 0, 5_000);
    expect(choices.asked[0]).toBe('service@1');
    expect(rig.kernel.servicePending).toBe(true);
    expect(ran).toEqual([]);
    choices.hold = false;
    choices.wake();
    await rig.kernel.quiesce();
    expect(ran).toEqual([1]);
    expect(rig.kernel.servicePending).toBe(false);
  });

  it('is not asked of a source that does not log services', async () => {
    const choices = serviceSource(false);
    const rig = makeRig({ processors: 2, choices, seed: 1 });
    rigs.push(rig);
    const ran: number[] = [];
    rig.kernel.enqueueDpc(dpcOn(rig, 1, ran));
    await rig.kernel.quiesce();
    expect(ran).toEqual([1]);
    expect(choices.asked).toEqual([]);
  });
});
