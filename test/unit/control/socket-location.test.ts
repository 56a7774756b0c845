import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlClient } from '../../../src/control/client.ts';
import { ControlNotRunningError, ControlSocketPathError } from '../../../src/control/errors.ts';
import { ControlServer } from '../../../src/control/server.ts';
import {
  CONTROL_DIR_ENV,
  SOCKET_PATH_ENV,
  clientSocketPath,
  controlDirCandidates,
  ensurePrivateDir,
  pointCurrentLink,
  removeCurrentLinkIfOurs,
  serverSocketLocation,
  sweepDeadHostSockets,
} from '../../../src/control/socket-path.ts';

let tmp: string;
const savedEnv = { xdg: process.env.XDG_RUNTIME_DIR, socket: process.env[SOCKET_PATH_ENV], dir: process.env[CONTROL_DIR_ENV] };

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dirql-ctl-loc-'));
  // The machine's default directories are never used here: XDG_RUNTIME_DIR's place, made the only one.
  process.env.XDG_RUNTIME_DIR = tmp;
  process.env[CONTROL_DIR_ENV] = path.join(tmp, 'dirql');
  delete process.env[SOCKET_PATH_ENV];
});

afterEach(() => {
  restore('XDG_RUNTIME_DIR', savedEnv.xdg);
  restore(SOCKET_PATH_ENV, savedEnv.socket);
  restore(CONTROL_DIR_ENV, savedEnv.dir);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A unix socket file nobody listens on, as a host killed with SIGKILL leaves it. Returns the dead pid. */
async function leaveDeadSocket(socketPathFor: (pid: number) => string): Promise<{ pid: number; socketPath: string }> {
  const child = spawn(process.execPath, ['-e', `process.stdin.once('data', d => require('net').createServer().listen(String(d).trim(), () => console.log('up')))`], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const pid = child.pid!;
  const socketPath = socketPathFor(pid);
  child.stdin!.write(socketPath + '\n');
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return { pid, socketPath };
}

describe('control socket location', () => {
  it('listens in a private directory under XDG_RUNTIME_DIR and points `current` at the host socket', async () => {
    const server = new ControlServer({ driver: 'e1000' });
    await server.start();
    try {
      const dir = path.join(tmp, 'dirql');
      expect(server.socketPath).toBe(path.join(dir, `host-${process.pid}.sock`));
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
      expect(fs.readlinkSync(path.join(dir, 'current'))).toBe(`host-${process.pid}.sock`);
      const client = await ControlClient.connect();
      expect(client.socketPath).toBe(path.join(dir, 'current'));
      expect(client.hello.driver).toBe('e1000');
      await client.close();
    } finally {
      await server.stop();
    }
    expect(fs.readdirSync(path.join(tmp, 'dirql'))).toEqual([]);
  });

  it('uses DIRQL_CONTROL_SOCKET on both sides, without a `current` link', async () => {
    const socketPath = path.join(tmp, 'custom', 'ctl.sock');
    process.env[SOCKET_PATH_ENV] = socketPath;
    const server = new ControlServer();
    await server.start();
    try {
      expect(server.socketPath).toBe(socketPath);
      expect(fs.existsSync(path.join(tmp, 'dirql'))).toBe(false);
      const client = await ControlClient.connect();
      expect(client.hello.socketPath).toBe(socketPath);
      await client.close();
    } finally {
      await server.stop();
    }
  });

  it('names the link it tried, and says how to start a host, when no host ever ran', async () => {
    let caught: unknown;
    try {
      await ControlClient.connect();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ControlNotRunningError);
    expect((caught as Error).message).toBe(`no dirql host is listening at ${path.join(tmp, 'dirql', 'current')}; start one with \`npm start -- --hold --control\``);
  });

  it('reports a stale `current` link left by a killed host as not running', async () => {
    const dir = path.join(tmp, 'dirql');
    ensurePrivateDir(dir);
    const { pid, socketPath } = await leaveDeadSocket((p) => path.join(dir, `host-${p}.sock`));
    pointCurrentLink(path.join(dir, 'current'), socketPath);
    let caught: unknown;
    try {
      await ControlClient.connect();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ControlNotRunningError);
    expect((caught as Error).message).toContain(`-> host-${pid}.sock`);
    expect((caught as Error).message).toContain('stale');
  });

  it('removes sockets of dead hosts when a host starts, and keeps live ones', async () => {
    const dir = path.join(tmp, 'dirql');
    ensurePrivateDir(dir);
    const dead = await leaveDeadSocket((p) => path.join(dir, `host-${p}.sock`));
    const liveServer = new ControlServer({ socketPath: path.join(dir, `host-${process.ppid}.sock`) });
    await liveServer.start();
    try {
      expect(sweepDeadHostSockets(dir)).toEqual([dead.socketPath]);
      expect(fs.existsSync(dead.socketPath)).toBe(false);
      expect(fs.existsSync(liveServer.socketPath)).toBe(true);
    } finally {
      await liveServer.stop();
    }
  });

  it('removes the socket and its `current` link when the host process exits', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'fixtures', 'host-that-exits.ts')], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, XDG_RUNTIME_DIR: tmp, [CONTROL_DIR_ENV]: path.join(tmp, 'dirql') },
    });
    const socketPath = await new Promise<string>((resolve) => child.stdout!.once('data', (d) => resolve(String(d).trim())));
    expect(fs.lstatSync(socketPath).isSocket()).toBe(true);
    expect(fs.existsSync(path.join(tmp, 'dirql', 'current'))).toBe(true);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin!.write('exit\n');
    expect(await exited).toBe(0);
    expect(fs.readdirSync(path.join(tmp, 'dirql'))).toEqual([]);
  });

  it('refuses a control directory that others can enter', () => {
    const dir = path.join(tmp, 'open');
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
    expect(() => ensurePrivateDir(dir)).toThrow(ControlSocketPathError);
    expect(() => ensurePrivateDir(dir)).toThrow(/mode 755/);
  });

  it('refuses a control directory that is a symlink', () => {
    const real = path.join(tmp, 'real');
    fs.mkdirSync(real, { mode: 0o700 });
    const link = path.join(tmp, 'link');
    fs.symlinkSync(real, link);
    expect(() => ensurePrivateDir(link)).toThrow(/not a directory/);
  });

  it('refuses a socket path longer than a unix socket allows', () => {
    expect(() => serverSocketLocation(path.join(tmp, 'x'.repeat(120) + '.sock'))).toThrow(ControlSocketPathError);
  });

  it('leaves a `current` link that a newer host re-pointed', () => {
    const dir = path.join(tmp, 'dirql');
    ensurePrivateDir(dir);
    const link = path.join(dir, 'current');
    pointCurrentLink(link, path.join(dir, 'host-1.sock'));
    removeCurrentLinkIfOurs(link, path.join(dir, 'host-2.sock'));
    expect(fs.readlinkSync(link)).toBe('host-1.sock');
    removeCurrentLinkIfOurs(link, path.join(dir, 'host-1.sock'));
    expect(fs.existsSync(link)).toBe(false);
  });

  it('lets a client find the host through whichever directory has a `current` link', () => {
    // The fallback's parent is a directory of this test, not the machine's /tmp.
    const fakeTmp = path.join(tmp, 'tmp');
    fs.mkdirSync(fakeTmp);
    const uidDir = path.join(fakeTmp, `dirql-ctl-${process.getuid!()}`);
    const env = { XDG_RUNTIME_DIR: path.join(tmp, 'xdg') };
    expect(controlDirCandidates(env, fakeTmp)).toEqual([path.join(tmp, 'xdg', 'dirql'), uidDir]);
    expect(clientSocketPath(undefined, env, fakeTmp)).toBe(path.join(tmp, 'xdg', 'dirql', 'current'));
    ensurePrivateDir(uidDir);
    pointCurrentLink(path.join(uidDir, 'current'), path.join(uidDir, 'host-1.sock'));
    expect(clientSocketPath(undefined, env, fakeTmp)).toBe(path.join(uidDir, 'current'));
    ensurePrivateDir(path.join(tmp, 'xdg'));
    ensurePrivateDir(path.join(tmp, 'xdg', 'dirql'));
    pointCurrentLink(path.join(tmp, 'xdg', 'dirql', 'current'), path.join(tmp, 'xdg', 'dirql', 'host-2.sock'));
    expect(clientSocketPath(undefined, env, fakeTmp)).toBe(path.join(tmp, 'xdg', 'dirql', 'current'));
    expect(clientSocketPath('rel.sock', env, fakeTmp)).toBe(path.resolve('rel.sock'));
  });

  it('uses DIRQL_CONTROL_DIR alone when it is set, for hosts and clients', () => {
    const only = path.join(tmp, 'only');
    expect(controlDirCandidates({ XDG_RUNTIME_DIR: tmp, [CONTROL_DIR_ENV]: only })).toEqual([only]);
    expect(clientSocketPath(undefined, { [CONTROL_DIR_ENV]: only })).toBe(path.join(only, 'current'));
    expect(serverSocketLocation(undefined, { [CONTROL_DIR_ENV]: only }, 1234)).toEqual({ socketPath: path.join(only, 'host-1234.sock'), currentLink: path.join(only, 'current') });
  });
});
