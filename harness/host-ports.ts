/**
 * The wire's UDP ports of a running host, asked over its control socket (`status` → `wire`), so a
 * peer need not copy `--qemu-port`/`--port` from the host's output by hand.
 */
import { ControlClient } from '../src/control/index.ts';
import { HarnessConfigError } from './errors.ts';

export interface HostWirePorts {
  /** QEMU's end of the dgram netdev: where the peer sends. */
  qemuPort: number;
  /** Where QEMU sends: the port the peer binds. */
  peerPort: number;
  socketPath: string;
}

/** Asks the host on `socketPath` (default: the one `dirql ctl` would reach) for its wire ports. */
export async function hostWirePorts(socketPath?: string): Promise<HostWirePorts> {
  let client: ControlClient;
  try {
    client = await ControlClient.connect({ ...(socketPath ? { socketPath } : {}), connectTimeoutMs: 3000 });
  } catch (err) {
    throw new HarnessConfigError(
      `--control: no host answers (${(err as Error).message}); start one with \`dirql up --hold --control\``,
      { flag: 'control', socketPath },
      { cause: err },
    );
  }
  try {
    const status = await client.call<{ wire?: { qemuPort: number; peerPort: number }; netdev?: { kind?: string } }>('status');
    if (!status.wire) {
      throw new HarnessConfigError(`--control: the host's netdev is ${status.netdev?.kind ?? 'not dgram'}, not the UDP wire the peer speaks`, {
        flag: 'control',
        socketPath: client.socketPath,
      });
    }
    return { qemuPort: status.wire.qemuPort, peerPort: status.wire.peerPort, socketPath: client.socketPath };
  } finally {
    await client.close();
  }
}
