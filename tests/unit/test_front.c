/*
 * test_front.c: the front end's unit tests, main() and shared helpers, and
 * the IR suite (ir_verify on every example, topological order, parameters
 * before their layer, golden `--check --emit ir` / `--emit shapes` text).
 *
 * The per-phase suites live beside this file: test_lex_parse.c,
 * test_sema.c, test_shape.c, test_diag.c; testutil.h documents the helpers.
 * Run from the repository root (or set NNC_ROOT); NNC_GOLDEN_UPDATE=1
 * rewrites the golden files under tests/cases/ from the current output.
 */
#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "lower.h"
#include "memplan.h"
#include "shape.h"

/* ---- helpers (declared in testutil.h) ---------------------------------- */

static char *xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    ck_assert_ptr_nonnull(p);
    memcpy(p, s, n + 1);
    return p;
}

static void capture_diags(TestCompile *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    diag_flush(&t->c.diag, f);
    fclose(f);
    free(t->diags);
    t->diags = buf;
}

int tc_compile(TestCompile *t, const char *src)
{
    memset(t, 0, sizeof *t);
    t->src = xstrdup(src);
    t->rc = compile_front(&t->c, "t.nn", t->src, (uint32_t)strlen(t->src), NULL, NULL);
    capture_diags(t);
    return t->rc;
}

int tc_compilef(TestCompile *t, const char *fmt, ...)
{
    va_list ap;
    char probe[1];
    va_start(ap, fmt);
    int n = vsnprintf(probe, sizeof probe, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(n, 0);
    char *s = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(s);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = tc_compile(t, s);
    free(s);
    return rc;
}

static void start(TestCompile *t, const char *src)
{
    memset(t, 0, sizeof *t);
    t->src = xstrdup(src);
    diag_init(&t->c.diag, &t->c.arena, "t.nn", t->src, (uint32_t)strlen(t->src));
}

int tc_parse(TestCompile *t, const char *src)
{
    start(t, src);
    t->c.module = parse_module(&t->c.arena, &t->c.diag);
    t->rc = t->c.diag.nerrors;
    capture_diags(t);
    return t->rc;
}

int tc_sema(TestCompile *t, const char *src)
{
    start(t, src);
    t->c.module = parse_module(&t->c.arena, &t->c.diag);
    if (t->c.module)
        sema_check(&t->c.arena, &t->c.diag, t->c.module);
    t->rc = t->c.diag.nerrors;
    capture_diags(t);
    return t->rc;
}

void tc_free(TestCompile *t)
{
    compile_free(&t->c);
    free(t->src);
    free(t->diags);
    memset(t, 0, sizeof *t);
}

const IrNode *tc_node(const TestCompile *t, const char *name)
{
    const Ir *ir = t->c.ir;
    if (!ir)
        return NULL;
    for (int i = ir->n - 1; i >= 0; i--)
        if (ir->nodes[i].op != OP_PARAM && ir->nodes[i].name && strcmp(ir->nodes[i].name, name) == 0)
            return &ir->nodes[i];
    return NULL;
}

const IrNode *tc_param(const TestCompile *t, const char *param)
{
    const Ir *ir = t->c.ir;
    if (!ir)
        return NULL;
    for (int i = 0; i < ir->n; i++)
        if (ir->nodes[i].op == OP_PARAM && strcmp(ir->nodes[i].param, param) == 0)
            return &ir->nodes[i];
    return NULL;
}

int tc_find_op(const TestCompile *t, Op op)
{
    for (int i = 0; t->c.ir && i < t->c.ir->n; i++)
        if (t->c.ir->nodes[i].op == op)
            return i;
    return -1;
}

const char *tc_shape(TestCompile *t, const IrNode *n)
{
    char b[160];
    if (!n)
        return "<none>";
    if (n->poison || !n->shape_known)
        return "<error>";
    return arena_printf(&t->c.arena, "%s%s", n->dtype == DT_I64 ? "i64" : "",
                        shape_str(&n->shape, b, sizeof b));
}

const char *tc_params(TestCompile *t)
{
    const Ir *ir = t->c.ir;
    const char *s = "";
    for (int i = 0; ir && i < ir->n; i++)
        if (ir->nodes[i].op == OP_PARAM)
            s = arena_printf(&t->c.arena, "%s%s%s", s, *s ? " " : "", ir->nodes[i].param);
    return s;
}

int64_t tc_param_count(const TestCompile *t, int trainable_only)
{
    int64_t total = 0;
    const Ir *ir = t->c.ir;
    for (int i = 0; ir && i < ir->n; i++)
        if (op_info[ir->nodes[i].op].kind == K_LAYER)
            total += ir_layer_params(ir, i, trainable_only);
    return total;
}

const char *tc_first_error(TestCompile *t)
{
    const char *e = t->diags ? strstr(t->diags, "error: ") : NULL;
    if (!e)
        return "";
    e += strlen("error: ");
    const char *nl = strchr(e, '\n');
    return arena_strndup(&t->c.arena, e, nl ? (size_t)(nl - e) : strlen(e));
}

const char *shape_of(TestCompile *t, const char *decls, const char *expr)
{
    tc_compilef(t, "model m {\n%s\noutput out = %s\n}\n", decls, expr);
    if (t->rc != 0)
        return arena_printf(&t->c.arena, "error: %s", tc_first_error(t));
    if (!t->c.ir || t->c.ir->output < 0)
        return "<no output>";
    return tc_shape(t, &t->c.ir->nodes[t->c.ir->output]);
}

int count_str(const char *hay, const char *needle)
{
    int n = 0;
    size_t len = strlen(needle);
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += len)
        n++;
    return n;
}

