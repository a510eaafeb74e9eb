/*
 * The admin shell's command line: splitting, dispatch, help (shell_parse.h). Every message is built
 * with fmt_snprintf into the caller's buffer, so nothing here can write past it.
 */
#include "console/shell_parse.h"
#include "lib/lib.h"
#include "lib/log.h"

#define HELP_COLUMN_MAX 40 /* "name ARGS" wider than this is not padded */

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

static void set_err(char *err, size_t errsz, const char *fmt, ...) PRINTF_LIKE(3, 4);
static void set_err(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;
    if (!err || !errsz)
        return;
    va_start(ap, fmt);
    fmt_vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

struct shell_shown shell_show_word(const char *w)
{
    struct shell_shown r;
    size_t i;
    for (i = 0; i < SHELL_WORD_SHOWN && w[i]; i++)
        r.s[i] = w[i] > 0x20 && w[i] < 0x7f ? w[i] : '?';
    if (w[i]) {
        memcpy(r.s + i, "...", 3);
        i += 3;
    }
    r.s[i] = 0;
    return r;
}

int shell_split(char *line, char **argv, int max, char *err, size_t errsz)
{
    int argc = 0;
    char *p = line;

    if (err && errsz)
        err[0] = 0;
    for (;;) {
        while (is_blank(*p))
            p++;
        if (!*p)
            return argc;
        if (argc >= max) {
            set_err(err, errsz, "too many words (at most %d)", max);
            return -1;
        }
        argv[argc++] = p;
        while (*p && !is_blank(*p))
            p++;
        if (!*p)
            return argc;
        *p++ = 0;
    }
}

const struct shell_cmd *shell_find(const struct shell_cmd *cmds, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (cmds[i].name && strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
    return NULL;
}

static const char *args_of(const struct shell_cmd *c) { return c->args ? c->args : ""; }

/* "'bind' needs 2 arguments: bind MODULE PRIVILEGE" and its siblings. */
static void arg_count_error(const struct shell_cmd *c, int nargs, char *err, size_t errsz)
{
    const char *args = args_of(c), *sep = *args ? " " : "";
    unsigned lim;
    const char *what;

    if (c->max_args == 0) {
        set_err(err, errsz, "'%s' takes no arguments", c->name);
        return;
    }
    if (c->min_args == c->max_args) {
        what = "needs";
        lim = c->min_args;
    } else if (nargs < c->min_args) {
        what = "needs at least";
        lim = c->min_args;
    } else {
        what = "takes at most";
        lim = c->max_args;
    }
    set_err(err, errsz, "'%s' %s %u argument%s: %s%s%s", c->name, what, lim, lim == 1 ? "" : "s", c->name, sep, args);
}

int shell_dispatch(const struct shell_cmd *cmds, size_t n, char *line, void *ctx, char *err, size_t errsz)
{
    char *argv[SHELL_MAX_ARGS];
    const struct shell_cmd *c;
    int argc, nargs;

    argc = shell_split(line, argv, SHELL_MAX_ARGS, err, errsz);
    if (argc <= 0)
        return argc;
    c = shell_find(cmds, n, argv[0]);
    if (!c) {
        set_err(err, errsz, "unknown command '%s' (type help)", shell_show_word(argv[0]).s);
        return -1;
    }
    nargs = argc - 1;
    if (nargs < c->min_args || nargs > c->max_args) {
        arg_count_error(c, nargs, err, errsz);
        return -1;
    }
    if (c->run)
        c->run(ctx, argc, argv);
    return 0;
}

/* ------------------------------------------------------------------ help */
static void put(shell_out_fn out, void *ctx, const char *s, size_t n)
{
    if (out && n)
        out(ctx, s, n);
}

static void put_str(shell_out_fn out, void *ctx, const char *s) { put(out, ctx, s, strlen(s)); }

static size_t usage_width(const struct shell_cmd *c)
{
    size_t a = strlen(args_of(c));
    return strlen(c->name) + (a ? 1 + a : 0);
}

static void help_line(const struct shell_cmd *c, size_t column, shell_out_fn out, void *ctx)
{
    static const char spaces[HELP_COLUMN_MAX] = "                                        ";
    size_t w = usage_width(c);

    put_str(out, ctx, c->name);
    if (*args_of(c)) {
        put(out, ctx, " ", 1);
        put_str(out, ctx, args_of(c));
    }
    if (w < column)
        put(out, ctx, spaces, column - w);
    put(out, ctx, "  ", 2);
    put_str(out, ctx, c->help ? c->help : "");
    put(out, ctx, "\n", 1);
}

void shell_help(const struct shell_cmd *cmds, size_t n, shell_out_fn out, void *ctx)
{
    size_t column = 0;
    for (size_t i = 0; i < n; i++) {
        size_t w = cmds[i].name ? usage_width(&cmds[i]) : 0;
        if (w > column && w <= HELP_COLUMN_MAX)
            column = w;
    }
    for (size_t i = 0; i < n; i++)
        if (cmds[i].name)
            help_line(&cmds[i], column, out, ctx);
}

int shell_help_one(const struct shell_cmd *cmds, size_t n, const char *name, shell_out_fn out, void *ctx, char *err,
                   size_t errsz)
{
    const struct shell_cmd *c = shell_find(cmds, n, name);
    if (!c) {
        set_err(err, errsz, "unknown command '%s' (type help)", shell_show_word(name).s);
        return -1;
    }
    help_line(c, 0, out, ctx);
    return 0;
}
