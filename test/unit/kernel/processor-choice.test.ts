/**
 * Which processor a thread call starts on is a seeded choice (choose()). A source that logs every
 * choice (a recording) is asked with one candidate too, by the candidates' labels; one that says a
 * choice is not due yet (a replay short of it) makes the call wait, and the candidates are looked
 * at once it is due.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Irql, type ChoiceSource } from '../../../src/kernel/index.ts';
import { isProcessorLabel } from '../../../src/kernel/scheduler.ts';
import { makeRig, type Rig } from './fakes.ts';

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.cleanup();
});

/** A source that logs the processor choices it is asked and answers `pick` (by label), once `due` says so. */
function loggingSource(pick: string): ChoiceSource & { asked: string[][]; due: boolean; wake: () => void } {
  const source = {
    labelled: true,
    everyChoice: true,
    asked: [] as string[][],
    due: true,
    wake: (): void => undefined,
    attach(wake: () => void) {
      source.wake = wake;
    },
    choiceDue: () => source.due,
    below(_n: number, labels?: readonly string[]) {
      // Scheduler turns (labelled by activation) run the first runnable one.
      if (!labels || !isProcessorLabel(labels[0])) return 0;
      source.asked.push([...labels]);
      return labels.indexOf(pick);
    },
  };
  return source;
}

describe('the processor a thread call starts on', () => {
  it('is asked of a source that logs every choice, one candidate too, by the processors it may start on', async () => {
    const choices = loggingSource('processor 1');
    const rig = makeRig({ processors: 2, choices });
    rigs.push(rig);
    const where = await rig.kernel.runAtPassive('OID', () => rig.kernel.currentProcessor());
    expect(where).toBe(1);
    expect(choices.asked).toEqual([['processor 0', 'processor 1']]);
    // Processor 1 is busy at DISPATCH_LEVEL with a thread call: the next one is asked with processor 0 alone.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const busy = rig.kernel.runOnProcessor(1, Irql.DISPATCH_LEVEL, 'Busy', () => held);
    choices.asked.length = 0;
    const second = rig.kernel.runOnChosenProcessor(Irql.PASSIVE_LEVEL, 'Second', () => rig.kernel.currentProcessor());
    expect(choices.asked).toEqual([['processor 0']]);
    release();
    await busy;
    await second;
  });

  it('waits while the source says the choice is not due, and chooses among the processors idle then', async () => {
    const choices = loggingSource('processor 0');
    choices.due = false;
    const rig = makeRig({ processors: 2, choices });
    rigs.push(rig);
    let ran = false;
    const call = rig.kernel.runOnChosenProcessor(Irql.PASSIVE_LEVEL, 'Later', () => {
      ran = true;
      return rig.kernel.currentProcessor();
    });
    await new Promise<void>((r) => setImmediate(r));
    expect(choices.asked).toEqual([]);
    expect(ran).toBe(false);
    choices.due = true;
    choices.wake();
    expect(await call).toBe(0);
    expect(choices.asked).toEqual([['processor 0', 'processor 1']]);
  });

  it('a plain seeded source is asked only among several, without labels, as before', async () => {
    const asked: [number, readonly string[] | undefined][] = [];
    const choices: ChoiceSource = { below: (n, labels) => (asked.push([n, labels]), n - 1) };
    const rig = makeRig({ processors: 2, choices });
    rigs.push(rig);
    expect(await rig.kernel.runAtPassive('OID', () => rig.kernel.currentProcessor())).toBe(1);
    expect(asked).toEqual([[2, undefined]]);
  });
});
