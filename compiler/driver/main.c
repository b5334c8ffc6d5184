/*
 * main.c: the nnc command line.
 *
 * Exit status: 0 success, 1 errors in the model (or weights that do not fit
 * it), 2 usage or I/O errors, 70 an internal compiler error (a bug in nnc).
 * Nothing is written unless the whole compilation succeeded: files are
 * written under temporary names and renamed at the end.  --exe runs the C
 * compiler with posix_spawnp and an argument vector, never through a
 * shell, so no name or flag is ever taken for a command.
 */
#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autodiff.h"
#include "cident.h"
#include "compile.h"
#include "emit_c.h"
#include "kernels.h"
#include "kernels_int8.h"
#include "lower.h"
#include "memplan.h"
#include "nnrt.h"
#include "target.h"
#include "quantize.h"

#ifndef NNC_RUNTIME_DIR
#define NNC_RUNTIME_DIR "runtime"
#endif
#ifndef NNC_RUNTIME_LIB
#define NNC_RUNTIME_LIB "build/libnnrt.a"
#endif

/* --help, in three parts around the pass lists print_usage() adds. */
static const char usage_options[] =
    "usage: nnc MODEL.nn [options]\n"
    "\n"
    "  -o DIR               write DIR/NAME.h and DIR/NAME.c (default: .)\n"
    "  --exe -o PROG        also compile them with the runtime into the program PROG\n"
    "  --inference          inference code only: no training, no runtime, no heap\n"
    "  --weights W          with --inference: compile the weights of the safetensors\n"
    "                       file W in as const arrays\n"
    "  --quantize int8      with --inference: integer code (TFLite's int8 scheme); W\n"
    "                       must hold the ranges PROG calibrate writes\n"
    "  --threads N          split the hot loops over N threads with OpenMP (results\n"
    "                       equal one thread's); --exe then compiles with -fopenmp\n"
    "  --batch N            the largest batch the code is compiled for (default: the\n"
    "                       train block's batch, else 32)\n"
    "  --target T           the machine the code is for (default: host); the C stays\n"
    "                       portable C99 that compiles anywhere (see below)\n"
    "  -O0, -O1, -O2        optimisation level (default -O2); -O0 turns off the\n"
    "                       optional passes (fusion, algorithm choice)\n"
    "  --disable PASS       turn off one optional pass (repeatable): ";
static const char usage_dump[] =
    "\n"
    "  --check              parse and check the model, shapes included; print only\n"
    "                       diagnostics (errors and warnings)\n"
    "  -Werror              make warnings errors: exit status 1 and no output\n"
    "  --emit ir            print the IR after the last pass\n"
    "  --emit shapes        print every value's per-sample shape, every parameter,\n"
    "                       each layer's and the model's parameter count\n"
    "  --emit dot           print the model as a Graphviz graph (dot -Tsvg)\n"
    "  --emit memory        print the memory plan: every buffer, the arena size and\n"
    "                       what reuse saved; then, per layer and in total, flash\n"
    "                       (weights) and RAM (the arena, NAME_ARENA_BYTES)\n"
    "  --budget flash=SIZE,ram=SIZE\n"
    "                       with --emit memory: exit status 1 when the model needs\n"
    "                       more (SIZE in bytes, or with K or M: 256K, 1M; either\n"
    "                       key alone)\n"
    "  --emit kernels       print the kernels the model becomes, in schedule order\n"
    "  --dump-after PASS    print the IR after PASS: ";
static const char usage_rest[] =
    "\n"
    "  --list-ops           list every operator with its code-generation status\n"
    "  -h, --help           show this help\n"
    "  --version            show the version\n"
    "\n"
    "MODEL.nn may be - for standard input.\n"
    "\n"
    "--exe runs the C compiler $CC (default: cc) with the flags $NNC_CFLAGS\n"
    "(default, and when empty: -O3 -march=native, code for the machine nnc runs on,\n"
    "or -O3 -march=T for an x86-64 --target T; set NNC_CFLAGS=-O2 for a program that\n"
    "runs on other machines).  Both are split into words at white space and run\n"
    "without a shell: quotes are not interpreted.  For another --target, --exe\n"
    "needs CC set to a cross compiler (and NNC_RUNTIME_LIB to its runtime).\n"
    "\n"
    "Warnings (a softmax before cross_entropy, a sigmoid before binary_cross_entropy,\n"
    "nll of raw logits, a batch dimension written into an input, an unused value)\n"
    "leave the exit status 0; -Werror makes them errors.  A model whose name C\n"
    "already uses (exp, free, int, m, seed, ...) is nnc_NAME in C: nnc_NAME.h,\n"
    "nnc_NAME.c, nnc_NAME_forward, ...\n"
    "Exit status: 0 ok, 1 errors in the model (or warnings under -Werror), 2 usage\n"
    "or I/O error, 70 compiler bug.\n";

/* Column where the help text of an option starts, and the width it wraps at. */
enum { HELP_INDENT = 23, HELP_WIDTH = 79 };

/* Columns of the last line of s. */
static int last_line_len(const char *s)
{
    const char *nl = strrchr(s, '\n');
    return (int)strlen(nl ? nl + 1 : s);
}

/* nnc --help: the options, the pass lists and the pass table made from
 * compile_passes, then the notes. */
