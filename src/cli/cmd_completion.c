/*
 * `tether completion bash|zsh`: prints a completion script. Its command, subcommand and option
 * words are read from the command table (main.c) and the commands' option tables at the time it
 * is printed, so the script always matches the binary that printed it. The script itself does no
 * network call: completing costs nothing.
 */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

const char completion_usage[] =
    "usage: tether completion bash|zsh\n"
    "\n"
    "Prints a shell completion script for commands, subcommands, options and option values.\n"
    "Its words come from this binary's option tables: print it again after an upgrade.\n"
    "\n"
    "example: source <(tether completion bash)                 # in ~/.bashrc\n"
    "         tether completion bash > /etc/bash_completion.d/tether\n"
    "         tether completion zsh > \"${fpath[1]}/_tether\"     # then: compinit\n";

enum { CP_HELP = 1 };

const struct opt_spec completion_specs[] = {
    { "help", 'h', false, CP_HELP },
    { NULL, 0, false, 0 },
};

/* Values an option takes, by option word; "@files" completes file names. Agent names come from
 * `tether agents` (the user's TETHER_SERVER / config) and are filtered to the name alphabet: the
 * word list is expanded by the shell, so nothing a hostile server sends may reach it. */
static const char value_cases[] =
    "    case \"$1\" in\n"
    "        -t|--target|--exclude) command tether agents 2>/dev/null |\n"
    "            awk 'NR > 1 && $1 ~ /^[A-Za-z0-9][A-Za-z0-9._-]*$/ { print $1 }' ;;\n"
    "        -o|--output) echo \"json table\" ;;\n"
    "        --color) echo \"auto always never\" ;;\n"
    "        --interpreter) echo \"sh bash python3 perl\" ;;\n"
    "        --role) echo \"admin operator viewer\" ;;\n"
    "        --stream) echo \"stdout stderr\" ;;\n"
    "        --status) echo \"online offline\" ;;\n"
    "        --ca-file|--include-file|--key|--out) echo \"@files\" ;;\n"
    "    esac\n";

/* One "name|alias) cmd_opts=... cmd_valued=... cmd_subs=... ;;" line per command. */
static int command_cases(FILE *f, const struct cli_command *cmds)
{
    for (const struct cli_command *k = cmds; k->name; k++) {
        struct buf words = BUF_INIT, valued = BUF_INIT;
        char *usage = NULL;
        int rc;

        if (k->flags & CMD_ALIAS)
            continue;
        if (!k->opts && command_usage(k, &usage) != 0)
            return -1;
        rc = command_option_words(k, usage, &words, &valued);
        free(usage);
        if (rc) {
            buf_free(&words);
            buf_free(&valued);
            return -1;
        }
        fprintf(f, "        %s", k->name);
        for (const struct cli_command *a = k + 1; a->name && (a->flags & CMD_ALIAS); a++)
            fprintf(f, "|%s", a->name);
        fprintf(f, ") cmd_opts=\"%s\" cmd_valued=\"%s\" cmd_subs=\"", words.data ? words.data : "",
                valued.data ? valued.data : "");
        for (size_t i = 0; k->subcommands && k->subcommands[i]; i++)
            fprintf(f, "%s%s", i ? " " : "", k->subcommands[i]);
        fputs("\" ;;\n", f);
        buf_free(&words);
        buf_free(&valued);
    }
    return 0;
}

/* _tether_commands, _tether_global_opts, _tether_global_valued. */
static int common_vars(FILE *f, const struct cli_command *cmds, const struct opt_spec *global)
{
    struct cli_command g = { "tether", NULL, global, NULL, NULL, CMD_LOCAL };
    struct buf words = BUF_INIT, valued = BUF_INIT;

    fputs("_tether_commands=\"", f);
    for (const struct cli_command *k = cmds; k->name; k++)
        if (!(k->flags & CMD_ALIAS))
            fprintf(f, "%s%s", k == cmds ? "" : " ", k->name);
    fputs("\"\n", f);
    if (command_option_words(&g, NULL, &words, &valued)) {
        buf_free(&words);
        buf_free(&valued);
        return -1;
    }
    fprintf(f, "_tether_global_opts=\"%s\"\n_tether_global_valued=\"%s\"\n",
            words.data ? words.data : "", valued.data ? valued.data : "");
    buf_free(&words);
    buf_free(&valued);
    return 0;
}

