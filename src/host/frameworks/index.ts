import { DriverHostError } from '../errors.ts';
import type { VariantFactory } from './variant.ts';

export type { DriverStatistics, FrameworkName, NicLinkState, RoutineCalls, RunningVariant, VariantContext, VariantFactory, VariantSettings } from './variant.ts';

/**
 * Framework variants by name, loaded on first use. The three e1000 variants dirql ships are here
 * from the start; registerFramework adds any other (another driver, another NIC) the same way: a
 * loader resolving to a VariantFactory.
 */
const loaders = new Map<string, () => Promise<VariantFactory>>([
  ['ndis6', async () => (await import('./ndis6.ts')).startVariant],
  ['ndis5', async () => (await import('./ndis5.ts')).startVariant],
  ['kmdf', async () => (await import('./kmdf.ts')).startVariant],
]);

/** Adds the loader of a framework variant under `name`, or replaces the one registered there. */
export function registerFramework(name: string, loader: () => Promise<VariantFactory>): void {
  if (name.trim() === '') throw new DriverHostError('a framework variant needs a name', { framework: name });
  loaders.set(name, loader);
}

/** The names registerFramework (or dirql itself) registered, in registration order. */
export function registeredFrameworks(): string[] {
  return [...loaders.keys()];
}

export async function loadFramework(name: string): Promise<VariantFactory> {
  const loader = loaders.get(name);
  if (!loader) {
    throw new DriverHostError(`no framework variant is registered as '${name}' (registered: ${registeredFrameworks().join(', ')})`, {
      framework: name,
      registered: registeredFrameworks(),
    });
  }
  return loader();
}
