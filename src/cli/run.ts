import { Command } from 'commander';
import { addConfigFlag, configuredRun, overrideConfig } from './config-options.ts';
import { addHostFlags, hostOptionsFrom, type HostFlags } from './host-flags.ts';
import { openRun, recordingLine, traceInto } from './run-dir.ts';
import { conventions, EXIT_FAILED, EXIT_OK } from './usage.ts';

/** `dirql run <scenario>`: one scenario module against the full stack; exit 1 when it fails. */
export function runCommand(): Command {
  const cmd = conventions(new Command('run'), 'dirql run')
    .description('run a scenario (a TS module: export default defineScenario({ name, host?, run })) against the full stack')
    .argument('<scenario>', 'path of the scenario module, e.g. examples/ndis6-minimal/link.scenario.ts');
  addConfigFlag(addHostFlags(cmd)).addHelpText(
    'after',
    "\nFlags override the scenario's own host options, which override dirql.config.{ts,js,json}.\nOutputs (bug check reports, --pcap, --trace, run.json) go to <outputDir>/runs/<UTC time>-<pid>/, outputDir from the config, default ./dirql-out.\nExit status: 0 passed, 1 failed (run threw, timed out, or the driver bug-checked unexpectedly), 2 usage (no such file, not a scenario, a bad config key, no QEMU binary).",
  );
  cmd.action(async (path: string, flags: HostFlags & { config?: string }) => {
    // First: the config's log level must be set before any logger exists.
    const configured = await configuredRun('dirql run', flags.config);
    const overrides = await hostOptionsFrom(cmd, flags);
    const { loadScenario, mergeHostOptions, runScenario, ScenarioError } = await import('../scenario/index.ts');
    let scenario;
    try {
      scenario = await loadScenario(path);
    } catch (err) {
      if (err instanceof ScenarioError && (err.context as { path?: string }).path) cmd.error(`error: argument '<scenario>': ${err.message}`, { exitCode: 2, code: 'dirql.usage' });
      throw err;
    }
    const base = await overrideConfig(configured.host, scenario.host ?? {});
    // No flag names the QEMU binary: the scenario's or the config's, checked before the run directory exists.
    const { dir, host } = openRun('dirql run', configured, base, flags.pcap, flags.record);
    dir.started(mergeHostOptions(host, overrides));
    let r;
    try {
      r = await runScenario({ ...scenario, host }, { host: traceInto(overrides, dir.path) });
    } catch (err) {
      dir.finish({ code: EXIT_FAILED, reason: `failed: ${err instanceof Error ? err.message : String(err)}` });
      throw err;
    }
    dir.finish({ code: r.passed ? EXIT_OK : EXIT_FAILED, reason: r.passed ? 'passed' : `failed: ${r.error?.message ?? 'failed'}` });
    const ms = `${(r.durationMs / 1000).toFixed(1)} s`;
    const recording = dir.keptRecording;
    if (recording) process.stdout.write(`${recordingLine(recording)}\n`);
    if (r.trace) process.stdout.write(`timeline ${r.trace.perfetto} (open at ui.perfetto.dev) and ${r.trace.html}\n`);
    if (r.passed) {
      process.stdout.write(`PASS ${r.name} (${ms})${r.bugCheck ? ` bug check ${r.bugCheck.name} as expected` : ''}\n`);
    } else {
      process.stderr.write(`FAIL ${r.name} (${ms}): ${r.error?.message ?? 'failed'}\n`);
      if (r.error?.stack) process.stderr.write(r.error.stack.split('\n').slice(1).join('\n') + '\n');
      if (r.bugCheck?.report) process.stderr.write(`  report: ${r.bugCheck.report}\n`);
    }
    for (const f of r.verifierFindings ?? []) process.stdout.write(`lockset finding (rule ${f.rule}, ${f.location}): ${f.message}\n`);
    process.stdout.write(`outputs in ${dir.shown}\n`);
    process.exitCode = r.passed ? EXIT_OK : EXIT_FAILED;
  });
  return cmd;
}