static void print_usage(FILE *f)
{
    fputs(usage_options, f);
    compile_print_passes(f, PASS_OPTIONAL, 0, last_line_len(usage_options), HELP_INDENT, HELP_WIDTH);
    fputs(usage_dump, f);
    compile_print_passes(f, 0, PASS_NO_IR, last_line_len(usage_dump), HELP_INDENT, HELP_WIDTH);
    fputs(usage_rest, f);
    fputs("\nThe targets of --target T: a target chooses what the C contains, never where\n"
          "it compiles; the code for any of them is portable C99 that gives the same\n"
          "results up to rounding:\n",
          f);
    for (int i = 0; i < target_count; i++)
        fprintf(f, "  %-17s %s\n", target_table[i].name, target_table[i].what);
    fputs("\nThe passes, in the order they run (opt: -O1 and up, --disable turns it off;\n"
          "train: not with --inference; no IR: changes no IR, no --dump-after):\n",
          f);
    for (int i = 0; compile_passes[i].name; i++) {
        const CompilePass *p = &compile_passes[i];
        unsigned fl = p->flags;
        const char *kind = (fl & PASS_OPTIONAL) && (fl & PASS_TRAINING) ? "opt, train"
                           : fl & PASS_OPTIONAL                         ? "opt"
                           : fl & PASS_TRAINING                         ? "train"
                           : fl & PASS_NO_IR                            ? "no IR"
                                                                        : "";
        fprintf(f, "  %-17s %-12s%s\n", p->name, kind, p->what);
    }
}

/* "a, b, c": the names of the passes with the flags in with and none in
 * without, for an error message (malloc'ed; NULL when out of memory). */
static char *pass_names(unsigned with, unsigned without)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f)
        return NULL;
    compile_print_passes(f, with, without, 0, 0, 1 << 30);
    if (fclose(f) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

/* The error for --disable or --dump-after naming no pass it takes. */
static int pass_error(const char *opt, const char *kind, unsigned with, unsigned without, const char *arg)
{
    char *names = pass_names(with, without);
    fprintf(stderr, "nnc: error: %s takes %s: %s; not '%s'\nTry 'nnc --help'.\n", opt, kind,
            names ? names : "(out of memory)", arg);
    free(names);
    return 2;
}

static int has_words(const char *s);

typedef struct Options {
    const char *path, *out, *emit, *dump_after, *weights;
    const Target *target;           /* --target, the host by default */
    const char *quantize;           /* --quantize int8, or NULL */
    const char *budget;             /* --budget, as written */
    int64_t budget_flash, budget_ram; /* bytes, or -1 when not given */
    int check, exe, inference, batch, opt_level, threads, werror;
    unsigned disabled;
    int argc;           /* how nnc was run, for the generated files' header */
    char **argv;
} Options;

static int usage_error(const char *fmt, const char *arg)
{
    fputs("nnc: error: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'nnc --help'.\n", stderr);
    return 2;
}

/* Read all of path (or stdin for "-") into a malloc'ed buffer. */
static char *read_source(const char *path, uint32_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "nnc: error: cannot open '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fprintf(stderr, "nnc: error: out of memory reading '%s'\n", path);
            break;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n > NNC_MAX_SOURCE) {
            fprintf(stderr, "nnc: error: '%s' is larger than %u MiB; that is not a model\n", path,
                    NNC_MAX_SOURCE >> 20);
            break;
        }
        if (got == 0) {
            if (ferror(f)) {
                fprintf(stderr, "nnc: error: cannot read '%s': %s\n", path, strerror(errno));
                break;
            }
            if (f != stdin)
                fclose(f);
            *len = (uint32_t)n;
            return buf;
        }
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                free(buf);
            buf = nb;
            cap *= 2;
        }
    }
    free(buf);
    if (f != stdin)
        fclose(f);
    return NULL;
}

/* Does a shell need a quoted? */
static int needs_quotes(const char *a)
{
    if (!*a)
        return 1;
    for (; *a; a++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=./:,@%", *a))
            return 1;
    return 0;
}

/* The words of argv joined by spaces, word 0 as "nnc", each quoted as sh(1)
 * would need it ('it'\''s'), so the command in a generated header can be
 * run again; NULL when out of memory.  Escaping it for a C comment is
 * emit_c's job. */
static char *join_command(int argc, char **argv)
{
    size_t len = 8;
    for (int i = 0; i < argc; i++)
        len += 4 * strlen(argv[i]) + 3;
    char *s = malloc(len), *p = s;
    if (!s)
        return NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = i == 0 ? "nnc" : argv[i];
        if (i)
            *p++ = ' ';
        if (!needs_quotes(a)) {
            p += sprintf(p, "%s", a);
            continue;
        }
        *p++ = '\'';
        for (; *a; a++) {
            if (*a == '\'') {
                memcpy(p, "'\\''", 4);
                p += 4;
            } else {
                *p++ = *a;
            }
        }
        *p++ = '\'';
    }
    *p = '\0';
    return s;
}

/* A --budget size: digits, then nothing (bytes), K (1024) or M (1024^2),
 * at most 2^40 bytes (no part has a terabyte).  Returns the bytes, or -1
 * when s[0..len) is not one. */
static int64_t parse_size(const char *s, size_t len)
{
    int64_t v = 0;
    size_t i = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        v = v * 10 + (s[i] - '0');
        if (v > ((int64_t)1 << 40))
            return -1;
    }
    if (i == 0 || i + 1 < len)
        return -1;
    int shift = i == len ? 0 : s[i] == 'K' || s[i] == 'k' ? 10 : s[i] == 'M' || s[i] == 'm' ? 20 : -1;
    if (shift < 0 || v > ((int64_t)1 << (40 - shift)))
        return -1;
    return v << shift;
}

/* --budget flash=SIZE,ram=SIZE (either key alone, each at most once) into
 * o->budget_flash and o->budget_ram.  Returns 0, or -1 when s is not that. */
