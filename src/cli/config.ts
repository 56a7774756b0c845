/**
 * `dirql.config.{ts,js,json}`: the settings of `dirql up` and `dirql run` for a project, found in
 * the current directory (the first of CONFIG_FILES that exists; `--config <file>` names another).
 * Flags override it; for `dirql run`, the scenario's own host options sit between the two.
 *
 *   // dirql.config.ts
 *   import { defineConfig } from 'dirql/config';
 *   export default defineConfig({ driver: './my-miniport.ts', device: 'rtl8139', processors: 2 });
 *
 * Every key is checked; an error names the file and the key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DriverHostOptions } from '../host/driver-host.ts';
import { checkNicModel } from '../host/nic-models.ts';
import type { KernelLimits, VerifierOptions } from '../kernel/index.ts';
import type { PciNicModel } from '../platform/nic-model.ts';
import { DirqlError } from '../util/errors.ts';

export const CONFIG_FILES = ['dirql.config.ts', 'dirql.config.js', 'dirql.config.json'] as const;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface DirqlConfig {
  /** Your driver module (framework, driverEntry, device), relative to the config file. */
  driver?: string;
  /** A registered framework variant ('ndis6', 'ndis5', 'kmdf', ...) when no driver module is given. */
  framework?: string;
  processors?: number;
  seed?: number;
  /** The NIC QEMU emulates: a -device name dirql knows ('e1000', 'e1000e', 'rtl8139') or a PciNicModel. */
  device?: string | PciNicModel;
  /** The NIC's MAC, 52:54:00:12:34:56 style. */
  mac?: string;
  /** Descriptors per NIC ring (multiple of 8, 8..4096). */
  txRingSize?: number;
  rxRingSize?: number;
  /** Slots of each host PacketRing (a power of two). */
  ringSlots?: number;
  verifier?: VerifierOptions;
  limits?: KernelLimits;
  /** pino level, as DIRQL_LOG (which wins when set). */
  logLevel?: LogLevel;
  /** The QEMU binary: a path (relative to the config file) or a name on PATH. Default DIRQL_QEMU, else qemu-system-x86_64. */
  qemuBinary?: string;
  /**
   * Where runs write their outputs, relative to the config file: `dirql up` and `dirql run` each in
   * <outputDir>/runs/<UTC time>-<pid>/ (default ./dirql-out). For DriverHost options alone
   * (hostOptionsFromConfig), bug check reports go to <outputDir>/crash-reports.
   */
  outputDir?: string;
  /** Capture the driver's upper edge (pcapng): true for upper-edge.pcapng in the run directory, or a path relative to the config file. */
  pcap?: boolean | string;
}

/** A config file that cannot be read or holds a bad value; `context.key` names the key. */
export class ConfigError extends DirqlError {}

/** Typed identity for a config file's default export. */
export function defineConfig(config: DirqlConfig): DirqlConfig {
  return config;
}

/** The config file in `dir`, if there is one (the first of CONFIG_FILES). */
export function findConfigFile(dir: string = process.cwd()): string | undefined {
  for (const name of CONFIG_FILES) {
    const file = join(dir, name);
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** Reads and checks `file` (a config file path), or the one found in `cwd`; undefined when there is none. */
export async function loadConfig(opts: { file?: string; cwd?: string } = {}): Promise<{ file: string; config: DirqlConfig } | undefined> {
  const cwd = opts.cwd ?? process.cwd();
  let file: string | undefined;
  if (opts.file !== undefined) {
    file = isAbsolute(opts.file) ? opts.file : resolve(cwd, opts.file);
    if (!existsSync(file)) throw new ConfigError(`no config file ${file}`, { file });
  } else {
    file = findConfigFile(cwd);
    if (!file) return undefined;
  }
  return { file, config: checkConfig(await readConfig(file), file) };
}

async function readConfig(file: string): Promise<unknown> {
  if (file.endsWith('.json')) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as unknown;
    } catch (err) {
      throw new ConfigError(`${file}: not valid JSON: ${(err as Error).message}`, { file }, { cause: err });
    }
  }
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (err) {
    throw new ConfigError(`loading ${file} failed: ${(err as Error).message}`, { file }, { cause: err });
  }
  if (mod.default === undefined) throw new ConfigError(`${file} has no default export (export default defineConfig({ ... }))`, { file });
  return mod.default;
}

type Check = (value: unknown) => string | undefined;

const integer =
  (min: number, max: number): Check =>
  (v) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? undefined : `an integer in ${min}..${max}`;
const nonEmpty: Check = (v) => (typeof v === 'string' && v.trim() !== '' ? undefined : 'a non-empty string');
const ringSize: Check = (v) => (Number.isInteger(v) && (v as number) >= 8 && (v as number) <= 4096 && (v as number) % 8 === 0 ? undefined : 'a multiple of 8 in 8..4096');
const powerOfTwo: Check = (v) =>
  Number.isInteger(v) && (v as number) >= 2 && (v as number) <= 1 << 20 && ((v as number) & ((v as number) - 1)) === 0 ? undefined : 'a power of two in 2..1048576';
const oneOf =
  (values: readonly string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v) ? undefined : `one of ${values.join(', ')}`;
