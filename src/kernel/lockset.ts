import type { Activation, ActivationKind } from './activation.ts';
import { BugCheckCode, VerifierViolation } from './bugcheck.ts';
import type { KernelCore } from './core.ts';
import { KernelError } from './errors.ts';
import { InterruptLock } from './interrupt.ts';
import { irqlName } from './irql.ts';
import type { KernelLock } from './locks.ts';
import type { RegisterSemantics } from './register-map.ts';

// The IRQL-aware lockset verifier (README "Lockset verifier"). Code between two awaits is atomic
// here, so a race on memory is never produced by preemption; it is detected instead, from who
// touched what at which IRQL holding which locks (Eraser's lockset, plus the interrupt lock rule).

/** 'off' (default): nothing tracked; 'record': findings collected and emitted; 'stop': the first one bug checks (0xC4 / 0xE005). */
export type LocksetMode = 'off' | 'record' | 'stop';

/** What one access did to a tracked location. */
export type LocksetAccessKind = 'read' | 'write' | 'read-modify-write' | 'set/clear write';

/** One access site: the first access of its kind by a routine in one lock state. */
export interface LocksetAccess {
  readonly routine: string;
  readonly activationKind: ActivationKind;
  readonly processor: number;
  readonly irql: number;
  readonly access: LocksetAccessKind;
  /** The locks held, by name (spin locks, interrupt spin locks, passive-level interrupt locks). */
  readonly locks: readonly string[];
  readonly stack: string;
}

export interface LocksetFinding {
  /** Parameter 1 of the 0xC4 bug check: VerifierViolation.LOCKSET_RACE (0xE005). */
  readonly violation: number;
  /** 1: DIRQL state changed below DIRQL without the interrupt lock; 2: state shared below DIRQL with no common spin lock. */
  readonly rule: 1 | 2;
  /** `device.REGISTER` or `STRUCTURE.field`. */
  readonly location: string;
  /** The earlier access and the one that completed the race. */
  readonly first: LocksetAccess;
  readonly second: LocksetAccess;
  readonly message: string;
}

interface Site extends LocksetAccess {
  readonly activation: number;
  readonly context: string;
  readonly lockIds: readonly number[];
  readonly interruptLocks: readonly number[];
  readonly spinLocks: readonly number[];
  /** Interrupt locks whose interrupt was connected at the access (an ISR could run meanwhile). */
  readonly connected: ReadonlySet<number>;
}

const enum Phase {
  Virgin,
  Exclusive,
  Shared,
  SharedModified,
}

class Location {
  readonly sites = new Map<string, Site>();
  /** Activations that read it and have not written it since: a write by one is a read-modify-write. */
  readonly readers = new WeakSet<Activation>();
  phase = Phase.Virgin;
  owner = '';
  candidate: number[] = [];
  /** The latest access site below DIRQL of each context (rule 2's other side). */
  readonly lowSites = new Map<string, Site>();
  readonly reported = new Set<string>();
  constructor(readonly name: string) {}
}

/** What an access to one register offset tracks: nothing (the device makes it atomic), a plain register, or one half of a pair. */
type RegisterTrack = null | { readonly loc: Location; readonly pairOp: 'set' | 'clear' | null };

/** The registers a device's accesses are tracked by: its name and its register map. */
export interface TrackedDevice {
  readonly name: string;
  registerNameOf(offset: number): string | undefined;
  semanticsOf(offset: number): RegisterSemantics;
}

export class Lockset {
  readonly mode: Exclude<LocksetMode, 'off'>;
  readonly findings: LocksetFinding[] = [];
  private readonly kernel: KernelCore;
  private readonly locations = new Map<string, Location>();
  private readonly registers = new WeakMap<TrackedDevice, Map<number, RegisterTrack>>();
  private connected: ReadonlySet<number> = new Set();
  /** Bumped on every connect and disconnect: the same routine's access is a new site afterwards. */
  private generation = 0;

  constructor(kernel: KernelCore, mode: Exclude<LocksetMode, 'off'>) {
    this.kernel = kernel;
    this.mode = mode;
  }

  /** The locations accessed so far (`device.REGISTER`, `STRUCTURE.field`), sorted: what is being checked. */
  get trackedLocations(): string[] {
    return [...this.locations.keys()].sort();
  }

  interruptConnected(lock: InterruptLock): void {
    this.connected = new Set([...this.connected, lock.id]);
    this.generation++;
  }