static int parse_budget(Options *o, const char *s)
{
    if (!*s)
        return -1;
    for (;;) {
        size_t len = strcspn(s, ",");
        const char *eq = memchr(s, '=', len);
        if (!eq)
            return -1;
        size_t klen = (size_t)(eq - s);
        int64_t *slot = klen == 5 && strncmp(s, "flash", 5) == 0 ? &o->budget_flash
                        : klen == 3 && strncmp(s, "ram", 3) == 0 ? &o->budget_ram
                                                                 : NULL;
        int64_t v = parse_size(eq + 1, len - klen - 1);
        if (!slot || *slot >= 0 || v < 0)
            return -1;
        *slot = v;
        if (!s[len])
            return 0;
        s += len + 1;
    }
}

static int parse_args(Options *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->target = target_host();
    o->opt_level = 2;
    o->budget_flash = o->budget_ram = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **value = NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_usage(stdout);
            return 0;
        } else if (strcmp(a, "--list-ops") == 0) {
            /* kind, name, has a kernel, has a gradient rule: for docs/ops.md
             * (a 1-D operator's are those of the 2-D one it becomes) */
            for (int op = 0; op < OP_COUNT; op++) {
                const OpInfo *oi = &op_info[op];
                if (oi->kind == K_IR || oi->kind == K_TRAIN)
                    continue;
                int graph = oi->kind == K_LAYER || oi->kind == K_FUNC || oi->kind == K_LOSS;
                printf("%s\t%s\t%s\t%s\n", op_kind_name(oi->kind), oi->name,
                       graph ? (kern_op_supported(lower_1d_op((Op)op)) ? "yes" : "no") : "yes",
                       graph ? (ad_differentiable(lower_1d_op((Op)op)) ? "yes" : "no") : "-");
            }
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("nnc %s\n", NNC_VERSION);
            return 0;
        } else if (strcmp(a, "--check") == 0) {
            o->check = 1;
        } else if (strcmp(a, "-Werror") == 0) {
            o->werror = 1;
        } else if (strcmp(a, "--exe") == 0) {
            o->exe = 1;
        } else if (strcmp(a, "--inference") == 0) {
            o->inference = 1;
        } else if (strcmp(a, "-O0") == 0 || strcmp(a, "-O1") == 0 || strcmp(a, "-O2") == 0) {
            o->opt_level = a[2] - '0';
        } else if (strcmp(a, "--disable") == 0) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", a);
            int p = compile_pass(argv[++i]);
            if (p < 0 || !(compile_passes[p].flags & PASS_OPTIONAL))
                return pass_error(a, "an optional pass", PASS_OPTIONAL, 0, argv[i]);
            o->disabled |= 1u << p;
        } else if (strcmp(a, "--emit") == 0) {
            value = &o->emit;
        } else if (strcmp(a, "--budget") == 0) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", a);
            o->budget = argv[++i];
            if (parse_budget(o, o->budget) != 0)
                return usage_error("--budget takes flash=SIZE,ram=SIZE or either alone (SIZE: bytes, or a "
                                   "number with K or M: 256K, 1M), not '%s'", o->budget);
        } else if (strcmp(a, "--dump-after") == 0) {
            value = &o->dump_after;
        } else if (strcmp(a, "-o") == 0) {
            value = &o->out;
        } else if (strcmp(a, "--weights") == 0) {
            value = &o->weights;
        } else if (strcmp(a, "--quantize") == 0) {
            value = &o->quantize;
        } else if (strcmp(a, "--threads") == 0) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", a);
            char *end;
            long t = strtol(argv[++i], &end, 10);
            if (*end || t < 1 || t > 256)
                return usage_error("--threads takes a number from 1 to 256, not '%s'", argv[i]);
            o->threads = (int)t;
        } else if (strcmp(a, "--target") == 0) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", a);
            o->target = target_find(argv[++i]);
            if (!o->target) {
                fprintf(stderr, "nnc: error: unknown target '%s'; the targets are %s\n", argv[i], target_names());
                fputs("Try 'nnc --help'.\n", stderr);
                return 2;
            }
        } else if (strcmp(a, "--batch") == 0) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", a);
            char *end;
            long b = strtol(argv[++i], &end, 10);
            if (*end || b < 1 || b > 65536)
                return usage_error("--batch takes a number from 1 to 65536, not '%s'", argv[i]);
            o->batch = (int)b;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option '%s'", a);
        } else if (o->path) {
            return usage_error("one model at a time; '%s' is a second file", a);
        } else {
            o->path = a;
        }
        if (value) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", a);
            *value = argv[++i];
        }
    }
    if (!o->path)
        return usage_error("%s", "no model file given");
    if (o->emit && strcmp(o->emit, "ir") != 0 && strcmp(o->emit, "shapes") != 0 && strcmp(o->emit, "dot") != 0 &&
        strcmp(o->emit, "memory") != 0 && strcmp(o->emit, "kernels") != 0)
        return usage_error("--emit takes ir, shapes, dot, memory or kernels, not '%s'", o->emit);
    if (o->dump_after) {
        int p = compile_pass(o->dump_after);
        if (p < 0 || (compile_passes[p].flags & PASS_NO_IR))
            return pass_error("--dump-after", "a pass name", 0, PASS_NO_IR, o->dump_after);
    }
    if (o->budget && (!o->emit || strcmp(o->emit, "memory") != 0))
        return usage_error("%s", "--budget goes with --emit memory");
    if (o->weights && !o->inference)
        return usage_error("%s", "--weights goes with --inference");
    if (o->inference && !o->weights)
        return usage_error("%s", "--inference needs --weights W.safetensors: the weights become constants");
    if (o->quantize && strcmp(o->quantize, "int8") != 0)
        return usage_error("--quantize takes int8, not '%s'", o->quantize);
    if (o->quantize && !o->inference)
        return usage_error("%s", "--quantize int8 goes with --inference --weights Q.safetensors (PROG calibrate "
                                 "writes Q)");
    if (o->exe && o->inference)
        return usage_error("%s", "--exe builds the training program; --inference code has no main");
    if (o->exe && !o->out)
        return usage_error("%s", "--exe needs -o PROG");
    if (o->exe && !o->target->march && !has_words(getenv("CC")))
        return usage_error("--exe for --target %s needs CC set to a cross compiler for it (and NNC_RUNTIME_LIB "
                           "to a runtime built with it): nnc builds programs for x86-64 and the host only",
                           o->target->name);
    o->argc = argc;
    o->argv = argv;
    return -1;
}

