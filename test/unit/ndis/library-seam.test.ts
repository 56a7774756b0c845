import { afterEach, describe, expect, it } from 'vitest';
import { Ndis5, type Ndis5Library } from '../../../src/ndis/ndis5/index.ts';
import { Ndis6, type Ndis6Library } from '../../../src/ndis/ndis6/index.ts';
import { makeKernelRig, type KernelRig } from './fakes.ts';

// What only the host may use: NDIS calling the miniport, and NDIS' own bookkeeping and events.
// `satisfies` proves each name is a member of the whole facade (so the checks below are not vacuous);
// tsc, not vitest, checks the types.
const HOST6 = [
  'initializeMiniport',
  'restartMiniport',
  'pauseMiniport',
  'haltMiniport',
  'shutdownMiniport',
  'bindProtocol',
  'sendNetBufferLists',
  'returnNetBufferLists',
  'oidRequest',
  'queryInformation',
  'setInformation',
  'disableInterrupt',
  'enableInterrupt',
  'drivers',
  'adapters',
  'on',
  'emit',
] as const satisfies readonly (keyof Ndis6)[];
const HOST5 = [
  'initializeMiniport',
  'haltMiniport',
  'bindProtocol',
  'sendPackets',
  'returnPacket',
  'queryInformation',
  'setInformation',
  'informationRequest',
  'drivers',
  'adapters',
  'on',
  'emit',
] as const satisfies readonly (keyof Ndis5)[];

/** True only when no host-side name is a member of the type a miniport is given. */
type NoneOf<Library, Names> = [Extract<keyof Library, Names>] extends [never] ? true : false;
const noHost6: NoneOf<Ndis6Library, (typeof HOST6)[number]> = true;
const noHost5: NoneOf<Ndis5Library, (typeof HOST5)[number]> = true;

let rig: KernelRig | undefined;
afterEach(async () => {
  await rig?.cleanup();
  rig = undefined;
});

describe('the NDIS library a miniport is given, and the host side it is not', () => {
  it('NDIS 6: the host hands the whole Ndis6 over as an Ndis6Library; the host side stays on Ndis6 only', () => {
    rig = makeKernelRig();
    const ndis = new Ndis6(rig.kernel);
    const library: Ndis6Library = ndis;
    expect(library).toBe(ndis);
    expect(noHost6).toBe(true);
    for (const name of HOST6) expect(ndis[name], name).toBeDefined();
  });

  it('NDIS 5: the same for Ndis5 and Ndis5Library', () => {
    rig = makeKernelRig();
    const ndis = new Ndis5(rig.kernel);
    const library: Ndis5Library = ndis;
    expect(library).toBe(ndis);
    expect(noHost5).toBe(true);
    for (const name of HOST5) expect(ndis[name], name).toBeDefined();
  });
});
