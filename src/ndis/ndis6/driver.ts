import type { MiniportAdapter } from './adapter.ts';
import type { MiniportDriverCharacteristics } from './types.ts';

let nextDriverId = 1;

/** NDIS_HANDLE NdisMiniportDriverHandle returned by NdisMRegisterMiniportDriver. */
export class MiniportDriver {
  readonly id = nextDriverId++;
  readonly name: string;
  readonly characteristics: Readonly<MiniportDriverCharacteristics>;
  /** MiniportDriverContext given at registration; passed to MiniportInitializeEx. */
  readonly driverContext: unknown;
  readonly adapters = new Set<MiniportAdapter>();
  deregistered = false;

  constructor(characteristics: MiniportDriverCharacteristics, driverContext: unknown) {
    this.characteristics = Object.freeze({ ...characteristics });
    this.driverContext = driverContext;
    this.name = characteristics.name ?? `miniport${this.id}`;
  }
}