/* Write the file at path from tmp, or remove tmp. */
static int commit_file(const char *tmp, const char *path)
{
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "nnc: error: cannot write '%s': %s\n", path, strerror(errno));
        remove(tmp);
        return 2;
    }
    return 0;
}

/* ---- --quantize int8 (quantize.h, kernels_int8.h) ---- */

/* The calibrated ranges of weights file path (docs/quantization.md):
 * every NAME.scale F32[1] with its NAME.zero_point I32[1].  Returns the
 * count (ranges in c's arena), or -1 after an error naming the file. */
static int load_ranges(Compilation *c, const char *path, QuantRange **out)
{
    NnrtSafetensors st;
    NnrtErr err;
    if (nnrt_st_read(path, &st, &err) != 0) {
        fprintf(stderr, "nnc: error: %s\n", err.msg);
        return -1;
    }
    QuantRange *r = arena_alloc(&c->arena, (size_t)(st.ntensors + 1) * sizeof *r);
    int n = 0, bad = 0;
    for (int i = 0; i < st.ntensors && !bad; i++) {
        const NnrtStTensor *t = &st.tensors[i];
        size_t len = strlen(t->name);
        if (len <= 6 || strcmp(t->name + len - 6, ".scale") != 0)
            continue;
        char *v = arena_printf(&c->arena, "%.*s", (int)(len - 6), t->name);
        const NnrtStTensor *z = nnrt_st_find(&st, arena_printf(&c->arena, "%s.zero_point", v));
        if (t->dtype != NNRT_F32 || t->rank > 1 || (t->rank == 1 && t->dims[0] != 1) || !z || z->dtype != NNRT_I32 || z->rank > 1 || (z->rank == 1 && z->dims[0] != 1)) {
            fprintf(stderr, "nnc: error: %s: '%s' must be F32[1] with '%s.zero_point' I32[1] beside it\n", path,
                    t->name, v);
            bad = 1;
            break;
        }
        float s;
        int32_t zp;
        memcpy(&s, t->data, 4);
        memcpy(&zp, z->data, 4);
        if (!(s > 0) || !isfinite(s) || zp < -128 || zp > 127) {
            fprintf(stderr, "nnc: error: %s: value '%s' has scale %g and zero point %d; a scale must be positive "
                            "and finite, a zero point in [-128, 127]\n", path, v, (double)s, (int)zp);
            bad = 1;
            break;
        }
        r[n].name = v;
        r[n].scale = s;
        r[n].zero_point = zp;
        n++;
    }
    nnrt_st_free(&st);
    if (bad)
        return -1;
    if (n == 0) {
        fprintf(stderr, "nnc: error: %s holds no calibrated range (NAME.scale, NAME.zero_point): --quantize int8 "
                        "needs the weights PROG calibrate writes\n", path);
        return -1;
    }
    *out = r;
    return n;
}

/* The parameters' values from the safetensors file at path, read by
 * name (unique in a model, spec section 4) into c's arena; each
 * OP_PARAM's IrNode.value points at its own once all have loaded, and
 * travels with the node through the passes.  With quantize, tensors
 * that are no parameter may be in the file (the calibrated ranges).
 * Returns 0, or 1 (2 for an I/O error) after an error naming the file. */
static int load_weights(Compilation *c, const char *path, int quantize)
{
    Ir *ir = c->ir;
    int np = 0;
    for (int i = 0; i < ir->n; i++)
        np += ir->nodes[i].op == OP_PARAM;
    NnrtParamDesc *descs = arena_alloc(&c->arena, (size_t)(np + 1) * sizeof *descs);
    void **dst = arena_alloc(&c->arena, (size_t)(np + 1) * sizeof *dst);
    int k = 0;
    for (int i = 0; i < ir->n; i++) {
        const IrNode *p = &ir->nodes[i];
        if (p->op != OP_PARAM)
            continue;
        descs[k].name = p->param;
        descs[k].dtype = p->dtype == DT_I64 ? NNRT_I64 : NNRT_F32;
        descs[k].rank = p->shape.rank;
        for (int j = 0; j < p->shape.rank; j++)
            descs[k].dims[j] = p->shape.d[j];
        descs[k].trainable = p->trainable;
        int64_t numel = p->shape.rank ? shape_numel(&p->shape) : 1;
        dst[k] = arena_alloc(&c->arena, (size_t)numel * 8);
        k++;
    }
    NnrtErr err;
    int rc;
    if (quantize) {
        /* The ranges ride along: every parameter must load, and the only
         * tensors left over are ranges. */
        NnrtParamLoadOpts lo = {0};
        NnrtParamLoadReport rep = {0};
        lo.partial = 1;
        rc = nnrt_st_load_params_opts(path, descs, np, dst, &lo, &rep, &err);
        if (rc == 0 && rep.nkept > 0) {
            /* the report's "kept initialisation" lines: the missing ones */
            size_t at = (size_t)snprintf(err.msg, sizeof err.msg, "%s: %d parameters of the model are not in the file:",
                                         path, rep.nkept);
            for (const char *l = rep.text; l && *l && at < sizeof err.msg; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != 0)) {
                int len = (int)strcspn(l, "\n");
                if (strncmp(l, "kept initialisation", 19) == 0)
                    at += (size_t)snprintf(err.msg + at, sizeof err.msg - at, "\n  %.*s", len, l);
            }
            rc = NN_EMISMATCH;
        }
        free(rep.text);
    } else {
        rc = nnrt_st_load_params(path, descs, np, dst, &err);
    }
    if (rc != 0) {
        fprintf(stderr, "nnc: error: %s\n", err.msg);
        return rc == NN_EIO ? 2 : 1;
    }
    k = 0;
    for (int i = 0; i < ir->n; i++)
        if (ir->nodes[i].op == OP_PARAM)
            ir->nodes[i].value = dst[k++];
    return 0;
}

