import dgram from 'node:dgram';
import { freeUdpPort } from '../../qemu/free-port.ts';
import { logger } from '../util/log.ts';
import { RecordingError } from './errors.ts';

const log = logger('record.wire');

/** A UDP wire as a Machine gives it: QEMU's port, and the port QEMU sends to (where the peer binds). */
export interface WirePorts {
  readonly qemuPort: number;
  readonly peerPort: number;
}

/** Which way a recorded wire frame went: from the peer to the NIC, or from the NIC to the peer. */
export type WireDirection = 'toNic' | 'fromNic';

const HOST = '127.0.0.1';

async function bound(port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, HOST, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return socket;
}

async function closed(socket: dgram.Socket): Promise<void> {
  await new Promise<void>((resolve) => socket.close(() => resolve()));
}

/**
 * The recorder's man in the middle of a UDP wire: it binds the port QEMU sends to, hands the peer
 * `ports` to use instead, and forwards each frame both ways unchanged after telling `frame` (which
 * writes it into the recording at its position, kind 7). What the peer sends and catches is then
 * in the recording, and a replay can play QEMU's side of the wire to the same peer code.
 */
export class WireTap {
  private constructor(
    private readonly nicSide: dgram.Socket,
    private readonly peerSide: dgram.Socket,
    /** The wire as the peer is to see it: its own port, and the port standing in for QEMU's. */
    readonly ports: WirePorts,
  ) {}

  static async open(wire: WirePorts, frame: (direction: WireDirection, bytes: Uint8Array) => void): Promise<WireTap> {
    let nicSide: dgram.Socket;
    try {
      nicSide = await bound(wire.peerPort);
    } catch (cause) {
      throw new RecordingError(`cannot tap the wire: UDP ${HOST}:${wire.peerPort}, where QEMU sends, is taken (a peer left open?)`, { port: wire.peerPort }, { cause });
    }
    const peerSide = await bound(0);
    const peerPort = await freeUdpPort(HOST);
    nicSide.on('message', (msg) => {
      frame('fromNic', msg);
      peerSide.send(msg, peerPort, HOST);
    });
    peerSide.on('message', (msg) => {
      frame('toNic', msg);
      nicSide.send(msg, wire.qemuPort, HOST);
    });
    // A frame forwarded before the other side is there is lost as it would be on the wire; say so.
    nicSide.on('error', (err) => log.debug({ err, side: 'nic' }, 'wire tap: a forward failed'));
    peerSide.on('error', (err) => log.debug({ err, side: 'peer' }, 'wire tap: a forward failed'));
    return new WireTap(nicSide, peerSide, { qemuPort: peerSide.address().port, peerPort });
  }

  async close(): Promise<void> {
    await Promise.all([closed(this.nicSide), closed(this.peerSide)]);
  }
}
