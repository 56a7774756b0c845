import { describe, expect, it } from 'vitest';
import { describeNetdev, NetdevError, parseNetdev, stubNetdev } from '../../../src/host/netdev.ts';

describe('--netdev values', () => {
  it('reads dgram, user and tap:<ifname>', () => {
    expect(parseNetdev('dgram')).toEqual({ kind: 'dgram' });
    expect(parseNetdev('user')).toEqual({ kind: 'user' });
    expect(parseNetdev('tap:dqtap0')).toEqual({ kind: 'tap', ifname: 'dqtap0' });
  });

  it('refuses an unknown kind, a tap without its name and an argument where none is taken', () => {
    expect(() => parseNetdev('socket')).toThrow(NetdevError);
    expect(() => parseNetdev('socket')).toThrow(/unknown netdev kind "socket"/);
    expect(() => parseNetdev('tap')).toThrow(/needs the tap interface name/);
    expect(() => parseNetdev('tap:')).toThrow(/needs the tap interface name/);
    expect(() => parseNetdev('user:x')).toThrow(/takes no argument/);
  });
});

describe("the device stub's netdev", () => {
  it('is dgram by default, with the ports given either way', async () => {
    expect(await stubNetdev(undefined, undefined, 'qemu-system-x86_64')).toEqual({ kind: 'dgram' });
    expect(await stubNetdev(undefined, { qemuPort: 5000 }, 'qemu-system-x86_64')).toEqual({ kind: 'dgram', qemuPort: 5000 });
    expect(await stubNetdev({ kind: 'dgram', peerPort: 6000 }, undefined, 'qemu-system-x86_64')).toEqual({ kind: 'dgram', peerPort: 6000 });
  });

  it('makes the user netdev restricted unless told otherwise, options after it', async () => {
    expect(await stubNetdev({ kind: 'user' }, undefined, 'qemu-system-x86_64')).toEqual({ kind: 'user', options: ['restrict=on'] });
    expect(await stubNetdev({ kind: 'user', restrict: false, options: ['hostfwd=udp::5555-:5555'] }, undefined, 'qemu-system-x86_64')).toEqual({
      kind: 'user',
      options: ['restrict=off', 'hostfwd=udp::5555-:5555'],
    });
    await expect(stubNetdev({ kind: 'user', options: ['restrict=off'] }, undefined, 'qemu-system-x86_64')).rejects.toThrow(/restrict field/);
  });

  it('says so when QEMU has no user netdev', async () => {
    // `true` prints no backend list at all: as a QEMU built without slirp, and every other backend, would look.
    await expect(stubNetdev({ kind: 'user' }, undefined, 'true')).rejects.toThrow(/true has no user netdev: it was built without slirp/);
  });

  it('refuses a tap that does not exist, a device that is no tap, a bad name, and wire ports with another kind', async () => {
    await expect(stubNetdev({ kind: 'tap', ifname: 'dqnosuch9' }, undefined, 'qemu-system-x86_64')).rejects.toThrow(/tap interface dqnosuch9 does not exist/);
    await expect(stubNetdev({ kind: 'tap', ifname: 'lo' }, undefined, 'qemu-system-x86_64')).rejects.toThrow(/lo is not a tap interface/);
    await expect(stubNetdev({ kind: 'tap', ifname: 'a,b' }, undefined, 'qemu-system-x86_64')).rejects.toThrow(NetdevError);
    await expect(stubNetdev({ kind: 'user' }, { peerPort: 5000 }, 'qemu-system-x86_64')).rejects.toThrow(/wire ports are for the dgram netdev/);
    await expect(stubNetdev({ kind: 'vde' } as never, undefined, 'qemu-system-x86_64')).rejects.toThrow(/unknown netdev kind "vde"/);
  });

  it('describes each kind in one line', () => {
    expect(describeNetdev({ kind: 'dgram', qemuPort: 5000, peerPort: 6000 })).toBe('QEMU udp 127.0.0.1:5000 <-> peer 127.0.0.1:6000');
    expect(describeNetdev({ kind: 'user', options: ['restrict=on'] })).toBe('QEMU user network (slirp, restrict=on)');
    expect(describeNetdev({ kind: 'tap', ifname: 'dqtap0' })).toBe('tap dqtap0');
  });
});
