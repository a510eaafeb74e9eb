/* christoize — turns a Linux kernel module into a guarded module (tech report §4.2).
 * This stage: `christoize analyze`, the analysis of the compiled module object. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "absorb.h"
#include "analysis.h"
#include "build.h"
#include "elfobj.h"
#include "report.h"
#include "sign.h"

#define EXIT_BADINPUT 1
#define EXIT_USAGE    2

static const char *prog = "christoize";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s analyze MODULE.o|MODULE.ko [options]\n"
            "       %s build --module-dir DIR --name NAME --out OUTDIR [--privilege P ...] [--sign KEY] [options]\n"
            "       %s absorb-candidates MODULE.o [IMPL.o ...] [--list FILE]\n"
            "       %s keygen --out DIR\n"
            "       %s sign --key KEY FILE.gmeta...\n"
            "       %s --help | --version\n"
            "\n"
            "analyze: list a kernel module's entry points (functions the kernel can call), its exits\n"
            "(undefined kernel functions it calls: ld --wrap candidates), the undefined data it uses, and\n"
            "the text the kernel rewrites when loading it (relocations, ftrace, alternatives, retpolines,\n"
            "return thunks, jump labels, static calls, paravirt, LOCK prefixes).\n"
            "\n"
            "options:\n"
            "  --entries-add NAME[,NAME...]     also treat these module functions as entry points\n"
            "  --entries-remove NAME[,NAME...]  drop these from the entry points (not init/cleanup)\n"
            "  --entries-file FILE              lines '+name' (add), '-name' (remove), 'name' (add), '#' comments\n"
            "  --format text|json               output format (default text)\n"
            "  -o, --output FILE                write the report to FILE instead of stdout\n"
            "  -h, --help                       this text\n"
            "\n"
            "build: turn the module in DIR (source + Kbuild/Makefile, never modified) into a guarded\n"
            "OUTDIR/NAME.ko (loads with the stock kernel's insmod) and OUTDIR/NAME.gmeta. Refuses, naming\n"
            "the function or site, any construct it cannot wrap safely (static-call sites, ...);\n"
            "jump-label sites become holes the hypervisor checks.\n"
            "  --module-dir DIR  --name NAME  --out OUTDIR     required\n"
            "  --privilege P                    a privilege the module asks for (repeatable, at most 8)\n"
            "  --kdir DIR                       kernel build tree (default: the guest kernel this build tree\n"
            "                                   chose, /lib/modules/$(cat build/guest/kernel-release)/build)\n"
            "  --entries-add/--entries-remove/--entries-file   as for analyze\n"
            "  --sign KEY                       sign NAME.gmeta with the administrator's private key\n"
            "  --absorb FILE                    absorb the kernel functions FILE lists (one per line) into the "
            "module:\n"
            "                                   each needs an implementation in --absorb-dir that passes the checks\n"
            "  --absorb-dir DIR                 the implementations (default " CB_DEFAULT_ABSORB_DIR ")\n"
            "                                   OUTDIR/absorb-candidates.txt: every exit and its absorption verdict\n"
            "\n"
            "absorb-candidates: every exit of MODULE.o with its call sites and whether it can be absorbed: the\n"
            "verdict on each compiled implementation IMPL.o (christoize/absorb/F.c built by kbuild), with every\n"
            "reason for a rejection (calls it does not declare, locks, per-CPU or undeclared kernel data, atomic,\n"
            "indirect or privileged instructions). --list marks the functions a build would absorb.\n"
            "\n"
            "keygen: make the administrator's ECDSA P-256 key pair: DIR/admin.key (private, PEM, mode 0600)\n"
            "and DIR/admin.pub (the public key the hypervisor reads from the ESP: admin_key = in postern.cfg).\n"
            "Never overwrites an existing key.\n"
            "\n"
            "sign: (re)sign existing .gmeta files in place with KEY (admin.key). Signing is deterministic:\n"
            "the same key and file give the same bytes.\n"
            "\n"
            "Overrides apply in order: --entries-file, then --entries-add, then --entries-remove.\n"
            "exit status: 0 success, 1 bad input (missing file, not an x86-64 kernel module object,\n"
            "bad override, unusable key), 2 usage error. See docs/christoize.md and docs/gmeta.md.\n",
            prog, prog, prog, prog, prog, prog);
}

static int apply_list(struct ca_result *r, const char *list, int remove)
{
    char *copy = strdup(list), *save = NULL, err[1024];
    if (!copy)
        return -1;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (!*t)
            continue;
        if ((remove ? ca_entries_remove : ca_entries_add)(r, t, err, sizeof(err))) {
            fprintf(stderr, "%s: %s\n", prog, err);
            free(copy);
            return -1;
        }
    }
    free(copy);
    return 0;
}

static int cmd_analyze(int argc, char **argv)
{
    static const struct option opts[] = {
        { "entries-add", required_argument, NULL, 'a' },
        { "entries-remove", required_argument, NULL, 'r' },
        { "entries-file", required_argument, NULL, 'f' },
        { "format", required_argument, NULL, 'F' },
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { 0, 0, 0, 0 },
    };
    /* lists may be repeated: keep every occurrence, in order */
    const char **adds = calloc((size_t)argc, sizeof(*adds)), **rems = calloc((size_t)argc, sizeof(*rems));
    size_t nadd = 0, nrem = 0;
    const char *file = NULL, *format = "text", *out = NULL;
    int c, rc = EXIT_USAGE;
    if (!adds || !rems) {
        fprintf(stderr, "%s: out of memory\n", prog);
        goto done;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            adds[nadd++] = optarg;
            break;
        case 'r':
            rems[nrem++] = optarg;
            break;
        case 'f':
            if (file) {
                fprintf(stderr, "%s analyze: --entries-file given twice\n", prog);
                goto done;
            }
            file = optarg;
            break;
        case 'F':
            format = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto done;
        default:
            fprintf(stderr, "Try '%s --help'.\n", prog);
            goto done;
        }
    }
    if (strcmp(format, "text") && strcmp(format, "json")) {
        fprintf(stderr, "%s analyze: --format must be text or json, not '%s'\n", prog, format);
        goto done;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "%s analyze: %s\nTry '%s --help'.\n", prog,
                optind >= argc ? "missing MODULE.o|MODULE.ko" : "exactly one module object expected", prog);
        goto done;
    }

    const char *path = argv[optind];
    struct co_object obj;
    struct ca_result res;
    char err[1024];
    rc = EXIT_BADINPUT;
    if (co_open(path, &obj, err, sizeof(err)) != CO_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto done;
    }
    if (ca_analyze(&obj, &res, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        co_close(&obj);
        goto done;
    }
    int bad = 0;
    if (file && ca_entries_file(&res, file, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        bad = 1;
    }
    for (size_t i = 0; !bad && i < nadd; i++)
        bad = apply_list(&res, adds[i], 0) != 0;
    for (size_t i = 0; !bad && i < nrem; i++)
        bad = apply_list(&res, rems[i], 1) != 0;
    if (!bad) {
        FILE *f = out ? fopen(out, "w") : stdout;
        if (!f) {
            perror(out);
            bad = 1;
        } else {
            if (!strcmp(format, "json"))
                report_json(f, &res);
            else
                report_text(f, &res);
            /* exactly one of the two runs: cppcheck takes the fflush for a use after the fclose */
            // cppcheck-suppress useClosedFile
            if ((out ? fclose(f) : fflush(f)) != 0) {
                perror(out ? out : "stdout");
                bad = 1;
            }
        }
    }
    ca_free(&res);
    co_close(&obj);
    rc = bad ? EXIT_BADINPUT : 0;
done:
    free(adds);
    free(rems);
    return rc;
}

static int cmd_build(int argc, char **argv)
{
    static const struct option opts[] = {
        { "module-dir", required_argument, NULL, 'd' },
        { "name", required_argument, NULL, 'n' },
        { "privilege", required_argument, NULL, 'p' },
        { "kdir", required_argument, NULL, 'k' },
        { "out", required_argument, NULL, 'o' },
        { "entries-add", required_argument, NULL, 'a' },
        { "entries-remove", required_argument, NULL, 'r' },
        { "entries-file", required_argument, NULL, 'f' },
        { "quiet", no_argument, NULL, 'q' },
        { "sign", required_argument, NULL, 's' },
        { "absorb", required_argument, NULL, 'A' },
        { "absorb-dir", required_argument, NULL, 'D' },
        { "help", no_argument, NULL, 'h' },
        { 0, 0, 0, 0 },
    };
    const char *sign_key = NULL;
    struct cs_key *key = NULL;
    const char **privs = calloc((size_t)argc, sizeof(*privs)), **adds = calloc((size_t)argc, sizeof(*adds)),
               **rems = calloc((size_t)argc, sizeof(*rems));
    struct cb_opts o = { .privs = privs, .adds = adds, .rems = rems, .progress = stderr };
    size_t np = 0, na = 0, nr = 0;
    int c, rc = EXIT_USAGE;
    if (!privs || !adds || !rems) {
        fprintf(stderr, "%s: out of memory\n", prog);
        goto done;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o.module_dir = optarg;
            break;
        case 'n':
            o.name = optarg;
            break;
        case 'p':
            privs[np++] = optarg;
            break;
        case 'k':
            o.kdir = optarg;
            break;
        case 'o':
            o.out = optarg;
            break;
        case 'a':
            adds[na++] = optarg;
            break;
        case 'r':
            rems[nr++] = optarg;
            break;
        case 'f':
            if (o.entries_file) {
                fprintf(stderr, "%s build: --entries-file given twice\n", prog);
                goto done;
            }
            o.entries_file = optarg;
            break;
        case 'q':
            o.progress = NULL;
            break;
        case 's':
            sign_key = optarg;
            break;
        case 'A':
            o.absorb_list = optarg;
            break;
        case 'D':
            o.absorb_dir = optarg;
            break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto done;
        default:
            fprintf(stderr, "Try '%s --help'.\n", prog);
            goto done;
        }
    }
    if (optind != argc || !o.module_dir || !o.name || !o.out) {
        fprintf(stderr, "%s build: %s\nTry '%s --help'.\n", prog,
                optind != argc ? "unexpected argument" : "--module-dir, --name and --out are required", prog);
        goto done;
    }
    o.nprivs = np;
    o.nadds = na;
    o.nrems = nr;
    struct cb_result res;
    char err[4096];
    /* An unusable key stops the build before anything is compiled. */
    if (sign_key && cs_key_load(sign_key, &key, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        rc = EXIT_BADINPUT;
        goto done;
    }
    if (cb_build(&o, &res, err, sizeof(err)) || (key && cs_sign_file(key, res.gmeta, err, sizeof(err)))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        rc = EXIT_BADINPUT;
        goto done;
    }
    printf("%s\n%s\n", res.ko, res.gmeta);
    fprintf(stderr, "%s build: %zu entry wrappers, %zu exit wrappers, %zu sites, %zu holes, text %u bytes, sha256 ",
            prog, res.nentries, res.nexits, res.nsites, res.nholes, res.text_len);
    for (int i = 0; i < 32; i++)
        fprintf(stderr, "%02x", res.sha256[i]);
    fputc('\n', stderr);
    if (key)
        fprintf(stderr, "%s build: %s signed with %s\n", prog, res.gmeta, sign_key);
    rc = 0;
done:
    cs_key_free(key);
    free(privs);
    free(adds);
    free(rems);
    return rc;
}

static int cmd_absorb_candidates(int argc, char **argv)
{
    static const struct option opts[] = {
        { "list", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { 0, 0, 0, 0 },
    };
    const char *list = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            list = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "Try '%s --help'.\n", prog);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "%s absorb-candidates: MODULE.o is required\nTry '%s --help'.\n", prog, prog);
        return EXIT_USAGE;
    }
    char err[4096];
    char **names = NULL;
    size_t nnames = 0, nimpl = 0;
    struct co_object obj;
    struct ca_result res;
    struct ab_impl *impls = calloc((size_t)argc, sizeof(*impls));
    int rc = EXIT_BADINPUT, have_obj = 0, have_res = 0;
    if (!impls || (list && ab_read_list(list, &names, &nnames, err, sizeof(err))) ||
        co_open(argv[optind], &obj, err, sizeof(err)) != CO_OK)
        goto out;
    have_obj = 1;
    if (ca_analyze(&obj, &res, err, sizeof(err)))
        goto out;
    have_res = 1;
    for (int i = optind + 1; i < argc; i++, nimpl++)
        if (ab_check(argv[i], &impls[nimpl], err, sizeof(err)))
            goto out;
    printf("absorption candidates for %s (%zu implementation%s checked%s%s):\n", argv[optind], nimpl,
           nimpl == 1 ? "" : "s", list ? ", list " : "", list ? list : "");
    ab_report(stdout, &res, impls, nimpl, names, nnames);
    for (size_t i = 0; i < nimpl; i++)
        if (!ca_find_exit(&res, impls[i].func))
            printf("(%s: %s is not an exit of this module)\n", impls[i].path, impls[i].func);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "%s: %s\n", prog, err[0] ? err : "out of memory");
    for (size_t i = 0; impls && i < nimpl; i++)
        ab_free(&impls[i]);
    free(impls);
    ab_free_list(names, nnames);
    if (have_res)
        ca_free(&res);
    if (have_obj)
        co_close(&obj);
    return rc;
}

