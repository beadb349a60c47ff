/** `pg-ddl-sync install-files`: the directories, config file, crontab line and systemd units of a host. */
import * as path from 'node:path';
import { Command } from 'commander';
import type * as InstallFilesCommand from '../commands/installFiles';
import { UsageError } from '../errors';
import { Cli } from './context';

interface InstallFlags {
  name: string;
  dataDir?: string;
  csvlogDir?: string;
  target?: string[];
  user: string;
  configDir: string;
  stateDir: string;
  logDir: string;
  logPrefix?: string;
  interval: string;
  bin?: string;
  root?: string;
  force?: boolean;
}

const repeat = (v: string, acc: string[] = []): string[] => [...acc, v];

/** Adds `install-files` to the CLI. */
export function addInstallFilesCommand(program: Command, cli: Cli): void {
  program
    .command('install-files')
    .description('make the config, state and log directories and a commented config file on this host (as root), and print the crontab line and systemd units that run the tool')
    .option('--name <name>', 'names this primary: the config file NAME.json, the state file, the log prefix', 'main')
    .option('--data-dir <dir>', "the primary's data directory")
    .option('--csvlog-dir <dir>', "the primary's csvlog directory, instead of --data-dir")
    .option('--target <[name=]url>', 'a target server (libpq URI); repeatable', repeat)
    .option('--user <user>', 'the OS user that runs the tool and can read the csvlog', 'postgres')
    .option('--config-dir <dir>', 'where the config file goes (root-owned, 0755; the file root:USER 0640)', '/etc/pg-ddl-sync')
    .option('--state-dir <dir>', 'where the state file goes (USER-owned, 0700)', '/var/lib/pg-ddl-sync')
    .option('--log-dir <dir>', "where the tool's own log goes (USER-owned, 0750)", '/var/log/pg-ddl-sync')
    .option('--log-prefix <name>', 'log file name prefix (default: NAME)')
    .option('--interval <minutes>', 'minutes between runs, for the crontab line and the timer', '1')
    .option('--bin <path>', 'the command cron and systemd run (default: this one)')
    .option('--root <dir>', 'make the files under this directory instead of / (to build a package or an image)')
    .option('--force', 'replace the config file and change the owner and mode of directories that exist')
    .addHelpText('after', '\nExit codes:\n  0  the files are in place\n  2  bad usage, or something exists and differs (nothing was changed)')
    .action((flags: InstallFlags) => {
      if (!flags.target || flags.target.length === 0) throw new UsageError('install-files needs at least one --target NAME=URL');
      if (!flags.dataDir === !flags.csvlogDir) throw new UsageError('install-files needs --data-dir or --csvlog-dir (one of them)');
      const abs = (p: string | undefined): string | undefined => (p === undefined ? undefined : path.resolve(p));
      const bin = abs(flags.bin) ?? thisCommand();
      const { installFiles } = require('../commands/installFiles') as typeof InstallFilesCommand;
      const res = installFiles(
        {
          name: flags.name,
          dataDir: abs(flags.dataDir),
          csvlogDir: abs(flags.csvlogDir),
          targets: flags.target,
          configDir: abs(flags.configDir)!,
          stateDir: abs(flags.stateDir)!,
          logDir: abs(flags.logDir)!,
          logPrefix: flags.logPrefix ?? flags.name,
          intervalMinutes: Number(flags.interval),
          user: flags.user,
          bin,
        },
        { force: flags.force === true, root: flags.root },
      );
      for (const p of res.paths) cli.io.stdout(`${p.action.padEnd(8)}${p.mode} ${p.owner.padEnd(11)} ${p.path}\n`);
      const { plan } = res;
      cli.io.stdout(`\nCheck it as ${flags.user}: su ${flags.user} -s /bin/sh -c '${bin} check -c ${plan.configFile}'\n`);
      cli.io.stdout(`\nIn ${flags.user}'s crontab (crontab -u ${flags.user} -e):\n${plan.crontabLine}\n`);
      cli.io.stdout(`\nOr with systemd:\n${plan.serviceUnit}\n${plan.timerUnit}`);
    });
}

/** The path this command was started by: the single executable's own, or the script npm linked. */
function thisCommand(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sea = require('node:sea') as { isSea(): boolean };
  return sea.isSea() ? process.execPath : path.resolve(process.argv[1]);
}
