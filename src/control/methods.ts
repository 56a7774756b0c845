/**
 * Conventional control methods and topics: the names `scripts/dirqlctl.ts` calls and the shapes it
 * sends. The host composition registers handlers under these names (others are free to add more);
 * a method the host lacks is answered with ControlUnknownMethodError listing what it has.
 */
export const ControlMethods = {
  /** () → any host status record (machine, driver state, link). */
  status: 'status',
  /** () → counters record (driver, NIC, kernel, ring). */
  stats: 'stats',
  /** LinkParams → result of setting the link (QMP set_link underneath). */
  link: 'link',
  /** SendParams → what was sent (the driver transmits `count` test frames of `size` bytes). */
  send: 'send',
  /** () → SurpriseRemoval: eject the NIC under the driver and run its removal path; the host stays up. */
  surpriseRemove: 'surprise-remove',
} as const;

export interface LinkParams {
  up: boolean;
}

export interface SendParams {
  /** Frame length in bytes, without the 4 CRC bytes (60..1514 for a standard frame). */
  size: number;
  count: number;
}

export const ControlTopics = {
  /** Link state changes: { up: boolean, ... }. */
  link: 'link',
  /** A bug check stopped the driver: the report (code, parameters, processor, IRQL, trace). */
  bugcheck: 'bugcheck',
  /** QEMU went away under the driver: the DIRQL_DEVICE_LOST report (QEMU's signal or exit code, stderr tail). */
  deviceLost: 'device-lost',
  /** QEMU stopped reading its netdev while the NIC had room: the NetdevStall (bytes waiting, drops, free descriptors). */
  netdevStalled: 'netdev-stalled',
  /** The NIC was surprise-removed under the driver and its removal path ran: the SurpriseRemoval (callbacks, IRQLs). */
  surpriseRemoved: 'surprise-removed',
  /** The host's counters (the `stats` method's record), once a second while anyone watches. */
  stats: 'stats',
} as const;