static int cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        { "out", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { 0, 0, 0, 0 },
    };
    const char *dir = NULL;
    char err[4400];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            dir = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "Try '%s --help'.\n", prog);
            return EXIT_USAGE;
        }
    }
    if (!dir || optind != argc) {
        fprintf(stderr, "%s keygen: %s\nTry '%s --help'.\n", prog,
                dir ? "unexpected argument" : "--out DIR is required", prog);
        return EXIT_USAGE;
    }
    if (cs_keygen(dir, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return EXIT_BADINPUT;
    }
    printf("%s/%s\n%s/%s\n", dir, CS_KEY_FILE, dir, CS_PUB_FILE);
    return 0;
}

static int cmd_sign(int argc, char **argv)
{
    static const struct option opts[] = {
        { "key", required_argument, NULL, 'k' },
        { "help", no_argument, NULL, 'h' },
        { 0, 0, 0, 0 },
    };
    const char *keyfile = NULL;
    struct cs_key *key = NULL;
    char err[4400];
    int c, rc = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            keyfile = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "Try '%s --help'.\n", prog);
            return EXIT_USAGE;
        }
    }
    if (!keyfile || optind == argc) {
        fprintf(stderr, "%s sign: %s\nTry '%s --help'.\n", prog,
                keyfile ? "no .gmeta file given" : "--key KEY is required", prog);
        return EXIT_USAGE;
    }
    if (cs_key_load(keyfile, &key, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return EXIT_BADINPUT;
    }
    for (int i = optind; i < argc; i++) {
        if (cs_sign_file(key, argv[i], err, sizeof(err))) {
            fprintf(stderr, "%s: %s\n", prog, err);
            rc = EXIT_BADINPUT;
        }
    }
    cs_key_free(key);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("christoize 0.4 (analyze, build, absorb-candidates, keygen, sign)\n");
        return 0;
    }
    if (!strcmp(argv[1], "analyze"))
        return cmd_analyze(argc - 1, argv + 1);
    if (!strcmp(argv[1], "build"))
        return cmd_build(argc - 1, argv + 1);
    if (!strcmp(argv[1], "absorb-candidates"))
        return cmd_absorb_candidates(argc - 1, argv + 1);
    if (!strcmp(argv[1], "keygen"))
        return cmd_keygen(argc - 1, argv + 1);
    if (!strcmp(argv[1], "sign"))
        return cmd_sign(argc - 1, argv + 1);
    fprintf(stderr,
            "%s: unknown command '%s' (commands: analyze, build, absorb-candidates, keygen, sign)\nTry '%s --help'.\n",
            prog, argv[1], prog);
    return EXIT_USAGE;
}
