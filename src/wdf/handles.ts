import { BugCheckCode, type Kernel } from '../kernel/index.ts';
import { WdfViolation } from './bugcodes.ts';

declare const wdfHandleType: unique symbol;

/**
 * An opaque WDF handle. A plain number at run time (cheap, printable as a bug check parameter),
 * branded at compile time so that a WDFQUEUE cannot be passed where a WDFINTERRUPT is expected.
 * Handle values are never reused: a deleted object's handle stays invalid forever.
 */
export type WdfHandle<T extends WdfObjectType> = number & { readonly [wdfHandleType]: T };

export type WDFOBJECT = WdfHandle<WdfObjectType>;
export type WDFDRIVER = WdfHandle<'WDFDRIVER'>;
export type WDFDEVICE = WdfHandle<'WDFDEVICE'>;
export type WDFINTERRUPT = WdfHandle<'WDFINTERRUPT'>;
export type WDFSPINLOCK = WdfHandle<'WDFSPINLOCK'>;
export type WDFWAITLOCK = WdfHandle<'WDFWAITLOCK'>;
export type WDFQUEUE = WdfHandle<'WDFQUEUE'>;
export type WDFREQUEST = WdfHandle<'WDFREQUEST'>;
export type WDFWORKITEM = WdfHandle<'WDFWORKITEM'>;
export type WDFTIMER = WdfHandle<'WDFTIMER'>;

export type WdfObjectType = 'WDFDRIVER' | 'WDFDEVICE' | 'WDFINTERRUPT' | 'WDFSPINLOCK' | 'WDFWAITLOCK' | 'WDFQUEUE' | 'WDFREQUEST' | 'WDFWORKITEM' | 'WDFTIMER';

/** KMDF's internal type numbers (fxtypes.h, FX_TYPES_BASE 0x1000): parameter 3 of WDF_INVALID_HANDLE. */
export const WdfTypeId: Readonly<Record<WdfObjectType | 'WDFOBJECT', number>> = {
  WDFOBJECT: 0x1000,
  WDFDRIVER: 0x1001,
  WDFDEVICE: 0x1002,
  WDFQUEUE: 0x1003,
  WDFREQUEST: 0x1008,
  WDFTIMER: 0x1028,
  WDFWAITLOCK: 0x1023,
  WDFSPINLOCK: 0x1024,
  WDFWORKITEM: 0x1025,
  WDFINTERRUPT: 0x1027,
};

/** WDF_OBJECT_ATTRIBUTES: context (WDF_OBJECT_ATTRIBUTES_INIT_CONTEXT_TYPE), parent, cleanup. */
export interface WdfObjectAttributes<C = unknown> {
  /** The object's context, or a factory for it (called once at creation). Read with getContext. */
  context?: C | (() => C);
  /** ParentObject: the object is deleted with its parent. Default: the device (or the driver for a device). */
  parentObject?: WDFOBJECT;
  /** EvtCleanupCallback: called when the object is deleted, before its handle becomes invalid. */
  evtCleanupCallback?: (object: WDFOBJECT) => void;
}

/** Base of every framework object behind a handle. */
export abstract class WdfObject {
  abstract readonly type: WdfObjectType;
  handle = 0;
  parent: WdfObject | null = null;
  readonly children = new Set<WdfObject>();
  context: unknown = undefined;
  hasContext = false;
  deleted = false;
  evtCleanupCallback: ((object: WDFOBJECT) => void) | undefined;

  /** Type-specific teardown when the object is deleted (children are deleted first). */
  protected onDelete(): void {}

  /** @internal used by the handle table. */
  runDelete(): void {
    this.onDelete();
  }

  applyAttributes(attributes: WdfObjectAttributes | undefined): void {
    if (!attributes) return;
    if ('context' in attributes) {
      const c = attributes.context;
      this.context = typeof c === 'function' ? (c as () => unknown)() : c;
      this.hasContext = true;
    }
    this.evtCleanupCallback = attributes.evtCleanupCallback;
  }
}

const RETIRED_MEMORY = 4096;

/**
 * The handle table. Every WDF method validates its handles here: an unknown, deleted or
 * wrong-type handle is WDF_VIOLATION (0x10D) with parameter 1 WDF_INVALID_HANDLE, parameter 2
 * the handle, parameter 3 the expected type (KMDF's FxObjectHandleGetPtr does the same check).
 */
export class HandleTable {
  private readonly objects = new Map<number, WdfObject>();
  /** Recently deleted handles and what they were, so a report can say "already completed/deleted". */
  private readonly retired = new Map<number, string>();
  private next = 0x10;
  private readonly kernel: Kernel;

  constructor(kernel: Kernel) {
    this.kernel = kernel;
  }

  get size(): number {
    return this.objects.size;
  }

  /** Give `obj` a fresh handle and attach it to `parent`. */
  insert<T extends WdfObject>(obj: T, parent: WdfObject | null): T {
    this.next += 8;
    obj.handle = this.next;
    obj.deleted = false;
    obj.parent = parent;
    parent?.children.add(obj);
    this.objects.set(obj.handle, obj);
    return obj;
  }

  /** The live object behind `handle`, whatever its type, or undefined. */
  peek(handle: number): WdfObject | undefined {
    return this.objects.get(handle);
  }

  /** FxObjectHandleGetPtr: the object of type `type` behind `handle`, or bug check 0x10D. */
  get<T extends WdfObject>(handle: number, type: WdfObjectType, api: string): T {
    const obj = this.objects.get(handle);
    if (obj && obj.type === type) return obj as T;
    return this.invalid(handle, type, api, obj);
  }

  /** Any live object (WDFOBJECT parameters), or bug check 0x10D. */
  getAny(handle: number, api: string): WdfObject {
    const obj = this.objects.get(handle);
    if (obj) return obj;
    return this.invalid(handle, 'WDFOBJECT', api, undefined);
  }

  private invalid(handle: number, type: WdfObjectType | 'WDFOBJECT', api: string, found: WdfObject | undefined): never {
    const shown = typeof handle === 'number' ? `0x${handle.toString(16)}` : String(handle);
    let why: string;
    if (found) why = `it is a ${found.type}`;
    else if (typeof handle !== 'number' || !Number.isInteger(handle) || handle === 0) why = 'it is not a handle';
    else if (this.retired.has(handle)) why = `it was a ${this.retired.get(handle)} that has been deleted`;
    else why = 'no framework object has this handle';
    this.kernel.bugCheck(BugCheckCode.WDF_VIOLATION, WdfViolation.WDF_INVALID_HANDLE, Number.isInteger(handle) ? handle : 0, WdfTypeId[type], 0, {
      api,
      message: `${api} was given ${type} ${shown}, but ${why}`,
    });
  }

  /**
   * WdfObjectDelete's work: delete the children (newest first), call EvtCleanupCallback, tear the
   * object down, invalidate its handle. `how` is remembered for reports ("completed", "deleted").
   */
  delete(obj: WdfObject, how = 'deleted'): void {
    if (obj.deleted) return;
    obj.deleted = true;
    if (obj.children.size > 0) for (const c of [...obj.children].reverse()) this.delete(c);
    obj.evtCleanupCallback?.(obj.handle as WDFOBJECT);
    obj.runDelete();
    obj.parent?.children.delete(obj);
    obj.parent = null;
    this.objects.delete(obj.handle);
    this.retired.set(obj.handle, `${obj.type} (${how})`);
    if (this.retired.size > RETIRED_MEMORY) {
      const oldest = this.retired.keys().next().value;
      if (oldest !== undefined) this.retired.delete(oldest);
    }
  }
}
