/*
 * sema.c: name binding, argument checking and parameter naming.
 *
 * Assumes a Module that parsed without syntax errors.  Walks the statements
 * in order, so "defined before use" is a lookup that also compares
 * positions.  Every check reports and carries on, so one run shows all the
 * independent mistakes of a file; a call that cannot be resolved keeps
 * op == OP_COUNT and lowering turns it into a poisoned node.
 *
 * Guarantees on success: every AST_CALL in a tensor position has a resolved
 * op, op_info[op].nargs resolved argument values (defaults filled in), its
 * tensor operands in order, and, for layers, a unique parameter prefix.
 */
#include "sema.h"

#include "ops_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Open-addressing map from name to pointer; names live in the arena. */
typedef struct {
    const char **keys;
    void **vals;
    size_t cap, n;
} Map;

static size_t hash(const char *s)
{
    size_t h = 1469598103934665603u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211u;
    return h;
}

static void *map_get(const Map *m, const char *k)
{
    if (!m->cap)
        return NULL;
    for (size_t i = hash(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i])
            return NULL;
        if (strcmp(m->keys[i], k) == 0)
            return m->vals[i];
    }
}

static void map_put(Arena *a, Map *m, const char *k, void *v)
{
    if (2 * (m->n + 1) > m->cap) {
        Map g = {0};
        g.cap = m->cap ? 2 * m->cap : 64;
        g.keys = arena_alloc(a, g.cap * sizeof *g.keys);
        g.vals = arena_alloc(a, g.cap * sizeof *g.vals);
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i])
                map_put(a, &g, m->keys[i], m->vals[i]);
        *m = g;
    }
    size_t i = hash(k) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], k) != 0)
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i])
        m->n++;
    m->keys[i] = k;
    m->vals[i] = v;
}

typedef struct Sema {
    Arena *arena;
    Diag *diag;
    Module *m;
    Map names;      /* value name -> Stmt */
    Map prefixes;   /* parameter prefix -> Ast (the layer call) */
    Map declared;   /* every bound name in the file -> its first Stmt */
    int cur;        /* index of the statement being checked */
    int quiet_prefix; /* the statement rebinds a name: its labels clash anyway */
    Map batch_warned; /* input name -> Stmt: its batch-size warning is out */
} Sema;

/* Where a tensor expression stands, for labels and target use. */
typedef struct {
    const char *autoname;   /* label for an unlabelled layer here, or NULL */
    int allow_target;       /* the target operand of a loss */
    int pipe_head;          /* the head of a pipeline */
} Place;

static int check_tensor(Sema *S, Ast *e, Place pl);
static void warn_batch_dim(Sema *S, Ast *dense);

static const Place NOWHERE = {NULL, 0, 0};

/* ---- values: numbers, lists, enumerations ------------------------------ */

static int is_int_value(double x)
{
    return isfinite(x) && x == floor(x) && fabs(x) <= 9007199254740992.0;
}

/* The number as written, for messages: 99999999999999999999, not 1e+20. */
static const char *written(Sema *S, Span sp)
{
    uint32_t n = sp.end - sp.start;
    return arena_strndup(S->arena, S->diag->src + sp.start, n > 40 ? 40 : n);
}

static int check_range(Sema *S, const ArgSpec *as, const char *op, Span sp, double x)
{
    if (range_ok(as->range, x))
        return 1;
    diag_error(S->diag, sp, "`%s` of %s must be %s, got %s", as->name, op, range_text(as->range), written(S, sp));
    return 0;
}

/* A number, written as such. */
static int number(Sema *S, const ArgSpec *as, const char *op, Ast *e, int want_int, double *out)
{
    if (e->kind != AST_NUM) {
        diag_error(S->diag, e->span, "`%s` of %s must be %s, found %s", as->name, op,
                   want_int ? "an integer" : "a number", ast_describe(e));
        return 0;
    }
    if (e->num_bad) {
        diag_error(S->diag, e->span, "`%s` of %s must be a finite number, got %s", as->name, op, written(S, e->span));
        return 0;
    }
    if (want_int && e->is_int && !is_int_value(e->num)) {
        /* Too large to be exact: out of every integer argument's range. */
        Range r = as->range == R_NONE || as->range == R_ANY ? R_SEED : as->range;
        diag_error(S->diag, e->span, "`%s` of %s must be %s, got %s", as->name, op, range_text(r), written(S, e->span));
        return 0;
    }
    if (want_int && (!e->is_int || !is_int_value(e->num))) {
        diag_error(S->diag, e->span, "`%s` of %s must be an integer, got %g", as->name, op, e->num);
        return 0;
    }
    *out = e->num;
    return 1;
}

static int check_call_value(Sema *S, Ast *e, OpKind kind, Value *v);