static int print_bash(FILE *f, const struct cli_command *cmds, const struct opt_spec *global)
{
    fputs("# bash completion for tether, printed by `tether completion bash` from its option\n"
          "# tables. Load it with: source <(tether completion bash)\n", f);
    if (common_vars(f, cmds, global))
        return -1;
    fprintf(f, "_tether_values() {\n%s}\n", value_cases);
    fputs("_tether() {\n"
          "    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"\" cmd=\"\" w vals\n"
          "    local cmd_opts=\"\" cmd_valued=\"\" cmd_subs=\"\"\n"
          "    local -i i=1 nargs=0\n"
          "    COMPREPLY=()\n"
          "    [ \"$COMP_CWORD\" -gt 0 ] && prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
          "    while [ \"$i\" -lt \"$COMP_CWORD\" ]; do\n"
          "        w=\"${COMP_WORDS[i]}\"\n"
          "        case \" $_tether_global_valued \" in *\" $w \"*) i=i+2; continue ;; esac\n"
          "        case \"$w\" in -*) i=i+1 ;; *) cmd=\"$w\"; break ;; esac\n"
          "    done\n"
          "    if [ -z \"$cmd\" ]; then\n"
          "        cmd_opts=\"$_tether_global_opts\" cmd_valued=\"$_tether_global_valued\"\n"
          "        cmd_subs=\"$_tether_commands\"\n"
          "    else\n"
          "        case \"$cmd\" in\n", f);
    if (command_cases(f, cmds))
        return -1;
    fputs("        *) return 0 ;;\n"
          "        esac\n"
          "        i=i+1\n"
          "        while [ \"$i\" -lt \"$COMP_CWORD\" ]; do\n"
          "            w=\"${COMP_WORDS[i]}\"\n"
          "            if [ \"$w\" = \"--\" ]; then nargs=nargs+1; break; fi\n"
          "            case \" $cmd_valued \" in *\" $w \"*) i=i+2; continue ;; esac\n"
          "            case \"$w\" in -*) ;; *) nargs=nargs+1 ;; esac\n"
          "            i=i+1\n"
          "        done\n"
          "    fi\n"
          "    if [ -n \"$prev\" ] && { [ \"$cmd\" != run ] || [ \"$nargs\" -eq 0 ]; }; then\n"
          "        case \" $cmd_valued \" in *\" $prev \"*)\n"
          "            vals=\"$(_tether_values \"$prev\")\"\n"
          "            if [ \"$vals\" = \"@files\" ]; then\n"
          "                compopt -o filenames 2>/dev/null\n"
          "                COMPREPLY=($(compgen -f -- \"$cur\"))\n"
          "            else\n"
          "                COMPREPLY=($(compgen -W \"$vals\" -- \"$cur\"))\n"
          "            fi\n"
          "            return 0 ;;\n"
          "        esac\n"
          "    fi\n"
          "    if [ \"$cmd\" = run ] && [ \"$nargs\" -gt 0 ]; then\n"
          "        compopt -o default 2>/dev/null   # the remote command: plain file names\n"
          "        return 0\n"
          "    fi\n"
          "    case \"$cur\" in\n"
          "        -*) COMPREPLY=($(compgen -W \"$cmd_opts\" -- \"$cur\")) ;;\n"
          "        *) [ \"$nargs\" -eq 0 ] &&\n"
          "               COMPREPLY=($(compgen -W \"$cmd_subs\" -- \"$cur\")) ;;\n"
          "    esac\n"
          "    return 0\n"
          "}\n"
          "complete -F _tether tether\n", f);
    return 0;
}