/* A growing, NULL-terminated argument vector for the C compiler. */
typedef struct Argv {
    char **v;
    int n, cap;
} Argv;

static int argv_push(Argv *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        int cap = a->cap ? 2 * a->cap : 32;
        char **v = realloc(a->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        a->v = v;
        a->cap = cap;
    }
    char *copy = malloc(strlen(s) + 1);
    if (!copy)
        return -1;
    strcpy(copy, s);
    a->v[a->n++] = copy;
    a->v[a->n] = NULL;
    return 0;
}

static const char blanks[] = " \t\n\r\f\v";

/* Push the words of s, split at white space.  Quotes mean nothing (no
 * shell runs), so CC="ccache gcc" and NNC_CFLAGS="-O2 -g" work and nothing
 * in them is ever executed as a command. */
static int argv_push_words(Argv *a, const char *s)
{
    for (;;) {
        s += strspn(s, blanks);
        size_t n = strcspn(s, blanks);
        if (n == 0)
            return 0;
        char *w = malloc(n + 1);
        if (!w)
            return -1;
        memcpy(w, s, n);
        w[n] = '\0';
        int rc = argv_push(a, w);
        free(w);
        if (rc)
            return -1;
        s += n;
    }
}

static void argv_free(Argv *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
}

/* Does s hold anything but white space? */
static int has_words(const char *s)
{
    return s && s[strspn(s, blanks)] != '\0';
}

extern char **environ;

/* Run a->v[0], found on PATH, with the arguments a->v, and wait for it; no
 * shell is involved.  Returns its exit status, or -1 after reporting why it
 * could not run or how it died. */
static int run_argv(const Argv *a)
{
    pid_t pid;
    int err = posix_spawnp(&pid, a->v[0], NULL, NULL, a->v, environ);
    if (err != 0) {
        fprintf(stderr, "nnc: error: cannot run the C compiler '%s': %s\n", a->v[0], strerror(err));
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "nnc: error: waiting for the C compiler: %s\n", strerror(errno));
            return -1;
        }
    }
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "nnc: error: the C compiler '%s' was killed by signal %d\n", a->v[0], WTERMSIG(status));
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Compile dir/cname.c, dir/cname_main.c and the runtime into o->out with
 * $CC $NNC_CFLAGS (default: cc -O3 -march=native).  Returns 0, or 2 after
 * reporting the failure. */
static int build_exe(const Options *o, const char *dir, const char *cname)
{
    const char *cc = getenv("CC");
    const char *cflags = getenv("NNC_CFLAGS");
    const char *rtdir = getenv("NNC_RUNTIME_DIR");
    const char *rtlib = getenv("NNC_RUNTIME_LIB");
    /* Fast by default: the program is built for the machine nnc runs on,
     * whose registers are as wide as the vector code needs. */
    char march[64];
    if (!has_words(cflags)) {
        /* a cross compiler (CC) for a target without one gets no -march */
        snprintf(march, sizeof march, "-O3%s%s", o->target->march ? " -march=" : "",
                 o->target->march ? o->target->march : "");
        cflags = march;
    }
    if (!has_words(cc))
        cc = "cc";
    if (!rtdir)
        rtdir = NNC_RUNTIME_DIR;
    if (!rtlib)
        rtlib = NNC_RUNTIME_LIB;
    size_t need = strlen(dir) + strlen(cname) + 16;
    char *mainc = malloc(need), *srcc = malloc(need);
    if (!mainc || !srcc) {
        free(mainc);
        free(srcc);
        fprintf(stderr, "nnc: error: out of memory\n");
        return 2;
    }
    snprintf(mainc, need, "%s/%s_main.c", dir, cname);
    snprintf(srcc, need, "%s/%s.c", dir, cname);
    FILE *f = fopen(mainc, "w");
    if (!f) {
        fprintf(stderr, "nnc: error: cannot write '%s': %s\n", mainc, strerror(errno));
        free(mainc);
        free(srcc);
        return 2;
    }
    fprintf(f, "/* The training program's entry point, generated by nnc %s. */\n", NNC_VERSION);
    fprintf(f, "#include \"nnrt.h\"\n\nextern const NnrtModel %s_model;\n\n", cname);
    fprintf(f, "int main(int argc, char **argv)\n{\n    return nnrt_main(&%s_model, argc, argv);\n}\n", cname);
    int werr = ferror(f);
    werr |= fclose(f) != 0;
    if (werr)
        fprintf(stderr, "nnc: error: cannot write '%s'\n", mainc);

    Argv a = {0};
    int bad = 0;
    bad |= argv_push_words(&a, cc);
    bad |= argv_push(&a, "-std=c99");
    bad |= argv_push_words(&a, cflags);
    if (o->threads > 1)
        bad |= argv_push(&a, "-fopenmp");
    bad |= argv_push(&a, "-I");
    bad |= argv_push(&a, dir);
    bad |= argv_push(&a, "-I");
    bad |= argv_push(&a, rtdir);
    bad |= argv_push(&a, "-o");
    bad |= argv_push(&a, o->out);
    bad |= argv_push(&a, srcc);
    bad |= argv_push(&a, mainc);
    bad |= argv_push(&a, rtlib);
    bad |= argv_push(&a, "-lz");
    bad |= argv_push(&a, "-lm");
    free(mainc);
    free(srcc);
    if (bad && !werr)
        fprintf(stderr, "nnc: error: out of memory\n");
    int rc = bad || werr ? -1 : run_argv(&a);
    if (rc > 0) {
        char *cmd = join_command(a.n, a.v);
        fprintf(stderr, "nnc: error: the C compiler failed (exit status %d): %s%s\n", rc, a.v[0],
                cmd && strchr(cmd, ' ') ? strchr(cmd, ' ') : "");
        free(cmd);
    }
    argv_free(&a);
    return rc == 0 ? 0 : 2;
}

