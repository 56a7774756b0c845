/**
 * Base of every typed dirql error. `context` carries what a driver engineer needs to act
 * (register, address, IRQL, processor, command); `cause` is always kept.
 */
export class DirqlError extends Error {
  readonly context: Readonly<Record<string, unknown>>;

  constructor(message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.context = context;
  }
}

/** A value outside what a shared helper accepts (a PRNG seed or range, a MAC's byte count). */
export class InvalidArgumentError extends DirqlError {}
