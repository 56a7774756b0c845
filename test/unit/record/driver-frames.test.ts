import { describe, expect, it } from 'vitest';
import { driverFrames } from '../../../src/record/replay.ts';

const SRC = '/repo/src/';
const stack = [
  '    at QtestClient.enqueue (/repo/src/transport/qtest-client.ts:230:28)',
  '    at MmioRegion.write32 (/repo/src/platform/registers.ts:101:15)',
  '    at TxRing.submit (/repo/src/drivers/e1000/tx-ring.ts:118:19)',
  '    at Object.interruptDpcHandler (/home/me/driver/changed.ts:14:30)',
  '    at Ndis6.runInterruptDpc (/repo/src/ndis/ndis6/api-interrupt.ts:158:34)',
  '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
  '    at async run (/repo/node_modules/vitest/dist/index.js:1:1)',
].join('\n');

describe('driverFrames', () => {
  it("keeps the built-in drivers' and outside files' frames, innermost first, and drops dirql's plumbing, node_modules and Node's internals", () => {
    expect(driverFrames(stack, SRC)).toEqual(['at TxRing.submit (/repo/src/drivers/e1000/tx-ring.ts:118:19)', 'at Object.interruptDpcHandler (/home/me/driver/changed.ts:14:30)']);
  });

  it('is empty for a stack of plumbing only', () => {
    expect(driverFrames(stack.split('\n').slice(0, 2).join('\n'), SRC)).toEqual([]);
  });
});
