/**
 * The man page, pg-ddl-sync(1), made from the same commander table as --help: each command's usage,
 * description, options and exit codes. `npm run build:man` writes it to man/pg-ddl-sync.1, which the
 * npm package installs; `pg-ddl-sync man` prints it where only the executable was copied.
 */
import { Command } from 'commander';
import { Cli } from './context';
import type { EventEmitter } from 'node:events';

/**
 * The page in roff (man(7) macros).
 * @param program the CLI's root command, with its subcommands
 * @param version the package version, on the page's title line
 */
export function manPage(program: Command, version: string): string {
  const name = program.name();
  const lines = [
    `.TH ${name.toUpperCase()} 1 "" "${name} ${version}" "User Commands"`,
    '.SH NAME',
    `${name} \\- ${roff(program.description())}`,
    '.SH SYNOPSIS',
    ...visible(program).map((c) => `.B ${name} ${pathOf(c)}\n${roff(c.usage())}\n.br`),
    '.SH DESCRIPTION',
    `Run by cron every minute, \\fB${name} run\\fR reads what the primary's csvlog gained since the last run and runs the DDL that committed on every target, in log order, exactly once, as the role that ran it. See the README for the set-up of the primary and the targets.`,
    '.SH COMMANDS',
  ];
  for (const cmd of visible(program)) {
    lines.push(`.SS "${name} ${pathOf(cmd)} ${roff(cmd.usage())}"`, roff(cmd.description()));
    for (const opt of cmd.options.filter((o) => !o.hidden)) {
      const fallback = opt.defaultValue === undefined ? '' : ` (default: ${String(opt.defaultValue)})`;
      lines.push('.TP', `.B ${roff(opt.flags)}`, roff(opt.description + fallback));
    }
    const after = afterHelp(cmd);
    if (after) lines.push('.PP', '.nf', roff(after), '.fi');
  }
  lines.push(
    '.SH FILES',
    '.TP',
    '.B /etc/pg-ddl-sync/NAME.json',
    'the config file (install-files writes it)',
    '.TP',
    '.B /var/lib/pg-ddl-sync/NAME.state.json',
    'how far the log was read, and where each target stands',
    '.TP',
    '.B ~/.pgpass',
    "the targets' passwords, as libpq reads them",
    '.SH SEE ALSO',
    'The README of the package; \\fBpsql\\fR(1), \\fBcrontab\\fR(5).',
  );
  return `${lines.join('\n')}\n`;
}

/** Every command that runs something: a group's (capture) subcommands in its place. */
function visible(program: Command): readonly Command[] {
  return program.commands.flatMap((c) => (c.commands.length > 0 ? c.commands : [c]));
}

/** A command's words after the program's name: `run`, `capture install`. */
function pathOf(cmd: Command): string {
  const words: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) words.unshift(c.name());
  return words.join(' ');
}

/** The text a command adds after its help (its exit codes), as --help shows it. */
function afterHelp(cmd: Command): string {
  let text = '';
  // commander keeps addHelpText's text in a listener of this event (a Command is an EventEmitter).
  (cmd as unknown as EventEmitter).emit('afterHelp', { error: false, command: cmd, write: (s: string) => (text += s) });
  return text.trim();
}

/** Text safe in roff: backslashes doubled, a leading dot or quote escaped, dashes kept as typed. */
function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((l) => l.replace(/^([.'])/, '\\&$1'))
    .join('\n');
}

/** Adds `man` to the CLI. */
export function addManCommand(program: Command, cli: Cli): void {
  program
    .command('man')
    .description('print the man page (roff): pg-ddl-sync man > /usr/local/share/man/man1/pg-ddl-sync.1')
    .action(() => cli.io.stdout(manPage(program, program.version() ?? '')));
}
