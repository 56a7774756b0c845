/**
 * docs/driver-reference.md is generated from the types of `dirql/driver`: it must be current, and it
 * must name what a driver really uses (a change to the public surface without regenerating fails here).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as driverApi from '../../../src/driver-api/index.ts';
import { REFERENCE, generateReference } from '../../../scripts/driver-reference.ts';

describe('docs/driver-reference.md', () => {
  const generated = generateReference();

  it('names no path of the checkout it was generated in', () => {
    expect(generated).not.toContain(process.cwd());
    expect(generated).not.toMatch(/import\("/);
  });

  it('is what scripts/driver-reference.ts generates from the current types (run npm run docs:reference)', () => {
    expect(readFileSync(REFERENCE, 'utf8')).toBe(generated);
  });

  it('has an entry for every runtime export of dirql/driver, and the Windows calls a miniport makes', () => {
    for (const name of Object.keys(driverApi)) expect(generated, name).toContain(`### ${name}\n`);
    for (const call of ['synchronizeWithInterruptEx(', 'registerInterruptEx(', 'registerMiniportDriver(', 'read32(']) expect(generated).toContain(call);
  });
});
