/** Self-verifying test frames: the format both ends of the wire share, and a numbered generator. */
export { TestFrameError } from './errors.ts';
export {
  MAX_TEST_FRAME_LENGTH,
  MIN_TEST_FRAME_LENGTH,
  TEST_FRAME_MAGIC,
  TEST_FRAME_VERSION,
  TEST_HEADER_LENGTH,
  buildTestFrame,
  expectedPayload,
  parseTestFrame,
  type MacAddress,
  type ParsedTestFrame,
  type TestFrameFields,
} from './format.ts';
export * from './generator.ts';