/* Convert one written argument to a Value as its ArgSpec demands. */
static int check_value(Sema *S, const ArgSpec *as, const char *op, Ast *e, Value *v)
{
    v->span = e->span;
    switch (as->type) {
    case AT_INT:
    case AT_FLOAT:
    case AT_DIM:
        v->kind = V_NUM;
        if (!number(S, as, op, e, as->type != AT_FLOAT, &v->num))
            return 0;
        if (as->type == AT_DIM) {
            if (fabs(v->num) > 16) {
                diag_error(S->diag, e->span, "`%s` of %s is out of range: %g", as->name, op, v->num);
                return 0;
            }
            return 1;
        }
        return check_range(S, as, op, e->span, v->num);
    case AT_BOOL:
        if (e->kind != AST_BOOL) {
            diag_error(S->diag, e->span, "`%s` of %s must be true or false, found %s", as->name, op,
                       ast_describe(e));
            return 0;
        }
        v->kind = V_BOOL;
        v->num = e->num;
        return 1;
    case AT_PAD:
    case AT_PAD1:
        if (e->kind == AST_NAME) {
            if (strcmp(e->name, "same") != 0) {
                diag_error(S->diag, e->span, "`%s` of %s must be an integer%s or `same`, found `%s`", as->name,
                           op, as->type == AT_PAD ? ", [h, w]" : "", e->name);
                return 0;
            }
            v->kind = V_IDENT;
            v->ident = "same";
            return 1;
        }
        if (as->type == AT_PAD1) {
            if (e->kind != AST_NUM) {
                diag_error(S->diag, e->span, "`%s` of %s must be an integer or `same`, found %s", as->name, op,
                           ast_describe(e));
                return 0;
            }
            v->kind = V_NUM;
            return number(S, as, op, e, 1, &v->num) && check_range(S, as, op, e->span, v->num);
        }
        /* fall through */
    case AT_INT2:
        if (e->kind == AST_LIST) {
            if (e->list.n != 2) {
                diag_error(S->diag, e->span, "`%s` of %s takes one integer or a list of two, [h, w]; got a list of %d",
                           as->name, op, e->list.n);
                return 0;
            }
            v->kind = V_LIST;
            v->n = 2;
            v->list = arena_alloc(S->arena, 2 * sizeof *v->list);
            for (int i = 0; i < 2; i++)
                if (!number(S, as, op, e->list.items[i], 1, &v->list[i]) ||
                    !check_range(S, as, op, e->list.items[i]->span, v->list[i]))
                    return 0;
            return 1;
        }
        v->kind = V_NUM;
        return number(S, as, op, e, 1, &v->num) && check_range(S, as, op, e->span, v->num);
    case AT_FLOATS:
        /* `none` where ops.def gives it as the default (a loss's weight) */
        if (e->kind == AST_NAME && as->dflt && strcmp(as->dflt, "none") == 0) {
            if (strcmp(e->name, "none") != 0) {
                diag_error(S->diag, e->span, "`%s` of %s must be a list of numbers or `none`, found `%s`", as->name,
                           op, e->name);
                return 0;
            }
            v->kind = V_IDENT;
            v->ident = "none";
            return 1;
        }
        if (e->kind == AST_LIST) {
            if (e->list.n == 0) {
                diag_error(S->diag, e->span, "`%s` of %s must not be an empty list", as->name, op);
                return 0;
            }
            v->kind = V_LIST;
            v->n = e->list.n;
            v->list = arena_alloc(S->arena, (size_t)v->n * sizeof *v->list);
            for (int i = 0; i < v->n; i++)
                if (!number(S, as, op, e->list.items[i], 0, &v->list[i]))
                    return 0;
            return 1;
        }
        v->kind = V_NUM;
        return number(S, as, op, e, 0, &v->num);
    case AT_SHAPE: {
        if (e->kind != AST_LIST || e->list.n == 0) {
            diag_error(S->diag, e->span, "`%s` of %s must be a list of dimensions such as [16, 7, 7]",
                       as->name, op);
            return 0;
        }
        int ninfer = 0;
        v->kind = V_LIST;
        v->n = e->list.n;
        v->list = arena_alloc(S->arena, (size_t)v->n * sizeof *v->list);
        for (int i = 0; i < v->n; i++) {
            Ast *d = e->list.items[i];
            if (!number(S, as, op, d, 1, &v->list[i]))
                return 0;
            if (v->list[i] == -1 && ++ninfer == 2) {
                diag_error(S->diag, d->span, "only one dimension of %s may be -1", op);
                return 0;
            }
            if (v->list[i] != -1 && !(v->list[i] >= 1 && v->list[i] <= 16777216.0)) {
                diag_error(S->diag, d->span, "a dimension must be between 1 and 16777216 (or -1 to infer it), got %g",
                           v->list[i]);
                return 0;
            }
        }
        return 1;
    }
    case AT_ENUM: {
        if (e->kind == AST_NAME) {
            size_t n = strlen(e->name);
            for (const char *c = as->choices; *c;) {
                const char *bar = strchr(c, '|');
                size_t len = bar ? (size_t)(bar - c) : strlen(c);
                if (len == n && strncmp(c, e->name, n) == 0) {
                    v->kind = V_IDENT;
                    v->ident = e->name;
                    return 1;
                }
                c += len + (bar != NULL);
            }
        }
        char list[256];
        size_t k = 0;
        int nchoice = 1;
        for (const char *c = as->choices; *c; c++)
            nchoice += *c == '|';
        int i = 0;
        for (const char *c = as->choices; *c && k < sizeof list - 40; i++) {
            const char *bar = strchr(c, '|');
            int len = bar ? (int)(bar - c) : (int)strlen(c);
            k += (size_t)snprintf(list + k, sizeof list - k, "%s`%.*s`", i == 0 ? "" : i == nchoice - 1 ? " or " : ", ",
                                  len, c);
            c += len + (bar != NULL);
        }
        if (e->kind == AST_NAME)
            diag_error(S->diag, e->span, "`%s` of %s must be %s, found `%s`", as->name, op, list, e->name);
        else
            diag_error(S->diag, e->span, "`%s` of %s must be %s, found %s", as->name, op, list, ast_describe(e));
        return 0;
    }
    case AT_INIT:
        return check_call_value(S, e, K_INIT, v);
    case AT_SCHED:
        return check_call_value(S, e, K_SCHED, v);
    }
    return 0;
}