const bool: Check = (v) => (typeof v === 'boolean' ? undefined : 'true or false');
const positive: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? undefined : 'a positive number');
const mac: Check = (v) => {
  if (typeof v !== 'string' || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(v)) return 'a MAC like 52:54:00:12:34:56';
  return Number.parseInt(v.slice(0, 2), 16) & 1 ? 'a unicast MAC (bit 0 of the first byte clear)' : undefined;
};
const device: Check = (v) => {
  if (typeof v === 'string') return v.trim() !== '' ? undefined : "a QEMU -device name ('e1000', 'rtl8139', ...) or a PciNicModel";
  try {
    checkNicModel(v, 'device');
    return undefined;
  } catch (err) {
    return `a QEMU -device name or a PciNicModel (${(err as Error).message})`;
  }
};
const section =
  (shape: Record<string, Check>): Check =>
  (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return `an object with ${Object.keys(shape).join(', ')}`;
    return undefined;
  };

const VERIFIER: Record<string, Check> = {
  isrTimeLimitUs: positive,
  synchronizeTimeLimitUs: positive,
  dpcTimeLimitMs: positive,
  dispatchTimeLimitMs: positive,
  action: oneOf(['bugcheck', 'record']),
  captureLockStacks: bool,
  lockset: oneOf(['off', 'record', 'stop']),
};
const LIMITS: Record<string, Check> = { dpcTimeLimitMs: positive, dispatchTimeLimitMs: positive, interruptStormThreshold: integer(1, 1e9), traceTail: integer(0, 1e6) };

const KEYS: Record<keyof DirqlConfig, Check> = {
  driver: nonEmpty,
  framework: nonEmpty,
  processors: integer(1, 64),
  seed: integer(0, 0xffffffff),
  device,
  mac,
  txRingSize: ringSize,
  rxRingSize: ringSize,
  ringSlots: powerOfTwo,
  verifier: section(VERIFIER),
  limits: section(LIMITS),
  logLevel: oneOf(LOG_LEVELS),
  outputDir: nonEmpty,
  qemuBinary: nonEmpty,
  pcap: (v) => (typeof v === 'boolean' || nonEmpty(v) === undefined ? undefined : 'true, false or a file path'),
};
const NESTED: Partial<Record<keyof DirqlConfig, Record<string, Check>>> = { verifier: VERIFIER, limits: LIMITS };

function checkKeys(obj: Record<string, unknown>, shape: Record<string, Check>, file: string, prefix: string): void {
  for (const [key, value] of Object.entries(obj)) {
    const name = prefix + key;
    const check = shape[key];
    if (!check) {
      const near = Object.keys(shape).find((k) => k.toLowerCase() === key.toLowerCase());
      throw new ConfigError(`${file}: unknown key '${name}'${near ? ` (did you mean '${prefix}${near}'?)` : ''}; the keys are ${Object.keys(shape).join(', ')}`, {
        file,
        key: name,
      });
    }
    if (value === undefined) continue;
    const want = check(value);
    if (want) throw new ConfigError(`${file}: '${name}' must be ${want} (got ${JSON.stringify(value)})`, { file, key: name, value });
    const nested = prefix === '' ? NESTED[key as keyof DirqlConfig] : undefined;
    if (nested) checkKeys(value as Record<string, unknown>, nested, file, `${name}.`);
  }
}

/** Checks every key of a config value (unknown keys too) and returns it typed. */
export function checkConfig(raw: unknown, file: string): DirqlConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${file}: a config is an object of settings`, { file });
  checkKeys(raw as Record<string, unknown>, KEYS, file, '');
  return raw as DirqlConfig;
}

/** Where a config puts a run's outputs (paths resolved against the config file's directory). */
export function outputsFromConfig(config: DirqlConfig, file: string): { outputDir?: string; pcap?: string | boolean } {
  const at = (p: string) => (isAbsolute(p) ? p : resolve(dirname(file), p));
  return {
    ...(config.outputDir !== undefined ? { outputDir: at(config.outputDir) } : {}),
    ...(config.pcap !== undefined && config.pcap !== false ? { pcap: config.pcap === true ? true : at(config.pcap) } : {}),
  };
}

/** The DriverHost options a config sets (paths resolved against the config file's directory). */
export function hostOptionsFromConfig(config: DirqlConfig, file: string): DriverHostOptions {
  const dir = dirname(file);
  const at = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  return {
    ...(config.driver !== undefined ? { driver: at(config.driver) } : {}),
    ...(config.framework !== undefined ? { framework: config.framework } : {}),
    ...(config.processors !== undefined ? { processors: config.processors } : {}),
    ...(config.seed !== undefined ? { seed: config.seed } : {}),
    ...(config.device !== undefined ? { device: config.device } : {}),
    ...(config.mac !== undefined ? { mac: config.mac.toLowerCase() } : {}),
    ...(config.txRingSize !== undefined ? { txRingSize: config.txRingSize } : {}),
    ...(config.rxRingSize !== undefined ? { rxRingSize: config.rxRingSize } : {}),
    ...(config.ringSlots !== undefined ? { ringSlots: config.ringSlots } : {}),
    ...(config.verifier !== undefined ? { verifier: config.verifier } : {}),
    ...(config.limits !== undefined ? { limits: config.limits } : {}),
    ...(config.qemuBinary !== undefined ? { machine: { qemuBinary: config.qemuBinary.includes('/') ? at(config.qemuBinary) : config.qemuBinary } } : {}),
    ...(config.outputDir !== undefined ? { bugCheckDir: join(at(config.outputDir), 'crash-reports') } : {}),
  };
}
