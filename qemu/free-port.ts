import dgram from 'node:dgram';

/**
 * A UDP port on 127.0.0.1 that was free a moment ago (bound to port 0, read, released).
 * Someone else may take it before QEMU binds it; QEMU then fails to start with a clear error.
 */
export async function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  const socket = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => resolve());
    });
    return socket.address().port;
  } finally {
    socket.close();
  }
}
