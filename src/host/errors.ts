import { DirqlError } from '../util/errors.ts';

/** Misuse of the driver host (unknown framework, sending after stop, two RX consumers...). */
export class DriverHostError extends DirqlError {}
