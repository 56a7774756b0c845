import { describe, expect, it } from 'vitest';
import type { DeviceRegisters } from '../../../src/kernel/index.ts';
import { NdisAdapterHandle } from '../../../src/ndis/common/adapter-handle.ts';
import { Ndis5Adapter, type Ndis5Driver } from '../../../src/ndis/ndis5/index.ts';
import { MiniportAdapter, type AdapterResources, type MiniportDriver } from '../../../src/ndis/ndis6/index.ts';

const registers = {} as DeviceRegisters;
const resources = (name?: string) => ({ ...(name === undefined ? {} : { name }) }) as AdapterResources;

describe('MiniportAdapterHandle identity (NDIS 5 and NDIS 6 alike)', () => {
  it('numbers adapters per facade and names them after their resources, else adapter<id>', () => {
    const a6 = new MiniportAdapter({} as MiniportDriver, resources(), registers);
    const b6 = new MiniportAdapter({} as MiniportDriver, resources('nic0'), registers);
    const a5 = new Ndis5Adapter({} as Ndis5Driver, resources(), registers);
    const b5 = new Ndis5Adapter({} as Ndis5Driver, resources(), registers);
    expect(b6.id).toBe(a6.id + 1);
    expect(b5.id).toBe(a5.id + 1);
    expect(a6.name).toBe(`adapter${a6.id}`);
    expect(b6.name).toBe('nic0');
    expect(b5.name).toBe(`adapter${b5.id}`);
    expect(a5.resources).toEqual({});
    expect(a5.registers).toBe(registers);
  });

  it('starts initializing and reports halted only in the halted state', () => {
    const driver = {} as MiniportDriver;
    const adapter = new MiniportAdapter(driver, resources(), registers);
    const legacy = new Ndis5Adapter({} as Ndis5Driver, resources(), registers);
    expect(adapter.driver).toBe(driver);
    expect(adapter.state).toBe('initializing');
    expect(legacy.state).toBe('initializing');
    adapter.state = 'halting';
    expect(adapter.halted).toBe(false);
    adapter.state = 'halted';
    legacy.state = 'halted';
    expect(adapter.halted).toBe(true);
    expect(legacy.halted).toBe(true);
  });

  it('an NDIS 5 adapter is not an NDIS 6 one (the facades tell their handles apart)', () => {
    const legacy = new Ndis5Adapter({} as Ndis5Driver, resources(), registers);
    expect(legacy).toBeInstanceOf(NdisAdapterHandle);
    expect(legacy).not.toBeInstanceOf(MiniportAdapter);
  });
});