/* The default of argument i, parsed from its text in ops.def. */
static void default_value(Op op, int i, Value *args)
{
    const ArgSpec *as = &op_info[op].args[i];
    Value *v = &args[i];
    const char *d = as->dflt;
    v->is_default = 1;
    if (d[0] == '=') {
        *v = args[op_arg_index(op, d + 1)];
        v->is_default = 1;
        return;
    }
    switch (as->type) {
    case AT_BOOL:
        v->kind = V_BOOL;
        v->num = strcmp(d, "true") == 0;
        break;
    case AT_ENUM:
        v->kind = V_IDENT;
        v->ident = d;
        break;
    case AT_FLOATS:
        if (strcmp(d, "none") == 0) {
            v->kind = V_IDENT;
            v->ident = "none";
        } else {
            v->kind = V_NUM;
            v->num = strtod(d, NULL);
        }
        break;
    case AT_INIT:
    case AT_SCHED:
        v->kind = V_CALL;
        v->op = op_lookup(d, KINDS(as->type == AT_INIT ? K_INIT : K_SCHED));
        if (v->op == OP_COUNT)
            diag_internal("sema", "default '%s' of %s.%s is not in ops.def", d, op_info[op].name, as->name);
        v->args = NULL;
        break;
    default:
        v->kind = V_NUM;
        v->num = strtod(d, NULL);
        break;
    }
}

/* ---- calls --------------------------------------------------------------- */

static void signature_hint(Sema *S, Op op)
{
    const OpInfo *oi = &op_info[op];
    char buf[512];
    if (oi->nargs == 0) {
        diag_hint(S->diag, "%s takes no arguments", oi->name);
        return;
    }
    size_t n = (size_t)snprintf(buf, sizeof buf, "%s(", oi->name);
    int first = 1;
    for (int i = 0; i < oi->nargs && n < sizeof buf; i++) {
        const ArgSpec *as = &oi->args[i];
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s%s%s", first ? "" : ", ", as->name,
                              as->dflt ? " = " : "",
                              as->dflt ? (as->dflt[0] == '=' ? as->dflt + 1 : as->dflt) : "");
        first = 0;
    }
    if (n < sizeof buf)
        snprintf(buf + n, sizeof buf - n, ")");
    diag_hint(S->diag, "%s takes %s", oi->name, buf);
}

/* Resolve a call's non-tensor arguments (positional from first_pos on, and
 * keyword) into e->args.  Returns 0 after reporting errors. */
static int bind_args(Sema *S, Ast *e, Op op, int first_pos, int quiet_missing)
{
    const OpInfo *oi = &op_info[op];
    Value *args = arena_alloc(S->arena, (size_t)(oi->nargs + 1) * sizeof *args);
    Ast **given = arena_alloc(S->arena, (size_t)(oi->nargs + 1) * sizeof *given);
    int ok = 1, pos = 0, seen_kw = 0, misplaced = quiet_missing;

    for (int i = first_pos; i < e->list.n; i++) {
        Ast *a = e->list.items[i];
        int slot;
        if (a->kind == AST_KWARG) {
            seen_kw = 1;
            slot = op_arg_index(op, a->name);
            if (slot < 0) {
                diag_error(S->diag, a->name_span, "%s has no argument `%s`", oi->name, a->name);
                const char *best = NULL;
                int bestd = 3;
                for (int j = 0; j < oi->nargs; j++) {
                    int dist = diag_edit_distance(a->name, oi->args[j].name, 2);
                    if (dist < bestd) {
                        bestd = dist;
                        best = oi->args[j].name;
                    }
                }
                if (best)
                    diag_hint(S->diag, "did you mean `%s`?", best);
                else
                    signature_hint(S, op);
                ok = 0;
                continue;
            }
            a = a->rhs;
        } else {
            if (seen_kw) {
                diag_error(S->diag, a->span, "positional argument after keyword arguments");
                ok = 0;
                misplaced = 1;
                continue;
            }
            slot = pos++;
            if (slot >= oi->nargs) {
                if (oi->ntensors < 0)
                    diag_error(S->diag, a->span, "%s takes tensors, then keyword arguments; found %s",
                               oi->name, ast_describe(a));
                else
                    diag_error(S->diag, a->span, "too many arguments to %s", oi->name);
                signature_hint(S, op);
                ok = 0;
                continue;
            }
        }
        if (given[slot]) {
            diag_error(S->diag, e->list.items[i]->span, "argument `%s` of %s is given twice",
                       oi->args[slot].name, oi->name);
            diag_note(S->diag, given[slot]->span, "first given here");
            ok = 0;
            continue;
        }
        given[slot] = e->list.items[i];
        if (!check_value(S, &oi->args[slot], oi->name, a, &args[slot]))
            ok = 0;
    }
    /* Plain defaults first, then those that copy another argument. */
    for (int i = 0; i < oi->nargs; i++) {
        if (given[i])
            continue;
        if (!oi->args[i].dflt) {
            if (!misplaced) {
                diag_error(S->diag, e->name_span, "%s needs `%s`", oi->name, oi->args[i].name);
                signature_hint(S, op);
            }
            ok = 0;
        } else if (oi->args[i].dflt[0] != '=') {
            default_value(op, i, args);
        }
    }
    for (int i = 0; i < oi->nargs; i++)
        if (!given[i] && oi->args[i].dflt && oi->args[i].dflt[0] == '=')
            default_value(op, i, args);
    e->args = args;
    return ok;
}

