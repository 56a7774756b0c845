import type { InterruptThrottle, PacketFilter } from './nic.ts';

/**
 * The e1000 driver's settings that the hardware layer, the shared miniport core and every framework
 * variant take — what a Windows driver reads from its registry keywords. Declared once here; each
 * options type extends it or picks the ones it uses.
 */
export interface E1000Settings {
  /** TX descriptors (multiple of 8). Default 256. */
  txRingSize?: number;
  /** RX descriptors (multiple of 8). Default 256. */
  rxRingSize?: number;
  /**
   * Frames per receive indication (one NdisMIndicateReceiveNetBufferLists or
   * NdisMIndicateReceivePacket call; KMDF: read requests completed per pass). Default 64.
   */
  receiveBatch?: number;
  /**
   * Frames one DPC indicates at most: past it the DPC queues itself again if a full batch is still
   * waiting, and otherwise stops polling the ring and re-enables interrupts. Default 1024.
   */
  receiveBudget?: number;
  /**
   * Interrupt moderation written at initialisation (ITR, RDTR, RADV, TIDV, TADV). Giving one (or
   * setting one later) turns adaptive moderation off. Default none.
   */
  throttle?: InterruptThrottle;
  /** Station address to use instead of the EEPROM's (the NetworkAddress keyword). */
  mac?: string;
  /** Receive filter at initialisation (before a protocol sets one). Default: our address and broadcasts. */
  filter?: PacketFilter;
}

/** The two ring sizes, for the layers that take only those. */
export type E1000RingSettings = Pick<E1000Settings, 'txRingSize' | 'rxRingSize'>;
