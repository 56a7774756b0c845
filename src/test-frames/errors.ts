import { DirqlError } from '../util/errors.ts';

/** A test frame or generator asked for outside the format: a bad length, stream id or MAC. */
export class TestFrameError extends DirqlError {}
