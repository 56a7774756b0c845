export { defineExploreScenario, loadExploreScenario, ExploreScenarioError, type ExploreContext, type ExploreScenario } from './scenario.ts';
export { explore, parseShard, runOnce, shardSeeds, ExploreError, type ExploreOptions, type RunRecording, type Shard } from './explorer.ts';
export { ReusedMachine, type ExploreDevice } from './qemu-machine.ts';
export { mergeResults, toJUnit, type ExploreFinding, type ExploreResult, type FailedRun } from './results.ts';
export { hashDecisions, RecordingPolicy, ReplayPolicy, ScheduleDivergedError, type Decision, type ScheduleFile } from './schedule.ts';
export { makeStrategy, noPreemptionPolicy, type Strategy, type StrategyName, type StrategyOptions } from './strategies.ts';
