/**
 * `run` with an interval: one process that holds the lock and makes a pass at each beat, or as soon
 * as the csvlog directory changes, keeping its target connections from pass to pass. A second start
 * (the crontab line that restarts it when it is gone) finds the lock held and exits at once.
 *
 * SIGTERM and SIGINT end it after the statement under way, its state saved and its connections
 * closed; SIGHUP reads the config again. Everything else is the one-shot pass itself (run.ts).
 */
import * as fs from 'node:fs';
import { TargetApplier } from '../io/applier';
import { Fields, Logger } from '../io/logger';
import { removeResidentMark, touchResidentMark, writeResidentMark } from '../io/residentMark';
import { ConnectOptions } from '../io/target';
import { Settings, TargetSettings } from '../io/settings';
import { AppliedResult, checkRunSettings, residentPass } from '../pipeline/pass';
import { Locked, withRunLock } from '../pipeline/runLock';
import { KeptAppliers } from '../pipeline/apply';

export interface ResidentDeps {
  log: Logger;
  /** Reads the settings again from the same flags and config file (SIGHUP). */
  reload: () => Settings;
  /** Where the signals come from. */
  signals?: NodeJS.EventEmitter;
}

export type ResidentResult = Locked | { kind: 'stopped'; signal: string; passes: number };

/** A pass sooner than this after the last one waits: writes that come together are read together. */
const MIN_GAP_MS = 20;

/** The longest a stopped target waits between tries, as the cron line's minute did. */
const MAX_RETRY_MS = 60_000;

/** How often the metrics file is written when nothing happens. */
const METRICS_EVERY_MS = 5_000;

/**
 * The longest a resident run goes without a whole pass, when the log directory has not changed: what
 * depends on time alone (a statement held back too long, the primary asked about an open transaction,
 * a file that went) is looked at as often as the cron line's pass did.
 */
const FULL_PASS_EVERY_MS = 60_000;

/** The same warning or error line is said again only after this long. */
const REPEAT_EVERY_MS = 60_000;

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Runs resident until SIGTERM or SIGINT; `locked` at once when another live run holds the lock.
 * @param settings with intervalMs above 0
 */
export async function resident(settings: Settings, deps: ResidentDeps): Promise<ResidentResult> {
  checkRunSettings(settings);
  return withRunLock(settings.stateFile, deps.log, () => beat(settings, deps));
}

