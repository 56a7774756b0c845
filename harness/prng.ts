// The harness's PRNG is the shared one (src/util), re-exported where harness code has always found it.
export { SeededRandom, mix32 } from '../src/util/seeded-random.ts';