  interruptDisconnected(lock: InterruptLock): void {
    const next = new Set(this.connected);
    next.delete(lock.id);
    this.connected = next;
    this.generation++;
  }

  /** A register read or write by `act` (DeviceRegisters). */
  registerAccess(device: TrackedDevice, offset: number, write: boolean, act: Activation): void {
    let tracks = this.registers.get(device);
    if (!tracks) this.registers.set(device, (tracks = new Map()));
    let track = tracks.get(offset);
    if (track === undefined) tracks.set(offset, (track = this.registerTrack(device, offset)));
    if (track === null) return;
    if (track.pairOp === null) this.access(track.loc, act, write ? 'write' : 'read');
    else if (write) this.access(track.loc, act, 'pair-write');
    else if (track.pairOp === 'set') this.access(track.loc, act, 'read');
  }

  /**
   * Track `fields` of `obj` as shared state named `structure.field`: each is replaced by an
   * accessor on the object itself, so every access is seen whichever reference (or arrow function's
   * `this`) it goes through. Accesses from outside any routine (host code, tests) are not counted.
   */
  track<T extends object>(obj: T, structure: string, fields: readonly string[]): T {
    for (const field of fields) {
      const desc = Object.getOwnPropertyDescriptor(obj, field);
      if (!desc || !('value' in desc)) {
        throw new KernelError(`shared ${structure}: ${field} is not a data field of the object`, { structure, field });
      }
      const loc = this.location(`${structure}.${field}`);
      let value: unknown = desc.value;
      Object.defineProperty(obj, field, {
        configurable: true,
        enumerable: desc.enumerable ?? true,
        get: () => {
          this.fieldAccess(loc, 'read');
          return value;
        },
        set: (v: unknown) => {
          this.fieldAccess(loc, 'write');
          value = v;
        },
      });
    }
    return obj;
  }

  private fieldAccess(loc: Location, op: 'read' | 'write'): void {
    const k = this.kernel;
    if (k.stopped) return;
    const act = k.current();
    if (act && !act.ended) this.access(loc, act, op);
  }

  private registerTrack(device: TrackedDevice, offset: number): RegisterTrack {
    const s = device.semanticsOf(offset);
    if (s === 'read-to-clear' || s === 'write-1-to-clear' || s === 'command') return null;
    if (typeof s === 'object') return { loc: this.location(`${device.name}.${s.pair}`), pairOp: s.op };
    return { loc: this.location(`${device.name}.${device.registerNameOf(offset) ?? `[0x${offset.toString(16)}]`}`), pairOp: null };
  }

  private location(name: string): Location {
    let loc = this.locations.get(name);
    if (!loc) this.locations.set(name, (loc = new Location(name)));
    return loc;
  }

  private access(loc: Location, act: Activation, op: 'read' | 'write' | 'pair-write'): void {
    let kind: LocksetAccessKind;
    if (op === 'read') {
      loc.readers.add(act);
      kind = 'read';
    } else {
      const rmw = loc.readers.delete(act);
      kind = rmw ? 'read-modify-write' : op === 'pair-write' ? 'set/clear write' : 'write';
    }
    const held = act.heldLocks;
    let lockKey = '';
    for (const l of held) lockKey += `${l.id},`;
    const key = `${act.routine}|${act.irql}|${lockKey}|${kind}|${this.generation}`;
    let site = loc.sites.get(key);
    if (!site) {
      site = this.newSite(act, held, kind);
      loc.sites.set(key, site);
      if (kind !== 'read') this.checkInterruptRule(loc, site);
    }
    // With no interrupt connected nothing runs beside the caller: that is the initialisation phase.
    if (site.interruptLocks.length === 0 && act.kind !== 'isr' && site.connected.size > 0) this.refine(loc, site, kind !== 'read');
  }

  private newSite(act: Activation, held: readonly KernelLock[], access: LocksetAccessKind): Site {
    const interruptLocks: number[] = [];
    const spinLocks: number[] = [];
    for (const l of held) (l instanceof InterruptLock ? interruptLocks : spinLocks).push(l.id);
    return {
      routine: act.routine,
      activationKind: act.kind,
      processor: act.processor.index,
      irql: act.irql,
      access,
      locks: held.map((l) => l.name),
      stack: stackHere(),
      activation: act.id,
      context: `${act.kind}:${act.name}`,
      lockIds: held.map((l) => l.id),
      interruptLocks,
      spinLocks,
      connected: this.connected,
    };
  }