/* Checks between arguments, beyond each argument's own range (PyTorch
 * raises for the same combinations). */
static int check_constraints(Sema *S, Ast *e)
{
    int errors0 = S->diag->nerrors;
    if (op_impl[e->op]->check)
        op_impl[e->op]->check(S->diag, e->span, e->op, e->args);
    return S->diag->nerrors == errors0;
}

/* The name of an unresolvable callee, explained. */
static void unknown_op(Sema *S, Ast *e, unsigned mask, const char *what)
{
    Op other = op_lookup(e->name, ~mask & ~KINDS(K_IR) & ~KINDS(K_TRAIN));
    if (other != OP_COUNT) {
        OpKind k = op_info[other].kind;
        diag_error(S->diag, e->name_span, "`%s` is %s %s, not %s", e->name,
                   k == K_OPTIM || k == K_INIT ? "an" : "a", op_kind_name(k), what);
        if (k == K_LOSS)
            diag_hint(S->diag, "a loss goes in the `loss` statement: loss %s(logits, y)", e->name);
        else if (k == K_OPTIM)
            diag_hint(S->diag, "an optimizer goes in the `optimizer` statement");
        else if (k == K_INIT)
            diag_hint(S->diag, "initialisers are values of `init =`: dense(10, init = %s)", e->name);
        else if (k == K_SCHED)
            diag_hint(S->diag, "schedules go in the train block: train { lr_schedule = %s(...) }", e->name);
        return;
    }
    Stmt *value = map_get(&S->names, e->name);
    if (value) {
        diag_error(S->diag, e->name_span, "`%s` is a value, not %s", e->name, what);
        diag_note(S->diag, value->name_span, "`%s` is defined here", e->name);
        return;
    }
    diag_error(S->diag, e->name_span, "unknown %s `%s`", strchr(what, ' ') + 1, e->name);
    const char *best = op_suggest(e->name, mask);
    if (best)
        diag_hint(S->diag, "did you mean `%s`?", best);
}

/* An initialiser or schedule written as `he_normal` or `normal(0.01)`. */
static int check_call_value(Sema *S, Ast *e, OpKind kind, Value *v)
{
    const char *what = op_kind_name(kind);
    if (e->kind != AST_NAME && !(e->kind == AST_CALL && !e->label)) {
        diag_error(S->diag, e->span, "expected %s %s such as %s, found %s",
                   kind == K_INIT ? "an" : "a", what, kind == K_INIT ? "he_normal" : "step(10)",
                   ast_describe(e));
        return 0;
    }
    Op op = op_lookup(e->name, KINDS(kind));
    if (op == OP_COUNT) {
        Span sp = e->kind == AST_NAME ? e->span : e->name_span;
        diag_error(S->diag, sp, "unknown %s `%s`", what, e->name);
        const char *best = op_suggest(e->name, KINDS(kind));
        if (best)
            diag_hint(S->diag, "did you mean `%s`?", best);
        return 0;
    }
    v->kind = V_CALL;
    v->op = op;
    if (e->kind == AST_NAME) {
        /* A bare name takes every default; required arguments need parens. */
        Ast call = *e;
        call.kind = AST_CALL;
        call.list = ast_list_empty();
        call.name_span = e->span;
        int ok = bind_args(S, &call, op, 0, 0);
        v->args = call.args;
        return ok;
    }
    int ok = bind_args(S, e, op, 0, 0);
    v->args = e->args;
    e->op = op;
    return ok;
}

/* Claim parameter prefix for layer call e. */
static void claim_prefix(Sema *S, Ast *e, const char *prefix)
{
    Ast *prev = map_get(&S->prefixes, prefix);
    if (prev && S->quiet_prefix) {
        e->prefix = prefix;
        return;
    }
    if (prev) {
        diag_error(S->diag, e->label ? e->label_span : e->name_span,
                   "two layers are named `%s`: their parameters would clash", prefix);
        diag_note(S->diag, prev->label ? prev->label_span : prev->name_span, "the other `%s` is here", prefix);
        return;
    }
    map_put(S->arena, &S->prefixes, prefix, e);
    e->prefix = prefix;
}

/* Is e surely a tensor expression (rather than a number, a list, or an
 * enumeration word such as he_normal)? */
static int looks_tensor(Sema *S, const Ast *e)
{
    switch (e->kind) {
    case AST_NAME:
        return map_get(&S->names, e->name) != NULL;
    case AST_CALL:
        return op_lookup(e->name, KINDS_GRAPH) != OP_COUNT;
    case AST_PIPE:
    case AST_ADD:
    case AST_MUL:
        return 1;
    default:
        return 0;
    }
}

