/** `pg-ddl-sync resolve`: decide a statement whose outcome a crash of the primary left unknown. */
import { Command } from 'commander';
import type * as ResolveCommand from '../commands/resolve';
import type { UnknownOutcome } from '../pipeline/report';
import { UsageError } from '../errors';
import { Cli, exitHelp } from './context';
import { lockedLine, unknownLine } from './print';
import { LOGGING, SettingFlags, WHERE, addSettingOptions } from './settingOptions';

const EXIT_CODES = exitHelp(`  0  decided and recorded
  1  nothing decided: the answer was no, or a run holds the lock
  2  bad usage, config or state`);

type ResolveFlags = Omit<SettingFlags, 'target'> & { at: string; send?: boolean; drop?: boolean; yes?: boolean; reason?: string };

/** Adds `resolve` to the CLI. */
export function addResolveCommand(program: Command, cli: Cli): void {
  const cmd = program
    .command('resolve')
    .description("decide a statement whose outcome the primary's crash left unknown (status lists them): --send if the primary has it, --drop if not");
  addSettingOptions(cmd, [...WHERE, 'stateFile', ...LOGGING], EXIT_CODES)
    .requiredOption('--at <file:offset>', 'the statement, as status shows it')
    .option('--send', 'it committed on the primary: the next run sends it (and its transaction)')
    .option('--drop', 'it did not commit: it is never sent')
    .option('-y, --yes', 'decide without asking')
    .option('--reason <text>', 'why, kept with the decision')
    .action(async (flags: ResolveFlags) => cli.exit(await resolveAction(cli, flags)));
}

async function resolveAction(cli: Cli, flags: ResolveFlags): Promise<number> {
  const { io } = cli;
  const { settings, log } = cli.setUp({ ...flags, target: undefined });
  if (flags.send === flags.drop) throw new UsageError('resolve needs one of --send (the primary has it) and --drop (it does not)');
  const decision = flags.send ? 'send' : 'drop';
  const ask = io.ask;
  const confirm = ask
    ? async (outcomes: UnknownOutcome[]): Promise<boolean> => {
        io.stdout(outcomes.map((u) => `${unknownLine(u)}\n`).join(''));
        return ask(`${decision === 'send' ? 'Send' : 'Drop'} ${outcomes.length === 1 ? 'it' : `these ${outcomes.length}`}? [y/N] `);
      }
    : undefined;
  const { resolve } = require('../commands/resolve') as typeof ResolveCommand;
  const res = await resolve(settings, flags.at, { decision, yes: flags.yes === true, reason: flags.reason, log, confirm });
  if (res.kind === 'locked') {
    io.stderr(lockedLine(res.lockFile));
    return 1;
  }
  if (res.kind === 'declined') {
    io.stdout('Nothing decided.\n');
    return 1;
  }
  io.stdout(`${res.decision === 'send' ? 'To be sent by the next run' : 'Dropped'}: ${res.outcomes.length} statement(s); recorded in ${res.record}.\n`);
  return 0;
}
