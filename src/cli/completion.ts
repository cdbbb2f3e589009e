/**
 * Shell completion with kingpin's protocol: the shell runs `aws-vault --completion-bash <words…>` with the words
 * after the program name, the last one being the word under the cursor (possibly empty), and reads candidates,
 * one per line. The scripts for bash, zsh and fish call that, and hand everything after `--` back to the shell.
 * @module
 */

import { type AppSpec, BUILTIN_FLAGS, type CommandSpec, findCommand, type FlagSpec, type Shell } from "./spec.ts";
import { tokenize } from "./tokenizer.ts";

/** Where candidates come from. */
export interface CompleteOptions {
  readonly app: AppSpec;
  /** Profile names, for args with hint `profile`; errors are swallowed (a broken config must not break the shell). */
  readonly profiles?: () => string[];
  /** `[sso-session NAME]` names, for flags with hint `sso-session`; errors are swallowed as for profiles. */
  readonly ssoSessions?: () => string[];
}

/**
 * Candidates for the last of `words`: commands after the app name, flags when the word starts with `-`, enum
 * values after an enum flag (also as `--flag=value` and as bash's split `--flag = value`), profile names for
 * profile args, nothing after `--`. Results already match the current word's prefix.
 */
export function completeWords(words: readonly string[], options: CompleteOptions): string[] {
  const { app } = options;
  const current = words.length > 0 ? words[words.length - 1] : "";
  let command: CommandSpec | undefined;
  let helpCommand = false;
  let positionals = 0;
  let firstPositional: string | undefined;
  let pending: FlagSpec | undefined; // a flag still waiting for its value
  for (const token of tokenize(words.slice(0, -1), app, { splitEquals: true })) {
    if (token.kind === "separator") return [];
    if (token.kind === "command") command = token.command;
    if (token.kind === "help-command") helpCommand = true;
    if (token.kind === "positional") {
      firstPositional ??= token.value;
      positionals++;
    }
    if (token.kind === "pending") pending = token.flag;
  }
  const matching = (list: Iterable<string>, prefix: string) => [...list].filter((w) => w.startsWith(prefix));
  const valuesOf = (flag: FlagSpec | undefined): readonly string[] => {
    if (flag?.kind === "bool") return ["true", "false"];
    if (flag?.hint === "sso-session") return swallowing(options.ssoSessions);
    return flag?.values ?? [];
  };
  if (pending) return matching(valuesOf(pending), current === "=" ? "" : current);
  const flags = [
    ...Object.values(BUILTIN_FLAGS),
    ...Object.values(app.flags),
    ...Object.values(command?.flags ?? {}),
  ];
  if (current.startsWith("-")) {
    const eq = current.indexOf("=");
    if (eq > 0 && current.startsWith("--")) {
      const flag = flags.findLast((f) => f.name === current.slice(2, eq));
      return matching(valuesOf(flag).map((v) => current.slice(0, eq + 1) + v), current);
    }
    const visible = flags.filter((f) => !f.hidden);
    const names = [...new Set(visible.map((f) => `--${f.name}`))];
    // Negations are noise unless asked for.
    if (current.startsWith("--no")) {
      names.push(...visible.filter((f) => f.kind === "bool").map((f) => `--no-${f.name}`));
    }
    return matching(names, current);
  }
  // `help sso <Tab>`: the command's actions.
  if (helpCommand && positionals === 1) {
    return matching(findCommand(app, firstPositional!)?.args[0]?.values ?? [], current);
  }
  if (helpCommand || !command) {
    const names = app.commands.filter((c) => !c.hidden).map((c) => c.name);
    return matching(command || helpCommand ? names : ["help", ...names], current);
  }
  const arg = command.args[positionals] ?? command.args.find((a) => a.repeated);
  if (arg?.values) return matching(arg.values, current);
  if (arg?.hint === "profile") return matching(swallowing(options.profiles), current);
  return [];
}

