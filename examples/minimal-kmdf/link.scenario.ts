/**
 * The minimal KMDF driver on QEMU's e1000: it reports the MAC QEMU was given, the link is up,
 * and a link flap (QMP set_link) goes through its EvtInterruptIsr and EvtInterruptDpc to two link reports — with the
 * lockset verifier in stop mode, so a register or field touched outside its lock would stop it.
 *
 *   npx dirql run examples/minimal-kmdf/link.scenario.ts
 */
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { defineScenario } from 'dirql/scenario';

const MAC = '52:54:00:00:00:62';

export default defineScenario({
  name: 'minimal KMDF e1000: MAC, link, a link flap through its ISR and DPC',
  host: { driver: fileURLToPath(new URL('./driver.ts', import.meta.url)), mac: MAC, verifier: { lockset: 'stop' } },
  timeoutMs: 30_000,
  async run({ host, signal, log }) {
    if (host.mac !== MAC) throw new Error(`the driver reported MAC ${host.mac}, QEMU was given ${MAC}`);
    if (!host.linkUp) throw new Error('the link is down after initialisation');
    const before = host.calls();
    for (const up of [false, true]) {
      const indicated = once(host, 'link', { signal });
      await host.machine.qmp.execute('set_link', { name: 'nic0', up });
      const [event] = (await indicated) as [{ up: boolean }];
      if (event.up !== up) throw new Error(`set_link ${up ? 'on' : 'off'} was indicated as link ${event.up ? 'up' : 'down'}`);
    }
    // KMDF keeps no DPC count the host can read; the link reports come from EvtInterruptDpc.
    const isrs = host.calls().isr - before.isr;
    if (isrs < 2) throw new Error(`two link changes took ${isrs} ISRs (at least 2 expected)`);
    log(`MAC ${host.mac}; link down and up again through ${isrs} ISRs and their DPCs`);
  },
});