static int print_zsh(FILE *f, const struct cli_command *cmds, const struct opt_spec *global)
{
    fputs("#compdef tether\n"
          "# zsh completion for tether, printed by `tether completion zsh` from its option\n"
          "# tables. Save it as _tether in a directory of $fpath, or: source <(tether completion "
          "zsh)\n", f);
    if (common_vars(f, cmds, global))
        return -1;
    fprintf(f, "_tether_values() {\n%s}\n", value_cases);
    fputs("_tether() {\n"
          "    local cur=${words[CURRENT]} prev=${words[CURRENT-1]} cmd=\"\" w vals\n"
          "    local cmd_opts=\"\" cmd_valued=\"\" cmd_subs=\"\"\n"
          "    local -i i=2 nargs=0\n"
          "    while (( i < CURRENT )); do\n"
          "        w=${words[i]}\n"
          "        if [[ \" $_tether_global_valued \" == *\" $w \"* ]]; then i=i+2; continue; fi\n"
          "        case $w in -*) i=i+1 ;; *) cmd=$w; break ;; esac\n"
          "    done\n"
          "    if [[ -z $cmd ]]; then\n"
          "        cmd_opts=$_tether_global_opts cmd_valued=$_tether_global_valued\n"
          "        cmd_subs=$_tether_commands\n"
          "    else\n"
          "        case $cmd in\n", f);
    if (command_cases(f, cmds))
        return -1;
    fputs("        *) return 1 ;;\n"
          "        esac\n"
          "        i=i+1\n"
          "        while (( i < CURRENT )); do\n"
          "            w=${words[i]}\n"
          "            if [[ $w == -- ]]; then nargs=nargs+1; break; fi\n"
          "            if [[ \" $cmd_valued \" == *\" $w \"* ]]; then i=i+2; continue; fi\n"
          "            [[ $w == -* ]] || nargs=nargs+1\n"
          "            i=i+1\n"
          "        done\n"
          "    fi\n"
          "    if [[ -n $prev && ( $cmd != run || $nargs -eq 0 ) &&\n"
          "          \" $cmd_valued \" == *\" $prev \"* ]]; then\n"
          "        vals=$(_tether_values $prev)\n"
          "        if [[ $vals == @files ]]; then _files; else compadd -- ${=vals}; fi\n"
          "        return 0\n"
          "    fi\n"
          "    if [[ $cmd == run && $nargs -gt 0 ]]; then _files; return 0; fi\n"
          "    if [[ $cur == -* ]]; then\n"
          "        compadd -- ${=cmd_opts}\n"
          "    elif (( nargs == 0 )) && [[ -n $cmd_subs ]]; then\n"
          "        compadd -- ${=cmd_subs}\n"
          "    fi\n"
          "    return 0\n"
          "}\n"
          "if [[ \"$funcstack[1]\" == _tether ]]; then _tether \"$@\"; "
          "else compdef _tether tether; fi\n", f);
    return 0;
}

int completion_main(const struct cli_command *cmds, const struct opt_spec *global, int argc,
                    char **argv)
{
    struct opt_iter it;
    const char *val, *shell = NULL;
    int id, rc;

    opt_iter_init(&it, "completion", argc, argv, false);
    while ((id = opt_next(&it, completion_specs, &val)) != OPT_END) {
        if (id == OPT_ERROR)
            return EXIT_USAGE;
        if (id == CP_HELP) {
            fputs(completion_usage, stdout);
            return 0;
        }
        if (shell)
            return cli_usage("completion", "give one shell: bash or zsh");
        shell = val;
    }
    if (!shell)
        return cli_usage("completion", "give a shell: bash or zsh");
    if (!strcmp(shell, "bash"))
        rc = print_bash(stdout, cmds, global);
    else if (!strcmp(shell, "zsh"))
        rc = print_zsh(stdout, cmds, global);
    else
        return cli_usage("completion", "'%s' is not bash or zsh", shell);
    fflush(stdout);
    return rc ? cli_fail("completion: cannot read the option tables") : 0;
}
