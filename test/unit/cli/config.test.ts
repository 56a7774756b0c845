import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { overrideConfig } from '../../../src/cli/config-options.ts';
import { CONFIG_FILES, ConfigError, checkConfig, findConfigFile, hostOptionsFromConfig, loadConfig } from '../../../src/cli/config.ts';
import { dirql } from '../../support/dirql-cli.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function project(files: Record<string, string>): string {
  dir = mkdtempSync(join(tmpdir(), 'dirql-config-'));
  // .js configs are ES modules, as in the project (package.json "type": "module").
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function configError(raw: unknown): ConfigError {
  try {
    checkConfig(raw, 'dirql.config.json');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('checkConfig accepted it');
}

describe('finding the config file', () => {
  it('looks for dirql.config.ts, .js, .json in the current directory, in that order', () => {
    expect(CONFIG_FILES).toEqual(['dirql.config.ts', 'dirql.config.js', 'dirql.config.json']);
    const d = project({ 'dirql.config.json': '{}', 'dirql.config.js': 'export default {};' });
    expect(findConfigFile(d)).toBe(join(d, 'dirql.config.js'));
  });

  it('none there: no config, and nothing is an error', async () => {
    const d = project({});
    expect(findConfigFile(d)).toBeUndefined();
    expect(await loadConfig({ cwd: d })).toBeUndefined();
  });

  it('reads JSON, an ES module and a TypeScript module (their default export)', async () => {
    const json = project({ 'dirql.config.json': '{ "processors": 2, "device": "rtl8139" }' });
    expect(await loadConfig({ cwd: json })).toEqual({ file: join(json, 'dirql.config.json'), config: { processors: 2, device: 'rtl8139' } });
    rmSync(json, { recursive: true });
    const js = project({ 'dirql.config.js': 'export default { seed: 7 };' });
    expect((await loadConfig({ cwd: js }))?.config).toEqual({ seed: 7 });
    rmSync(js, { recursive: true });
    const ts = project({ 'dirql.config.ts': "const processors: number = 3;\nexport default { processors, logLevel: 'info' };" });
    expect((await loadConfig({ cwd: ts }))?.config).toEqual({ processors: 3, logLevel: 'info' });
  });

  it('an explicit file that is not there, bad JSON or a module without a default export say which file', async () => {
    const d = project({ 'bad.json': '{ "processors": 2,', 'named.js': 'export const processors = 2;' });
    await expect(loadConfig({ cwd: d, file: 'missing.json' })).rejects.toThrow(`no config file ${join(d, 'missing.json')}`);
    await expect(loadConfig({ cwd: d, file: 'bad.json' })).rejects.toThrow(new RegExp(`^${join(d, 'bad.json')}: not valid JSON`));
    await expect(loadConfig({ cwd: d, file: 'named.js' })).rejects.toThrow(`${join(d, 'named.js')} has no default export`);
  });
});

describe('checking the config, key by key', () => {
  it.each([
    [{ procesors: 2 }, 'procesors', "unknown key 'procesors'"],
    [{ Processors: 2 }, 'Processors', "unknown key 'Processors' (did you mean 'processors'?)"],
    [{ processors: 0 }, 'processors', "'processors' must be an integer in 1..64 (got 0)"],
    [{ seed: 1.5 }, 'seed', "'seed' must be an integer in 0..4294967295"],
    [{ driver: '' }, 'driver', "'driver' must be a non-empty string"],
    [{ framework: 3 }, 'framework', "'framework' must be a non-empty string"],
    [{ device: { qemuModel: 'pcnet' } }, 'device', "'device' must be a QEMU -device name or a PciNicModel (device.name must be a non-empty string"],
    [{ mac: '52:54:00:12:34' }, 'mac', "'mac' must be a MAC like 52:54:00:12:34:56"],
    [{ mac: '01:00:5e:00:00:01' }, 'mac', "'mac' must be a unicast MAC"],
    [{ txRingSize: 100 }, 'txRingSize', "'txRingSize' must be a multiple of 8 in 8..4096 (got 100)"],
    [{ rxRingSize: 8192 }, 'rxRingSize', "'rxRingSize' must be a multiple of 8 in 8..4096"],
    [{ ringSlots: 1000 }, 'ringSlots', "'ringSlots' must be a power of two"],
    [{ verifier: true }, 'verifier', "'verifier' must be an object with isrTimeLimitUs"],
    [{ verifier: { isrTimeLimitUs: -1 } }, 'verifier.isrTimeLimitUs', "'verifier.isrTimeLimitUs' must be a positive number (got -1)"],
    [{ verifier: { action: 'panic' } }, 'verifier.action', "'verifier.action' must be one of bugcheck, record"],
    [{ verifier: { isrTimeLimit: 50 } }, 'verifier.isrTimeLimit', "unknown key 'verifier.isrTimeLimit'"],
    [{ limits: { traceTail: 'all' } }, 'limits.traceTail', "'limits.traceTail' must be an integer in 0..1000000"],
    [{ logLevel: 'verbose' }, 'logLevel', "'logLevel' must be one of fatal, error, warn, info, debug, trace, silent"],
    [{ outputDir: 7 }, 'outputDir', "'outputDir' must be a non-empty string"],
  ])('%j: an error naming %s', (raw, key, message) => {
    const err = configError(raw);
    expect(err.message).toContain(`dirql.config.json: ${message}`);
    expect(err.context).toMatchObject({ file: 'dirql.config.json', key });
  });

  it('a config that is not an object is refused', () => {
    expect(configError([1]).message).toBe('dirql.config.json: a config is an object of settings');
  });

  it('turns into DriverHost options: paths resolved against the config file, reports under outputDir', () => {
    const config = checkConfig(
      {
        driver: './drivers/mine.ts',
        processors: 2,
        seed: 9,
        device: 'rtl8139',
        mac: '02:00:00:AA:BB:CC',
        txRingSize: 512,
        rxRingSize: 64,
        ringSlots: 256,
        verifier: { isrTimeLimitUs: 200 },
        limits: { traceTail: 50 },
        logLevel: 'debug',
        outputDir: 'out',
      },
      '/proj/dirql.config.json',
    );
    expect(hostOptionsFromConfig(config, '/proj/dirql.config.json')).toEqual({
      driver: '/proj/drivers/mine.ts',
      processors: 2,
      seed: 9,
      device: 'rtl8139',
      mac: '02:00:00:aa:bb:cc',
      txRingSize: 512,
      rxRingSize: 64,
      ringSlots: 256,
      verifier: { isrTimeLimitUs: 200 },
      limits: { traceTail: 50 },
      bugCheckDir: '/proj/out/crash-reports',
    });
  });
});

describe('precedence: flags over the config', () => {
  it('a flag wins key by key; nested settings merge', async () => {
    const merged = await overrideConfig({ processors: 2, seed: 3, verifier: { isrTimeLimitUs: 100, action: 'record' } }, { seed: 4, verifier: { isrTimeLimitUs: 50 } });
    expect(merged).toEqual({ processors: 2, seed: 4, verifier: { isrTimeLimitUs: 50, action: 'record' } });
  });

  it("--framework runs that variant instead of the config's driver module, --driver its module instead of the config's framework", async () => {
    expect(await overrideConfig({ driver: '/p/mine.ts', processors: 2 }, { framework: 'ndis5' })).toEqual({ framework: 'ndis5', processors: 2 });
    expect(await overrideConfig({ framework: 'kmdf' }, { driver: '/p/other.ts' })).toEqual({ driver: '/p/other.ts' });
  });
});

describe('a bad config under the dirql command', () => {
  it('is a usage error: exit 2, the file and key named, the hint to --help, before anything starts', async () => {
    const d = project({ 'dirql.config.json': '{ "processors": 99 }' });
    const r = await dirql(['up', '--config', join(d, 'dirql.config.json')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`dirql up: error: ${join(d, 'dirql.config.json')}: 'processors' must be an integer in 1..64 (got 99)`);
    expect(r.stderr).toContain('dirql up --help');
  });

  it('a driver module the config names is checked too, under its key', async () => {
    const d = project({ 'dirql.config.json': '{ "driver": "./missing-miniport.ts" }' });
    const r = await dirql(['run', 'x.scenario.ts', '--config', join(d, 'dirql.config.json')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`dirql run: error: ${join(d, 'dirql.config.json')}: 'driver': no driver module ${join(d, 'missing-miniport.ts')}`);
  });
});
