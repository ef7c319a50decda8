package cmd

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// Shell completion asks tapctl itself for the candidates (urfave/cli's hidden
// --generate-bash-completion flag), so it always knows the commands and flags of the binary
// it runs. The bash and zsh scripts follow urfave/cli's autocomplete/ scripts, made
// self-contained: the bash one does not need the bash-completion package.
const bashCompletion = `# bash completion for tapctl. Load it with: source <(tapctl completion bash)
_tapctl_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}"
  local -a request=("${COMP_WORDS[@]:0:COMP_CWORD}")
  if [[ "$cur" == -* ]]; then
    request+=("$cur")
  fi
  local IFS=$'\n'
  COMPREPLY=($(compgen -W "$("${request[@]}" --generate-bash-completion 2>/dev/null)" -- "$cur"))
  return 0
}
complete -o bashdefault -o default -F _tapctl_complete tapctl
`

const zshCompletion = `#compdef tapctl
# zsh completion for tapctl. Load it with: source <(tapctl completion zsh)
_tapctl() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _tapctl tapctl
`

func completionCommand(opts Options) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: `Examples:
   source <(tapctl completion bash)                       # this shell; add it to ~/.bashrc to keep it
   tapctl completion zsh > "${fpath[1]}/_tapctl"          # zsh, then start a new shell
   tapctl completion fish > ~/.config/fish/completions/tapctl.fish`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("completion needs one shell: bash, zsh or fish")
			}
			switch shell := c.Args().First(); shell {
			case "bash":
				_, err := fmt.Fprint(opts.Stdout, bashCompletion)
				return err
			case "zsh":
				_, err := fmt.Fprint(opts.Stdout, zshCompletion)
				return err
			case "fish":
				script, err := c.App.ToFishCompletion()
				if err != nil {
					return fmt.Errorf("writing the fish completion: %w", err)
				}
				_, err = fmt.Fprint(opts.Stdout, script)
				return err
			default:
				return usagef("unknown shell %q: use bash, zsh or fish", shell)
			}
		},
	}
}
