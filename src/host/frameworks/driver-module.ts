/**
 * The contract of a user's driver module (`DriverHost.start({ driver })`, `dirql up --driver`):
 *
 *   export const framework = 'ndis6';                  // or 'ndis5', 'kmdf'
 *   export const device = 'rtl8139';                   // optional: a QEMU model name or a PciNicModel; default e1000
 *   export function driverEntry(ndis: Ndis6Library, ctx: DriverEntryContext): MiniportDriver {
 *     return ndis.registerMiniportDriver({ ... });     // NdisMRegisterMiniportDriver
 *   }
 *
 * The same three fields may come as the module's default export (`export default defineDriver({...})`).
 * DriverEntry has the shape of the e1000 variants': NDIS 6 returns the MiniportDriver of
 * registerMiniportDriver, NDIS 5 the Ndis5Driver of registerMiniport, KMDF the NTSTATUS of its
 * DriverEntry after wdfDriverCreate. The resources come the framework's way (MiniportInitializeEx's
 * allocatedResources, EvtDevicePrepareHardware's resource list).
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AsyncGuestMemory, GuestMemory } from '../../platform/guest-memory.ts';
import type { DmaAllocator } from '../../platform/dma-allocator.ts';
import type { PciNicModel } from '../../platform/nic-model.ts';
import type { MiniportDriver, Ndis6Library } from '../../ndis/ndis6/index.ts';
import type { Ndis5Driver, Ndis5Library } from '../../ndis/ndis5/index.ts';
import type { NTSTATUS, WdfFramework } from '../../wdf/index.ts';
import { DirqlError } from '../../util/errors.ts';
import { checkNicModel } from '../nic-models.ts';
import type { NicLinkState, VariantSettings } from './variant.ts';

/** The frameworks a driver module can be written for. */
export const DRIVER_FRAMEWORKS = ['ndis6', 'ndis5', 'kmdf'] as const;
export type DriverFramework = (typeof DRIVER_FRAMEWORKS)[number];

/** What DriverEntry gets besides the framework: the host's settings and the machine's memory. */
export interface DriverEntryContext {
  /** Ring sizes, receive batch, MAC override... as the host was given them (the driver may ignore them). */
  readonly settings: Readonly<VariantSettings>;
  /** The NIC QEMU emulates. */
  readonly device: PciNicModel;
  /** Guest RAM, for descriptors and buffers the NIC reaches by DMA. */
  readonly memory: GuestMemory & AsyncGuestMemory;
  /** The DMA allocator over guest RAM (common buffers). */
  readonly dma: DmaAllocator;
  /**
   * KMDF only (KMDF has no link indication of its own): tell the host and the upper edge the link
   * changed. The last call before the device started is the link the host starts with.
   */
  indicateLink(link: NicLinkState): void;
  /** KMDF only: the station address the driver uses (NDIS drivers give theirs in their attributes / OID). */
  setMacAddress(mac: string): void;
}

interface DriverModuleBase {
  /** A QEMU `-device` model name dirql knows ('e1000', 'rtl8139', ...) or a PciNicModel; default e1000. */
  device?: string | PciNicModel;
  /** Names registers in the kernel trace and bug-check reports ("IDR0" for 0x00); see registerNames(). */
  registerName?: (offset: number) => string | undefined;
}

export interface Ndis6DriverModule extends DriverModuleBase {
  framework: 'ndis6';
  /** DriverEntry: NdisMRegisterMiniportDriver, and return its handle. */
  driverEntry(ndis: Ndis6Library, ctx: DriverEntryContext): MiniportDriver | Promise<MiniportDriver>;
}

export interface Ndis5DriverModule extends DriverModuleBase {
  framework: 'ndis5';
  /** DriverEntry: NdisMRegisterMiniport, and return its handle. */
  driverEntry(ndis: Ndis5Library, ctx: DriverEntryContext): Ndis5Driver | Promise<Ndis5Driver>;
}

export interface KmdfDriverModule extends DriverModuleBase {
  framework: 'kmdf';
  /** DriverEntry: WdfDriverCreate (with EvtDriverDeviceAdd), and return its status. */
  driverEntry(wdf: WdfFramework, ctx: DriverEntryContext): NTSTATUS | Promise<NTSTATUS>;
}

