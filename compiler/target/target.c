/*
 * target.c: the targets of nnc --target (target.h), one row each, and the
 * partial preprocessor that leaves out of a fixed target's generated C
 * what it never uses.
 *
 * The host row is today's output byte for byte: the width is the C
 * compiler's choice (the generated file's predefined-macro tests) and
 * the GEMM's tile, pack and the filter padding are the x86 ones.  A fixed
 * target writes one width (or none) into the file and prunes the other
 * branches; the tests that pick a vector width at compile time stay
 * behind __GNUC__ and !NNC_SCALAR, with the plain loops beside them, so
 * the file is portable C99 still and gives the same results up to
 * rounding anywhere.
 */
#include "target.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The x86 macros, the Arm ones: what a target of the other family never
 * needs a branch for (every such branch stands beside a portable one). */
#define X86_MACROS "__AVX__ __AVX2__ __AVX512F__ __FMA__ __SSE2__ __x86_64__"
#define ARM_MACROS "__ARM_NEON __aarch64__"

/* Plain-loop targets: no pack (gemm_rows() reads B in place), filters
 * padded to the plain loops' blocks of 8 (direct_forward_sample()).
 * conv_algo prices their choices as the host's all the same (6 x 32
 * tiles, filters in 16s), so they make the host's choices with less
 * padding: an arena no larger.  Priced in gemm_rows()'s 2 x 4 blocks and
 * 8 filters, mobilenet_v1_025 lost its 5 direct output-channel layers and
 * took 46.4 million instructions per inference on the Cortex-M4F instead
 * of 42.3, with 37 KB more arena; digits123_cnn's arena grew from 752 to
 * 944 bytes. */
#define PLAIN .tile_m = 6, .tile_n = 32, .gemm_packs = 0, .filter_block = 8, .price_block = 16
/* Vector targets: 6 rows by two vectors, packed panels, filters in whole
 * vectors of up to 16. */
#define VECTOR(n) .tile_m = 6, .tile_n = 2 * (n), .gemm_packs = 1, .filter_block = 16, .price_block = 16

const Target target_table[] = {
    {.name = "host", .what = "the compiling machine: widths by the C compiler's macros",
     .lanes = TARGET_LANES_BUILD, .guard = "", .fma = 1, .dispatch = 1, VECTOR(16), .march = "native", .absent = ""},
    {.name = "x86-64", .what = "any x86-64: SSE2, 4 lanes, no FMA", .lanes = 4, .guard = "defined(__SSE2__)",
     VECTOR(4), .march = "x86-64", .absent = "__AVX__ __AVX2__ __AVX512F__ __FMA__ " ARM_MACROS " __ARM_FEATURE_FMA"},
    {.name = "x86-64-v3", .what = "x86-64 with AVX2 and FMA (Haswell, Zen): 8 lanes", .lanes = 8,
     .guard = "defined(__AVX2__)", .fma = 1, VECTOR(8), .march = "x86-64-v3",
     .absent = "__AVX512F__ " ARM_MACROS " __ARM_FEATURE_FMA"},
    {.name = "x86-64-v4", .what = "x86-64 with AVX-512 (Skylake-X, Zen 4): 16 lanes", .lanes = 16,
     .guard = "defined(__AVX512F__)", .fma = 1, VECTOR(16), .march = "x86-64-v4",
     .absent = ARM_MACROS " __ARM_FEATURE_FMA"},
    {.name = "aarch64", .what = "64-bit Arm (Cortex-A, Neoverse, Apple M): NEON, 4 lanes", .lanes = 4,
     .guard = "defined(__ARM_NEON) || defined(__aarch64__)", .fma = 1, VECTOR(4), .absent = X86_MACROS},
    {.name = "cortex-m0", .what = "Cortex-M0, M0+, M3: no FPU; plain loops", .guard = "", PLAIN,
     .absent = X86_MACROS " " ARM_MACROS " __ARM_FEATURE_FMA"},
    {.name = "cortex-m4", .what = "Cortex-M4F (FPv4-SP): plain loops, FMA", .guard = "", .fma = 1, PLAIN,
     .absent = X86_MACROS " " ARM_MACROS},
    {.name = "cortex-m7", .what = "Cortex-M7 (FPv5): plain loops, FMA", .guard = "", .fma = 1, PLAIN,
     .absent = X86_MACROS " " ARM_MACROS},
    {.name = "generic", .what = "any C99 compiler: plain loops, no FMA (the reference)", .guard = "", PLAIN,
     .absent = X86_MACROS " " ARM_MACROS " __ARM_FEATURE_FMA"},
};
const int target_count = (int)(sizeof target_table / sizeof target_table[0]);