/* Remove --exe's temporary directory and the files nnc wrote there; no
 * shell, and nothing outside it is touched. */
static void remove_tmpdir(const char *dir, const char *cname)
{
    static const char *const suffix[] = {".h", ".c", "_main.c"};
    size_t need = strlen(dir) + strlen(cname) + 16;
    char *path = malloc(need);
    for (size_t i = 0; path && i < sizeof suffix / sizeof *suffix; i++) {
        snprintf(path, need, "%s/%s%s", dir, cname, suffix[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            fprintf(stderr, "nnc: warning: could not remove '%s': %s\n", path, strerror(errno));
    }
    free(path);
    if (rmdir(dir) != 0)
        fprintf(stderr, "nnc: warning: could not remove '%s': %s\n", dir, strerror(errno));
}

/* Write the C files, and with --exe the program.  Files and C names follow
 * the model's C identifier (cident_model): NAME, or nnc_NAME where NAME
 * would collide with C. */
static int generate(Compilation *c, const Options *o, const QuantPlan *qp)
{
    const char *name = c->ir->model, *why = NULL;
    const char *cname = cident_model(&c->arena, name, &why);
    if (o->exe) {
        /* The program of spec section 11 runs the model's output: a
         * model has one unless its loss reads an input directly. */
        if (c->ir->output < 0) {
            fprintf(stderr, "nnc: error: --exe builds the program of spec section 11, which needs an output; "
                            "model `%s` has none\n", name);
            fprintf(stderr, "hint: add `output NAME = ...`, or write the C files with -o DIR and call "
                            "%s_train_step directly\n", cname);
            return 1;
        }
    }
    EmitOptions eo = {0};
    eo.name = cname;
    eo.source = o->path;
    char *cmdline = join_command(o->argc, o->argv);
    if (!cmdline) {
        fprintf(stderr, "nnc: error: out of memory\n");
        return 2;
    }
    eo.cmdline = arena_printf(&c->arena, "%s", cmdline);
    free(cmdline);
    eo.max_batch = c->plan->max_batch;
    eo.inference = o->inference;
    eo.threads = o->threads;

    char dir[4096], tmpdir[4096] = "", h_path[4352], c_path[4352], h_tmp[4400], c_tmp[4400];
    if (o->exe) {
        const char *t = getenv("TMPDIR");
        if (!t || t[0] != '/' || strlen(t) > 2048)
            t = "/tmp";
        snprintf(tmpdir, sizeof tmpdir, "%s/nnc-XXXXXX", t);
        if (!mkdtemp(tmpdir)) {
            fprintf(stderr, "nnc: error: cannot make a temporary directory in '%s': %s\n", t, strerror(errno));
            return 2;
        }
        snprintf(dir, sizeof dir, "%s", tmpdir);
    } else {
        snprintf(dir, sizeof dir, "%s", o->out ? o->out : ".");
        struct stat st;
        if (stat(dir, &st) != 0 && errno == ENOENT)
            mkdir(dir, 0777); /* one level, as mkdir would; failure is reported below */
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "nnc: error: '%s' is not a directory\n", dir);
            return 2;
        }
    }
    snprintf(h_path, sizeof h_path, "%s/%s.h", dir, cname);
    snprintf(c_path, sizeof c_path, "%s/%s.c", dir, cname);
    snprintf(h_tmp, sizeof h_tmp, "%s.tmp%ld", h_path, (long)getpid());
    snprintf(c_tmp, sizeof c_tmp, "%s.tmp%ld", c_path, (long)getpid());
    int rc;
    FILE *h = fopen(h_tmp, "w"), *cf = fopen(c_tmp, "w");
    if (!h || !cf) {
        fprintf(stderr, "nnc: error: cannot write in '%s': %s\n", dir, strerror(errno));
        if (h)
            fclose(h);
        if (cf)
            fclose(cf);
        remove(h_tmp);
        remove(c_tmp);
        rc = 2;
    } else {
        rc = qp ? kern_int8_emit(c->ir, qp, &eo, h, cf) : emit_c(c->ir, c->plan, &eo, &c->diag, h, cf);
        int werr = ferror(h) | ferror(cf);
        werr |= fclose(h) != 0;
        werr |= fclose(cf) != 0;
        if (rc != 0 || werr) {
            if (werr)
                fprintf(stderr, "nnc: error: cannot write in '%s'\n", dir);
            remove(h_tmp);
            remove(c_tmp);
            rc = rc ? 1 : 2;
        } else if ((rc = commit_file(h_tmp, h_path)) == 0) {
            rc = commit_file(c_tmp, c_path);
        } else {
            remove(c_tmp);
        }
    }
    if (o->exe) {
        if (rc == 0)
            rc = build_exe(o, dir, cname);
        remove_tmpdir(tmpdir, cname);
    } else if (rc == 0 && why) {
        fprintf(stderr, "nnc: note: model `%s` is `%s` in C (%s.h, %s.c, %s_create, ...): `%s` is %s\n", name,
                cname, cname, cname, cname, name, why);
    }
    return rc;
}