export type DriverModule = Ndis6DriverModule | Ndis5DriverModule | KmdfDriverModule;

/** A checked driver module and where it came from. */
export type LoadedDriverModule = DriverModule & { readonly source: string };

/** A driver module that cannot be loaded or does not keep the contract; `context.key` names the export at fault. */
export class DriverModuleError extends DirqlError {}

/** Typed identity for a module's default export: `export default defineDriver({ framework, device, driverEntry })`. */
export function defineDriver<M extends DriverModule>(m: M): M {
  checkDriverModule(m, 'defineDriver');
  return m;
}

/** Imports the module at `path` (relative to the current directory) or takes the module given, and checks it. */
export async function loadDriverModule(driver: string | DriverModule): Promise<LoadedDriverModule> {
  if (typeof driver !== 'string') return { ...checkDriverModule(driver, 'the driver module given'), source: 'the driver module given' };
  const file = isAbsolute(driver) ? driver : resolve(process.cwd(), driver);
  if (!existsSync(file)) throw new DriverModuleError(`no driver module ${file}`, { driver: file });
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw new DriverModuleError(`loading the driver module ${file} failed: ${(err as Error).message}`, { driver: file }, { cause: err });
  }
  const fromDefault = typeof mod.default === 'object' && mod.default !== null && !('driverEntry' in mod) ? (mod.default as Record<string, unknown>) : undefined;
  return { ...checkDriverModule(fromDefault ?? mod, file), source: file };
}

/** Checks the exports of a driver module and returns them as a DriverModule; throws a DriverModuleError naming what is wrong. */
export function checkDriverModule(mod: unknown, source: string): DriverModule {
  if (typeof mod !== 'object' || mod === null) throw new DriverModuleError(`${source}: a driver module is an object with framework and driverEntry`, { driver: source });
  const m = mod as Record<string, unknown>;
  const hint = "export const framework = 'ndis6' (or 'ndis5', 'kmdf') and export function driverEntry(...)";
  if (m.framework === undefined) {
    throw new DriverModuleError(`${source} exports no 'framework' (${hint})`, { driver: source, key: 'framework', missing: 'framework' });
  }
  if (!(DRIVER_FRAMEWORKS as readonly unknown[]).includes(m.framework)) {
    throw new DriverModuleError(`${source}: framework must be one of ${DRIVER_FRAMEWORKS.join(', ')} (got ${JSON.stringify(m.framework)})`, {
      driver: source,
      key: 'framework',
      value: m.framework,
    });
  }
  if (m.driverEntry === undefined) {
    const near = ['DriverEntry', 'driverentry', 'entry'].find((k) => k in m);
    throw new DriverModuleError(`${source} exports no 'driverEntry'${near ? ` (it exports '${near}': the name is driverEntry)` : ''} (${hint})`, {
      driver: source,
      key: 'driverEntry',
      missing: 'driverEntry',
    });
  }
  if (typeof m.driverEntry !== 'function') {
    throw new DriverModuleError(`${source}: driverEntry must be a function (got ${typeof m.driverEntry})`, { driver: source, key: 'driverEntry' });
  }
  if (m.device !== undefined && typeof m.device !== 'string') {
    try {
      checkNicModel(m.device, 'device');
    } catch (err) {
      throw new DriverModuleError(`${source}: ${(err as Error).message}`, { driver: source, key: 'device' }, { cause: err });
    }
  }
  if (m.registerName !== undefined && typeof m.registerName !== 'function') {
    throw new DriverModuleError(`${source}: registerName must be a function (offset) => name (got ${typeof m.registerName})`, { driver: source, key: 'registerName' });
  }
  if (typeof m.device === 'string' && m.device === '')
    throw new DriverModuleError(`${source}: device must be a QEMU model name or a PciNicModel (got '')`, { driver: source, key: 'device' });
  return {
    framework: m.framework,
    driverEntry: m.driverEntry,
    ...(m.device !== undefined ? { device: m.device } : {}),
    ...(m.registerName !== undefined ? { registerName: m.registerName } : {}),
  } as DriverModule;
}