const Target *target_find(const char *name)
{
    for (int i = 0; i < target_count; i++)
        if (strcmp(target_table[i].name, name) == 0)
            return &target_table[i];
    return NULL;
}

const Target *target_host(void)
{
    return &target_table[0];
}

const Target *target_or_host(const Target *t)
{
    return t ? t : target_host();
}

const char *target_names(void)
{
    static char names[256];
    if (!names[0])
        for (int i = 0; i < target_count; i++) {
            if (i)
                strcat(names, ", ");
            strcat(names, target_table[i].name);
        }
    return names;
}

int64_t target_gemm_pack_floats(const Target *t, int threads, int64_t N, int64_t K, int sbn_is_1, int boff)
{
    if (!target_or_host(t)->gemm_packs || boff || (sbn_is_1 && N % 32 == 0) || N <= 0 || K <= 0)
        return 0;
    int64_t rows = K < GEMM_PACK_KC ? K : GEMM_PACK_KC;
    /* the widest panel, 32 columns (16-lane vectors) */
    return (int64_t)GEMM_PACK_KC * 32 * ((threads > 1 ? threads : 1) - 1) + rows * 32;
}

int64_t target_filters(const Target *t, int64_t x)
{
    int64_t b = target_or_host(t)->filter_block;
    return (x + b - 1) / b * b;
}

/* ---- the partial preprocessor ------------------------------------------------ */

/* A macro's state in one configuration the file may be compiled in. */
typedef struct {
    const char *name;
    int len;     /* of name (absent names are words of a longer string) */
    int defined;
    long value;
} Fact;

typedef struct {
    Fact f[48];
    int n;
} World;

static void fact(World *w, const char *name, int len, int defined, long value)
{
    if (w->n < (int)(sizeof w->f / sizeof w->f[0]))
        w->f[w->n++] = (Fact){name, len, defined, value};
}

/* The configurations of t's file: the vector build (lanes > 0) and the
 * plain loops.  The generated file defines these macros itself (its
 * prelude and the GEMM's), so their states follow from the width. */
static int worlds(const Target *t, World *w)
{
    int n = 0;
    for (int vec = t->lanes > 0 ? 1 : 0; vec >= 0; vec--, n++) {
        World *x = &w[n];
        x->n = 0;
        fact(x, "NNC_LANES", 9, vec, vec ? t->lanes : 0);
        fact(x, "NNC_VECTOR", 10, vec, 1);
        fact(x, "NNC_VECTOR8", 11, vec && t->lanes >= 8, 1);
        fact(x, "NNC_DISPATCH", 12, 0, 0);
        fact(x, "GEMM_LANES", 10, 1, vec ? t->lanes : 8);
        for (const char *p = t->absent; *p;) {
            while (*p == ' ')
                p++;
            int len = (int)strcspn(p, " ");
            if (len)
                fact(x, p, len, 0, 0);
            p += len;
        }
    }
    return n;
}

/* Three-valued: 0, 1 or unknown, with a value when known. */
enum { UNKNOWN = -1 };
typedef struct {
    int known;
    long v;
} Val;

typedef struct {
    const char *p;
    const World *w;
    int bad;
} Expr;

static void skip(Expr *e)
{
    for (;;) {
        while (*e->p == ' ' || *e->p == '\t')
            e->p++;
        if (e->p[0] == '/' && e->p[1] == '*') {
            const char *end = strstr(e->p + 2, "*/");
            e->p = end ? end + 2 : e->p + strlen(e->p);
        } else {
            return;
        }
    }
}

static int accept(Expr *e, const char *tok)
{
    skip(e);
    size_t n = strlen(tok);
    if (strncmp(e->p, tok, n) != 0)
        return 0;
    e->p += n;
    return 1;
}

static const Fact *lookup(const World *w, const char *name, int len)
{
    for (int i = 0; i < w->n; i++)
        if (w->f[i].len == len && strncmp(w->f[i].name, name, (size_t)len) == 0)
            return &w->f[i];
    return NULL;
}