/*
 * A call in a tensor position: `f(args)` directly, or a pipeline stage with
 * piped as its first operand.  kinds: which op kinds are allowed here.
 */
static int check_call(Sema *S, Ast *e, Ast *piped, Place pl, unsigned kinds, const char *what)
{
    Op op = op_lookup(e->name, kinds);
    if (op == OP_COUNT) {
        unknown_op(S, e, kinds, what);
        e->bad = 1;
        return 0;
    }
    const OpInfo *oi = &op_info[op];
    int ok = 1;

    /* Tensor operands: the piped value, then leading positional args. */
    int want = oi->ntensors;
    Ast **t = arena_alloc(S->arena, (size_t)(e->list.n + 2) * sizeof *t);
    int nt = 0, next = 0;
    if (piped)
        t[nt++] = piped;
    while (next < e->list.n && e->list.items[next]->kind != AST_KWARG && (want < 0 || nt < want)) {
        Ast *a = e->list.items[next];
        if (want < 0 && (a->kind == AST_NUM || a->kind == AST_LIST || a->kind == AST_BOOL))
            break;
        Place sub = NOWHERE;
        sub.allow_target = oi->kind == K_LOSS && nt == 1;
        if (!check_tensor(S, a, sub))
            ok = 0;
        t[nt++] = a;
        next++;
    }
    /* More tensors than the op takes: say so, rather than complain that
     * the extra one is not a number. */
    int extra = 0;
    while (want >= 0 && next + extra < e->list.n && looks_tensor(S, e->list.items[next + extra]))
        extra++;
    if (extra > 0) {
        diag_error(S->diag, e->list.items[next]->span, "%s takes %d tensor operand%s, got %d", oi->name, want,
                   want == 1 ? "" : "s", nt + extra);
        if (op == OP_ADD || op == OP_MUL)
            diag_hint(S->diag, "to %s three values, write `a %c b %c c`", op == OP_ADD ? "add" : "multiply",
                      op == OP_ADD ? '+' : '*', op == OP_ADD ? '+' : '*');
        next += extra;
        ok = 0;
    }
    if (want >= 0 && nt < want) {
        diag_error(S->diag, e->span, "%s takes %d tensor operand%s, got %d", oi->name, want,
                   want == 1 ? "" : "s", nt);
        if (nt == 0 && want == 1)
            diag_hint(S->diag, "apply it to a value: x -> %s", oi->name);
        ok = 0;
    }
    if (want < 0 && nt < 2) {
        diag_error(S->diag, e->span, "%s takes two or more tensors, got %d", oi->name, nt);
        ok = 0;
    }
    e->tensors = t;
    e->ntensors = nt;
    if (!bind_args(S, e, op, next, extra > 0))
        ok = 0;
    e->op = op;
    if (ok && !check_constraints(S, e))
        ok = 0;
    if (ok && op == OP_DENSE)
        warn_batch_dim(S, e);

    if (oi->kind == K_LAYER) {
        const char *prefix = e->label ? e->label : pl.autoname;
        if (!prefix) {
            diag_error(S->diag, e->name_span, "this %s layer needs a name for its parameters", oi->name);
            diag_hint(S->diag, "label it, as in `fc: %s(...)`, or bind it: `h = ...`", oi->name);
            ok = 0;
        } else {
            claim_prefix(S, e, prefix);
        }
    }
    e->value_name = e->label ? e->label : pl.autoname;
    e->bad = !ok;
    return ok;
}

static void unknown_name(Sema *S, Ast *e)
{
    if (diag_full(S->diag))
        return; /* nothing more will be printed: spend no more time */
    Stmt *later = map_get(&S->declared, e->name);
    if (later && later->index < S->cur)
        later = NULL;
    if (later) {
        diag_error(S->diag, e->span, "`%s` is used before it is defined", e->name);
        diag_note(S->diag, later->name_span, "`%s` is defined here", e->name);
        return;
    }
    diag_error(S->diag, e->span, "unknown name `%s`", e->name);
    const char *best = NULL;
    int bestd = strlen(e->name) <= 3 ? 2 : 3;
    for (int i = 0; i < S->cur; i++) {
        Stmt *s = S->m->stmts[i];
        if (!s->name)
            continue;
        int dist = diag_edit_distance(e->name, s->name, bestd - 1);
        if (dist < bestd) {
            bestd = dist;
            best = s->name;
        }
    }
    if (best) {
        diag_hint(S->diag, "did you mean `%s`?", best);
    } else if (op_lookup(e->name, KINDS_GRAPH) != OP_COUNT) {
        diag_hint(S->diag, "`%s` is a function: apply it with `x -> %s`", e->name, e->name);
    } else {
        const char *op = op_suggest(e->name, KINDS_GRAPH);
        if (op)
            diag_hint(S->diag, "did you mean the function `%s`? apply it with `x -> %s`", op, op);
    }
}

/* ---- warnings for classic mistakes -------------------------------------- */

/* The expression that computes e's value: through names bound with `=` and
 * to the last stage of a pipeline; with see_through, also through the
 * stages that keep a sample's values (flatten, reshape, dropout,
 * normalize).  An input's name stays a name. */
