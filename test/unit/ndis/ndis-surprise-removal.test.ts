import { afterEach, describe, expect, it } from 'vitest';
import { NdisDevicePnPEvent, NdisHaltAction, type NdisHaltActionValue } from '../../../src/ndis/ndis6/index.ts';
import { LINE } from './fakes.ts';
import { makeNdis5Rig, type Ndis5Rig } from './ndis5-miniport.ts';
import { makeNdis6Rig, type Ndis6Rig } from './ndis6-miniport.ts';

let rig: Ndis6Rig | Ndis5Rig | undefined;
afterEach(async () => rig?.cleanup());

describe('NDIS surprise removal', () => {
  it('NDIS 6: MiniportDevicePnPEventNotify(NdisDevicePnPEventSurpriseRemoved) at PASSIVE_LEVEL, then MiniportPause and MiniportHaltEx(NdisHaltDeviceSurpriseRemoved)', async () => {
    const r = makeNdis6Rig();
    rig = r;
    const seen: string[] = [];
    const halts: NdisHaltActionValue[] = [];
    const driver = r.ndis.registerMiniportDriver({
      ...r.chars,
      name: 'removable',
      devicePnPEventNotifyHandler: (_ctx, ev) => {
        seen.push(`notify ${ev.devicePnPEvent} at ${r.kernel.currentIrql()}`);
      },
      haltHandlerEx: (ctx, action) => {
        halts.push(action);
        return r.chars.haltHandlerEx(ctx, action);
      },
    });
    const adapter = await r.ndis.initializeMiniport(driver, { registers: r.nic, interrupt: { line: LINE }, name: 'nic1' }, { binding: r.binding });
    const before = r.ndis.pnpCalls.length;
    await r.ndis.surpriseRemoveMiniport(adapter);
    expect(seen).toEqual([`notify ${NdisDevicePnPEvent.SurpriseRemoved} at 0`]);
    expect(halts).toEqual([NdisHaltAction.DeviceSurpriseRemoved]);
    expect(r.ndis.pnpCalls.slice(before)).toEqual([
      { handler: 'MiniportDevicePnPEventNotify', irql: 0 },
      { handler: 'MiniportPause', irql: 0 },
      { handler: 'MiniportHaltEx', irql: 0 },
    ]);
    expect(adapter.state).toBe('halted');
    await expect(r.ndis.surpriseRemoveMiniport(adapter)).rejects.toThrow(/already halted/);
  });

  it('NDIS 5: MiniportPnPEventNotify(NdisDevicePnPEventSurpriseRemoved) at PASSIVE_LEVEL, then MiniportHalt', async () => {
    const r = makeNdis5Rig();
    rig = r;
    const seen: string[] = [];
    const driver = r.ndis.registerMiniport({
      ...r.chars,
      name: 'removable5',
      pnpEventNotifyHandler: (_ctx, event) => {
        seen.push(`notify ${event} at ${r.kernel.currentIrql()}`);
      },
    });
    const adapter = await r.ndis.initializeMiniport(driver, { registers: r.nic, interrupt: { line: LINE }, name: 'nic5b' }, { binding: r.binding });
    const before = r.ndis.pnpCalls.length;
    await r.ndis.surpriseRemoveMiniport(adapter);
    expect(seen).toEqual([`notify ${NdisDevicePnPEvent.SurpriseRemoved} at 0`]);
    expect(r.ndis.pnpCalls.slice(before)).toEqual([
      { handler: 'MiniportPnPEventNotify', irql: 0 },
      { handler: 'MiniportHalt', irql: 0 },
    ]);
    expect(adapter.state).toBe('halted');
  });
});
