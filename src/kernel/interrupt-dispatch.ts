import { Activation, activationStore } from './activation.ts';
import { BugCheckCode, VerifierViolation } from './bugcheck.ts';
import type { KernelCore } from './core.ts';
import { dequeueDpc } from './dpc-queue.ts';
import { KernelError } from './errors.ts';
import { DEFAULT_DIRQL, Irql, irqlName, isDeviceIrql } from './irql.ts';
import { InterruptObject, type ConnectInterruptOptions } from './interrupt.ts';
import { setIrql } from './irql-control.ts';
import type { Processor } from './processor.ts';
import { newLockId, releaseLock } from './locks.ts';
import { runAtPassive } from './routines.ts';
import { acquireInterruptLockFor } from './synchronize.ts';
import { isThenable } from './thenable.ts';
import { verifierCheck } from './timing-checks.ts';

/** One interrupt line and the interrupt objects connected to it (a shared line has several). */
interface LineState {
  readonly line: number;
  objects: InterruptObject[];
  readonly dirql: number;
  readonly passive: boolean;
  /** Being serviced (the line is masked at the interrupt controller until the ISRs are done). */
  inService: boolean;
  /** Trace texts, built once per line rather than per interrupt. */
  readonly text: { raised: string; lowered: string; taken: string };
}

/**
 * The interrupt controller and the kernel's interrupt dispatch: which line is pending for which
 * processor, calling the ISRs of a line in turn, level-triggered re-entry, storm detection,
 * passive-level interrupts, disconnect.
 */
export class InterruptController {
  private readonly table = new Map<number, LineState>();
  private lineList: LineState[] = [];
  private readonly kernel: KernelCore;

  constructor(kernel: KernelCore) {
    this.kernel = kernel;
  }

  get connected(): InterruptObject[] {
    return this.lineList.flatMap((l) => l.objects);
  }

  connect(opts: ConnectInterruptOptions): InterruptObject {
    const k = this.kernel;
    const passive = opts.passive ?? false;
    const irql = passive ? Irql.PASSIVE_LEVEL : (opts.irql ?? DEFAULT_DIRQL);
    const synchronizeIrql = passive ? Irql.PASSIVE_LEVEL : (opts.synchronizeIrql ?? irql);
    if (!Number.isInteger(opts.line) || opts.line < 0) throw new KernelError(`invalid interrupt line ${opts.line}`, { line: opts.line });
    if (typeof opts.isr !== 'function') throw new KernelError('connectInterrupt needs an ISR function', { line: opts.line });
    if (!passive && !isDeviceIrql(irql)) throw new KernelError(`DIRQL must be ${Irql.DEVICE_LEVEL_MIN}..${Irql.DEVICE_LEVEL_MAX}, got ${irql}`, { line: opts.line, irql });
    if (!passive && (synchronizeIrql < irql || synchronizeIrql > Irql.HIGH_LEVEL)) {
      throw new KernelError(`synchronize IRQL ${synchronizeIrql} must be between the DIRQL ${irql} and HIGH_LEVEL`, { line: opts.line, irql });
    }
    for (const p of opts.processors ?? []) {
      if (!Number.isInteger(p) || p < 0 || p >= k.processors.length) throw new KernelError(`interrupt affinity names processor ${p}, which does not exist`, { line: opts.line });
    }
    if (opts.processors && opts.processors.length === 0) throw new KernelError('interrupt affinity is empty', { line: opts.line });
    const state = this.table.get(opts.line);
    const shareVector = opts.shareVector ?? true;
    if (state) {
      if (!shareVector || state.objects.some((o) => !o.shareVector)) throw new KernelError(`line ${opts.line} is already connected and not shared`, { line: opts.line });
      if (state.passive !== passive || state.dirql !== irql) {
        throw new KernelError(`line ${opts.line} is connected at ${irqlName(state.dirql)}${state.passive ? ' (passive)' : ''}; a shared interrupt must use the same level`, {
          line: opts.line,
          irql,
        });
      }
    }
    const obj = new InterruptObject(
      {
        line: opts.line,
        isr: opts.isr,
        context: opts.context,
        irql,
        synchronizeIrql,
        passive,
        shareVector,
        name: opts.name ?? (opts.isr.name || `Isr#line${opts.line}`),
        processors: opts.processors,
        dpcs: opts.dpcs,
      },
      (o, withDpcs) => this.disconnect(o, withDpcs),
      newLockId(k),
    );
    if (state) state.objects = [...state.objects, obj];
    else {
      const text = { raised: `line ${opts.line} raised`, lowered: `line ${opts.line} lowered`, taken: `line ${opts.line} taken at ${irqlName(irql)}` };
      const fresh: LineState = { line: opts.line, objects: [obj], dirql: irql, passive, inService: false, text };
      this.table.set(opts.line, fresh);
      this.lineList = [...this.lineList, fresh];
    }
    k.lockset?.interruptConnected(obj.lock);
    k.trace.record('irq', `connected ${obj.name} to line ${obj.line} at ${irqlName(irql)}`);
    this.kick(this.table.get(opts.line)!);
    return obj;
  }

