import type { Command } from 'commander';
import type { DriverHostOptions } from '../host/driver-host.ts';
import { ConfigError, hostOptionsFromConfig, loadConfig, outputsFromConfig } from './config.ts';
import { UsageError } from './usage.ts';

/**
 * The host options of the config file (`--config <file>`, or the one in the current directory),
 * with its log level applied (unless DIRQL_LOG is set) before any logger exists, and its driver
 * module, device and framework checked: a bad config is a usage error (exit 2) naming the file
 * and key. Nothing when there is no config file.
 */
export async function configuredHostOptions(commandName: string, file: string | undefined): Promise<DriverHostOptions> {
  return (await configuredRun(commandName, file)).host;
}

/** What a config file sets for a run of `dirql up` or `dirql run`: host options, and where outputs go. */
export interface ConfiguredRun {
  host: DriverHostOptions;
  /** The config file, if there is one. */
  file?: string;
  /** The config's outputDir (absolute); the run directory goes under it. */
  outputDir?: string;
  /** The config's pcap: true (in the run directory) or a path. */
  pcap?: string | boolean;
}

/**
 * configuredHostOptions with the outputs: bug check reports are left to the run directory under
 * outputDir (the host options' <outputDir>/crash-reports is for DriverHost used without the CLI).
 */
export async function configuredRun(commandName: string, file: string | undefined): Promise<ConfiguredRun> {
  const fail = (err: unknown): never => {
    throw new UsageError(err instanceof Error ? err.message : String(err), commandName);
  };
  let loaded;
  try {
    loaded = await loadConfig(file !== undefined ? { file } : {});
  } catch (err) {
    if (err instanceof ConfigError) fail(err);
    throw err;
  }
  if (!loaded) return { host: {} };
  const { config } = loaded;
  if (config.logLevel !== undefined && process.env.DIRQL_LOG === undefined) process.env.DIRQL_LOG = config.logLevel;
  const options = hostOptionsFromConfig(config, loaded.file);
  const keyed = (key: string) => (err: unknown) => fail(new ConfigError(`${loaded.file}: '${key}': ${(err as Error).message}`, { file: loaded.file, key }));
  if (typeof options.driver === 'string') {
    const { loadDriverModule } = await import('../host/frameworks/driver-module.ts');
    await loadDriverModule(options.driver).catch(keyed('driver'));
  }
  if (typeof config.device === 'string') {
    const { resolveNicModel } = await import('../host/nic-models.ts');
    try {
      resolveNicModel(config.device);
    } catch (err) {
      keyed('device')(err);
    }
  }
  if (options.machine?.qemuBinary !== undefined) {
    const { requireQemuBinary } = await import('../../qemu/qemu-binary.ts');
    try {
      requireQemuBinary(options.machine.qemuBinary, `the config key 'qemuBinary' in ${loaded.file}`);
    } catch (err) {
      fail(err);
    }
  }
  if (config.framework !== undefined && config.driver === undefined) {
    const { loadFramework } = await import('../host/frameworks/index.ts');
    await loadFramework(config.framework).catch(keyed('framework'));
  }
  const { bugCheckDir: _inTheRunDirectory, ...host } = options;
  return { host, file: loaded.file, ...outputsFromConfig(config, loaded.file) };
}

/** `--config <file>`: shared by `dirql up` and `dirql run`. */
export function addConfigFlag(cmd: Command): Command {
  return cmd.option('--config <file>', 'the config file (default: dirql.config.ts, .js or .json in the current directory, if there is one)');
}

/**
 * Flags over config: the flags' options win key by key (wire, machine, verifier and limits merged
 * one level deep). A `--framework` flag runs that registered variant instead of the config's
 * driver module, and a `--driver` flag its module whatever framework the config names.
 */
export async function overrideConfig(config: DriverHostOptions, flags: DriverHostOptions): Promise<DriverHostOptions> {
  const { mergeHostOptions } = await import('../scenario/index.ts');
  const base = { ...config };
  if (flags.framework !== undefined && flags.driver === undefined) delete base.driver;
  if (flags.driver !== undefined && flags.framework === undefined) delete base.framework;
  return mergeHostOptions(base, flags);
}