const char *tc_text(TestCompile *t, Span sp)
{
    if (sp.end < sp.start || sp.end > strlen(t->src))
        return "<bad span>";
    return arena_strndup(&t->c.arena, t->src + sp.start, sp.end - sp.start);
}

static char *root_path(const char *rel)
{
    const char *root = getenv("NNC_ROOT");
    if (!root || !*root)
        root = ".";
    size_t n = strlen(root) + strlen(rel) + 2;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", root, rel);
    return p;
}

char *tu_read(const char *rel, size_t *len)
{
    char *path = root_path(rel);
    FILE *f = fopen(path, "rb");
    free(path);
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 8192;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

void tu_golden(const char *rel, const char *actual)
{
    const char *update = getenv("NNC_GOLDEN_UPDATE");
    if (update && strcmp(update, "1") == 0) {
        char *path = root_path(rel);
        FILE *f = fopen(path, "wb");
        ck_assert_msg(f != NULL, "cannot write %s", path);
        fputs(actual, f);
        fclose(f);
        free(path);
        return;
    }
    char *want = tu_read(rel, NULL);
    ck_assert_msg(want != NULL, "golden file %s is missing (run from the repository root, or set NNC_ROOT)", rel);
    if (strcmp(want, actual) != 0) {
        /* Report the first line that differs, not two whole files. */
        const char *a = want, *b = actual;
        int line = 1;
        while (*a && *a == *b) {
            if (*a == '\n')
                line++;
            a++;
            b++;
        }
        while (a > want && a[-1] != '\n') {
            a--;
            b--;
        }
        const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
        ck_abort_msg("%s differs at line %d:\n  expected: %.*s\n  actual:   %.*s\n(NNC_GOLDEN_UPDATE=1 rewrites it)",
                     rel, line, (int)(ea ? ea - a : (long)strlen(a)), a,
                     (int)(eb ? eb - b : (long)strlen(b)), b);
    }
    free(want);
}

char *tu_dump_ir(const Ir *ir, const char *after)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    ir_dump(ir, f, after);
    fclose(f);
    return buf;
}

char *tu_dump_shapes(const Ir *ir)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    ir_dump_shapes(ir, f);
    fclose(f);
    return buf;
}

/* ---- the IR suite --------------------------------------------------------- */

static const char *const examples[] = {
    "examples/fashion_mlp.nn",
    "examples/fashion_lenet.nn",
    "examples/fashion_resmlp.nn",
};
#define NEXAMPLES ((int)(sizeof examples / sizeof examples[0]))

/* Compile an example file; fails the test if it is missing or rejected. */
static void compile_example(TestCompile *t, const char *rel)
{
    char *src = tu_read(rel, NULL);
    ck_assert_msg(src != NULL, "cannot read %s (run from the repository root, or set NNC_ROOT)", rel);
    tc_compile(t, src);
    free(src);
    ck_assert_msg(t->rc == 0, "%s does not compile:\n%s", rel, t->diags);
}

