import { describe, expect, it } from 'vitest';
import { DriverHostError } from '../../../src/host/errors.ts';
import { loadFramework, registerFramework, registeredFrameworks, type VariantFactory } from '../../../src/host/frameworks/index.ts';

describe('framework registry', () => {
  it('has the three built-in variants registered from the start', () => {
    expect(registeredFrameworks().slice(0, 3)).toEqual(['ndis6', 'ndis5', 'kmdf']);
  });

  it('takes a variant under any name and hands back what its loader resolves to', async () => {
    const factory: VariantFactory = async () => {
      throw new Error('not started in this test');
    };
    registerFramework('rtl8139-ndis6', async () => factory);
    expect(registeredFrameworks()).toContain('rtl8139-ndis6');
    expect(await loadFramework('rtl8139-ndis6')).toBe(factory);
  });

  it('names what is registered when asked for a name that is not', async () => {
    const err = await loadFramework('ndis99').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverHostError);
    expect((err as Error).message).toMatch(/'ndis99'.*registered: ndis6, ndis5, kmdf/);
    expect((err as Error).message).not.toContain('e1000');
    expect((err as DriverHostError).context).toMatchObject({ framework: 'ndis99', registered: expect.arrayContaining(['ndis6', 'ndis5', 'kmdf']) });
  });

  it('refuses an empty name', () => {
    const never = async (): Promise<VariantFactory> => {
      throw new Error('not loaded in this test');
    };
    expect(() => registerFramework(' ', never)).toThrow(DriverHostError);
    expect(registeredFrameworks()).not.toContain(' ');
  });
});