/* Bytes a parameter takes where the code keeps it: 4 a float, 8 for
 * num_batches_tracked (int64; inference code keeps two floats). */
static int64_t param_bytes(const IrNode *p)
{
    return p->dtype == DT_I64 ? 8 : 4 * shape_numel(&p->shape);
}

/* The bytes of a budget check, "262144 (256K)" as the user wrote it. */
static void print_budget(FILE *f, const char *what, int64_t need, int64_t budget)
{
    if (budget < 0)
        return;
    if (need <= budget)
        fprintf(f, "budget %s: %lld of %lld bytes, fits with %lld to spare\n", what, (long long)need,
                (long long)budget, (long long)(budget - need));
    else
        fprintf(f, "budget %s: %lld of %lld bytes, does not fit: %lld over\n", what, (long long)need,
                (long long)budget, (long long)(need - budget));
}

/*
 * --emit memory, after the plan (mem_dump): what a product needs, for the
 * batch compiled for, on the --target.  Per layer (each value of the
 * forward pass the code computes): its parameters' bytes, its output
 * buffer and its kernel's scratch in the arena.  Then the totals: flash
 * (the weights: const arrays in inference code; training code keeps them
 * in the arena), RAM (NAME_ARENA_BYTES, as the header states it).  Lines
 * begin with a fixed word (layer, flash, ram, code, stack, budget) and
 * give numbers as plain integers, so scripts can grep them.  Returns 0,
 * or 1 when a --budget is exceeded, after saying which on stderr.
 */