/* The invariants ir.h promises, checked independently of ir_verify. */
static void check_ir_invariants(const Ir *ir, const char *what)
{
    for (int i = 0; i < ir->n; i++) {
        const IrNode *n = &ir->nodes[i];
        ck_assert_msg(!n->poison, "%s: node %%%d is poisoned", what, i);
        ck_assert_msg(n->shape_known, "%s: node %%%d has no shape", what, i);
        for (int j = 0; j < n->nin; j++)
            ck_assert_msg(n->in[j] >= 0 && n->in[j] < i, "%s: node %%%d uses %%%d, not earlier", what, i,
                          n->in[j]);
        if (n->op == OP_PARAM) {
            ck_assert_msg(n->layer > i && n->layer < ir->n, "%s: param %s has no layer after it", what, n->param);
            const IrNode *l = &ir->nodes[n->layer];
            int found = 0;
            for (int j = 0; j < l->nin; j++)
                found |= l->in[j] == i;
            ck_assert_msg(found, "%s: layer %%%d does not use its param %s", what, n->layer, n->param);
            ck_assert_int_eq(op_info[l->op].kind, K_LAYER);
        }
    }
    ck_assert_int_ge(ir->output, 0);
    ck_assert_int_lt(ir->output, ir->n);
    ck_assert_int_lt(ir->loss, ir->n);
}

START_TEST(test_examples_verify)
{
    for (int k = 0; k < NEXAMPLES; k++) {
        TestCompile t;
        compile_example(&t, examples[k]);
        ck_assert_msg(t.c.diag.nwarnings == 0, "%s warns:\n%s", examples[k], t.diags);
        ck_assert_str_eq(t.diags, "");
        /* Exits with status 70 (a test error) if an invariant fails. */
        ir_verify(t.c.ir, "test", 1);
        check_ir_invariants(t.c.ir, examples[k]);
        tc_free(&t);
    }
}
END_TEST

/* memplan.h's guarantee, checked pair by pair: two buffers whose live
 * intervals meet never overlap (a kernel's scratch lives at its node
 * only), every buffer lies in the arena, and the arena is no smaller than
 * the lower bound.  Over the examples, training and -O0, 1 and 2 threads. */
START_TEST(test_memplan_no_overlap)
{
    for (int k = 0; k < NEXAMPLES; k++)
        for (int v = 0; v < 4; v++) {
            TestCompile t;
            compile_example(&t, examples[k]);
            BackOptions o = {0};
            o.max_batch = v & 1 ? 1 : 64;
            o.opt_level = v < 2 ? 2 : 0;
            o.threads = v & 1 ? 2 : 1;
            ck_assert_int_eq(compile_back(&t.c, &o), 0);
            const Ir *ir = t.c.ir;
            const MemPlan *p = t.c.plan;
            int nb = 0;
            struct { int64_t off, size; int start, end; } *b = malloc((size_t)(2 * ir->n) * sizeof *b);
            ck_assert_ptr_nonnull(b);
            for (int i = 0; i < ir->n; i++) {
                int own = p->root[i] == i && p->offset[i] >= p->persistent && p->size[i] > 0;
                int up = ir->nodes[i].op == OP_GRAD && !ir->nodes[i].batched; /* lives to the update */
                if (own) {
                    b[nb].off = p->offset[i], b[nb].size = p->size[i], b[nb].start = i;
                    b[nb].end = up ? ir->n : p->last_use[i];
                    nb++;
                }
                if (p->scratch[i] >= 0) {
                    b[nb].off = p->scratch[i], b[nb].size = p->scratch_size[i], b[nb].start = b[nb].end = i;
                    nb++;
                }
            }
            for (int i = 0; i < nb; i++) {
                ck_assert(b[i].off >= p->persistent && b[i].off + b[i].size <= p->total);
                for (int j = 0; j < i; j++) {
                    int meet = b[i].start <= b[j].end && b[j].start <= b[i].end;
                    int overlap = b[i].off < b[j].off + b[j].size && b[j].off < b[i].off + b[i].size;
                    ck_assert_msg(!(meet && overlap), "%s (variant %d): buffers at steps %d and %d overlap", examples[k],
                                  v, b[i].start, b[j].start);
                }
            }
            ck_assert_int_ge(p->total, p->bound);
            free(b);
            tc_free(&t);
        }
}
END_TEST