/** The names `source` gives, or none when there is no source or it fails (a broken config must not break Tab). */
function swallowing(source: (() => string[]) | undefined): string[] {
  try {
    return source?.() ?? [];
  } catch {
    return [];
  }
}

/** What `--completion-bash` prints: the candidates of {@link completeWords}, one per line. */
export function completionOutput(words: readonly string[], options: CompleteOptions): string {
  return completeWords(words, options).map((w) => w + "\n").join("");
}

/**
 * The completion script for `shell`, to be `eval`ed / sourced (zsh: or saved as `_<app>` in `$fpath`). The scripts
 * call the program by the name the user typed, so they work with `aws-vault` found on PATH.
 */
export function completionScript(shell: Shell, options: { appName: string }): string {
  const name = options.appName;
  const ident = name.replace(/[^A-Za-z0-9_]/g, "_");
  switch (shell) {
    case "bash":
      return `# bash completion for ${name}: eval "$(${name} --completion-script-bash)"
_${name}_bash_autocomplete() {
    local i cur opts
    cur="\${COMP_WORDS[COMP_CWORD]}"
    # Everything after \`--\` is a command line of its own.
    for (( i=1; i < COMP_CWORD; i++ )); do
        if [[ \${COMP_WORDS[i]} == -- ]]; then
            if declare -F _command_offset >/dev/null; then
                _command_offset $((i + 1))
            elif (( i + 1 == COMP_CWORD )); then
                COMPREPLY=( $(compgen -c -- "$cur") )
            fi
            return 0
        fi
    done
    # bash splits --flag=value at "=": the word being completed is then what follows it.
    [[ $cur == "=" ]] && cur=""
    opts=$( "\${COMP_WORDS[0]}" --completion-bash "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null )
    local IFS=$'\\n'
    COMPREPLY=( $(compgen -W "\${opts}" -- "$cur") )
    return 0
}
complete -F _${name}_bash_autocomplete -o default ${name}
`;
    case "zsh":
      return `#compdef ${name}
# zsh completion for ${name}: eval "$(${name} --completion-script-zsh)" in ~/.zshrc, or save as _${name} in $fpath

_${name}() {
    local -i i
    # Everything after \`--\` is a command line of its own.
    for (( i = 2; i < CURRENT; i++ )); do
        if [[ \${words[i]} == -- ]]; then
            shift $i words
            (( CURRENT -= i ))
            _normal
            return
        fi
    done
    local -a matches
    matches=( \${(f)"$(\${words[1]} --completion-bash "\${(@)words[2,CURRENT]}" 2>/dev/null)"} )
    if (( \${#matches} )); then
        compadd -- "\${matches[@]}"
    elif [[ \${words[CURRENT]} != -* ]]; then
        _files
    fi
}

if [[ "\${funcstack[1]}" == "_${name}" ]]; then
    _${name} "$@"
else
    # A ~/.zshrc without compinit (no framework) has no compdef yet: start the completion system, as it needs.
    (( \${+functions[compdef]} )) || { autoload -Uz compinit && compinit; }
    compdef _${name} ${name}
fi
`;
    case "fish":
      return `# fish completion for ${name}: ${name} --completion-script-fish | source
function __${ident}_complete
    set -l tokens (commandline -opc)
    set -l current (commandline -ct)
    # Everything after \`--\` is a command line of its own.
    if contains -- -- $tokens[2..-1]
        set -l rest (string split -m 1 -- ' -- ' (commandline -pc))
        complete -C "$rest[2]"
        return
    end
    set -l found ($tokens[1] --completion-bash $tokens[2..-1] $current 2>/dev/null)
    if test (count $found) -gt 0
        printf '%s\\n' $found
    else if not string match -q -- '-*' $current
        __fish_complete_path $current
    end
end
complete -c ${name} -f -a '(__${ident}_complete)'
`;
  }
}
