import { expect, it } from 'vitest';

// This file must import nothing else from src/wdf first: the point is which module loads first.
it('api-core.ts loads on its own (it used to reach framework.ts at run time and see WdfCore uninitialised)', async () => {
  const core = await import('../../../src/wdf/api-core.ts');
  expect(Object.keys(core).length).toBeGreaterThan(0);
});
