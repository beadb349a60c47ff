/** What a run or a replay asks the primary itself, through --source. */
import { Logger } from '../io/logger';
import { databaseEncodings } from '../io/source';
import { ConnectOptions, TargetSpec } from '../io/target';
import { Settings } from '../io/settings';

/** How the primary is asked: its answers are bounded in time as a target's are. */
export function sourceOptions(settings: Settings): ConnectOptions {
  return { connectTimeoutMs: settings.connectTimeoutMs, statementTimeoutMs: settings.statementTimeoutMs };
}

/** The encodings of the primary's databases, or none (with a warning) when it cannot be asked. */
export async function sourceEncodings(source: TargetSpec, settings: Settings, log: Logger): Promise<Map<string, string> | undefined> {
  try {
    return await databaseEncodings(source, sourceOptions(settings));
  } catch (err) {
    log.warn("cannot ask the primary (--source) for its databases' encodings; each target's own are used", { error: (err as Error).message });
    return undefined;
  }
}