static int ident(Expr *e, const char **name)
{
    skip(e);
    const char *s = e->p;
    if (!isalpha((unsigned char)*s) && *s != '_')
        return 0;
    while (isalnum((unsigned char)*e->p) || *e->p == '_')
        e->p++;
    *name = s;
    return (int)(e->p - s);
}

static Val or_expr(Expr *e);

static Val primary(Expr *e)
{
    Val u = {0, 0};
    const char *name;
    int len;
    if (accept(e, "!")) {
        Val v = primary(e);
        return v.known ? (Val){1, !v.v} : u;
    }
    if (accept(e, "(")) {
        Val v = or_expr(e);
        if (!accept(e, ")"))
            e->bad = 1;
        return v;
    }
    skip(e);
    if (isdigit((unsigned char)*e->p)) {
        char *end;
        long v = strtol(e->p, &end, 10);
        e->p = end;
        while (*e->p == 'L' || *e->p == 'l' || *e->p == 'U' || *e->p == 'u')
            e->p++;
        return (Val){1, v};
    }
    if (!(len = ident(e, &name))) {
        e->bad = 1;
        return u;
    }
    if (len == 7 && strncmp(name, "defined", 7) == 0) {
        int paren = accept(e, "(");
        if (!(len = ident(e, &name)) || (paren && !accept(e, ")"))) {
            e->bad = 1;
            return u;
        }
        const Fact *f = lookup(e->w, name, len);
        return f ? (Val){1, f->defined} : u;
    }
    if (accept(e, "(")) { /* a function-like macro: not ours */
        e->bad = 1;
        return u;
    }
    const Fact *f = lookup(e->w, name, len);
    return f ? (Val){1, f->defined ? f->value : 0} : u;
}

static Val compare(Expr *e)
{
    static const char *const ops[] = {"==", "!=", ">=", "<=", ">", "<"};
    Val a = primary(e);
    for (int i = 0; i < 6; i++)
        if (accept(e, ops[i])) {
            Val b = primary(e);
            if (!a.known || !b.known)
                return (Val){0, 0};
            long x = a.v, y = b.v;
            int r = i == 0 ? x == y : i == 1 ? x != y : i == 2 ? x >= y : i == 3 ? x <= y : i == 4 ? x > y : x < y;
            return (Val){1, r};
        }
    return a;
}

static Val and_expr(Expr *e)
{
    Val a = compare(e);
    while (accept(e, "&&")) {
        Val b = compare(e);
        if ((a.known && !a.v) || (b.known && !b.v))
            a = (Val){1, 0};
        else if (a.known && b.known)
            a = (Val){1, 1};
        else
            a = (Val){0, 0};
    }
    return a;
}

static Val or_expr(Expr *e)
{
    Val a = and_expr(e);
    while (accept(e, "||")) {
        Val b = and_expr(e);
        if ((a.known && a.v) || (b.known && b.v))
            a = (Val){1, 1};
        else if (a.known && b.known)
            a = (Val){1, 0};
        else
            a = (Val){0, 0};
    }
    return a;
}

/* The condition text in world w: 1, 0, or UNKNOWN (also when it is not
 * an expression this reads). */
static int eval(const char *cond, const World *w)
{
    Expr e = {cond, w, 0};
    Val v = or_expr(&e);
    skip(&e);
    return e.bad || *e.p || !v.known ? UNKNOWN : v.v != 0;
}

/* A branch with condition cond (NULL: #else) reached in the worlds of
 * mask *rest (bit i: world i): sets *branch to the worlds it may run in
 * and removes from *rest those where it surely runs (no later branch of
 * its group does there).  Returns 1 when it runs in every world of *rest,
 * 0 in none (also when *rest is empty), UNKNOWN otherwise. */
static int decide(const char *cond, const World *w, int nw, unsigned *rest, unsigned *branch)
{
    unsigned in = *rest, yes = 0, maybe = 0;
    for (int i = 0; i < nw; i++) {
        if (!(in >> i & 1))
            continue;
        int v = cond ? eval(cond, &w[i]) : 1;
        if (v == 1)
            yes |= 1u << i;
        if (v != 0)
            maybe |= 1u << i;
    }
    *branch = maybe;
    *rest = in & ~yes;
    return !in || !maybe ? 0 : yes == in ? 1 : UNKNOWN;
}