/* Parameters sit just before the layer that owns them, in state_dict order. */
START_TEST(test_params_just_before_layer)
{
    TestCompile t;
    compile_example(&t, "examples/fashion_lenet.nn");
    const Ir *ir = t.c.ir;
    int layers = 0;
    for (int i = 0; i < ir->n; i++) {
        const IrNode *n = &ir->nodes[i];
        if (op_info[n->op].kind != K_LAYER)
            continue;
        layers++;
        ck_assert_int_eq(n->nin, 3); /* x, weight, bias */
        ck_assert_int_ne(ir->nodes[n->in[0]].op, OP_PARAM);
        ck_assert_int_eq(n->in[1], i - 2);
        ck_assert_int_eq(n->in[2], i - 1);
        ck_assert_int_eq(ir->nodes[i - 2].role, PR_WEIGHT);
        ck_assert_int_eq(ir->nodes[i - 1].role, PR_BIAS);
        ck_assert_int_eq(ir->nodes[i - 2].layer, i);
        ck_assert(ir->nodes[i - 2].trainable && ir->nodes[i - 1].trainable);
    }
    ck_assert_int_eq(layers, 5);
    tc_free(&t);
}
END_TEST

/* A value used twice is computed once; the graph is a DAG in order. */
START_TEST(test_resmlp_shared_value)
{
    TestCompile t;
    compile_example(&t, "examples/fashion_resmlp.nn");
    const Ir *ir = t.c.ir;
    int ndense = 0, nadd = 0, add = -1;
    for (int i = 0; i < ir->n; i++) {
        ndense += ir->nodes[i].op == OP_DENSE;
        if (ir->nodes[i].op == OP_ADD) {
            nadd++;
            add = i;
        }
    }
    ck_assert_int_eq(ndense, 4);
    ck_assert_int_eq(nadd, 1);
    const IrNode *h = tc_node(&t, "h"), *r = tc_node(&t, "r");
    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(h->op, OP_RELU);
    ck_assert_int_eq(r->op, OP_DENSE);
    int hid = (int)(h - ir->nodes), rid = (int)(r - ir->nodes);
    /* (h + r) adds the very nodes, and r's first dense reads h. */
    ck_assert_int_eq(ir->nodes[add].in[0], hid);
    ck_assert_int_eq(ir->nodes[add].in[1], rid);
    const IrNode *r0 = tc_node(&t, "r.0");
    ck_assert_ptr_nonnull(r0);
    ck_assert_int_eq(r0->in[0], hid);
    ck_assert_int_lt(hid, rid);
    ck_assert_int_lt(rid, add);
    tc_free(&t);
}
END_TEST

/* Inference returns the loss's first operand unless `output` says otherwise. */
START_TEST(test_output_and_loss)
{
    TestCompile t;
    compile_example(&t, "examples/fashion_lenet.nn");
    const Ir *ir = t.c.ir;
    ck_assert_int_ge(ir->loss, 0);
    const IrNode *loss = &ir->nodes[ir->loss];
    ck_assert_int_eq(loss->op, OP_CROSS_ENTROPY);
    ck_assert_int_eq(loss->shape.rank, 0);
    ck_assert_int_eq(loss->nin, 2);
    ck_assert_int_eq(loss->in[0], ir->output);
    ck_assert_int_eq(ir->nodes[ir->output].op, OP_DENSE);
    ck_assert_int_eq(ir->nodes[loss->in[1]].op, OP_TARGET);
    ck_assert_int_eq(ir->nodes[loss->in[1]].dtype, DT_CLASS);
    ck_assert_ptr_nonnull(ir->optimizer);
    ck_assert_int_eq(ir->optimizer->op, OP_OPT_ADAM);
    tc_free(&t);

    compile_example(&t, "examples/fashion_mlp.nn");
    ir = t.c.ir;
    ck_assert_int_eq(ir->nodes[ir->output].op, OP_SOFTMAX);
    ck_assert_str_eq(ir->nodes[ir->output].name, "probs");
    ck_assert_int_eq(ir->nodes[ir->nodes[ir->loss].in[0]].op, OP_DENSE);
    ck_assert_ptr_eq(tc_node(&t, "logits"), &ir->nodes[ir->nodes[ir->loss].in[0]]);
    /* train { batch = 64, epochs = 3, shuffle = true, seed = 1 } */
    ck_assert_ptr_nonnull(ir->train);
    ck_assert_double_eq(op_num(OP_TRAIN, ir->train, "batch"), 64);
    ck_assert_double_eq(op_num(OP_TRAIN, ir->train, "epochs"), 3);
    ck_assert_double_eq(op_num(OP_TRAIN, ir->train, "seed"), 1);
    ck_assert_double_eq(op_num(OP_OPT_SGD, ir->optimizer->args, "momentum"), 0.9);
    tc_free(&t);
}
END_TEST

