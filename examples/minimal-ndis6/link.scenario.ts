/**
 * The minimal NDIS 6 driver on QEMU's e1000: it reports the MAC QEMU was given, the link is up,
 * and a link flap (QMP set_link) goes through its ISR and DPC to two link indications — with the
 * lockset verifier in stop mode, so a register or field touched outside its lock would stop it.
 *
 *   npx dirql run examples/minimal-ndis6/link.scenario.ts
 */
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { defineScenario } from 'dirql/scenario';

const MAC = '52:54:00:00:00:61';

export default defineScenario({
  name: 'minimal NDIS 6 e1000: MAC, link, a link flap through its ISR and DPC',
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
    const after = host.calls();
    if (after.isr - before.isr < 2 || after.dpc - before.dpc < 2) {
      throw new Error(`two link changes took ${after.isr - before.isr} ISRs and ${after.dpc - before.dpc} DPCs (at least 2 each expected)`);
    }
    log(`MAC ${host.mac}; link down and up again through ${after.isr - before.isr} ISRs and ${after.dpc - before.dpc} DPCs`);
  },
});