static Ast *producer(Ast *e, int see_through)
{
    for (int guard = 0; e && guard < 10000; guard++) {
        if (e->kind == AST_NAME && e->binding && (e->binding->kind == ST_LET || e->binding->kind == ST_OUTPUT))
            e = e->binding->expr;
        else if (e->kind == AST_PIPE && e->list.n > 0)
            e = e->list.items[e->list.n - 1];
        else if (see_through && e->kind == AST_CALL && e->ntensors == 1 &&
                 (e->op == OP_FLATTEN || e->op == OP_RESHAPE || e->op == OP_DROPOUT || e->op == OP_NORMALIZE))
            e = e->tensors[0];
        else
            return e;
    }
    return e;
}

/* Losses fed by the activation they apply themselves, and nll fed by
 * anything but log_softmax: all train, to a worse model, without a word. */
static void warn_loss_input(Sema *S, Ast *call)
{
    Ast *pred = call->tensors[0];
    Ast *act = producer(pred, 0);
    Op op = act && act->kind == AST_CALL ? act->op : OP_COUNT;
    const char *what = pred->kind == AST_NAME ? arena_printf(S->arena, "`%s`", pred->name) : "its input";
    switch (call->op) {
    case OP_CROSS_ENTROPY:
        if (op != OP_SOFTMAX && op != OP_LOG_SOFTMAX)
            return;
        diag_warning(S->diag, pred->span,
                     "cross_entropy applies log_softmax itself, and %s already ends in %s%s", what,
                     op_info[op].name, op == OP_SOFTMAX ? ", so it trains on the softmax of probabilities"
                                                        : ", which is then applied twice");
        if (act->span.start != pred->span.start)
            diag_note(S->diag, act->name_span, "the %s is here", op_info[op].name);
        diag_hint(S->diag, "pass the logits, the values before %s (PyTorch's F.cross_entropy takes logits too)%s",
                  op_info[op].name, op == OP_SOFTMAX ? "; for probabilities, add `output probs = logits -> softmax`"
                                                     : ", or use nll(log_probs, y)");
        break;
    case OP_BINARY_CROSS_ENTROPY:
        if (op != OP_SIGMOID)
            return;
        diag_warning(S->diag, pred->span,
                     "binary_cross_entropy applies sigmoid itself (it is PyTorch's "
                     "binary_cross_entropy_with_logits), and %s already ends in sigmoid", what);
        if (act->span.start != pred->span.start)
            diag_note(S->diag, act->name_span, "the sigmoid is here");
        diag_hint(S->diag, "pass the logits, the values before sigmoid; for probabilities, add "
                           "`output p = logits -> sigmoid`");
        break;
    case OP_NLL:
        if (op == OP_LOG_SOFTMAX || (pred->kind == AST_NAME && pred->binding && pred->binding->kind == ST_INPUT))
            return;
        diag_warning(S->diag, pred->span, "nll takes log-probabilities, and %s does not end in log_softmax%s", what,
                     op != OP_COUNT ? arena_printf(S->arena, " (it ends in %s)", op_info[op].name) : "");
        diag_hint(S->diag, "end it with `-> log_softmax`, or use cross_entropy, which applies log_softmax itself");
        break;
    default:
        break;
    }
}

/* 16, 32, ..., 4096: the batch sizes people write. */
static int batch_like(double d)
{
    for (double b = 16; b <= 4096; b *= 2)
        if (d == b)
            return 1;
    return 0;
}

/* dense (rank-1 samples) reading an input declared as f32[64, 784]: the
 * batch dimension written by habit.  A square [32, 32] is an image. */
static void warn_batch_dim(Sema *S, Ast *dense)
{
    if (dense->ntensors < 1)
        return;
    Ast *x = producer(dense->tensors[0], 1);
    if (!x || x->kind != AST_NAME || !x->binding || x->binding->kind != ST_INPUT || x->binding->bad)
        return;
    Stmt *in = x->binding;
    AstList *d = &in->dims->list;
    if (d->n < 2 || !batch_like(d->items[0]->num) || d->items[1]->num == d->items[0]->num ||
        map_get(&S->batch_warned, in->name))
        return;
    map_put(S->arena, &S->batch_warned, in->name, in);
    char rest[160];
    size_t k = 0;
    for (int i = 1; i < d->n && k < sizeof rest; i++)
        k += (size_t)snprintf(rest + k, sizeof rest - k, "%s%.0f", i > 1 ? ", " : "", d->items[i]->num);
    diag_warning(S->diag, d->items[0]->span,
                 "the first dimension of input `%s` is %.0f, a typical batch size, and dense reads it", in->name,
                 d->items[0]->num);
    diag_hint(S->diag, "the batch dimension is implicit: declare one sample, `input %s : f32[%s]`, and set the "
                       "batch with `train { batch = %.0f }` or nnc --batch", in->name, rest, d->items[0]->num);
}

