/**
 * Bash completion, made from the same commander table as --help: commands, each command's options,
 * files and directories where an option takes one, and, after `--target` of skip and verify, the
 * target names of the config file given on the line (`pg-ddl-sync completion targets -c FILE`).
 */
import { Command } from 'commander';
import { UsageError } from '../errors';
import { readConfigFile, resolveSettings } from '../io/settings';
import { Cli } from './context';

/** What an option's value is, where completion can offer something. */
const VALUES: Record<string, string> = {
  '--config': 'compgen -f',
  '--csvlog-dir': 'compgen -d',
  '--data-dir': 'compgen -d',
  '--state-file': 'compgen -f',
  '--log-dir': 'compgen -d',
  '--metrics-file': 'compgen -f',
  '--config-dir': 'compgen -d',
  '--state-dir': 'compgen -d',
  '--root': 'compgen -d',
  '--bin': 'compgen -f',
  '--log-level': 'compgen -W "error warn info debug"',
  '--log-format': 'compgen -W "text json"',
  '--apply-as': 'compgen -W "original sync"',
};

/** The commands whose --target takes a target's name, not a URL. */
const TARGET_NAMES = ['skip', 'verify'];

/**
 * The completion script for bash (source it, or put it in /etc/bash_completion.d/).
 * @param program the CLI's root command
 */
export function bashCompletion(program: Command): string {
  const name = program.name();
  const fn = `_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
  const commands = program.commands.map((c) => c.name());
  const perCommand = program.commands.map((c) => `    ${c.name()}) opts="${optionWords(c).join(' ')}" ;;`);
  const takesValue = program.commands.flatMap((c) => c.options.filter((o) => o.required || o.optional).flatMap((o) => [o.short, o.long]));
  const valued = [...new Set(takesValue.filter((f): f is string => f !== undefined))];
  const special = Object.entries(VALUES).map(([flag, gen]) => `    ${flag}) COMPREPLY=($(${gen} -- "$cur")); return ;;`);
  return `# bash completion for ${name}: ${name} completion bash > /etc/bash_completion.d/${name}
${fn}() {
  local cur prev cmd config i opts
  cur=\${COMP_WORDS[COMP_CWORD]}
  prev=\${COMP_WORDS[COMP_CWORD-1]}
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in
      -c|--config) config=\${COMP_WORDS[i+1]} ;;
      --config=*) config=\${COMP_WORDS[i]#--config=} ;;
      -*) ;;
      *) [[ -z $cmd ]] && cmd=\${COMP_WORDS[i]} ;;
    esac
  done
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "${commands.join(' ')} --help --version" -- "$cur"))
    return
  fi
  if [[ $prev == --target ]] && [[ " ${TARGET_NAMES.join(' ')} " == *" $cmd "* ]]; then
    COMPREPLY=($(compgen -W "$("\${COMP_WORDS[0]}" completion targets \${config:+--config "$config"} 2>/dev/null)" -- "$cur"))
    return
  fi
  case $prev in
${special.join('\n')}
    -c|--config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    ${valued.join('|')}) return ;;
  esac
  case $cmd in
${perCommand.join('\n')}
  esac
  COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
  if [[ $cmd == replay && $cur != -* ]]; then COMPREPLY+=($(compgen -f -- "$cur")); fi
}
complete -F ${fn} ${name}
`;
}

function optionWords(cmd: Command): string[] {
  return cmd.options.flatMap((o) => (o.long ? [o.long] : o.short ? [o.short] : []));
}

/** Adds `completion` to the CLI. */
export function addCompletionCommand(program: Command, cli: Cli): void {
  program
    .command('completion')
    .argument('<what>', "'bash' for the bash completion script; 'targets' for the target names of --config")
    .description('bash completion: pg-ddl-sync completion bash > /etc/bash_completion.d/pg-ddl-sync')
    .option('-c, --config <file>', 'the config file whose target names to list')
    .action((what: string, flags: { config?: string }) => {
      if (what === 'bash') return cli.io.stdout(bashCompletion(program));
      if (what !== 'targets') throw new UsageError(`completion "${what}": expected bash or targets`);
      if (!flags.config) return;
      // Completion must never fail loudly: a config that cannot be read offers no names.
      try {
        for (const t of resolveSettings({}, readConfigFile(flags.config)).targets) cli.io.stdout(`${t.name}\n`);
      } catch {
        return;
      }
    });
}
