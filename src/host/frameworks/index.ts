import { DriverHostError } from '../errors.ts';
import type { FrameworkName, VariantFactory } from './variant.ts';

export type { FrameworkName, RoutineCalls, RunningVariant, VariantContext, VariantFactory, VariantSettings } from './variant.ts';

/**
 * Framework variants by name, loaded on first use. NDIS 6 is here; the NDIS 5 and KMDF variants
 * register themselves the same way (a module exporting a VariantFactory named startVariant).
 */
const loaders: Record<FrameworkName, (() => Promise<VariantFactory>) | undefined> = {
  ndis6: async () => (await import('./ndis6.ts')).startVariant,
  ndis5: async () => (await import('./ndis5.ts')).startVariant,
  kmdf: async () => (await import('./kmdf.ts')).startVariant,
};

/** Replace or add the loader of a framework variant. */
export function registerFramework(name: FrameworkName, loader: () => Promise<VariantFactory>): void {
  loaders[name] = loader;
}

export async function loadFramework(name: FrameworkName): Promise<VariantFactory> {
  const loader = loaders[name];
  if (!loader) {
    const ready = (Object.keys(loaders) as FrameworkName[]).filter((n) => loaders[n]);
    throw new DriverHostError(`no e1000 variant for framework '${name}' yet (available: ${ready.join(', ')})`, { framework: name });
  }
  return loader();
}
