/**
 * `run`: one pass (pipeline/pass) under the state file's lock; or, with --dry-run, what it would send.
 */
import { Settings } from '../io/settings';
import { RunDeps, RunResult, checkRunSettings, runPass } from '../pipeline/pass';
import { withRunLock } from '../pipeline/runLock';

export type { AppliedResult, RunDeps, RunResult, RunSummary } from '../pipeline/pass';

/** Runs one pass (or, with dryRun, lists what it would send). */
export async function run(settings: Settings, dryRun: boolean, deps: RunDeps, skipMalformed = false): Promise<RunResult> {
  const started = Date.now();
  const now = deps.now ?? (() => new Date());
  const { log } = deps;
  const csvlogDir = checkRunSettings(settings, dryRun);
  const pass = () => runPass(settings, csvlogDir, { dryRun, skipMalformed, log, started, now, beat: {} });
  return dryRun ? pass() : withRunLock(settings.stateFile, log, pass);
}