/* A conditional group being read: the branch now is dropped, kept with
 * its directives or kept without them (decided true). */
enum { DROP, KEEP, STRIP };
typedef struct {
    int live;      /* the enclosing text is written */
    int printed;   /* the group's opening directive was written */
    int state;
    unsigned rest; /* the worlds where no branch so far surely ran */
    unsigned now;  /* the worlds the current branch may run in */
} Group;

enum { D_NONE, D_IF, D_IFDEF, D_IFNDEF, D_ELIF, D_ELSE, D_ENDIF };

/* The directive of a logical line, and where its operand starts. */
static int directive(const char *s, const char **arg, const char **kw)
{
    static const struct {
        const char *name;
        int d;
    } names[] = {{"ifndef", D_IFNDEF}, {"ifdef", D_IFDEF}, {"if", D_IF}, {"elif", D_ELIF},
                 {"else", D_ELSE},     {"endif", D_ENDIF}};
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s++ != '#')
        return D_NONE;
    while (*s == ' ' || *s == '\t')
        s++;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i].name);
        if (strncmp(s, names[i].name, n) == 0 && !isalnum((unsigned char)s[n]) && s[n] != '_') {
            *kw = s;
            *arg = s + n;
            return names[i].d;
        }
    }
    return D_NONE;
}

/*
 * The output, with a block comment held back while it may belong to a
 * group that turns out empty: a comment that ends its line and is
 * followed directly by an #if is written when that group writes
 * anything, and dropped with it otherwise (the comment on a macro the
 * target never defines goes with the macro).
 */
typedef struct {
    FILE *f;
    char *held;
    size_t len, cap;
    int open; /* the held comment has not ended yet */
    int wait; /* the depth of the group the held comment waits for, or -1 */
    int err;
} Out;

static void out_flush(Out *o)
{
    if (o->len)
        fwrite(o->held, 1, o->len, o->f);
    o->len = 0;
    o->open = 0;
    o->wait = -1;
}

static void out_text(Out *o, const char *s)
{
    out_flush(o);
    fputs(s, o->f);
}

static void out_hold(Out *o, const char *s)
{
    size_t n = strlen(s);
    if (o->len + n + 1 > o->cap) {
        size_t cap = (o->len + n + 1) * 2;
        char *p = realloc(o->held, cap);
        if (!p) {
            o->err = 1;
            return;
        }
        o->held = p;
        o->cap = cap;
    }
    memcpy(o->held + o->len, s, n);
    o->len += n;
}

/* Where a line of text ends a comment: 1 when its last comment closes
 * with nothing but blanks after it, 2 when code follows, 0 when it
 * closes none. */
static int comment_end(const char *s)
{
    const char *e = NULL;
    for (const char *p = strstr(s, "*/"); p; p = strstr(p + 2, "*/"))
        e = p + 2;
    if (!e)
        return 0;
    return e[strspn(e, " \t\n")] == '\0' ? 1 : 2;
}

/* A live line of text (no directive): held while it is a comment that
 * may go with the next group, written otherwise. */
static void out_line(Out *o, const char *s)
{
    const char *p = s + strspn(s, " \t");
    if (!o->open && strncmp(p, "/*", 2) == 0) {
        out_flush(o);
        out_hold(o, s);
        int e = comment_end(p + 2);
        if (e == 2)
            out_flush(o);
        else
            o->open = e == 0;
    } else if (o->open) {
        out_hold(o, s);
        int e = comment_end(s);
        if (e == 2)
            out_flush(o);
        else
            o->open = e == 0;
    } else {
        out_text(o, s);
    }
}