static int print_product_memory(Compilation *c, const Options *o, FILE *f)
{
    const Ir *ir = c->ir;
    const MemPlan *p = c->plan;
    const char *why = NULL, *cname = cident_model(&c->arena, ir->model, &why);
    int64_t ram = emit_c_arena_bytes(ir, p, o->inference), weights = 0;
    fprintf(f, "\n; for a product: model %s, %s code, batch up to %d, target %s\n", ir->model,
            o->inference ? "inference" : "training", p->max_batch, o->target->name);
    fprintf(f, "; per layer: weights = its parameters' bytes (%s), output = its buffer in the arena\n"
               "; (0: a view of another's, or computed inside another kernel), scratch = what its kernel\n"
               "; uses while it runs.  Buffers share the arena, so the columns add up to more than ram.\n",
            o->inference ? "flash: const arrays" : "in the arena: training code");
    for (int i = 0; i < ir->n; i++) {
        const IrNode *nd = &ir->nodes[i];
        if (nd->op == OP_PARAM)
            weights += param_bytes(nd);
        if (i >= ir->nforward || nd->op == OP_PARAM || nd->op == OP_INPUT || nd->op == OP_TARGET)
            continue;
        int inlined = nd->inlined_into >= 0 && p->offset[ir_kernel_of(ir, i)] >= 0;
        if (p->offset[i] < 0 && !inlined)
            continue; /* not computed by this code (a loss, in inference) */
        int64_t w = 0;
        for (int j = 0; j < nd->nin; j++) {
            const IrNode *q = &ir->nodes[nd->in[j]];
            if (q->op == OP_PARAM && q->layer == i)
                w += param_bytes(q);
        }
        char nb[32];
        const char *name = nd->name;
        if (!name) {
            snprintf(nb, sizeof nb, "%%%d", i);
            name = nb;
        }
        fprintf(f, "layer %-28s %-16s weights %9lld  output %9lld  scratch %9lld\n", name, op_info[nd->op].name,
                (long long)w, (long long)(p->root[i] == i && p->offset[i] >= 0 ? p->size[i] : 0),
                (long long)(p->scratch[i] >= 0 ? p->scratch_size[i] : 0));
    }
    if (o->inference)
        fprintf(f, "flash %lld bytes: weights %lld (const arrays, .rodata or NNC_WEIGHTS_SECTION); "
                   "code not counted\n", (long long)weights, (long long)weights);
    else
        fprintf(f, "flash 0 bytes of weights: training code keeps its %lld bytes of parameters in the arena; "
                   "code not counted\n", (long long)weights);
    fprintf(f, "ram %lld bytes: %s_ARENA_BYTES (the model struct %lld, buffers %lld)\n", (long long)ram, cname,
            (long long)(ram - p->total), (long long)p->total);
    fputs("code: not estimated; measure it with size(1) on the compiled .c (docs/embedded.md, section 8)\n", f);
    fputs("stack: not estimated; the kernels keep only small blocks of sums there (docs/embedded.md, "
          "section 8, measures every example on Cortex-M)\n", f);
    int64_t flash = o->inference ? weights : 0;
    print_budget(f, "flash", flash, o->budget_flash);
    print_budget(f, "ram", ram, o->budget_ram);
    int rc = 0;
    if (o->budget_flash >= 0 && flash > o->budget_flash) {
        fprintf(stderr, "nnc: error: %s does not fit the flash budget: its weights take %lld bytes, %lld over "
                        "the %lld of --budget\n", o->path, (long long)flash, (long long)(flash - o->budget_flash),
                (long long)o->budget_flash);
        rc = 1;
    }
    if (o->budget_ram >= 0 && ram > o->budget_ram) {
        fprintf(stderr, "nnc: error: %s does not fit the ram budget: its arena (%s_ARENA_BYTES) takes %lld "
                        "bytes, %lld over the %lld of --budget\n", o->path, cname, (long long)ram,
                (long long)(ram - o->budget_ram), (long long)o->budget_ram);
        rc = 1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    char why[256];
    if (compile_check_passes(compile_passes, compile_npasses, why, sizeof why) != 0) {
        fprintf(stderr, "nnc: internal error: the pass table: %s\n", why);
        return 70;
    }
    Options o;
    int rc = parse_args(&o, argc, argv);
    if (rc >= 0)
        return rc;

    uint32_t len = 0;
    char *src = read_source(o.path, &len);
    if (!src)
        return 2;

    /* Dumps are held back until the compilation has succeeded, so a bad
     * model never leaves partial output. */
    char *dump_text = NULL;
    size_t dump_len = 0;
    FILE *dump = o.dump_after ? open_memstream(&dump_text, &dump_len) : stdout;
    if (!dump) {
        fprintf(stderr, "nnc: error: out of memory\n");
        return 2;
    }
    Compilation c;
    QuantPlan *qp = NULL;     /* --quantize int8 */
    QuantRange *ranges = NULL;
    int nranges = 0;
    rc = compile_front_werror(&c, o.path, src, len, o.dump_after, dump, o.werror);
    /* --check, shapes, dot and front-end dumps need no back end. */
    int front_only = o.check || (o.emit && (strcmp(o.emit, "shapes") == 0 || strcmp(o.emit, "dot") == 0)) ||
                     (o.dump_after && (compile_passes[compile_pass(o.dump_after)].flags & PASS_FRONT) && !o.emit);
    if (rc == 0 && !front_only) {
        BackOptions bo = {0};
        bo.max_batch = o.batch ? o.batch : (int)op_num(OP_TRAIN, c.ir->train, "batch");
        bo.inference = o.inference;
        bo.opt_level = o.opt_level;
        bo.disabled = o.disabled;
        bo.threads = o.threads;
        bo.target = o.target;
        bo.dump_after = o.dump_after;
        bo.dump = dump;
        if (!o.batch && !c.module->train)
            bo.max_batch = 32;
        /* The weights are constants from here on, so passes can fold
         * them (fold_batchnorm). */
        if (o.inference)
            rc = load_weights(&c, o.weights, o.quantize != NULL);
        if (rc == 0 && o.quantize) {
            /* The int8 graph does its own folding: of the optional
             * passes only fold_batchnorm runs. */
            for (int i = 0; i < compile_npasses; i++)
                if ((compile_passes[i].flags & PASS_OPTIONAL) && strcmp(compile_passes[i].name, "fold_batchnorm"))
                    bo.disabled |= 1u << i;
            nranges = load_ranges(&c, o.weights, &ranges);
            rc = nranges < 0;
        }
        if (rc == 0)
            rc = compile_back(&c, &bo);
        if (rc == 0 && o.quantize) {
            char qwhy[512];
            qp = quant_plan(c.ir, ranges, nranges, o.weights, qwhy, sizeof qwhy);
            if (!qp) {
                fprintf(stderr, "nnc: error: %s\n", qwhy);
                rc = 1;
            } else {
                mem_plan_int8(c.ir, qp);
            }
        }
        if (rc == 0 && !o.emit && !o.dump_after)
            rc = generate(&c, &o, qp);
    }
    diag_flush(&c.diag, stderr);
    if (o.dump_after) {
        fclose(dump);
        if (rc == 0)
            fwrite(dump_text, 1, dump_len, stdout);
        free(dump_text);
    }
    if (rc == 0 && o.emit && qp && (strcmp(o.emit, "ir") == 0 || strcmp(o.emit, "memory") == 0)) {
        if (strcmp(o.emit, "ir") == 0) {
            printf("; target %s\n", o.target->name);
            quant_dump(c.ir, qp, stdout);
        } else
            quant_dump_memory(c.ir, qp, stdout);
    } else if (rc == 0 && o.emit) {
        if (strcmp(o.emit, "ir") == 0) {
            /* the kernel choices below (direct(...)) are this target's */
            printf("; target %s\n", o.target->name);
            ir_dump(c.ir, stdout, c.last_pass);
        }
        else if (strcmp(o.emit, "memory") == 0) {
            mem_dump(c.ir, c.plan, stdout);
            rc = print_product_memory(&c, &o, stdout);
        }
        else if (strcmp(o.emit, "kernels") == 0)
            emit_kernel_list(c.ir, c.plan, stdout);
        else if (strcmp(o.emit, "shapes") == 0)
            ir_dump_shapes(c.ir, stdout);
        else if (strcmp(o.emit, "dot") == 0)
            ir_dump_dot(c.ir, stdout);
    }
    quant_free(qp);
    compile_free(&c);
    free(src);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "nnc: error: cannot write output: %s\n", strerror(errno));
        return 2;
    }
    return rc;
}
