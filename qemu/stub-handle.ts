import type { EventEmitter } from 'node:events';
import type { QmpClient } from '../src/transport/qmp-client.ts';
import type { QtestClient } from '../src/transport/qtest-client.ts';
import type { DeviceStubEvents, QemuExit, StubTimings } from './device-stub.ts';
import type { GuestRamFile } from './guest-ram-file.ts';
import type { ResolvedStubConfig } from './stub-config.ts';

/**
 * What the machine needs of the QEMU it drives, whoever started it: the host's own child
 * (DeviceStub) or a QEMU a launcher started that the host attached to (src/platform/attach.ts).
 * 'exit' fires once when QEMU goes away; `expected` is true when stop() asked for it.
 */
export interface MachineStub extends EventEmitter<DeviceStubEvents> {
  readonly config: ResolvedStubConfig;
  /** Where QEMU's sockets are (a spawned stub's private dir; the launcher's shared dir when attached). */
  readonly dir: string;
  readonly ram: GuestRamFile | undefined;
  readonly qtest: QtestClient;
  readonly qmp: QmpClient;
  /** QEMU's pid, when it is in this host's pid namespace (undefined when attached across containers). */
  readonly pid: number | undefined;
  readonly wire: { qemuPort: number; peerPort: number } | undefined;
  readonly timings: StubTimings;
  readonly exit: QemuExit | undefined;
  /** Resolves when QEMU has gone (for an attached stub: when the launcher said so, or the connection closed). */
  readonly exited: Promise<QemuExit>;
  /** Turns a lost-connection error into QemuExitedError (see DeviceStub.explain). */
  explain(err: unknown, waitMs?: number): Promise<unknown>;
  explainNow(err: unknown): unknown;
  /** Idempotent. A spawned stub stops QEMU; an attached one lets go of it (its launcher stops it). */
  stop(): Promise<void>;
}
