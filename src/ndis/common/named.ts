/**
 * A wrapper of `fn` whose function name is `name`: the kernel names synchronize routines after the
 * function, and reports should say "MiniportSynchronizeInterrupt" rather than "anonymous".
 */
export function named<F extends (...args: never[]) => unknown>(name: string, fn: F): F {
  const wrapper = { [name]: (...args: Parameters<F>) => fn(...args) }[name]!;
  return wrapper as unknown as F;
}
