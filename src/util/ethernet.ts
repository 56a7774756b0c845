/** Ethernet sizes and addresses, for every layer that builds or reads frames. */
import { InvalidArgumentError } from './errors.ts';

/** Destination MAC, source MAC, EtherType. */
export const ETHERNET_HEADER_LENGTH = 14;
/** Longest frame with jumbo frames allowed: a 9000-byte MTU plus header and 802.1Q tag. */
export const MAX_JUMBO_FRAME_LENGTH = 9018;
/** IEEE 802 "local experimental" EtherType 1: nobody else's traffic uses it. */
export const ETHERTYPE_LOCAL_EXPERIMENTAL = 0x88b5;

const MAC_TEXT = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

/**
 * "52:54:00:12:34:56" (or with '-') as 6 bytes, or undefined when it is not one. Callers throw
 * their own typed error, with their context (a config key, an OID, a peer option).
 */
export function tryParseMac(text: string): Uint8Array | undefined {
  if (typeof text !== 'string' || !MAC_TEXT.test(text)) return undefined;
  return Uint8Array.from(text.split(/[:-]/), (p) => Number.parseInt(p, 16));
}

/** The first 6 bytes as lower-case, colon-separated text. */
export function formatMac(bytes: Uint8Array): string {
  if (bytes.length < 6) throw new InvalidArgumentError('a MAC address is 6 bytes', { length: bytes.length });
  return Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The group bit: least significant bit of the first byte (the first bit on the wire). */
export function isMulticastMac(bytes: Uint8Array): boolean {
  return (bytes[0]! & 1) === 1;
}
