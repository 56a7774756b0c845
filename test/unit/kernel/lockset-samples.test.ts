import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, VerifierViolation } from '../../../src/kernel/index.ts';
import { runSample, type SampleMachine } from '../../fixtures/broken/sample-driver.ts';
import { BROKEN_SAMPLES } from '../../fixtures/broken/samples.ts';

let machine: SampleMachine | undefined;
afterEach(async () => {
  await machine?.cleanup();
  machine = undefined;
});

describe.each(BROKEN_SAMPLES)('broken sample $id: $title', (sample) => {
  it('is stopped at its first run with 0xC4 / 0xE005, naming the rule and the location', async () => {
    machine = await runSample(sample.broken(), 'stop');
    const stop = machine.kernel.stopped;
    expect(stop?.report).toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.LOCKSET_RACE, sample.expect.rule, expect.any(Number), expect.any(Number)],
    });
    expect(stop!.report.message).toContain(sample.expect.location);
    expect(machine.findings()).toHaveLength(1);
  });

  it('in record mode runs on and reports both sites, with stacks, IRQLs and locks', async () => {
    machine = await runSample(sample.broken(), 'record');
    expect(machine.kernel.stopped).toBeNull();
    const finding = machine.findings().find((f) => f.location === sample.expect.location);
    expect(finding).toMatchObject({ violation: VerifierViolation.LOCKSET_RACE, rule: sample.expect.rule });
    for (const side of [finding!.first, finding!.second]) {
      expect(side.stack).toMatch(/fixtures\/broken\//);
      expect(side.routine).not.toBe('');
      expect(side.irql).toBeGreaterThanOrEqual(0);
    }
    // Rule 1: one side holds the interrupt lock, the other does not.
    if (sample.expect.rule === 1) {
      const holding = [finding!.first, finding!.second].filter((s) => s.locks.some((l) => l.includes('interrupt spin lock')));
      expect(holding).toHaveLength(1);
    } else {
      expect([finding!.first.locks, finding!.second.locks]).toEqual([[], []]);
    }
  });

  it('its fixed twin runs clean', async () => {
    machine = await runSample(sample.fixed(), 'stop');
    expect(machine.kernel.stopped).toBeNull();
    expect(machine.findings()).toEqual([]);
  });

  it('its fixed twin runs clean on two processors', async () => {
    machine = await runSample(sample.fixed(), 'record', 2);
    expect(machine.kernel.stopped).toBeNull();
    expect(machine.findings()).toEqual([]);
  });
});
