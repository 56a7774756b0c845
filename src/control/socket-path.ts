import fs from 'node:fs';
import path from 'node:path';
import { ControlSocketPathError } from './errors.ts';

/**
 * Where control sockets live. A host listens on `<dir>/host-<pid>.sock` in a private directory
 * (mode 0700, owned by us) and points `<dir>/current` at it, so a CLI finds "the" running host
 * without knowing its pid. `DIRQL_CONTROL_SOCKET` (or an explicit path) overrides both sides and
 * then no `current` link is made.
 *
 * The directory is `$XDG_RUNTIME_DIR/dirql` when that variable is set, else `/tmp/dirql-ctl-<uid>`;
 * a client looks in both, because a shell may lack XDG_RUNTIME_DIR where the host had it.
 * `DIRQL_CONTROL_DIR` names the one directory instead (hosts listen and clients look only there):
 * the test suite gives each test file its own, so no host or leftover elsewhere on the machine is seen.
 */
export const SOCKET_PATH_ENV = 'DIRQL_CONTROL_SOCKET';
export const CONTROL_DIR_ENV = 'DIRQL_CONTROL_DIR';
export const CURRENT_LINK_NAME = 'current';

/** sun_path holds 108 bytes including the terminating NUL on Linux. */
const MAX_SOCKET_PATH_BYTES = 107;

type Env = Record<string, string | undefined>;

function uid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

/** The control directories, in the order a client tries them; the first is where a host listens. `tmp` is the fallback's parent. */
export function controlDirCandidates(env: Env = process.env, tmp = '/tmp'): string[] {
  const only = env[CONTROL_DIR_ENV];
  if (only && path.isAbsolute(only)) return [only];
  const dirs: string[] = [];
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg && path.isAbsolute(xdg)) dirs.push(path.join(xdg, 'dirql'));
  dirs.push(path.join(tmp, `dirql-ctl-${uid()}`));
  return dirs;
}

export function checkSocketPathLength(socketPath: string): void {
  const bytes = Buffer.byteLength(socketPath);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new ControlSocketPathError(`control socket path is ${bytes} bytes; unix sockets allow at most ${MAX_SOCKET_PATH_BYTES}`, {
      socketPath,
      bytes,
    });
  }
}

/**
 * Create `dir` with mode 0700, or accept it if it already is a directory that only we can enter.
 * A directory someone else owns or can write in a shared /tmp could be used to hijack the socket.
 */
export function ensurePrivateDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new ControlSocketPathError(`cannot create control socket directory ${dir}`, { dir }, { cause: err });
    }
  }
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new ControlSocketPathError(`${dir} is not a directory`, { dir });
  if (st.uid !== uid()) throw new ControlSocketPathError(`${dir} belongs to uid ${st.uid}, not to us (uid ${uid()})`, { dir, owner: st.uid });
  if ((st.mode & 0o077) !== 0) {
    throw new ControlSocketPathError(`${dir} has mode ${(st.mode & 0o777).toString(8)}; a control socket directory must be 0700`, {
      dir,
      mode: st.mode & 0o777,
    });
  }
}

export interface ServerSocketLocation {
  socketPath: string;
  /** The `current` symlink to point at socketPath, when the default directory is used. */
  currentLink?: string;
}

/** Where a host with this pid listens. */
export function serverSocketLocation(explicit?: string, env: Env = process.env, pid = process.pid): ServerSocketLocation {
  const chosen = explicit ?? env[SOCKET_PATH_ENV];
  if (chosen) {
    const socketPath = path.resolve(chosen);
    checkSocketPathLength(socketPath);
    fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
    return { socketPath };
  }
  const dir = controlDirCandidates(env)[0]!;
  ensurePrivateDir(dir);
  const socketPath = path.join(dir, `host-${pid}.sock`);
  checkSocketPathLength(socketPath);
  return { socketPath, currentLink: path.join(dir, CURRENT_LINK_NAME) };
}

/** Where a client connects: explicit path, else the env, else the first `current` link that exists. */
export function clientSocketPath(explicit?: string, env: Env = process.env, tmp = '/tmp'): string {
  const chosen = explicit ?? env[SOCKET_PATH_ENV];
  if (chosen) return path.resolve(chosen);
  const links = controlDirCandidates(env, tmp).map((dir) => path.join(dir, CURRENT_LINK_NAME));
  // lstat, not exists: a dangling link (its host died) still names the host to report as gone.
  return links.find((link) => lexists(link)) ?? links[0]!;
}

function lexists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/** Atomically point `link` at `socketPath` (a relative target when they share a directory). */
export function pointCurrentLink(link: string, socketPath: string): void {
  const target = path.dirname(link) === path.dirname(socketPath) ? path.basename(socketPath) : socketPath;
  const tmp = `${link}.${process.pid}.tmp`;
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(target, tmp);
  fs.renameSync(tmp, link);
}

/** Remove `link` only if it still points at `socketPath` (a newer host may have taken it over). */
export function removeCurrentLinkIfOurs(link: string, socketPath: string): void {
  try {
    const target = fs.readlinkSync(link);
    if (path.resolve(path.dirname(link), target) === socketPath) fs.unlinkSync(link);
  } catch {
    // Already gone or replaced by something that is not a link: not ours to remove.
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove `host-<pid>.sock` files of hosts that no longer exist (killed with SIGKILL, which runs no
 * exit handler). Returns the paths removed.
 */
export function sweepDeadHostSockets(dir: string, selfPid = process.pid): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = /^host-(\d+)\.sock$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === selfPid || processExists(pid)) continue;
    const file = path.join(dir, name);
    try {
      if (fs.lstatSync(file).isSocket()) {
        fs.unlinkSync(file);
        removed.push(file);
      }
    } catch {
      // Raced with another host's sweep.
    }
  }
  return removed;
}
