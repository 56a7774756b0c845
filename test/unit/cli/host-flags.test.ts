import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addHostFlags, hostOptionsFrom, type HostFlags } from '../../../src/cli/host-flags.ts';

async function optionsFor(args: string[]) {
  const cmd = addHostFlags(new Command('t').exitOverride());
  cmd.parse(args, { from: 'user' });
  return hostOptionsFrom(cmd, cmd.opts<HostFlags>());
}

describe('--trace', () => {
  it('without a path records into the default run directory; with one, there; left out, not at all', async () => {
    expect(await optionsFor(['--trace'])).toEqual({ trace: true });
    expect(await optionsFor(['--trace', 'out/run.html'])).toEqual({ trace: { path: 'out/run.html' } });
    expect(await optionsFor([])).toEqual({});
  });
});

describe('--netdev', () => {
  it('passes the kind through; ports only with dgram', async () => {
    expect(await optionsFor(['--netdev', 'user'])).toEqual({ netdev: { kind: 'user' } });
    expect(await optionsFor(['--netdev', 'tap:dqtap0'])).toEqual({ netdev: { kind: 'tap', ifname: 'dqtap0' } });
    expect(await optionsFor(['--netdev', 'dgram', '--qemu-port', '5000'])).toEqual({ netdev: { kind: 'dgram' }, wire: { qemuPort: 5000 } });
    await expect(optionsFor(['--netdev', 'user', '--peer-port', '5000'])).rejects.toThrow(/'--peer-port <port>' is for the dgram netdev/);
  });
});