async function beat(first: Settings, deps: ResidentDeps): Promise<ResidentResult> {
  const signals = deps.signals ?? process;
  const log = quietRepeats(deps.log, REPEAT_EVERY_MS);
  let settings = first;
  let stop: string | undefined;
  let reread = false;
  const waker = new Waker();
  const onStop = (signal: string) => {
    stop = signal;
    waker.wake();
  };
  const onHup = () => {
    reread = true;
    waker.wake();
  };
  for (const s of STOP_SIGNALS) signals.on(s, onStop);
  signals.on('SIGHUP', onHup);
  const since = new Date();
  writeResidentMark(settings.stateFile, since, settings.intervalMs);
  log.info('resident: started', { pid: process.pid, interval_ms: settings.intervalMs, targets: settings.targets.length });
  const kept = new KeptConnections();
  const retries = new Retries(settings.intervalMs);
  let watcher = watchDir(settings.csvlogDir!, () => waker.wake());
  let passes = 0;
  let metricsAt = 0;
  /** The log directory as the last pass found it, when that pass left nothing to come back to. */
  let settled: { signature: string; at: number } | undefined;
  try {
    while (!stop) {
      if (reread) {
        reread = false;
        const next = readAgain(settings, deps, log);
        settled = undefined;
        if (next) {
          settings = next;
          await kept.close();
          retries.reset(settings.intervalMs);
          watcher?.close();
          watcher = watchDir(settings.csvlogDir!, () => waker.wake());
        }
      }
      const started = Date.now();
      const seen = dirSignature(settings.csvlogDir!);
      if (settled && seen === settled.signature && started - settled.at < FULL_PASS_EVERY_MS && !retries.any()) {
        touchResidentMark(settings.stateFile, `${settings.stateFile}.lock`, new Date());
        // What the metrics say still holds: their file's time says so to the collector.
        if (settings.metricsFile && started - metricsAt >= METRICS_EVERY_MS) {
          touchFile(settings.metricsFile);
          metricsAt = started;
        }
        await waker.sleep(settings.intervalMs, MIN_GAP_MS);
        continue;
      }
      const metrics = started - metricsAt >= METRICS_EVERY_MS;
      const res = await residentPass(settings, { log }, { kept, stopping: () => stop !== undefined, holdOff: (t) => retries.holdOff(t, started), metrics });
      passes++;
      if (metrics || worked(res)) metricsAt = started;
      retries.note(res, Date.now());
      settled = isSettled(res) ? { signature: seen, at: started } : undefined;
      touchResidentMark(settings.stateFile, `${settings.stateFile}.lock`, new Date());
      if (stop) break;
      await waker.sleep(Math.max(MIN_GAP_MS, settings.intervalMs - (Date.now() - started)), MIN_GAP_MS);
    }
  } finally {
    for (const s of STOP_SIGNALS) signals.off(s, onStop);
    signals.off('SIGHUP', onHup);
    watcher?.close();
    waker.cancel();
    await kept.close();
    removeResidentMark(settings.stateFile);
  }
  log.info('resident: stopped', { signal: stop, passes });
  return { kind: 'stopped', signal: stop ?? '', passes };
}

/** The settings read again, or undefined (logged) when they cannot be, or name another state file. */
function readAgain(current: Settings, deps: ResidentDeps, log: Logger): Settings | undefined {
  let next: Settings;
  try {
    next = deps.reload();
    checkRunSettings(next);
  } catch (err) {
    log.error('resident: the config cannot be read again; going on with the one read before', { error: (err as Error).message });
    return undefined;
  }
  // The lock held is the old state file's: another is another run's, which a restart takes.
  if (next.stateFile !== current.stateFile || next.csvlogDir !== current.csvlogDir) {
    log.error('resident: the config names another state file or csvlog directory; restart the process for that; going on with the one read before');
    return undefined;
  }
  if (next.intervalMs === 0) next = { ...next, intervalMs: current.intervalMs };
  log.info('resident: config read again', { interval_ms: next.intervalMs, targets: next.targets.length });
  return next;
}

/**
 * Whether a pass left nothing that another pass over the same log could change: nothing held back or
 * undecided, no target stopped, no damage, no gap. Then the next beat only looks at the directory.
 */
function isSettled(res: AppliedResult): boolean {
  return res.summary.waiting === 0 && res.unknown.length === 0 && !res.damage && res.gaps.length === 0 && !res.heldBack && res.targets.every((t) => !t.failure);
}