  /** A level change reported by the line source. Lines nobody connected (the PIT's IRQ 0) are ignored. */
  onLineChange(line: number, asserted: boolean): void {
    const st = this.table.get(line);
    if (!st) return;
    this.kernel.trace.record('irq', asserted ? st.text.raised : st.text.lowered);
    if (asserted) this.kick(st);
    this.kernel.scheduler.wake();
  }

  /** Is an asserted line waiting for `P` (its DIRQL above `irql`, P in its affinity)? */
  hasDeliverable(P: Processor, irql: number): boolean {
    for (const st of this.lineList) if (this.deliverable(st, P, irql)) return true;
    return false;
  }

  /** The highest-DIRQL line `P` should take now, or null. */
  pickLine(P: Processor, irql: number): LineState | null {
    let best: LineState | null = null;
    for (const st of this.lineList) if (this.deliverable(st, P, irql) && (!best || st.dirql > best.dirql)) best = st;
    return best;
  }

  /** Some connected line is asserted or being serviced (quiesce waits for it). */
  anyPending(): boolean {
    const lines = this.kernel.lineSource;
    for (const st of this.lineList) if (st.inService || (lines?.isAsserted(st.line) && st.objects.length > 0)) return true;
    return false;
  }

  private deliverable(st: LineState, P: Processor, irql: number): boolean {
    if (st.passive || st.inService || st.dirql <= irql || st.objects.length === 0) return false;
    if (!this.kernel.lineSource?.isAsserted(st.line)) return false;
    return st.objects.some((o) => o.mayRunOn(P.index));
  }

  /** Line asserted: have an eligible processor take it (idle ones first), or start the passive worker. */
  private kick(st: LineState): void {
    const k = this.kernel;
    if (k.stopped || st.inService || !k.lineSource?.isAsserted(st.line)) return;
    if (st.passive) {
      this.startPassiveWorker(st);
      return;
    }
    const eligible = k.processors.filter((P) => this.deliverable(st, P, P.irql));
    const idle = eligible.filter((P) => P.idle);
    const targets = idle.length ? idle : eligible;
    // The first processor asked takes the line; the explorer may choose which.
    const first =
      targets.length > 1 && k.schedule !== null
        ? k.schedule.decide(
            'isr-processor',
            targets.map((P) => `processor ${P.index}`),
          )
        : 0;
    for (let i = 0; i < targets.length; i++) k.requestService(targets[(first + i) % targets.length]!);
  }

  /** Take line `st` on processor `P`: one ISR activation at DIRQL nested on whatever P was running. */
  async dispatch(P: Processor, st: LineState): Promise<void> {
    const k = this.kernel;
    st.inService = true;
    const act = new Activation('isr', P, st.dirql, `interrupt line ${st.line}`);
    P.nested.push(act);
    P.noteIrql();
    k.trace.record('isr', st.text.taken, P.index);
    try {
      await activationStore.run(act, () => this.serviceLine(act, st));
    } finally {
      act.ended = true;
      const i = P.nested.lastIndexOf(act);
      if (i >= 0) P.nested.splice(i, 1);
      st.inService = false;
      P.noteIrql();
      k.scheduler.wake();
      if (!k.stopped) this.kick(st);
    }
  }

  /**
   * Ask each ISR of the line in turn until one recognises the interrupt; then, after settle(), if
   * the level line is still asserted, go round again (level-triggered). Rounds in which every ISR
   * says "not mine" while the line stays asserted count towards HARDWARE_INTERRUPT_STORM.
   */
  private async serviceLine(act: Activation, st: LineState): Promise<void> {
    const k = this.kernel;
    let unclaimed = 0;
    for (;;) {
      let claimed = false;
      const objects = st.objects;
      for (const obj of objects) {
        if (obj.disconnected) continue;
        if (await this.callIsr(act, obj)) {
          claimed = true;
          break;
        }
      }
      const settling = k.quiescence.settleLine(st.line);
      if (settling) await settling;
      if (k.stopped) throw k.stopped;
      if (st.objects.length === 0 || !k.lineSource?.isAsserted(st.line)) return;
      if (claimed) unclaimed = 0;
      else if (++unclaimed >= k.limits.interruptStormThreshold) {
        const first = st.objects[0]!;
        k.bugCheck(BugCheckCode.HARDWARE_INTERRUPT_STORM, first.id, 0, first.id, st.objects.length > 1 ? 2 : 1, {
          message: `line ${st.line} stayed asserted through ${unclaimed} rounds in which no ISR (${st.objects.map((o) => o.name).join(', ')}) recognised the interrupt`,
        });
      }
      const p = k.preempt(act, true);
      if (p) await p;
    }
  }

