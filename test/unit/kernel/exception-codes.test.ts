import { strict as assert } from 'node:assert';
import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, Dpc, ExceptionCode, mapException } from '../../../src/kernel/index.ts';
import { makeRig, type Rig } from './fakes.ts';

let rig: Rig;
afterEach(async () => rig?.cleanup());

function overflow(n: number): number {
  return overflow(n + 1) + 1;
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

// Windows puts the exception code in P1 of 0x1E / 0x7E; dirql maps the JS error class onto it.
describe('0x1E / 0x7E carry the exception code', () => {
  it.each([
    ['a property of undefined (TypeError)', () => caught(() => (undefined as unknown as { x: number }).x), ExceptionCode.STATUS_ACCESS_VIOLATION],
    ['a Buffer read out of range (RangeError)', () => caught(() => Buffer.alloc(2).readUInt32LE(0)), ExceptionCode.STATUS_ARRAY_BOUNDS_EXCEEDED],
    ['unbounded recursion', () => caught(() => overflow(0)), ExceptionCode.STATUS_STACK_OVERFLOW],
    ['a failed node:assert (NT_ASSERT)', () => caught(() => assert.equal(1, 2)), ExceptionCode.STATUS_ASSERTION_FAILURE],
    ['an error carrying ntStatus (ExRaiseStatus)', () => Object.assign(new Error('raised'), { ntStatus: 0xc000009a }), 0xc000009a],
    ['a plain Error', () => new Error('x'), ExceptionCode.STATUS_UNHANDLED_EXCEPTION],
    ['a thrown string', () => 'oops', ExceptionCode.STATUS_UNHANDLED_EXCEPTION],
  ])('%s', (_what, make, code) => {
    expect(mapException(make()).code).toBe(code);
  });

  it('KMODE_EXCEPTION_NOT_HANDLED from a DPC: P1 the exception code, the message the routine and the frame', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const dpc = new Dpc(
      function HandleRx() {
        void (undefined as unknown as { len: number }).len;
      },
      undefined,
      'HandleRxDpc',
    );
    await kernel.runAtPassive('Queue', () => kernel.insertQueueDpc(dpc)).catch(() => undefined);
    const report = await kernel.bugCheckReport;
    expect(report.code).toBe(BugCheckCode.KMODE_EXCEPTION_NOT_HANDLED);
    expect(report.parameters[0]).toBe(ExceptionCode.STATUS_ACCESS_VIOLATION);
    expect(report.message).toMatch(/^exception 0xC0000005 \(STATUS_ACCESS_VIOLATION\) in HandleRxDpc, at .*HandleRx.* \(.*exception-codes\.test\.ts:\d+:\d+\): TypeError/);
  });

  it('SYSTEM_THREAD_EXCEPTION_NOT_HANDLED from a thread routine: P1 the exception code', async () => {
    rig = makeRig();
    const { kernel } = rig;
    await expect(kernel.runAtPassive('MiniportInitializeEx', () => Buffer.alloc(1).readUInt16BE(4))).rejects.toMatchObject({
      code: BugCheckCode.SYSTEM_THREAD_EXCEPTION_NOT_HANDLED,
      parameters: [ExceptionCode.STATUS_ARRAY_BOUNDS_EXCEEDED, 0, 0, 0],
    });
  });
});
