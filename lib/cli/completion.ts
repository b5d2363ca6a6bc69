import type { Command } from 'commander';

/** One command of the tree: its path (`rollout start`), subcommands and flags, with descriptions. */
interface Node {
  readonly path: string;
  readonly words: readonly { readonly word: string; readonly about: string }[];
}

/** Every command path of the program with what may follow it, from commander's own tree. */
function nodesOf(program: Command): Node[] {
  const globals = program.options.map((o) => ({ word: o.long ?? '', about: o.description }));
  const walk = (cmd: Command, path: string): Node[] => {
    const own =
      path === '' ? [] : cmd.options.map((o) => ({ word: o.long ?? '', about: o.description }));
    const subs = cmd.commands.filter((c) => c.name() !== 'help');
    return [
      {
        path,
        words: [
          ...subs.map((c) => ({ word: c.name(), about: c.description() })),
          ...own.filter((w) => w.word !== '--interval'),
          ...globals,
          { word: '--help', about: 'show help for a command' },
        ].filter((w) => w.word !== ''),
      },
      ...subs.flatMap((c) => walk(c, path === '' ? c.name() : `${path} ${c.name()}`)),
    ];
  };
  return walk(program, '');
}

const quoteBash = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function bash(nodes: readonly Node[]): string {
  const paths = nodes.filter((n) => n.path !== '').map((n) => `"${n.path}"`);
  return `# orbit completion for bash. Load it with: source <(orbit completion bash)
_orbit_completions() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" next i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    next="\${path:+$path }$w"
    case "$next" in
      ${paths.join('|')}) path="$next" ;;
    esac
  done
  local words
  case "$path" in
${nodes.map((n) => `    ${n.path === '' ? '""' : `"${n.path}"`}) words=${quoteBash(n.words.map((w) => w.word).join(' '))} ;;`).join('\n')}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _orbit_completions orbit
`;
}

const quoteZsh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function zsh(nodes: readonly Node[]): string {
  const paths = nodes.filter((n) => n.path !== '').map((n) => `"${n.path}"`);
  return `#compdef orbit
# orbit completion for zsh. Load it with: source <(orbit completion zsh)
# or save it as _orbit in a directory of $fpath.
_orbit() {
  local path="" next w i
  local -a items
  for ((i = 2; i < CURRENT; i++)); do
    w="\${words[i]}"
    [[ $w == -* ]] && continue
    next="\${path:+$path }$w"
    case "$next" in
      (${paths.join('|')}) path="$next" ;;
    esac
  done
  case "$path" in
${nodes
  .map(
    (n) =>
      `    (${n.path === '' ? '""' : `"${n.path}"`}) items=(${n.words.map((w) => quoteZsh(`${w.word.replace(/:/g, '\\:')}:${w.about}`)).join(' ')}) ;;`
  )
  .join('\n')}
  esac
  _describe 'orbit' items
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _orbit "$@"
else
  compdef _orbit orbit
fi
`;
}

/** The completion script for `shell`, generated from the program's own commands and flags. */
export function completionScript(program: Command, shell: 'bash' | 'zsh'): string {
  const nodes = nodesOf(program);
  return shell === 'bash' ? bash(nodes) : zsh(nodes);
}
