/** NDIS_DEVICE_PNP_EVENT: what MiniportDevicePnPEventNotify (NDIS 6) and MiniportPnPEventNotify (NDIS 5.1) are told. */
export const NdisDevicePnPEvent = {
  QueryRemoved: 0,
  Removed: 1,
  /** NdisDevicePnPEventSurpriseRemoved: the device is gone; the miniport must not touch it again. */
  SurpriseRemoved: 2,
  QueryStopped: 3,
  Stopped: 4,
  PowerProfileChanged: 5,
  FilterListChanged: 6,
} as const;
export type NdisDevicePnPEventValue = (typeof NdisDevicePnPEvent)[keyof typeof NdisDevicePnPEvent];

/** NET_DEVICE_PNP_EVENT given to MiniportDevicePnPEventNotify. */
export interface NetDevicePnPEvent {
  portNumber: number;
  devicePnPEvent: NdisDevicePnPEventValue;
  informationBuffer: unknown;
  informationBufferLength: number;
}