/** The csvlog directory's files, as names, identities, sizes and times: any write or rotation changes it. */
function dirSignature(dir: string): string {
  try {
    return fs
      .readdirSync(dir)
      .sort()
      .map((name) => {
        try {
          const st = fs.statSync(`${dir}/${name}`);
          return `${name}:${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
        } catch {
          return `${name}:gone`;
        }
      })
      .join('\n');
  } catch (err) {
    return `unreadable: ${(err as Error).message}`;
  }
}

function touchFile(file: string): void {
  const now = new Date();
  try {
    fs.utimesSync(file, now, now);
  } catch {
    // Not written yet, or removed: the next whole pass writes it.
  }
}

function worked(res: AppliedResult): boolean {
  return res.summary.recordsRead > 0 || res.targets.some((t) => t.applied > 0 || t.failure !== undefined);
}

/** Wakes the loop early: a signal, or the csvlog directory changing. */
class Waker {
  private resolve: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private woken = false;

  /**
   * Waits `ms`, or until woken (but at least `minMs`). A wake that came during the pass counts.
   */
  async sleep(ms: number, minMs: number): Promise<void> {
    const start = Date.now();
    if (!this.woken) {
      await new Promise<void>((resolve) => {
        this.resolve = resolve;
        this.timer = setTimeout(resolve, ms);
      });
      this.cancel();
    }
    this.woken = false;
    const left = minMs - (Date.now() - start);
    if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
  }

  wake(): void {
    this.woken = true;
    this.resolve?.();
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.resolve = undefined;
  }
}

/**
 * Watches the csvlog directory, so that a record is read as soon as it is written; the beat reads it
 * anyway where watching is not possible (some file systems), or misses a change.
 */
function watchDir(dir: string, onChange: () => void): fs.FSWatcher | undefined {
  try {
    const w = fs.watch(dir, { persistent: false }, onChange);
    w.on('error', () => w.close());
    return w;
  } catch {
    return undefined;
  }
}

/** One applier per target, kept from pass to pass: its connections stay open between beats. */
class KeptConnections implements KeptAppliers {
  private readonly appliers = new Map<string, TargetApplier>();

  applierFor(target: TargetSettings, connect: ConnectOptions, from: ReadonlyMap<string, number>): TargetApplier {
    let applier = this.appliers.get(target.name);
    if (applier && applier.spec.url === target.url) {
      applier.renew(from);
      return applier;
    }
    void applier?.close();
    applier = new TargetApplier(target, connect, from);
    this.appliers.set(target.name, applier);
    return applier;
  }

  async close(): Promise<void> {
    const all = [...this.appliers.values()];
    this.appliers.clear();
    await Promise.all(all.map((a) => a.close()));
  }
}

/**
 * When a stopped target is tried again: at the next beat, then after twice as long each time, up to
 * a minute; at once after a pass where it did not stop. A statement that fails is not tried, and
 * logged, at every beat; a target that restarted is back within seconds.
 */
class Retries {
  private readonly after = new Map<string, { tries: number; at: number }>();

  constructor(private intervalMs: number) {}

  reset(intervalMs: number): void {
    this.intervalMs = intervalMs;
    this.after.clear();
  }

  /** Whether some target waits to be tried again. */
  any(): boolean {
    return this.after.size > 0;
  }

  holdOff(target: string, now: number): boolean {
    const next = this.after.get(target);
    return next !== undefined && now < next.at;
  }

  note(res: AppliedResult, now: number): void {
    for (const t of res.targets) {
      if (!t.failure) {
        if (t.applied > 0 || t.alreadyApplied > 0 || t.filtered > 0) this.after.delete(t.name);
        continue;
      }
      const tries = (this.after.get(t.name)?.tries ?? 0) + 1;
      this.after.set(t.name, { tries, at: now + Math.min(MAX_RETRY_MS, this.intervalMs * 2 ** tries) });
    }
  }
}

/**
 * The log with a warning or error said again only after `everyMs`: a resident run passes every beat
 * over what a one-shot run says once a minute (a stopped target, a statement held back, damage).
 * Lines whose messages differ only in their numbers (a duration) count as the same.
 */
function quietRepeats(log: Logger, everyMs: number): Logger {
  const said = new Map<string, number>();
  const once = (level: 'warn' | 'error') => (message: string, fields?: Fields) => {
    const key = `${level} ${message.replace(/\d+/g, '#')} ${JSON.stringify(fields ?? {})}`;
    const now = Date.now();
    const last = said.get(key);
    if (last !== undefined && now - last < everyMs) return;
    if (said.size > 1000) said.clear();
    said.set(key, now);
    log[level](message, fields);
  };
  return { error: once('error'), warn: once('warn'), info: (m, f) => log.info(m, f), debug: (m, f) => log.debug(m, f), close: () => log.close() };
}