/* A file with no loss compiles to inference only. */
START_TEST(test_inference_only)
{
    TestCompile t;
    tc_compile(&t, "model m {\n  input x : f32[4]\n  output y = x -> fc: dense(2) -> softmax\n}\n");
    ck_assert_msg(t.rc == 0, "%s", t.diags);
    ck_assert_int_eq(t.c.ir->loss, -1);
    ck_assert_ptr_null(t.c.ir->optimizer);
    ck_assert_int_eq(t.c.ir->nodes[t.c.ir->output].op, OP_SOFTMAX);
    check_ir_invariants(t.c.ir, "inference");
    tc_free(&t);
}
END_TEST

START_TEST(test_golden_mlp_ir)
{
    TestCompile t;
    compile_example(&t, "examples/fashion_mlp.nn");
    /* What `nnc --check --emit ir` prints: the front end's IR, before
     * autodiff (tests/run_examples.sh pins NAME.ir, the IR after it). */
    char *ir = tu_dump_ir(t.c.ir, "shape");
    tu_golden("tests/cases/fashion_mlp.front.ir", ir);
    free(ir);
    tc_free(&t);
}
END_TEST

START_TEST(test_golden_resmlp_ir)
{
    TestCompile t;
    compile_example(&t, "examples/fashion_resmlp.nn");
    char *ir = tu_dump_ir(t.c.ir, "shape");
    tu_golden("tests/cases/fashion_resmlp.front.ir", ir);
    free(ir);
    tc_free(&t);
}
END_TEST

START_TEST(test_golden_lenet_shapes)
{
    TestCompile t;
    compile_example(&t, "examples/fashion_lenet.nn");
    char *s = tu_dump_shapes(t.c.ir); /* what `nnc --emit shapes` prints */
    tu_golden("tests/cases/fashion_lenet.shapes", s);
    ck_assert_has(s, "total: 61,706 trainable parameters\n");
    free(s);
    tc_free(&t);
}
END_TEST

/* --dump-after lower prints the IR before shapes are known. */
START_TEST(test_dump_after)
{
    char *src = tu_read("examples/fashion_mlp.nn", NULL);
    ck_assert_ptr_nonnull(src);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    Compilation c;
    ck_assert_int_eq(compile_front(&c, "mlp.nn", src, (uint32_t)strlen(src), "lower", f), 0);
    fclose(f);
    ck_assert_has(buf, "; model fashion_mlp, IR after lower\n");
    ck_assert_has(buf, "%0 = input x : f32[784]\n");
    ck_assert_has(buf, "%2 = param logits.0.weight : ?\n");
    ck_assert_has(buf, "%4 = dense(%0, %2, %3, units=256");
    free(buf);
    compile_free(&c);

    buf = NULL;
    f = open_memstream(&buf, &len);
    ck_assert_int_eq(compile_front(&c, "mlp.nn", src, (uint32_t)strlen(src), "shape", f), 0);
    fclose(f);
    char *final = tu_dump_ir(c.ir, "shape");
    ck_assert_str_eq(buf, final);
    free(final);
    free(buf);
    compile_free(&c);
    free(src);
}
END_TEST

/* No globals: many compilations, good and bad, in one process agree. */
START_TEST(test_many_compilations)
{
    char *srcs[NEXAMPLES];
    for (int k = 0; k < NEXAMPLES; k++) {
        srcs[k] = tu_read(examples[k], NULL);
        ck_assert_ptr_nonnull(srcs[k]);
    }
    static const char bad[] = "model m {\n  input x : f32[4]\n  output y = x -> dens(3)\n}\n";
    Compilation keep;
    ck_assert_int_eq(compile_front(&keep, "keep.nn", srcs[0], (uint32_t)strlen(srcs[0]), NULL, NULL), 0);
    for (int round = 0; round < 100; round++) {
        Compilation c;
        int k = round % NEXAMPLES;
        ck_assert_int_eq(compile_front(&c, "e.nn", srcs[k], (uint32_t)strlen(srcs[k]), NULL, NULL), 0);
        ck_assert_int_eq(c.diag.nerrors, 0);
        compile_free(&c);
        ck_assert_int_eq(compile_front(&c, "bad.nn", bad, (uint32_t)strlen(bad), NULL, NULL), 1);
        ck_assert_int_eq(c.diag.nerrors, 1);
        compile_free(&c);
    }
    /* The first compilation is untouched by the hundred after it. */
    ck_assert_int_eq(keep.diag.nerrors, 0);
    ck_assert_str_eq(keep.ir->model, "fashion_mlp");
    ck_assert_str_eq(keep.ir->nodes[2].param, "logits.0.weight");
    compile_free(&keep);
    for (int k = 0; k < NEXAMPLES; k++)
        free(srcs[k]);
}
END_TEST