/* An expression that must denote a tensor.  Returns 0 after errors. */
static int check_tensor(Sema *S, Ast *e, Place pl)
{
    switch (e->kind) {
    case AST_NAME: {
        Stmt *s = map_get(&S->names, e->name);
        if (!s) {
            unknown_name(S, e);
            return 0;
        }
        e->binding = s;
        s->used = 1;
        if (s->kind == ST_TARGET && !pl.allow_target) {
            diag_error(S->diag, e->span, "target `%s` can only be used as the target of the loss", e->name);
            diag_hint(S->diag, "targets exist only in training; inference has no `%s`", e->name);
            return 0;
        }
        return 1;
    }
    case AST_NUM:
    case AST_BOOL:
    case AST_LIST:
        diag_error(S->diag, e->span, "expected a tensor, found %s", ast_describe(e));
        if (pl.pipe_head)
            diag_hint(S->diag, "a pipeline starts from a value: an input or a name bound with `=`");
        else if (e->kind == AST_NUM)
            diag_hint(S->diag, "`+` and `*` combine two tensors of one shape; scalars are not broadcast");
        return 0;
    case AST_CALL:
        return check_call(S, e, NULL, pl, KINDS_GRAPH, "a layer or function");
    case AST_PIPE: {
        Place head = NOWHERE;
        head.pipe_head = 1;
        int ok = check_tensor(S, e->lhs, head);
        Ast *prev = e->lhs;
        for (int i = 0; i < e->list.n; i++) {
            Place sp = NOWHERE;
            if (pl.autoname) {
                Ast *st = e->list.items[i];
                sp.autoname = arena_printf(S->arena, "%s.%d", pl.autoname, i);
                (void)st;
            }
            if (!check_call(S, e->list.items[i], prev, sp, KINDS_GRAPH, "a layer or function"))
                ok = 0;
            prev = e->list.items[i];
        }
        return ok;
    }
    case AST_ADD:
    case AST_MUL: {
        int a = check_tensor(S, e->lhs, NOWHERE);
        int b = check_tensor(S, e->rhs, NOWHERE);
        return a && b;
    }
    case AST_KWARG:
        diag_error(S->diag, e->span, "a keyword argument cannot stand here");
        return 0;
    }
    return 0;
}

/* ---- statements ----------------------------------------------------------- */

static void bind_name(Sema *S, Stmt *s)
{
    Stmt *prev = map_get(&S->names, s->name);
    if (prev) {
        diag_error(S->diag, s->name_span, "`%s` is already defined", s->name);
        diag_note(S->diag, prev->name_span, "first defined here");
        diag_hint(S->diag, "each name is bound once; choose a new name for this value");
        return;
    }
    map_put(S->arena, &S->names, s->name, s);
}

static void check_decl(Sema *S, Stmt *s)
{
    int errors0 = S->diag->nerrors;
    int is_class = strcmp(s->type_name, "class") == 0;
    if (!is_class && strcmp(s->type_name, "f32") != 0) {
        diag_error(S->diag, s->type_span, "unknown type `%s`", s->type_name);
        diag_hint(S->diag, "inputs are f32[...]; targets are class[K] or f32[...]");
    } else if (is_class && s->kind == ST_INPUT) {
        diag_error(S->diag, s->type_span, "class[K] is a target type; an input is f32[...]");
    }
    Ast *d = s->dims;
    if (d->list.n == 0)
        diag_error(S->diag, d->span, "a shape needs at least one dimension");
    else if (d->list.n > 6)
        diag_error(S->diag, d->span, "at most 6 dimensions per sample, got %d", d->list.n);
    else if (is_class && d->list.n != 1)
        diag_error(S->diag, d->span, "class[K] takes one number, the count of classes");
    for (int i = 0; i < d->list.n; i++) {
        Ast *x = d->list.items[i];
        if (x->kind != AST_NUM || !x->is_int || x->num_bad || x->num < 1 || x->num > 16777216.0)
            diag_error(S->diag, x->span, "a dimension must be an integer between 1 and 16777216");
    }
    /* Uses of a malformed declaration are not checked further. */
    s->bad = S->diag->nerrors > errors0;
    bind_name(S, s);
}

/* A loss statement: loss f(pred, target) or pred -> f(target). */
static void check_loss(Sema *S, Stmt *s)
{
    Ast *e = s->expr, *call = e, *piped = NULL;
    if (e->kind == AST_PIPE) {
        call = e->list.items[e->list.n - 1];
        if (e->list.n == 1) {
            piped = e->lhs;
        } else {
            /* pred stages -> loss: check the prefix as its own pipeline. */
            Ast *head = arena_alloc(S->arena, sizeof *head);
            *head = *e;
            head->list.n--;
            piped = head;
        }
    }
    if (call->kind != AST_CALL) {
        diag_error(S->diag, e->span, "expected a loss such as cross_entropy(logits, y), found %s",
                   ast_describe(call));
        return;
    }
    if (piped && !check_tensor(S, piped, NOWHERE))
        return;
    Place pl = NOWHERE;
    if (!check_call(S, call, piped, pl, KINDS(K_LOSS), "a loss"))
        return;
    Ast *pred = call->tensors[0], *tgt = call->tensors[1];
    if (pred->kind == AST_NAME && pred->binding && pred->binding->kind == ST_TARGET) {
        diag_error(S->diag, pred->span, "the first operand of %s is the model's prediction; `%s` is a target",
                   call->name, pred->name);
    }
    if (tgt->kind != AST_NAME || !tgt->binding || tgt->binding->kind != ST_TARGET) {
        diag_error(S->diag, tgt->span, "the second operand of %s must be a `target`", call->name);
        if (tgt->kind == AST_NAME && tgt->binding)
            diag_note(S->diag, tgt->binding->name_span, "`%s` is declared here", tgt->name);
    } else {
        warn_loss_input(S, call);
    }
    s->expr = call;
}