  /**
   * Rule 1: a location an ISR or synchronize callback writes (holding interrupt lock I) is written
   * or read-modify-written by another routine without I while I's interrupt is connected. A lone
   * write to a set/clear pair does not count on the lower side: the device applies it atomically.
   */
  private checkInterruptRule(loc: Location, site: Site): void {
    for (const other of loc.sites.values()) {
      if (other === site || other.access === 'read' || other.activation === site.activation) continue;
      for (const id of [...site.interruptLocks, ...other.interruptLocks]) {
        const siteHolds = site.interruptLocks.includes(id);
        if (siteHolds === other.interruptLocks.includes(id)) continue;
        const low = siteHolds ? other : site;
        if (low.access === 'set/clear write' || !low.connected.has(id)) continue;
        this.report(
          loc,
          1,
          other,
          site,
          `${loc.name} is written under ${lockName(siteHolds ? site : other, id)} and ${low.access === 'write' ? 'written' : 'read-modify-written'} by ${low.routine} at ${irqlName(low.irql)} without it: the ISR can run between`,
        );
        return;
      }
    }
  }

  /**
   * Rule 2, Eraser's lockset over accesses below DIRQL: the first context's accesses are the
   * initialisation; from the second context on, the candidate set is the spin locks held at every
   * access; shared, written, and no lock in common is a race.
   */
  private refine(loc: Location, site: Site, write: boolean): void {
    loc.lowSites.set(site.context, site);
    switch (loc.phase) {
      case Phase.Virgin:
        loc.phase = Phase.Exclusive;
        loc.owner = site.context;
        return;
      case Phase.Exclusive:
        if (site.context === loc.owner) return;
        loc.candidate = [...site.spinLocks];
        loc.phase = write ? Phase.SharedModified : Phase.Shared;
        break;
      default:
        loc.candidate = loc.candidate.filter((id) => site.spinLocks.includes(id));
        if (write) loc.phase = Phase.SharedModified;
    }
    if (loc.phase !== Phase.SharedModified || loc.candidate.length > 0) return;
    let partner: Site | undefined;
    for (const s of loc.lowSites.values()) {
      if (s.context === site.context || (!write && s.access === 'read')) continue;
      if (!partner || !s.spinLocks.some((id) => site.spinLocks.includes(id))) partner = s;
    }
    if (!partner) return;
    this.report(loc, 2, partner, site, `${loc.name} is shared by ${partner.routine} and ${site.routine} below DIRQL with no spin lock held in common at every access, and written`);
  }

  private report(loc: Location, rule: 1 | 2, first: Site, second: Site, what: string): void {
    const key = `${rule}|${first.context}|${first.routine}|${second.context}|${second.routine}`;
    if (loc.reported.has(key)) return;
    loc.reported.add(key);
    const message = `lockset rule ${rule}: ${what}. ${describe(first)}; ${describe(second)}`;
    const finding: LocksetFinding = {
      violation: VerifierViolation.LOCKSET_RACE,
      rule,
      location: loc.name,
      first: publicAccess(first),
      second: publicAccess(second),
      message,
    };
    this.findings.push(finding);
    const k = this.kernel;
    k.trace.record('verifier', message, second.processor);
    k.events.emit('lockset', finding);
    if (this.mode === 'stop') {
      k.bugCheck(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, VerifierViolation.LOCKSET_RACE, rule, first.irql, second.irql, {
        message,
        stacks: [
          { label: `first access (${first.routine}, ${first.access})`, stack: first.stack },
          { label: `second access (${second.routine}, ${second.access})`, stack: second.stack },
        ],
      });
    }
  }
}

function lockName(site: Site, id: number): string {
  return site.locks[site.lockIds.indexOf(id)] ?? `interrupt lock #${id}`;
}

function describe(s: Site): string {
  const locks = s.locks.length > 0 ? `holding ${s.locks.join(', ')}` : 'holding no lock';
  return `${s.access} by ${s.routine} (${s.activationKind}) on processor ${s.processor} at ${irqlName(s.irql)}, ${locks}`;
}

function publicAccess(s: Site): LocksetAccess {
  return { routine: s.routine, activationKind: s.activationKind, processor: s.processor, irql: s.irql, access: s.access, locks: s.locks, stack: s.stack };
}

/** The driver's frames of the stack here (the verifier's own frames dropped). */
function stackHere(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 24;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  const lines = stack.split('\n').slice(1);
  return lines.filter((l) => !l.includes('/kernel/lockset.ts') && !l.includes('/kernel/registers.ts')).join('\n');
}