/* The phases can be run one by one, as compile_front does. */
START_TEST(test_phases_by_hand)
{
    TestCompile t;
    ck_assert_int_eq(tc_sema(&t, "model m { input x : f32[2, 3]  output y = x -> flatten -> fc: dense(4) }"), 0);
    Ir *ir = lower_module(&t.c.arena, t.c.module);
    ir_verify(ir, "lower", 0);
    ck_assert_int_eq(ir->n, 5); /* x, flatten, fc.weight, fc.bias, dense */
    ck_assert_int_eq(ir->nodes[4].shape_known, 0);
    ck_assert_int_eq(shape_infer(ir, &t.c.diag), 0);
    ir_verify(ir, "shape", 1);
    t.c.ir = ir;
    ck_assert_str_eq(tc_shape(&t, &ir->nodes[1]), "[6]");
    ck_assert_str_eq(tc_shape(&t, tc_param(&t, "fc.weight")), "[4, 6]");
    ck_assert_str_eq(tc_shape(&t, &ir->nodes[4]), "[4]");
    tc_free(&t);
}
END_TEST

/* A poisoned statement does not hide independent errors elsewhere, and
 * lowering with poisoned nodes still passes ir_verify (compile_front runs it). */
START_TEST(test_poison_keeps_going)
{
    TestCompile t;
    tc_compile(&t, "model m {\n"
                   "  input x : f32[4]\n"
                   "  a = x -> dens(3) -> relu\n"   /* sema: unknown */
                   "  b = a -> fc: dense(2)\n"      /* depends on a: silent */
                   "  c = x -> conv2d(2, kernel = 3)\n" /* shape: rank */
                   "  output d = b + c\n"
                   "}\n");
    ck_assert_int_eq(t.rc, 1);
    ck_assert_int_eq(t.c.diag.nerrors, 2);
    ck_assert_has(t.diags, "t.nn:3:12: error: unknown layer or function `dens`");
    ck_assert_has(t.diags, "t.nn:5:12: error: conv2d expects a [C, H, W] input, got [4]");
    tc_free(&t);
}
END_TEST

START_TEST(test_dot_dump)
{
    TestCompile t;
    compile_example(&t, "examples/fashion_resmlp.nn");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ir_dump_dot(t.c.ir, f);
    fclose(f);
    ck_assert_has(buf, "digraph \"resmlp\" {");
    ck_assert_has(buf, "n5 -> n13");
    ck_assert_has(buf, "n12 -> n13");
    ck_assert_lacks(buf, "n2 ->"); /* parameters are not drawn */
    free(buf);
    tc_free(&t);
}
END_TEST

Suite *ir_suite(void)
{
    Suite *s = suite_create("ir");
    TCase *tc = tcase_create("ir");
    tcase_add_test(tc, test_examples_verify);
    tcase_add_test(tc, test_memplan_no_overlap);
    tcase_add_test(tc, test_params_just_before_layer);
    tcase_add_test(tc, test_resmlp_shared_value);
    tcase_add_test(tc, test_output_and_loss);
    tcase_add_test(tc, test_inference_only);
    tcase_add_test(tc, test_golden_mlp_ir);
    tcase_add_test(tc, test_golden_resmlp_ir);
    tcase_add_test(tc, test_golden_lenet_shapes);
    tcase_add_test(tc, test_dump_after);
    tcase_add_test(tc, test_many_compilations);
    tcase_add_test(tc, test_phases_by_hand);
    tcase_add_test(tc, test_poison_keeps_going);
    tcase_add_test(tc, test_dot_dump);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(lex_parse_suite());
    srunner_add_suite(sr, sema_suite());
    srunner_add_suite(sr, shape_suite());
    srunner_add_suite(sr, diag_suite());
    srunner_add_suite(sr, ir_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