  /** One ISR call: at its synchronize IRQL, holding its interrupt lock (spinning if another processor holds it). */
  private async callIsr(act: Activation, obj: InterruptObject): Promise<boolean> {
    const k = this.kernel;
    const base = act.irql;
    obj.activeCalls++;
    try {
      if (obj.synchronizeIrql > base) setIrql(k, act, obj.synchronizeIrql);
      const expected = act.irql;
      const locking = acquireInterruptLockFor(k, act, obj);
      if (locking) await locking;
      const start = performance.now();
      const rec = { name: obj.name, irql: act.irql, since: start };
      act.routines.push(rec);
      obj.calls++;
      if (k.observer) k.observer.routineEntered(act, 'isr', rec);
      let result: boolean;
      try {
        const r = obj.isr(obj, obj.context);
        result = (isThenable(r) ? await r : r) === true;
      } catch (err) {
        throw k.stops.routineFailed(act, err);
      } finally {
        act.routines.pop();
        if (k.observer) k.observer.routineReturned(act, rec);
        if (obj.lock.owner === act) releaseLock(k, obj.lock);
      }
      if (act.irql !== expected) {
        // Driver Verifier's ISR wrapper (0xC4/0x111) catches it before the kernel's own 0xC8/3.
        k.bugCheck(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, VerifierViolation.ISR_CHANGED_IRQL, obj.id, expected, act.irql, {
          message: `ISR ${obj.name} returned at IRQL ${act.irql} instead of ${expected}`,
        });
      }
      if (result) obj.recognized++;
      verifierCheck(k, 'isr', obj.name, (performance.now() - start) * 1000, act, obj.id);
      if (act.irql !== base) setIrql(k, act, base);
      return result;
    } finally {
      obj.activeCalls--;
      k.scheduler.wake();
    }
  }

  /** Passive-level interrupt: the line stays masked while a system worker thread runs the ISRs at PASSIVE_LEVEL. */
  private startPassiveWorker(st: LineState): void {
    const k = this.kernel;
    st.inService = true;
    runAtPassive(k, `passive interrupt line ${st.line}`, () => this.serviceLine(k.current()!, st))
      .catch(() => {
        // Already a bug check (runAtPassive turns every failure into one); nothing more to report.
      })
      .finally(() => {
        st.inService = false;
        k.scheduler.wake();
        if (!k.stopped) this.kick(st);
      });
  }

  /** IoDisconnectInterruptEx; `withDpcs`: the frameworks' deregistration, which also removes and waits for the associated DPCs. */
  async disconnect(obj: InterruptObject, withDpcs: boolean): Promise<void> {
    const k = this.kernel;
    const act = k.current();
    if (act && !act.ended) {
      k.requireIrql('IoDisconnectInterruptEx', Irql.PASSIVE_LEVEL, Irql.PASSIVE_LEVEL);
      const p = k.preempt(act, false);
      if (p) await p;
    }
    if (!obj.disconnected) {
      obj.disconnected = true;
      this.detach(obj);
      k.lockset?.interruptDisconnected(obj.lock);
      k.trace.record('irq', `disconnected ${obj.name} from line ${obj.line}`);
    }
    await k.preemption.waitUntil(() => obj.activeCalls === 0 && obj.lock.owner === null, `waiting for ${obj.name} to return`);
    if (!withDpcs) return;
    for (;;) {
      for (const dpc of obj.dpcs) dequeueDpc(k, dpc);
      if ([...obj.dpcs].every((d) => d.running === 0 && !d.queued)) return;
      await k.preemption.waitUntil(() => [...obj.dpcs].every((d) => d.running === 0), `waiting for the DPCs of ${obj.name}`);
    }
  }

  private detach(obj: InterruptObject): void {
    const st = this.table.get(obj.line);
    if (!st) return;
    st.objects = st.objects.filter((o) => o !== obj);
    if (st.objects.length === 0) {
      this.table.delete(obj.line);
      this.lineList = this.lineList.filter((l) => l !== st);
    }
  }

  /** Bug check: no ISR is ever called again. */
  disconnectAll(): void {
    for (const st of this.lineList) for (const o of st.objects) o.disconnected = true;
    this.table.clear();
    this.lineList = [];
  }
}