int target_prune(const Target *t, FILE *in, FILE *out)
{
    World w[2];
    if (t->lanes == TARGET_LANES_BUILD) { /* the host: nothing is known */
        int ch;
        while ((ch = getc(in)) != EOF)
            putc(ch, out);
        return ferror(in) || ferror(out) ? -1 : 0;
    }
    int nw = worlds(t, w);
    Out o = {out, NULL, 0, 0, 0, -1, 0};
    Group stack[64];
    int depth = 0, err = 0;
    char *line = NULL, *logical = NULL, *joined = NULL;
    size_t cap = 0, lcap = 0, jcap = 0;
    ssize_t got;
    while (!err && (got = getline(&line, &cap, in)) >= 0) {
        /* one logical line: physical lines joined by backslash-newline */
        size_t len = 0;
        for (;;) {
            if (len + (size_t)got + 1 > lcap) {
                lcap = (len + (size_t)got + 1) * 2;
                char *p = realloc(logical, lcap);
                if (!p) {
                    err = 1;
                    break;
                }
                logical = p;
            }
            memcpy(logical + len, line, (size_t)got + 1);
            len += (size_t)got;
            if (got < 2 || line[got - 1] != '\n' || line[got - 2] != '\\' || (got = getline(&line, &cap, in)) < 0)
                break;
        }
        if (err)
            break;
        int live = depth == 0 || (stack[depth - 1].live && stack[depth - 1].state != DROP);
        /* the worlds the text here is compiled in */
        unsigned worlds_here = depth == 0 ? (1u << nw) - 1 : live ? stack[depth - 1].now : 0;
        const char *arg = NULL, *kw = NULL;
        int d = directive(logical, &arg, &kw);
        char *cond = NULL;
        if (d == D_IF || d == D_ELIF || d == D_IFDEF || d == D_IFNDEF) {
            /* the condition without backslash-newlines, as the
             * expression defined(X) for #ifdef / #ifndef */
            size_t n = strlen(arg) + 16;
            if (n > jcap) {
                char *p = realloc(joined, n);
                if (!p) {
                    err = 1;
                    break;
                }
                joined = p;
                jcap = n;
            }
            size_t k = 0;
            if (d == D_IFDEF || d == D_IFNDEF)
                k += (size_t)sprintf(joined, "%sdefined(", d == D_IFNDEF ? "!" : "");
            for (const char *s = arg; *s; s++)
                if (!(s[0] == '\\' && s[1] == '\n') && *s != '\n')
                    joined[k++] = *s;
            if (d == D_IFDEF || d == D_IFNDEF)
                joined[k++] = ')';
            joined[k] = '\0';
            cond = joined;
        }
        if ((d == D_ELIF || d == D_ELSE || d == D_ENDIF) && depth == 0)
            d = D_NONE; /* unbalanced: not ours to judge */
        int opens = d == D_IF || d == D_IFDEF || d == D_IFNDEF;
        if (live && o.len && o.wait < 0 && d != D_NONE) {
            if (opens && !o.open)
                o.wait = depth; /* a comment right before a group: it goes with it */
            else
                out_flush(&o);
        }
        if (opens) {
            if (depth == (int)(sizeof stack / sizeof stack[0])) {
                err = 1;
                break;
            }
            Group *g = &stack[depth++];
            *g = (Group){live, 0, DROP, worlds_here, 0};
            int v = decide(cond, w, nw, &g->rest, &g->now);
            if (v == 1)
                g->state = STRIP;
            else if (v == UNKNOWN)
                g->printed = 1, g->state = KEEP, out_text(&o, logical);
        } else if (d == D_ELIF || d == D_ELSE) {
            Group *g = &stack[depth - 1];
            int v = decide(d == D_ELSE ? NULL : cond, w, nw, &g->rest, &g->now);
            g->state = DROP;
            if (v == 1 && g->printed) { /* the rest of the chain is this branch */
                out_flush(&o);
                fprintf(out, "%.*s#else\n", (int)strspn(logical, " \t"), logical);
                g->state = KEEP;
            } else if (v == 1) {
                g->state = STRIP;
            } else if (v == UNKNOWN && g->printed) {
                out_text(&o, logical);
                g->state = KEEP;
            } else if (v == UNKNOWN) { /* every earlier branch is gone: this one opens the group */
                out_flush(&o);
                fprintf(out, "%.*sif%s", (int)(kw - logical), logical, arg);
                g->printed = 1;
                g->state = KEEP;
            }
        } else if (d == D_ENDIF) {
            Group *g = &stack[--depth];
            if (g->live && g->printed)
                out_text(&o, logical);
            if (o.wait == depth) { /* the group wrote nothing: its comment goes too */
                o.len = 0;
                o.wait = -1;
            }
        } else if (live) {
            out_line(&o, logical);
        }
    }
    out_flush(&o);
    free(o.held);
    free(line);
    free(logical);
    free(joined);
    return err || o.err || ferror(in) || ferror(out) ? -1 : 0;
}
