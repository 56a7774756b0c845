import { FrameSizeError, HarnessConfigError } from './errors.ts';

/** Destination MAC, source MAC, EtherType. */
export const ETHERNET_HEADER_LENGTH = 14;
/** Shortest frame the peer accepts: an Ethernet header with nothing after it. */
export const MIN_FRAME_LENGTH = ETHERNET_HEADER_LENGTH;
/** Longest standard frame without FCS: 1514, plus 4 for an 802.1Q tag. */
export const MAX_FRAME_LENGTH = 1518;
/** Longest frame with jumbo frames allowed: a 9000-byte MTU plus header and tag. */
export const MAX_JUMBO_FRAME_LENGTH = 9018;
/** The NIC pads shorter frames to this length (without FCS) on receive. */
export const MIN_PADDED_FRAME_LENGTH = 60;
/** IEEE 802 "local experimental" EtherType 1: nobody else's traffic uses it. */
export const ETHERTYPE_LOCAL_EXPERIMENTAL = 0x88b5;

/** Parse "52:54:00:12:34:56" (or with '-') into 6 bytes. */
export function parseMac(text: string): Buffer {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new HarnessConfigError(`not a MAC address: ${JSON.stringify(text)}`, { mac: text });
  }
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(bytes: Uint8Array): string {
  if (bytes.length !== 6) throw new HarnessConfigError('a MAC address is 6 bytes', { length: bytes.length });
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A MAC given either as text or as 6 bytes. */
export type MacAddress = string | Uint8Array;

export function macBytes(mac: MacAddress): Buffer {
  if (typeof mac === 'string') return parseMac(mac);
  if (mac.length !== 6) throw new HarnessConfigError('a MAC address is 6 bytes', { length: mac.length });
  return Buffer.from(mac);
}

/** Throws FrameSizeError unless MIN_FRAME_LENGTH <= length <= maxLength. */
export function checkFrameSize(frame: Uint8Array, maxLength: number): void {
  if (frame.length < MIN_FRAME_LENGTH || frame.length > maxLength) {
    throw new FrameSizeError(
      `frame of ${frame.length} bytes is outside ${MIN_FRAME_LENGTH}..${maxLength}`,
      { length: frame.length, min: MIN_FRAME_LENGTH, max: maxLength },
    );
  }
}
