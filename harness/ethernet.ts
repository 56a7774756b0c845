import type { MacAddress } from '../src/test-frames/index.ts';
import { ETHERNET_HEADER_LENGTH, formatMac as formatMacText, tryParseMac } from '../src/util/ethernet.ts';
import { FrameSizeError, HarnessConfigError } from './errors.ts';

export { ETHERNET_HEADER_LENGTH, ETHERTYPE_LOCAL_EXPERIMENTAL, MAX_JUMBO_FRAME_LENGTH } from '../src/util/ethernet.ts';
export type { MacAddress } from '../src/test-frames/index.ts';
/**
 * Shortest frame the peer accepts: an Ethernet header with nothing after it. Never less: one
 * zero-length datagram makes QEMU 7.2's dgram netdev stop reading its socket for good.
 */
export const MIN_FRAME_LENGTH = ETHERNET_HEADER_LENGTH;
/** Longest standard frame without FCS: 1514, plus 4 for an 802.1Q tag. */
export const MAX_FRAME_LENGTH = 1518;
/** The NIC pads shorter frames to this length (without FCS) on receive. */
export const MIN_PADDED_FRAME_LENGTH = 60;

/** Parse "52:54:00:12:34:56" (or with '-') into 6 bytes. */
export function parseMac(text: string): Buffer {
  const bytes = tryParseMac(text);
  if (!bytes) throw new HarnessConfigError(`not a MAC address: ${JSON.stringify(text)}`, { mac: text });
  return Buffer.from(bytes);
}

export function formatMac(bytes: Uint8Array): string {
  if (bytes.length !== 6) throw new HarnessConfigError('a MAC address is 6 bytes', { length: bytes.length });
  return formatMacText(bytes);
}

export function macBytes(mac: MacAddress): Buffer {
  if (typeof mac === 'string') return parseMac(mac);
  if (mac.length !== 6) throw new HarnessConfigError('a MAC address is 6 bytes', { length: mac.length });
  return Buffer.from(mac);
}

/** Throws FrameSizeError unless MIN_FRAME_LENGTH <= length <= maxLength. */
export function checkFrameSize(frame: Uint8Array, maxLength: number): void {
  if (frame.length < MIN_FRAME_LENGTH || frame.length > maxLength) {
    throw new FrameSizeError(`frame of ${frame.length} bytes is outside ${MIN_FRAME_LENGTH}..${maxLength}`, { length: frame.length, min: MIN_FRAME_LENGTH, max: maxLength });
  }
}
