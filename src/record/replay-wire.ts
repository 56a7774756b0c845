import dgram from 'node:dgram';
import { freeUdpPort } from '../../qemu/free-port.ts';
import { ReplayDivergenceError } from './errors.ts';
import { RecordKind, type Recording } from './format.ts';
import type { ReplayQtestStream } from './replay-stream.ts';
import type { WirePorts } from './wire-tap.ts';

const HOST = '127.0.0.1';

/**
 * QEMU's side of a tapped UDP wire in a replay (REPLAY, no QEMU): the frames the NIC sent to the
 * peer in the recording (kind 7, 'fromNic') go to the scenario's peer as the stream reaches them
 * (`deliver`), and each frame the peer sends must be the next one the recording has it send
 * ('toNic'); another is a divergence. `ports` is the wire the scenario's machine gives its peer.
 */
export class ReplayWire {
  private readonly sent: { bytes: Uint8Array; position: number }[] = [];
  private nextSent = 0;

  private constructor(
    private readonly socket: dgram.Socket,
    readonly ports: WirePorts,
    recording: Recording,
    private readonly stream: ReplayQtestStream,
  ) {
    recording.events.forEach((e, position) => {
      if (e[0] === RecordKind.Wire && e[1] === 'toNic') this.sent.push({ bytes: e[2], position });
    });
    socket.on('message', (msg) => this.fromPeer(msg));
  }

  static async open(recording: Recording, stream: ReplayQtestStream): Promise<ReplayWire> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, HOST, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // Nobody listening yet is what a wire with no peer does: the frame is lost.
    socket.on('error', () => undefined);
    const peerPort = await freeUdpPort(HOST);
    return new ReplayWire(socket, { qemuPort: socket.address().port, peerPort }, recording, stream);
  }

  /** A frame the NIC put on the wire, at its recorded position: to the peer. */
  deliver(bytes: Uint8Array): void {
    this.socket.send(bytes, this.ports.peerPort, HOST);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private fromPeer(msg: Buffer): void {
    const expected = this.sent[this.nextSent];
    if (expected && Buffer.compare(msg, expected.bytes) === 0) {
      this.nextSent++;
      return;
    }
    const position = expected?.position ?? this.stream.position;
    const file = this.stream.file;
    this.stream.diverge(
      new ReplayDivergenceError(
        `replay diverged at event ${position} of ${file}: the scenario's peer sent a ${msg.byteLength}-byte frame ${expected ? `other than the recorded ${expected.bytes.byteLength}-byte frame` : 'the recording does not have'}`,
        { file, position, expected: expected ? Buffer.from(expected.bytes).toString('hex') : undefined, actual: msg.toString('hex'), recent: this.stream.recentBefore(position) },
      ),
    );
  }
}