static void check_optimizer(Sema *S, Stmt *s)
{
    Ast *e = s->expr;
    if (e->kind == AST_NAME) {
        Ast *call = arena_alloc(S->arena, sizeof *call);
        *call = *e;
        call->kind = AST_CALL;
        call->list = ast_list_empty();
        call->name_span = e->span;
        call->op = OP_COUNT;
        s->expr = e = call;
    }
    if (e->kind != AST_CALL) {
        diag_error(S->diag, e->span, "expected an optimizer such as sgd(lr = 0.1), found %s", ast_describe(e));
        return;
    }
    if (e->label)
        diag_error(S->diag, e->label_span, "an optimizer takes no label");
    Op op = op_lookup(e->name, KINDS(K_OPTIM));
    if (op == OP_COUNT) {
        unknown_op(S, e, KINDS(K_OPTIM), "an optimizer");
        return;
    }
    e->op = op;
    if (bind_args(S, e, op, 0, 0))
        check_constraints(S, e);
}

/* At most one of each: report the second and point at the first. */
static void once(Sema *S, Stmt **slot, Stmt *s, const char *what)
{
    if (*slot) {
        diag_error(S->diag, s->span, "a model has one %s statement; this is the second", what);
        diag_note(S->diag, (*slot)->span, "the first is here");
        return;
    }
    *slot = s;
}

static void check_stmt(Sema *S, Stmt *s)
{
    Module *m = S->m;
    Place pl = NOWHERE;
    switch (s->kind) {
    case ST_INPUT:
    case ST_TARGET:
        check_decl(S, s);
        break;
    case ST_LET:
    case ST_OUTPUT:
        if (s->kind == ST_OUTPUT)
            once(S, &m->output, s, "`output`");
        pl.autoname = s->name;
        if (s->expr->kind == AST_NAME || s->expr->kind == AST_ADD || s->expr->kind == AST_MUL)
            pl.autoname = NULL;
        S->quiet_prefix = s->name && map_get(&S->names, s->name) != NULL;
        check_tensor(S, s->expr, pl);
        S->quiet_prefix = 0;
        if (s->name)
            bind_name(S, s);
        break;
    case ST_LOSS:
        once(S, &m->loss, s, "`loss`");
        check_loss(S, s);
        break;
    case ST_OPTIMIZER:
        once(S, &m->optimizer, s, "`optimizer`");
        check_optimizer(S, s);
        break;
    case ST_TRAIN:
        once(S, &m->train, s, "`train`");
        s->expr->op = OP_TRAIN;
        bind_args(S, s->expr, OP_TRAIN, 0, 0);
        break;
    }
}

int sema_check(Arena *a, Diag *d, Module *m)
{
    Sema S = {0};
    S.arena = a;
    S.diag = d;
    S.m = m;
    int errors0 = d->nerrors;
    int ninputs = 0;

    for (int i = 0; i < m->n; i++) {
        Stmt *st = m->stmts[i];
        st->index = i;
        if (st->name && !map_get(&S.declared, st->name))
            map_put(a, &S.declared, st->name, st);
    }
    for (int i = 0; i < m->n && !diag_full(d); i++) {
        S.cur = i;
        check_stmt(&S, m->stmts[i]);
        ninputs += m->stmts[i]->kind == ST_INPUT;
    }
    if (ninputs == 0)
        diag_error(d, m->name_span, "model `%s` has no input", m->name);
    if (ninputs == 0)
        diag_hint(d, "declare one, as in `input x : f32[784]`");
    if (m->loss && !m->optimizer)
        diag_error(d, m->loss->span, "a model with a loss needs an optimizer, such as `optimizer sgd(lr = 0.01)`");
    if (m->optimizer && !m->loss)
        diag_error(d, m->optimizer->span, "an optimizer needs a loss to minimise");
    if (m->train && !m->loss)
        diag_error(d, m->train->span, "a train block needs a loss");
    if (!m->loss && !m->output && ninputs > 0)
        diag_error(d, m->name_span, "model `%s` computes nothing: add an `output` or a `loss`", m->name);

    if (m->train) {
        m->train_args = m->train->expr->args;
    } else {
        Ast call = {0};
        call.kind = AST_CALL;
        call.name = "train";
        bind_args(&S, &call, OP_TRAIN, 0, 0);
        m->train_args = call.args;
    }

    if (d->nerrors == errors0) {
        for (int i = 0; i < m->n; i++) {
            Stmt *s = m->stmts[i];
            if (s->name && !s->used && s != m->output && s->kind != ST_INPUT && s->kind != ST_TARGET)
                diag_warning(d, s->name_span, "`%s` is computed but never used", s->name);
            else if (s->kind == ST_INPUT && !s->used)
                diag_warning(d, s->name_span, "input `%s` is never used", s->name);
            else if (s->kind == ST_TARGET && !s->used)
                diag_warning(d, s->name_span, "target `%s` is never used", s->name);
        }
    }
    return d->nerrors - errors0;
}
