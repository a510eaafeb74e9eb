/*
 * The admin shell's command line (docs/admin-shell.md): split a line into words, find the command by
 * its exact name, check its argument count, run it; and the help text. Pure logic: the commands and
 * where output goes are the caller's. Freestanding (hv/lib/lib.h, hv/lib/fmt.c), no allocation.
 *
 * Words are separated by blanks (space, tab); there is no quoting or escaping, so an argument can't
 * contain a blank (none of the shell's arguments needs one: module and privilege names, numbers,
 * base64). Command names match exactly (no abbreviations, case-sensitive).
 *
 * Messages name the offending word with bytes outside 0x21-0x7e shown as '?' and cut to its first
 * SHELL_WORD_SHOWN characters + "...", so they stay short and printable whatever the line held.
 */
#ifndef POSTERN_SHELL_PARSE_H
#define POSTERN_SHELL_PARSE_H

#include "lib/types.h"

#define SHELL_MAX_ARGS   8   /* words in a line, the command included */
#define SHELL_WORD_SHOWN 32  /* characters of a word quoted in a message */
#define SHELL_ERR_MAX    160 /* an error buffer this big holds every message in full */

struct shell_cmd {
    const char *name;
    const char *args;      /* usage of the arguments, e.g. "MODULE PRIVILEGE"; "" or NULL for none */
    const char *help;      /* one line */
    u8 min_args, max_args; /* arguments after the name */
    /* argv[0] is the name; argv[1..argc-1] the arguments, each NUL-terminated within the line */
    void (*run)(void *ctx, int argc, char **argv);
};

/* Output for the help text (not NUL-terminated); lines end with "\n". */
typedef void (*shell_out_fn)(void *ctx, const char *s, size_t n);

/* Splits line in place at blanks: argv[0..argc) point into it, each word NUL-terminated. Returns
 * argc (0 for an empty or blank line), or -1 with "too many words (at most MAX)" in err when the
 * line has more than max words (argv then holds the first max). argv needs max entries. */
int shell_split(char *line, char **argv, int max, char *err, size_t errsz);

/* A word as it may appear in a message: bytes outside 0x21-0x7e as '?', at most SHELL_WORD_SHOWN
 * characters, then "..." if it was longer (also used by hv/console/paste.c). */
struct shell_shown {
    char s[SHELL_WORD_SHOWN + 4];
};
struct shell_shown shell_show_word(const char *w);

/* The command named exactly `name`, or NULL. */
const struct shell_cmd *shell_find(const struct shell_cmd *cmds, size_t n, const char *name);

/* Splits line (in place), finds the command and runs it with ctx. Returns 0 (also for a blank line,
 * which runs nothing), or -1 with a message in err and nothing run:
 *   too many words (at most 8)
 *   unknown command 'xyz' (type help)
 *   'status' takes no arguments
 *   'bind' needs 2 arguments: bind MODULE PRIVILEGE
 *   'log' needs at least 1 argument: log [N] ...     (min < max)
 *   'log' takes at most 1 argument: log [N]
 * err is always NUL-terminated when errsz > 0; a message longer than errsz - 1 is cut. */
int shell_dispatch(const struct shell_cmd *cmds, size_t n, char *line, void *ctx, char *err, size_t errsz);

/* The help text: one line per command, "name ARGS" padded to one column, two spaces, the help. */
void shell_help(const struct shell_cmd *cmds, size_t n, shell_out_fn out, void *ctx);
/* Help for one command: its line as above, or -1 with "unknown command 'xyz' (type help)". */
int shell_help_one(const struct shell_cmd *cmds, size_t n, const char *name, shell_out_fn out, void *ctx, char *err,
                   size_t errsz);

#endif
