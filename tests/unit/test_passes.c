/*
 * test_passes.c: unit tests of the back half of the pipeline, through the
 * public compile API the way main.c uses it (compile_front, then
 * compile_back with BackOptions):
 *
 *   - the pass table (compile_passes): its order constraints hold, and a
 *     table that breaks one is reported; the docs list its passes;
 *     --disable and --dump-after semantics (a disabled or -O0 pass
 *     leaves no dump, --inference skips the training passes);
 *   - autodiff's gradient wiring: which OP_GRAD nodes exist and what
 *     each reads, for every family (linear, conv, pooling, activations,
 *     normalisation, structure, losses, optimizers), fan-outs summed;
 *   - each optional pass's kernel list on a small model, with the pass on
 *     and turned off alone (the kernels it fuses come back, nothing else
 *     changes), and a value with a second reader left unfused;
 *   - op_elementwise()'s table (ops.c) and the kernels' element-wise
 *     formulas (kernels.c, kernels_act.c) name the same ops;
 *   - every row of ops.def has an implementation record (ops_impl.h)
 *     that agrees with its row, and a kernel-layer row;
 *   - memplan: every buffer and scratch region lies in the arena, is
 *     as large as its value and aligned, every region a kernel declares
 *     is placed, and no two regions live at once overlap, on small models
 *     and on every example (training and inference, batch 1 and 64); the
 *     checker itself is shown a broken plan;
 *   - --inference weights ride on their parameters (IrNode.value) through
 *     lower_1d's and fold_batchnorm's renumbering: each parameter keeps
 *     the values attached to its name (the folded layers the folded
 *     values), and the emitted code has every array, biases included.
 *
 * Models are source strings compiled as "t.nn"; the files read are
 * docs/language.md, whose pass lists must match the table, and the
 * examples (examples/, examples/tiny/): run from the
 * repository root (or set NNC_ROOT), CK_FORK=no build/test_passes.
 */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "emit_c.h"
#include "ir.h"
#include "kernels.h"
#include "memplan.h"
#include "ops.h"
#include "ops_impl.h"

/* ---- helpers ------------------------------------------------------------- */

/* One compilation of a source string, front and back. */
typedef struct Built {
    Compilation c;
    char *src;
    char *dump;     /* what --dump-after printed ("" if nothing) */
} Built;

/* Options as nnc gives them: -O2, training, batch 4, one thread. */
static BackOptions opts(void)
{
    BackOptions o;
    memset(&o, 0, sizeof o);
    o.opt_level = 2;
    o.max_batch = 4;
    o.threads = 1;
    return o;
}

/* The bit of BackOptions.disabled that --disable name sets. */
static unsigned off(const char *name)
{
    int i = compile_pass(name);
    ck_assert_msg(i >= 0 && (compile_passes[i].flags & PASS_OPTIONAL), "%s is not an optional pass", name);
    return 1u << i;
}

/* Compile src under o (o->dump_after honoured, into b->dump); fails the
 * test when either half reports an error. */
static void build(Built *b, const char *src, BackOptions o)
{
    memset(b, 0, sizeof *b);
    size_t n = strlen(src);
    b->src = malloc(n + 1);
    ck_assert_ptr_nonnull(b->src);
    memcpy(b->src, src, n + 1);
    size_t len = 0;
    FILE *f = open_memstream(&b->dump, &len);
    ck_assert_ptr_nonnull(f);
    int rc = compile_front(&b->c, "t.nn", b->src, (uint32_t)n, o.dump_after, f);
    if (rc == 0) {
        o.dump = f;
        rc = compile_back(&b->c, &o);
    }
    if (rc != 0)
        diag_flush(&b->c.diag, stderr);
    fclose(f);
    ck_assert_msg(rc == 0, "the model does not compile:\n%s", src);
}

static void unbuild(Built *b)
{
    compile_free(&b->c);
    free(b->src);
    free(b->dump);
}

/* nnc --emit kernels under o, the kernel names joined by single spaces
 * (malloc'ed). */
static char *kernels(const char *src, BackOptions o)
{
    Built b;
    build(&b, src, o);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    emit_kernel_list(b.c.ir, b.c.plan, f);
    fclose(f);
    unbuild(&b);
    /* drop the "; kernels of ..." line, join the rest */
    char *out = malloc(len + 1), *p = out;
    ck_assert_ptr_nonnull(out);
    const char *s = strchr(text, '\n');
    for (s = s ? s + 1 : text; *s; s++)
        *p++ = *s == '\n' ? ' ' : *s;
    while (p > out && p[-1] == ' ')
        p--;
    *p = '\0';
    free(text);
    return out;
}

/* The last node named name that is not a parameter or a gradient, or -1. */
static int node(const Ir *ir, const char *name)
{
    int found = -1;
    for (int i = 0; i < ir->n; i++)
        if (ir->nodes[i].name && strcmp(ir->nodes[i].name, name) == 0 && ir->nodes[i].op != OP_PARAM &&
            ir->nodes[i].op != OP_GRAD && ir->nodes[i].op != OP_UPDATE)
            found = i;
    return found;
}

/* The id of the parameter with state_dict name param, or -1. */
static int param(const Ir *ir, const char *name)
{
    for (int i = 0; i < ir->n; i++)
        if (ir->nodes[i].op == OP_PARAM && strcmp(ir->nodes[i].param, name) == 0)
            return i;
    return -1;
}

/* The OP_GRAD node for input `which` of forward node fwd, or -1; fails the
 * test if there are two. */
static int grad(const Ir *ir, int fwd, int which)
{
    int found = -1;
    for (int i = ir->nforward; i < ir->n; i++) {
        const IrNode *n = &ir->nodes[i];
        if (n->op == OP_GRAD && n->fwd == fwd && n->which == which) {
            ck_assert_msg(found < 0, "two gradients of input %d of %%%d", which, fwd);
            found = i;
        }
    }
    return found;
}

/* Node id reads exactly the nodes a, b (-1: no second input). */
static void reads(const Ir *ir, int id, int a, int b)
{
    ck_assert_int_ge(id, 0);
    const IrNode *n = &ir->nodes[id];
    ck_assert_int_eq(n->nin, b < 0 ? 1 : 2);
    ck_assert_msg(n->in[0] == a, "%%%d reads %%%d first, not %%%d", id, n->in[0], a);
    if (b >= 0)
        ck_assert_msg(n->in[1] == b, "%%%d reads %%%d second, not %%%d", id, n->in[1], b);
}

static int count_op(const Ir *ir, Op op, int from)
{
    int k = 0;
    for (int i = from; i < ir->n; i++)
        k += ir->nodes[i].op == op;
    return k;
}

/* ---- models ------------------------------------------------------------------- */

/* dense + relu + dense + cross_entropy: the wiring of a classifier. */
static const char mlp[] = "model m {\n"
                          "    input  x : f32[4]\n"
                          "    target y : class[3]\n"
                          "    h   = x -> dense(8) -> relu\n"
                          "    out = h -> dense(3)\n"
                          "    loss      cross_entropy(out, y)\n"
                          "    optimizer sgd(lr = 0.1)\n"
                          "    train     { batch = 2 }\n"
                          "}\n";

/* h feeds two readers (mul and add): its gradient is a sum. */
static const char ew[] = "model ew {\n"
                         "    input  x : f32[6]\n"
                         "    target y : class[3]\n"
                         "    h   = x -> dense(6) -> tanh\n"
                         "    h2  = x -> dense(6)\n"
                         "    g   = h * sigmoid(h2) + h\n"
                         "    out = g -> dense(3)\n"
                         "    loss      cross_entropy(out, y)\n"
                         "    optimizer sgd(lr = 0.1)\n"
                         "}\n";

/* nll of log_softmax: fuse_loss's case. */
static const char nll[] = "model loss_nll {\n"
                          "    input  x : f32[10]\n"
                          "    target y : class[5]\n"
                          "    logp = x -> dense(16) -> relu -> dense(5) -> log_softmax\n"
                          "    loss      nll(logp, y)\n"
                          "    optimizer sgd(lr = 0.5)\n"
                          "}\n";

/* conv2d + relu + maxpool: conv_algo's and fuse_conv_pool's case. */
static const char convpool[] = "model conv_pool_only {\n"
                               "    input  x : f32[1, 8, 8]\n"
                               "    target y : f32[16]\n"
                               "    pred = x -> conv2d(1, kernel = 3, padding = 1) -> relu -> maxpool(2) -> flatten\n"
                               "    loss      mse(pred, y)\n"
                               "    optimizer sgd(lr = 0.1)\n"
                               "}\n";

/* Everything that keeps memory for its backward or needs scratch: a
 * convolution, batchnorm, dropout, max pooling, a residual sum. */
static const char zoo[] = "model zoo {\n"
                          "    input  x : f32[2, 10, 10]\n"
                          "    target y : class[5]\n"
                          "    c = x -> conv2d(8, kernel = 3, padding = 1) -> batchnorm -> relu -> maxpool(2)\n"
                          "    f = c -> flatten -> dense(32) -> relu -> dropout(0.25)\n"
                          "    t = f -> dense(32) -> tanh\n"
                          "    r = (f + t) -> layernorm\n"
                          "    out = r -> dense(5)\n"
                          "    loss      cross_entropy(out, y)\n"
                          "    optimizer adam(lr = 0.01)\n"
                          "}\n";

/* ---- the pass table --------------------------------------------------------- */

START_TEST(test_table_order_holds)
{
    char why[256] = "";
    ck_assert_msg(compile_check_passes(compile_passes, compile_npasses, why, sizeof why) == 0, "%s", why);
    ck_assert_ptr_null(compile_passes[compile_npasses].name);
    for (int i = 0; i < compile_npasses; i++) {
        const CompilePass *p = &compile_passes[i];
        ck_assert_int_eq(compile_pass(p->name), i);
        ck_assert_ptr_nonnull(p->run);
        /* nnc --help prints what in a column starting at 33 of 79 */
        ck_assert_msg(p->what && *p->what && strlen(p->what) <= 46, "%s: what is empty or too long", p->name);
        ck_assert_msg(!((p->flags & PASS_FRONT) && (p->flags & (PASS_OPTIONAL | PASS_TRAINING))),
                      "%s: the front end always runs whole", p->name);
        ck_assert_msg(!p->skipped || (p->flags & PASS_TRAINING), "%s: skipped without PASS_TRAINING", p->name);
    }
    ck_assert_int_eq(compile_pass("fusion"), -1);
}
END_TEST

/* A copy of compile_passes with rows i and j swapped. */
static CompilePass *swapped(int i, int j)
{
    static CompilePass t[40];
    ck_assert_int_le(compile_npasses, 40);
    memcpy(t, compile_passes, (size_t)compile_npasses * sizeof *t);
    CompilePass x = t[i];
    t[i] = t[j];
    t[j] = x;
    return t;
}

START_TEST(test_table_violations_reported)
{
    char why[256];
    int loss = compile_pass("fuse_loss"), ad = compile_pass("autodiff");
    int pool = compile_pass("fuse_conv_pool"), algo = compile_pass("conv_algo");
    int lower = compile_pass("lower"), shape = compile_pass("shape");
    ck_assert(loss >= 0 && ad >= 0 && pool >= 0 && algo >= 0 && lower >= 0 && shape >= 0);

    /* fuse_loss rewrites the forward graph autodiff differentiates */
    CompilePass *t = swapped(loss, ad);
    ck_assert_int_eq(compile_check_passes(t, compile_npasses, why, sizeof why), -1);
    ck_assert_str_eq(why, "autodiff must run after fuse_loss, which comes later");

    t = swapped(algo, pool);
    ck_assert_int_eq(compile_check_passes(t, compile_npasses, why, sizeof why), -1);
    ck_assert_str_eq(why, "fuse_conv_pool must run after conv_algo, which comes later");

    t = swapped(lower, shape); /* both front: only the order is wrong */
    ck_assert_int_eq(compile_check_passes(t, compile_npasses, why, sizeof why), -1);
    ck_assert_str_eq(why, "shape must run after lower, which comes later");

    t = swapped(0, 0);
    t[ad].after = "shape fuse_los";
    ck_assert_int_eq(compile_check_passes(t, compile_npasses, why, sizeof why), -1);
    ck_assert_str_eq(why, "autodiff must run after fuse_los, which is no pass");

    t = swapped(0, 0);
    t[ad].after = "autodiff";
    ck_assert_int_eq(compile_check_passes(t, compile_npasses, why, sizeof why), -1);
    ck_assert_str_eq(why, "autodiff must run after autodiff, itself");

    t = swapped(0, 0);
    t[pool].name = "conv_algo";
    ck_assert_int_eq(compile_check_passes(t, compile_npasses, why, sizeof why), -1);
    ck_assert_str_eq(why, "conv_algo is in the table twice");

    t = swapped(0, 0);
    t[ad].flags |= PASS_FRONT;
    ck_assert_int_eq(compile_check_passes(t, compile_npasses, why, sizeof why), -1);
    ck_assert_str_eq(why, "autodiff runs in compile_front but comes after fuse_loss, which does not");

    /* the untouched copy passes */
    t = swapped(0, 0);
    ck_assert_int_eq(compile_check_passes(t, compile_npasses, why, sizeof why), 0);
}
END_TEST

/* The lists --help and the errors print: every optional pass, comma
 * separated, wrapped within the width. */
START_TEST(test_print_passes)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    ck_assert_ptr_nonnull(f);
    compile_print_passes(f, PASS_OPTIONAL, 0, 0, 0, 1 << 30);
    fclose(f);
    ck_assert_str_eq(s, "fold_batchnorm, fuse_loss, fuse_epilogue, fuse_act_grad, fuse_elementwise, conv_algo, "
                        "fuse_conv_pool");
    free(s);

    f = open_memstream(&s, &len);
    compile_print_passes(f, 0, PASS_NO_IR, 10, 4, 30);
    fclose(f);
    /* the first line has 10 columns taken already */
    ck_assert_str_eq(s, "lower, shape,\n"
                        "    lower_1d, fold_batchnorm,\n"
                        "    fuse_loss, autodiff,\n"
                        "    fuse_epilogue,\n"
                        "    fuse_act_grad,\n"
                        "    fuse_elementwise,\n"
                        "    conv_algo, fuse_conv_pool");
    free(s);
}
END_TEST

/* --dump-after P prints the IR after P only when P runs: not at -O0 for
 * an optional pass, not when disabled, not training passes under
 * --inference (autodiff then says why). */
START_TEST(test_dump_after_runs)
{
    for (int i = 0; i < compile_npasses; i++) {
        const CompilePass *p = &compile_passes[i];
        if (p->flags & PASS_NO_IR)
            continue;
        char head[128];
        snprintf(head, sizeof head, "IR after %s\n", p->name);
        Built b;
        BackOptions o = opts();
        o.dump_after = p->name;
        build(&b, zoo, o);
        ck_assert_msg(strstr(b.dump, head) != NULL, "no dump after %s:\n%s", p->name, b.dump);
        unbuild(&b);
        if (p->flags & PASS_OPTIONAL) {
            o.disabled = off(p->name);
            build(&b, zoo, o);
            ck_assert_str_eq(b.dump, "");
            unbuild(&b);
            o.disabled = 0;
            o.opt_level = 0;
            build(&b, zoo, o);
            ck_assert_str_eq(b.dump, "");
            unbuild(&b);
        }
    }
    Built b;
    BackOptions o = opts();
    o.inference = 1;
    o.dump_after = "autodiff";
    build(&b, zoo, o);
    ck_assert_msg(strstr(b.dump, "IR after autodiff (inference: nothing to differentiate)\n") != NULL, "%s", b.dump);
    ck_assert_int_eq(count_op(b.c.ir, OP_GRAD, 0), 0);
    unbuild(&b);
    o.dump_after = "fuse_act_grad";
    build(&b, zoo, o);
    ck_assert_str_eq(b.dump, "");
    ck_assert_str_eq(b.c.last_pass, "fuse_conv_pool");
    unbuild(&b);
    /* -O0: the last pass that changed the IR is autodiff */
    o = opts();
    o.opt_level = 0;
    build(&b, zoo, o);
    ck_assert_str_eq(b.c.last_pass, "autodiff");
    ck_assert_ptr_nonnull(b.c.plan);
    unbuild(&b);
}
END_TEST

/* The text of the repository file rel ($NNC_ROOT, or the working
 * directory), malloc'ed; fails the test when it cannot be read. */
static char *read_repo(const char *rel)
{
    const char *root = getenv("NNC_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root && *root ? root : ".", rel);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot read %s (run from the repository root, or set NNC_ROOT)", path);
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(m);
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, got, m);
    fclose(f);
    fclose(m);
    return text;
}

/* "(`a`, `b`, `c`)": the passes with the flags in with and none in
 * without, as docs/language.md lists them (malloc'ed). */
static char *doc_list(unsigned with, unsigned without)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    ck_assert_ptr_nonnull(f);
    const char *sep = "(";
    for (int i = 0; i < compile_npasses; i++) {
        unsigned fl = compile_passes[i].flags;
        if ((fl & with) != with || (fl & without))
            continue;
        fprintf(f, "%s`%s`", sep, compile_passes[i].name);
        sep = ", ";
    }
    fputc(')', f);
    fclose(f);
    return s;
}

/* docs/language.md's --disable and --dump-after rows name the passes the
 * table has, in its order. */
START_TEST(test_docs_list_the_passes)
{
    char *doc = read_repo("docs/language.md");
    char *opt = doc_list(PASS_OPTIONAL, 0), *dump = doc_list(0, PASS_NO_IR);
    const char *row = strstr(doc, "| `--disable PASS` |");
    ck_assert_ptr_nonnull(row);
    const char *end = strchr(row, '\n');
    const char *at = strstr(row, opt);
    ck_assert_msg(at && at < end, "docs/language.md's --disable row does not list %s", opt);
    row = strstr(doc, "| `--dump-after PASS` |");
    ck_assert_ptr_nonnull(row);
    end = strchr(row, '\n');
    at = strstr(row, dump);
    ck_assert_msg(at && at < end, "docs/language.md's --dump-after row does not list %s", dump);
    free(opt);
    free(dump);
    free(doc);
}
END_TEST

/* ---- autodiff ------------------------------------------------------------------ */

START_TEST(test_autodiff_mlp_wiring)
{
    Built b;
    BackOptions o = opts();
    o.opt_level = 0;
    build(&b, mlp, o);
    const Ir *ir = b.c.ir;
    int x = node(ir, "x"), y = node(ir, "y"), h0 = node(ir, "h.0"), h = node(ir, "h"), out = node(ir, "out");
    int w1 = param(ir, "h.0.weight"), w2 = param(ir, "out.0.weight");
    int l = ir->loss;
    ck_assert(x >= 0 && y >= 0 && h0 >= 0 && h >= 0 && out >= 0 && w1 >= 0 && w2 >= 0 && l >= 0);
    ck_assert_int_eq(ir->nodes[h].op, OP_RELU);

    /* dlogits = softmax(out) - onehot(y), from the logits and the labels */
    int dout = grad(ir, l, 0);
    reads(ir, dout, out, y);
    ck_assert_int_eq(grad(ir, l, 1), -1); /* labels get no gradient */
    /* dense: dx = dy W, dW = dy^T x, db = sum dy */
    int dh = grad(ir, out, 0);
    reads(ir, dh, dout, w2);
    reads(ir, grad(ir, out, 1), dout, h);
    reads(ir, grad(ir, out, 2), dout, -1);
    /* relu's backward reads its output, not its input */
    int dh0 = grad(ir, h, 0);
    reads(ir, dh0, dh, h);
    /* the input needs no gradient, the first layer's parameters do */
    ck_assert_int_eq(grad(ir, h0, 0), -1);
    reads(ir, grad(ir, h0, 1), dh0, x);
    reads(ir, grad(ir, h0, 2), dh0, -1);
    /* loss, out's three, relu, h.0's two; no accumulation; one update
     * per parameter */
    ck_assert_int_eq(count_op(ir, OP_GRAD, 0), 7);
    ck_assert_int_eq(count_op(ir, OP_ADD, 0), 0);
    ck_assert_int_eq(count_op(ir, OP_UPDATE, 0), 4);
    for (int i = ir->nforward; i < ir->n; i++)
        if (ir->nodes[i].op == OP_UPDATE) {
            const IrNode *u = &ir->nodes[i];
            ck_assert_int_eq(u->nin, 2);
            ck_assert_int_eq(ir->nodes[u->in[0]].op, OP_PARAM);
            ck_assert_int_eq(grad(ir, ir->nodes[u->in[0]].layer, ir->nodes[u->in[0]].role == PR_WEIGHT ? 1 : 2),
                             u->in[1]);
        }
    unbuild(&b);
}
END_TEST

/* A value read twice gets its gradient summed; sigmoid and tanh's
 * backwards read their outputs, mul's read the other factor. */
START_TEST(test_autodiff_accumulates)
{
    Built b;
    BackOptions o = opts();
    o.opt_level = 0;
    build(&b, ew, o);
    const Ir *ir = b.c.ir;
    int h = node(ir, "h"), g = node(ir, "g");
    ck_assert(h >= 0 && g >= 0);
    ck_assert_int_eq(ir->nodes[g].op, OP_ADD);
    int mul = ir->nodes[g].in[0], sig = ir->nodes[mul].in[1];
    ck_assert_int_eq(ir->nodes[mul].op, OP_MUL);
    ck_assert_int_eq(ir->nodes[sig].op, OP_SIGMOID);
    int dg = grad(ir, node(ir, "out"), 0);
    /* add passes dy through to both operands: no node of its own */
    ck_assert_int_eq(grad(ir, g, 0), -1);
    ck_assert_int_eq(grad(ir, g, 1), -1);
    /* d(a*b)/da = dy b, d(a*b)/db = dy a */
    reads(ir, grad(ir, mul, 0), dg, sig);
    reads(ir, grad(ir, mul, 1), dg, h);
    reads(ir, grad(ir, sig, 0), grad(ir, mul, 1), sig);
    /* h's two contributions (through mul, and add's dy itself) meet in
     * one OP_ADD in the backward graph, which tanh's backward reads with
     * tanh's output */
    int dtanh = grad(ir, h, 0);
    ck_assert_int_ge(dtanh, 0);
    int acc = ir->nodes[dtanh].in[0];
    ck_assert_int_eq(ir->nodes[acc].op, OP_ADD);
    ck_assert_int_ge(acc, ir->nforward);
    ck_assert_int_eq(ir->nodes[dtanh].in[1], h);
    reads(ir, acc, dg, grad(ir, mul, 0));
    ck_assert_int_eq(count_op(ir, OP_ADD, ir->nforward), 1);
    unbuild(&b);
}
END_TEST

/* Node id reads exactly the nin nodes of in[], in order. */
static void reads_all(const Ir *ir, int id, int nin, const int *in)
{
    ck_assert_int_ge(id, 0);
    const IrNode *n = &ir->nodes[id];
    ck_assert_msg(n->nin == nin, "%%%d reads %d nodes, not %d", id, n->nin, nin);
    for (int k = 0; k < nin; k++)
        ck_assert_msg(n->in[k] == in[k], "%%%d's input %d is %%%d, not %%%d", id, k, n->in[k], in[k]);
}

/* Every family's wiring on the zoo model (-O0, so that nothing is fused
 * away): conv2d's dW from x and no dx for the model's input; batchnorm
 * and layernorm from x, their output (which keeps the statistics) and the
 * weight; relu, tanh, dropout (its mask) and maxpool (its argmax) from
 * their output, never their input; flatten from dy alone; the residual
 * add with no node of its own, its dy reaching both operands, so f's
 * gradient (read by t's dense and by the add) is one sum; cross_entropy
 * from the logits and the labels; adam's update from the parameter, its
 * gradient and two states. */
START_TEST(test_autodiff_families)
{
    Built b;
    BackOptions o = opts();
    o.opt_level = 0;
    build(&b, zoo, o);
    const Ir *ir = b.c.ir;
    int x = node(ir, "x"), y = node(ir, "y"), conv = node(ir, "c.0"), bn = node(ir, "c.1"), relu = node(ir, "c.2");
    int pool = node(ir, "c"), flat = node(ir, "f.0"), d1 = node(ir, "f.1"), drop = node(ir, "f");
    int d2 = node(ir, "t.0"), tanh_ = node(ir, "t"), ln = node(ir, "r"), out = node(ir, "out"), loss = ir->loss;
    ck_assert(x >= 0 && y >= 0 && conv >= 0 && bn >= 0 && relu >= 0 && pool >= 0 && flat >= 0 && d1 >= 0);
    ck_assert(drop >= 0 && d2 >= 0 && tanh_ >= 0 && ln >= 0 && out >= 0 && loss >= 0);
    ck_assert_int_eq(ir->nodes[pool].op, OP_MAXPOOL);
    ck_assert_int_eq(ir->nodes[drop].op, OP_DROPOUT);
    int add = ir->nodes[ln].in[0];
    ck_assert_int_eq(ir->nodes[add].op, OP_ADD);
    ck_assert(ir->nodes[add].in[0] == drop && ir->nodes[add].in[1] == tanh_);

    /* the loss: from the logits and the labels, no dy */
    int dout = grad(ir, loss, 0);
    reads(ir, dout, out, y);
    /* layernorm: dx from dy, x, y (mean and 1/std after it) and the weight */
    int dr = grad(ir, out, 0);
    reads(ir, dr, dout, param(ir, "out.0.weight"));
    int dln = grad(ir, ln, 0);
    reads_all(ir, dln, 4, (int[]){dr, add, ln, param(ir, "r.0.weight")});
    reads_all(ir, grad(ir, ln, 1), 3, (int[]){dr, add, ln});
    reads(ir, grad(ir, ln, 2), dr, -1);
    /* the residual add: no gradient node; tanh from its output */
    ck_assert_int_eq(grad(ir, add, 0), -1);
    ck_assert_int_eq(grad(ir, add, 1), -1);
    int dtanh = grad(ir, tanh_, 0);
    reads(ir, dtanh, dln, tanh_);
    int dd2 = grad(ir, d2, 0);
    reads(ir, dd2, dtanh, param(ir, "t.0.weight"));
    reads(ir, grad(ir, d2, 1), dtanh, drop);
    /* f feeds the add and t's dense: its gradient is their sum, one OP_ADD
     * of the add's dy (layernorm's dx) and the dense's dx */
    int ddrop = grad(ir, drop, 0);
    int sum = ir->nodes[ddrop].in[0];
    ck_assert_int_eq(ir->nodes[sum].op, OP_ADD);
    ck_assert_int_ge(sum, ir->nforward);
    reads(ir, sum, dln, dd2);
    ck_assert_int_eq(count_op(ir, OP_ADD, ir->nforward), 1);
    /* dropout from its output (the mask kept after it), relu too */
    reads(ir, ddrop, sum, drop);
    int relu1 = node(ir, "f.2");
    ck_assert_int_eq(ir->nodes[relu1].op, OP_RELU);
    int drelu1 = grad(ir, relu1, 0);
    reads(ir, drelu1, ddrop, relu1);
    int dflat = grad(ir, d1, 0);
    reads(ir, dflat, drelu1, param(ir, "f.1.weight"));
    reads(ir, grad(ir, d1, 1), drelu1, flat);
    /* flatten: dy alone; maxpool: from its output, whose argmax it kept,
     * not from the relu it pooled */
    int dpooled = grad(ir, flat, 0);
    reads(ir, dpooled, dflat, -1);
    int dpool = grad(ir, pool, 0);
    reads(ir, dpool, dpooled, pool);
    ck_assert_ptr_nonnull(mem_region(b.c.plan, pool, "argmax"));
    int drelu = grad(ir, relu, 0);
    reads(ir, drelu, dpool, relu);
    /* batchnorm: like layernorm, from x, y and the weight */
    int dbn = grad(ir, bn, 0);
    reads_all(ir, dbn, 4, (int[]){drelu, conv, bn, param(ir, "c.1.weight")});
    reads_all(ir, grad(ir, bn, 1), 3, (int[]){drelu, conv, bn});
    reads(ir, grad(ir, bn, 2), drelu, -1);
    /* conv2d: dW from dy and x, db from dy, no dx for the input */
    ck_assert_int_eq(grad(ir, conv, 0), -1);
    reads(ir, grad(ir, conv, 1), dbn, x);
    reads(ir, grad(ir, conv, 2), dbn, -1);
    /* adam: each trainable parameter's update reads it, its gradient and
     * its two states; batchnorm's buffers get none */
    int updates = 0;
    for (int i = ir->nforward; i < ir->n; i++)
        if (ir->nodes[i].op == OP_UPDATE) {
            const IrNode *u = &ir->nodes[i];
            const IrNode *pn = &ir->nodes[u->in[0]];
            ck_assert_int_eq(u->nin, 4);
            ck_assert_int_eq(pn->op, OP_PARAM);
            ck_assert_int_eq(ir->nodes[u->in[1]].op, OP_GRAD);
            ck_assert_int_eq(ir->nodes[u->in[1]].fwd, pn->layer);
            ck_assert(ir->nodes[u->in[2]].op == OP_STATE && ir->nodes[u->in[3]].op == OP_STATE);
            updates++;
        }
    ck_assert_int_eq(updates, 12); /* weight and bias of conv2d, batchnorm, layernorm, three dense */
    unbuild(&b);
}
END_TEST

/* The pooling, structure and prelu families: avgpool from dy alone,
 * lppool from x and y, concat's inputs each a slice of one dy, prelu's dx
 * from x and the slopes and its dweight from x, softmax from its output,
 * mse from the prediction and the target; a's two readers (the pools)
 * give one summed gradient. */
static const char pools[] = "model pools {\n"
                            "    input  x : f32[2, 8, 8]\n"
                            "    target y : f32[4]\n"
                            "    a = x -> conv2d(4, kernel = 3, padding = 1) -> prelu\n"
                            "    b = a -> avgpool(2)\n"
                            "    c = a -> lppool(2, kernel = 2)\n"
                            "    m = concat(b, c) -> flatten -> dense(4) -> softmax\n"
                            "    loss      mse(m, y)\n"
                            "    optimizer sgd(lr = 0.1)\n"
                            "}\n";

START_TEST(test_autodiff_pools_concat)
{
    Built b;
    BackOptions o = opts();
    o.opt_level = 0;
    build(&b, pools, o);
    const Ir *ir = b.c.ir;
    int x = node(ir, "x"), y = node(ir, "y"), conv = node(ir, "a.0"), pr = node(ir, "a"), avg = node(ir, "b");
    int lp = node(ir, "c"), flat = node(ir, "m.0"), dense = node(ir, "m.1"), sm = node(ir, "m"), loss = ir->loss;
    ck_assert(x >= 0 && y >= 0 && conv >= 0 && pr >= 0 && avg >= 0 && lp >= 0 && flat >= 0 && dense >= 0 && sm >= 0);
    int cat = ir->nodes[flat].in[0];
    ck_assert_int_eq(ir->nodes[cat].op, OP_CONCAT);
    int dm = grad(ir, loss, 0);
    reads(ir, dm, sm, y);
    int dsm = grad(ir, sm, 0);
    reads(ir, dsm, dm, sm);
    int dflat = grad(ir, dense, 0);
    reads(ir, dflat, dsm, param(ir, "m.1.weight"));
    int dcat = grad(ir, flat, 0);
    reads(ir, dcat, dflat, -1);
    reads(ir, grad(ir, cat, 0), dcat, -1);
    reads(ir, grad(ir, cat, 1), dcat, -1);
    int davg = grad(ir, avg, 0), dlp = grad(ir, lp, 0);
    reads(ir, davg, grad(ir, cat, 0), -1);
    reads_all(ir, dlp, 3, (int[]){grad(ir, cat, 1), pr, lp});
    int dpr = grad(ir, pr, 0);
    int sum = ir->nodes[dpr].in[0];
    ck_assert_int_eq(ir->nodes[sum].op, OP_ADD);
    ck_assert(ir->nodes[sum].nin == 2 && ((ir->nodes[sum].in[0] == dlp && ir->nodes[sum].in[1] == davg) ||
                                          (ir->nodes[sum].in[0] == davg && ir->nodes[sum].in[1] == dlp)));
    reads_all(ir, dpr, 3, (int[]){sum, conv, param(ir, "a.1.weight")});
    reads(ir, grad(ir, pr, 1), sum, conv);
    ck_assert_int_eq(grad(ir, conv, 0), -1);
    reads(ir, grad(ir, conv, 1), dpr, x);
    unbuild(&b);
}
END_TEST

/* ---- the optional passes' kernel lists ----------------------------------------- */

/* The kernels of src at -O2, and with pass turned off alone. */
static void check_kernels(const char *src, const char *pass, const char *on, const char *without)
{
    BackOptions o = opts();
    char *k = kernels(src, o);
    ck_assert_str_eq(k, on);
    free(k);
    o.disabled = off(pass);
    k = kernels(src, o);
    ck_assert_str_eq(k, without);
    free(k);
}

START_TEST(test_fuse_loss_kernels)
{
    check_kernels(nll, "fuse_loss",
                  "k004_dense_relu k008_dense k009_log_softmax k010_cross_entropy k011_cross_entropy_dx "
                  "k012_dense_relu_dx k013_dense_dw k014_dense_db k016_dense_dw k017_dense_db k018_sgd k019_sgd "
                  "k020_sgd k021_sgd",
                  "k004_dense_relu k008_dense k009_log_softmax k010_nll k011_nll_dx k012_log_softmax_dx "
                  "k013_dense_relu_dx k014_dense_dw k015_dense_db k017_dense_dw k018_dense_db k019_sgd k020_sgd "
                  "k021_sgd k022_sgd");
}
END_TEST

START_TEST(test_fuse_epilogue_kernels)
{
    check_kernels(mlp, "fuse_epilogue",
                  "k004_dense_relu k008_dense k009_cross_entropy k010_cross_entropy_dx k011_dense_relu_dx "
                  "k012_dense_dw k013_dense_db k015_dense_dw k016_dense_db k017_sgd k018_sgd k019_sgd k020_sgd",
                  "k004_dense k005_relu k008_dense k009_cross_entropy k010_cross_entropy_dx k011_dense_relu_dx "
                  "k012_dense_dw k013_dense_db k015_dense_dw k016_dense_db k017_sgd k018_sgd k019_sgd k020_sgd");
}
END_TEST

START_TEST(test_fuse_act_grad_kernels)
{
    check_kernels(mlp, "fuse_act_grad",
                  "k004_dense_relu k008_dense k009_cross_entropy k010_cross_entropy_dx k011_dense_relu_dx "
                  "k012_dense_dw k013_dense_db k015_dense_dw k016_dense_db k017_sgd k018_sgd k019_sgd k020_sgd",
                  "k004_dense_relu k008_dense k009_cross_entropy k010_cross_entropy_dx k011_dense_dx "
                  "k012_dense_dw k013_dense_db k014_relu_dx k015_dense_dw k016_dense_db k017_sgd k018_sgd "
                  "k019_sgd k020_sgd");
}
END_TEST

START_TEST(test_fuse_elementwise_kernels)
{
    check_kernels(ew, "fuse_elementwise",
                  "k004_dense_tanh k008_dense_sigmoid k011_fused_mul_add k014_dense k015_cross_entropy "
                  "k016_cross_entropy_dx k017_dense_dx k018_dense_dw k019_dense_db k023_fused_mul_db_sigmoid_dx "
                  "k024_dense_dw k025_dense_db k026_fused_mul_da_accumulate_tanh_dx k027_dense_dw k028_dense_db "
                  "k029_sgd k030_sgd k031_sgd k032_sgd k033_sgd k034_sgd",
                  "k004_dense_tanh k008_dense_sigmoid k010_mul k011_add k014_dense k015_cross_entropy "
                  "k016_cross_entropy_dx k017_dense_dx k018_dense_dw k019_dense_db k020_mul_da k021_accumulate "
                  "k022_mul_db k023_sigmoid_dx k024_dense_dw k025_dense_db k026_tanh_dx k027_dense_dw "
                  "k028_dense_db k029_sgd k030_sgd k031_sgd k032_sgd k033_sgd k034_sgd");
}
END_TEST

/* A value another node reads too must stay whole: log_softmax read by
 * nll and by the output (fuse_loss would make nll cross_entropy of the
 * logits), a dense's output read by its relu and by an add (fuse_epilogue
 * would apply the relu inside the dense; fuse_act_grad would fold relu's
 * backward into the dense's).  Each pass on gives the kernels of the pass
 * off. */
static const char nll_shared[] = "model nll_shared {\n"
                                 "    input  x : f32[10]\n"
                                 "    target y : class[5]\n"
                                 "    logp = x -> dense(16) -> relu -> dense(5) -> log_softmax\n"
                                 "    output p = logp -> relu\n"
                                 "    loss      nll(logp, y)\n"
                                 "    optimizer sgd(lr = 0.5)\n"
                                 "}\n";
static const char epi_shared[] = "model epi_shared {\n"
                                 "    input  x : f32[4]\n"
                                 "    target y : class[3]\n"
                                 "    h0  = x -> dense(8)\n"
                                 "    h   = h0 -> relu\n"
                                 "    out = (h0 + h) -> dense(3)\n"
                                 "    loss      cross_entropy(out, y)\n"
                                 "    optimizer sgd(lr = 0.1)\n"
                                 "}\n";

static void check_left_alone(const char *src, const char *pass, const char *expect)
{
    BackOptions o = opts();
    char *on = kernels(src, o);
    o.disabled = off(pass);
    char *without = kernels(src, o);
    ck_assert_msg(strcmp(on, without) == 0, "%s fused a shared value:\n  on:  %s\n  off: %s", pass, on, without);
    ck_assert_str_eq(on, expect);
    free(on);
    free(without);
}

START_TEST(test_fusion_leaves_shared_values)
{
    check_left_alone(nll_shared, "fuse_loss",
                     "k004_dense_relu k008_dense k009_log_softmax k010_relu k011_nll k012_nll_dx k013_log_softmax_dx "
                     "k014_dense_relu_dx k015_dense_dw k016_dense_db k018_dense_dw k019_dense_db k020_sgd k021_sgd "
                     "k022_sgd k023_sgd");
    static const char epi[] = "k004_dense k005_relu k006_add k009_dense k010_cross_entropy k011_cross_entropy_dx "
                              "k012_dense_dx k013_dense_dw k014_dense_db k016_fused_relu_dx_accumulate k017_dense_dw "
                              "k018_dense_db k019_sgd k020_sgd k021_sgd k022_sgd";
    check_left_alone(epi_shared, "fuse_epilogue", epi);
    check_left_alone(epi_shared, "fuse_act_grad", epi);
}
END_TEST

/* Arguments of op as sema resolves a call that writes none: ops.def's
 * defaults, and 1 for a required number (threshold's). */
static Value *default_args(Arena *a, Op op)
{
    const OpInfo *oi = &op_info[op];
    Value *v = arena_alloc(a, sizeof *v * (size_t)(oi->nargs + 1));
    memset(v, 0, sizeof *v * (size_t)(oi->nargs + 1));
    for (int i = 0; i < oi->nargs; i++) {
        const char *d = oi->args[i].dflt;
        if (oi->args[i].type == AT_ENUM) {
            v[i].kind = V_IDENT;
            v[i].ident = d;
        } else if (d && (strcmp(d, "true") == 0 || strcmp(d, "false") == 0)) {
            v[i].kind = V_BOOL;
            v[i].num = d[0] == 't';
        } else {
            v[i].kind = V_NUM;
            v[i].num = d && d[0] != '=' ? strtod(d, NULL) : 1.0;
        }
    }
    return v;
}

/* fuse_elementwise fuses the nodes of op_elementwise()'s ops (ops.c) and
 * kern_elementwise_stmt (kernels.c) writes them from kernels_act.c's
 * pointwise() rows: the table and the rows must name the same ops, else
 * a fusable op has no formula or a formula goes unfused. */
START_TEST(test_elementwise_table_matches_kernels)
{
    Arena a = {0};
    Span sp = {0};
    const char *in[] = {"x[i]", "y[i]"};
    for (int op = 0; op < OP_COUNT; op++) {
        Ir *ir = ir_new(&a, "t");
        int x = ir_add(ir, OP_INPUT, NULL, 0, NULL, sp);
        int xs[2] = {x, x};
        int y = ir_add(ir, (Op)op, xs, 1, default_args(&a, (Op)op), sp);
        int dy = ir_add(ir, OP_INPUT, NULL, 0, NULL, sp);
        int gin[2] = {dy, x};
        int g = ir_add(ir, OP_GRAD, gin, 2, NULL, sp);
        ir->nodes[g].fwd = y;
        int own = op == OP_RELU || op == OP_SIGMOID || op == OP_TANH || op == OP_MUL; /* kernels.c's cases */
        int row = kern_act_stmt(ir, y, in, "y[i]") != NULL;
        ck_assert_msg(row == (op_elementwise((Op)op) && !own), "%s: a pointwise() row %s, op_elementwise() %d",
                      op_info[op].name, row ? "exists" : "is missing", op_elementwise((Op)op));
        ck_assert_int_eq(row, kern_act_stmt(ir, g, in, "dx[i]") != NULL);
        ck_assert_int_eq(ir_elementwise(ir, y), op_elementwise((Op)op) || op == OP_ADD);
        ck_assert_int_eq(ir_elementwise(ir, g), op_elementwise((Op)op)); /* add's gradient is dy, no kernel */
        if (op_elementwise((Op)op)) {
            int scoped;
            ck_assert_ptr_nonnull(kern_elementwise_stmt(ir, y, in, "y[i]", &scoped));
            ck_assert_ptr_nonnull(kern_elementwise_stmt(ir, g, in, "dx[i]", &scoped));
        }
    }
    arena_free(&a);
}
END_TEST

/* Every row of ops.def has its implementation record (ops_impl.c links
 * only then) and its kernel record (kernels_ops.c), in their places, and each record agrees with its language row
 * and with itself: a layer owns parameters and nothing else does, a 1-D
 * op lowers to a 2-D op of its kind whose arguments it has, every
 * optimizer names its states, every initialiser but zeros its fill, a
 * fused activation has both formulas and is differentiated from y. */
START_TEST(test_every_op_has_a_record)
{
    for (int op = 0; op < OP_COUNT; op++) {
        const OpImpl *r = op_impl[op];
        const OpInfo *oi = &op_info[op];
        ck_assert_msg(r != NULL, "%s has no record", oi->name);
        ck_assert_msg(r->op == (Op)op, "%s: op_impl[] holds the record of %s", oi->name, op_info[r->op].name);
        ck_assert_msg((r->nparams > 0) == (oi->kind == K_LAYER), "%s: %d parameters", oi->name, r->nparams);
        ck_assert_msg(r->nparams <= 5 && (!r->bias_arg || op_arg_index((Op)op, "bias") >= 0), "%s", oi->name);
        for (int k = 0; k < r->nparams; k++)
            ck_assert_msg(r->params[k] != PR_BIAS || r->nparams == 1 || k > 0, "%s: bias first", oi->name);
        if (r->is_1d) {
            const OpInfo *o2 = &op_info[r->as_2d];
            ck_assert_msg(r->as_2d != (Op)op && !op_impl[r->as_2d]->is_1d && o2->kind == oi->kind, "%s", oi->name);
            for (int k = 0; k < o2->nargs; k++)
                ck_assert_msg(op_arg_index((Op)op, o2->args[k].name) >= 0, "%s lacks %s's argument %s", oi->name,
                              o2->name, o2->args[k].name);
        }
        ck_assert_msg((r->states != NULL) == (oi->kind == K_OPTIM), "%s: states", oi->name);
        ck_assert_msg(!r->fill || oi->kind == K_INIT, "%s: a fill", oi->name);
        ck_assert_msg((r->fill != NULL) == (r->scale != NULL) && (r->fill != NULL) == (r->fill_what != NULL), "%s",
                      oi->name);
        ck_assert_msg(oi->kind != K_INIT || r->fill || op == OP_INIT_ZEROS, "%s: no fill", oi->name);
        ck_assert_msg(!r->check || oi->nargs > 0, "%s: a check of no arguments", oi->name);
        ck_assert_msg((r->epilogue != NULL) == (r->act_grad != NULL), "%s: one formula of two", oi->name);
        ck_assert_msg(!r->epilogue || (r->elementwise && r->wiring == W_Y), "%s: fused but not from y", oi->name);
        ck_assert_msg(!r->elementwise || (oi->kind == K_FUNC && r->wiring != W_NONE), "%s", oi->name);
        ck_assert_msg(!r->gemm || r->wiring == W_LINEAR, "%s: a GEMM layer wired otherwise", oi->name);
        ck_assert_msg(r->act_grad_fold != AGF_WITH_Y || r->gemm, "%s", oi->name);
        ck_assert_msg((r->wiring == W_LOSS) == (oi->kind == K_LOSS), "%s: loss wiring", oi->name);
        ck_assert_msg(r->mem < OM_COUNT && (r->mem == OM_NONE || oi->kind == K_LAYER || oi->kind == K_FUNC), "%s",
                      oi->name);
        ck_assert_msg(r->view == OV_NO || (oi->kind == K_FUNC && r->wiring == (r->view == OV_ALWAYS ? W_DY : W_Y)),
                      "%s: a view", oi->name);

        /* its kernel record (kernels.h): the back end compiles every
         * layer, function and loss but the 1-D ones (lowered first); an
         * op without a kernel of its own is element-wise, a view or no
         * computation; the pointwise formulas are those of the
         * element-wise ops that have no formula in kern_elementwise_stmt */
        const KernOp *k = kern_ops[op];
        ck_assert_msg(k != NULL && k->op == (Op)op, "%s: kern_ops[] holds another row", oi->name);
        ck_assert_msg(k->supported == ((oi->kind == K_LAYER || oi->kind == K_FUNC || oi->kind == K_LOSS) ? !r->is_1d
                                       : oi->kind == K_IR && op != OP_GRAD),
                      "%s: supported %d", oi->name, k->supported);
        ck_assert_msg(!k->define || k->supported, "%s", oi->name);
        ck_assert_msg(k->define || !k->supported || r->elementwise || op == OP_ADD || r->view == OV_ALWAYS ||
                          oi->kind == K_IR,
                      "%s: supported without a kernel", oi->name);
        ck_assert_msg(!(k->define && r->elementwise), "%s: element-wise with a kernel of its own", oi->name);
        ck_assert_msg((k->pointwise != NULL) == (r->elementwise && !r->epilogue && r->wiring != W_MUL),
                      "%s: pointwise formula", oi->name);
        ck_assert_msg((k->update != NULL) == (oi->kind == K_OPTIM), "%s: update rule", oi->name);
        ck_assert_msg(!k->loss_elem || oi->kind == K_LOSS, "%s: a loss body", oi->name);
    }
}
END_TEST

static const char convpool_fused[] = "k006_fused_conv2d_relu_maxpool k008_mse k009_mse_dx k011_maxpool_relu_dx "
                                     "k013_conv2d_dw k014_conv2d_db k015_sgd k016_sgd";
static const char convpool_apart[] = "k004_conv2d_relu k006_maxpool k008_mse k009_mse_dx k011_maxpool_relu_dx "
                                     "k013_conv2d_dw k014_conv2d_db k015_sgd k016_sgd";

START_TEST(test_fuse_conv_pool_kernels)
{
    check_kernels(convpool, "fuse_conv_pool", convpool_fused, convpool_apart);
}
END_TEST

/* conv_algo marks the convolution direct (and fuse_conv_pool, which
 * needs a direct forward, then fuses it); without it, im2col + GEMM and
 * nothing to fuse. */
START_TEST(test_conv_algo)
{
    check_kernels(convpool, "conv_algo", convpool_fused, convpool_apart);
    for (int v = 0; v < 2; v++) {
        Built b;
        BackOptions o = opts();
        o.disabled = v ? off("conv_algo") : 0;
        build(&b, convpool, o);
        int conv = -1;
        for (int i = 0; i < b.c.ir->n; i++)
            if (b.c.ir->nodes[i].op == OP_CONV2D)
                conv = i;
        ck_assert_int_ge(conv, 0);
        int algo = b.c.ir->nodes[conv].conv_algo;
        if (v)
            ck_assert_int_eq(algo, 0);
        else
            ck_assert_msg(algo != 0, "conv_algo chose im2col for a 3x3 stride-1 convolution");
        unbuild(&b);
    }
}
END_TEST

/* ---- memplan ------------------------------------------------------------------- */

/* What node n keeps after its value for its backward, in bytes, written
 * here independently of memplan.c (the issue 12 experiment: memplan
 * forgetting maxpool's argmax ran clean and ruined training); every
 * element float32 or int32. */
static int64_t kept(const Ir *ir, const IrNode *n, int batch)
{
    int64_t numel = n->shape.rank ? shape_numel(&n->shape) : 1;
    switch (n->op) {
    case OP_BATCHNORM: /* batch mean and 1/std per channel (inference: running ones) */
        return ir->inference ? 0 : 4 * 2 * n->shape.d[0];
    case OP_LAYERNORM: /* mean and 1/std per row of the last axis */
        return 4 * 2 * batch * (numel / n->shape.d[n->shape.rank - 1]);
    case OP_DROPOUT: /* the mask */
    case OP_RRELU:   /* the slopes */
        return ir->inference ? 0 : 4 * batch * numel;
    case OP_MAXPOOL: /* where each maximum came from, for the backward */
        return ir->inference ? 0 : 4 * batch * numel;
    default:
        return 0;
    }
}

/* Format a fault into buf; returns buf. */
static const char *fault(char *buf, size_t size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static const char *fault(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return buf;
}

/* What is wrong with the regions node i's kernel declared (kmem_regions())
 * as plan p placed them, or NULL: one not placed, or placed with another
 * size, kind or type; a saved one outside the node's buffer past its
 * value; a scratch one (every thread's copy) outside the node's scratch
 * block; two of them overlapping. */
static const char *regions_fault(const Ir *ir, const MemPlan *p, int i, char *buf, size_t size)
{
    KmRegion d[KM_MAX];
    int nd = kmem_regions(ir, i, p->max_batch, d), threads = ir->threads > 1 ? ir->threads : 1;
    if (nd != p->region_count[i])
        return fault(buf, size, "%%%d declares %d regions, the plan placed %d", i, nd, p->region_count[i]);
    const IrNode *n = &ir->nodes[i];
    int64_t value = (n->shape.rank ? shape_numel(&n->shape) : 1) * (n->dtype == DT_I64 ? 8 : 4) *
                    (n->batched ? p->max_batch : 1);
    int64_t lo[KM_MAX * 4], hi[KM_MAX * 4];
    int nspan = 0;
    for (int k = 0; k < nd; k++) {
        const MemRegion *r = mem_region(p, i, d[k].name);
        if (!r)
            return fault(buf, size, "%%%d's region %s is not placed", i, d[k].name);
        if (r->decl.bytes != d[k].bytes || r->decl.kind != d[k].kind || r->decl.type != d[k].type)
            return fault(buf, size, "%%%d's region %s placed as another (%lld bytes, declared %lld)", i, d[k].name,
                         (long long)r->decl.bytes, (long long)d[k].bytes);
        int copies = d[k].kind == KM_THREAD ? threads : 1;
        /* a run of per-thread regions starts on a 64-byte line of the block */
        if (d[k].kind == KM_THREAD && (k == 0 || d[k - 1].kind != KM_THREAD) &&
            (r->offset - p->scratch[i]) % MEM_ALIGN != 0)
            return fault(buf, size, "%%%d's region %s at %lld: its threads' slab not on a line", i, d[k].name,
                         (long long)r->offset);
        if (d[k].kind == KM_THREAD && copies > 1 && r->stride < r->decl.bytes)
            return fault(buf, size, "%%%d's region %s: threads %lld bytes apart, each takes %lld", i, d[k].name,
                         (long long)r->stride, (long long)r->decl.bytes);
        for (int t = 0; t < copies; t++) {
            int64_t a = r->offset + t * r->stride, z = a + r->decl.bytes;
            int64_t from = d[k].kind == KM_SAVED ? p->offset[i] + value : p->scratch[i];
            int64_t to = d[k].kind == KM_SAVED ? p->offset[i] + p->size[i] : p->scratch[i] + p->scratch_size[i];
            if (r->decl.bytes > 0 && (from < 0 || a < from || z > to))
                return fault(buf, size, "%%%d's region %s [%lld, %lld) outside its %s [%lld, %lld)", i, d[k].name,
                             (long long)a, (long long)z, d[k].kind == KM_SAVED ? "buffer" : "scratch block",
                             (long long)from, (long long)to);
            for (int q = 0; q < nspan; q++)
                if (a < hi[q] && lo[q] < z)
                    return fault(buf, size, "%%%d's region %s overlaps another of its regions", i, d[k].name);
            lo[nspan] = a;
            hi[nspan++] = z;
            if (nspan == KM_MAX * 4)
                nspan = 0; /* (more copies than checked against each other) */
        }
    }
    return NULL;
}

/* What is wrong with plan p of b's IR, or NULL: a region (a buffer or a
 * scratch) outside the arena or smaller than what it holds, parameters
 * outside the persistent part, two regions live at the same step that
 * overlap, a view not at its root's offset, a region a kernel declared
 * not placed (regions_fault()). */
static const char *plan_fault(const Ir *ir, const MemPlan *p, const unsigned char *included, char *buf, size_t size)
{
    struct Region {
        int64_t off, size;
        int start, end;
    } *r = malloc((size_t)(2 * ir->n + 1) * sizeof *r);
    ck_assert_ptr_nonnull(r);
    int nr = 0;
    const char *bad = NULL;
    for (int i = 0; i < ir->n && !bad; i++) {
        const IrNode *n = &ir->nodes[i];
        if (!included[i] || n->poison)
            continue;
        int64_t numel = n->shape.rank ? shape_numel(&n->shape) : 1;
        int64_t need =
            numel * (n->dtype == DT_I64 ? 8 : 4) * (n->batched ? p->max_batch : 1) + kept(ir, n, p->max_batch);
        MemType want = n->dtype == DT_I64 ? MEM_I64 : n->dtype == DT_CLASS ? MEM_I32 : MEM_F32;
        if (p->type[i] != want) {
            bad = fault(buf, size, "%%%d's buffer typed %d, its value is %d", i, (int)p->type[i], (int)want);
            continue;
        }
        if (n->op == OP_PARAM || n->op == OP_STATE) {
            if (p->offset[i] % MEM_ALIGN != 0)
                bad = fault(buf, size, "parameter %%%d at %lld, not on a 64-byte line", i, (long long)p->offset[i]);
            else if (p->offset[i] < 0 || p->offset[i] + need > p->persistent)
                bad = fault(buf, size, "parameter %%%d outside the persistent part", i);
            else
                r[nr++] = (struct Region){p->offset[i], need, 0, ir->n};
            continue;
        }
        if (n->op == OP_INPUT || n->op == OP_TARGET || n->op == OP_UPDATE || n->inlined_into >= 0)
            continue;
        if (p->root[i] != i) {
            if (p->offset[i] != p->offset[p->root[i]])
                bad = fault(buf, size, "view %%%d not at %%%d's offset", i, p->root[i]);
            continue;
        }
        if (p->offset[i] < p->persistent || p->offset[i] + p->size[i] > p->total || p->size[i] < need)
            bad = fault(buf, size, "%%%d: %lld bytes at %lld, needs %lld, arena %lld..%lld", i,
                           (long long)p->size[i], (long long)p->offset[i], (long long)need,
                           (long long)p->persistent, (long long)p->total);
        /* a 64-byte line (MEM_ALIGN), or in inference code its
         * element's size for one smaller than a line (memplan.h) */
        int64_t al = ir->inference && p->size[i] < MEM_ALIGN ? (n->dtype == DT_I64 ? 8 : 4) : MEM_ALIGN;
        if (!bad && p->offset[i] % al != 0)
            bad = fault(buf, size, "%%%d at %lld: not a multiple of %lld bytes", i, (long long)p->offset[i],
                        (long long)al);
        int up = n->op == OP_GRAD && !n->batched; /* lives to the update */
        r[nr++] = (struct Region){p->offset[i], p->size[i], i, up ? ir->n : p->last_use[i]};
        if (p->scratch[i] >= 0) {
            if (p->scratch[i] < p->persistent || p->scratch[i] + p->scratch_size[i] > p->total)
                bad = fault(buf, size, "%%%d's scratch: %lld bytes at %lld, outside the arena", i,
                            (long long)p->scratch_size[i], (long long)p->scratch[i]);
            int64_t sal = ir->inference && p->scratch_size[i] < MEM_ALIGN ? 4 : MEM_ALIGN;
            if (!bad && p->scratch[i] % sal != 0)
                bad = fault(buf, size, "%%%d's scratch at %lld: not a multiple of %lld bytes", i,
                            (long long)p->scratch[i], (long long)sal);
            r[nr++] = (struct Region){p->scratch[i], p->scratch_size[i], i, i};
        }
        if (!bad)
            bad = regions_fault(ir, p, i, buf, size);
    }
    for (int i = 0; i < nr && !bad; i++)
        for (int j = 0; j < i && !bad; j++) {
            int meet = r[i].start <= r[j].end && r[j].start <= r[i].end;
            int overlap = r[i].off < r[j].off + r[j].size && r[j].off < r[i].off + r[i].size;
            if (meet && overlap)
                bad = fault(buf, size, "regions at steps %d and %d overlap ([%lld, +%lld) and [%lld, +%lld))",
                               r[j].start, r[i].start, (long long)r[j].off, (long long)r[j].size,
                               (long long)r[i].off, (long long)r[i].size);
        }
    free(r);
    return bad;
}

/* The nodes compile_back planned under o (its memplan row's rule). */
static unsigned char *planned(const Ir *ir, const BackOptions *o)
{
    unsigned char *inc = calloc((size_t)ir->n, 1);
    ck_assert_ptr_nonnull(inc);
    if (o->inference) {
        ir_mark_needed(ir, ir->output, inc);
        for (int i = 0; i < ir->n; i++)
            if (ir->nodes[i].op == OP_PARAM)
                inc[i] = 0;
    } else {
        memset(inc, 1, (size_t)ir->n);
    }
    return inc;
}

START_TEST(test_memplan_regions)
{
    const char *const models[] = {mlp, ew, nll, convpool, zoo};
    for (int m = 0; m < 5; m++)
        for (int v = 0; v < 16; v++) {
            Built b;
            BackOptions o = opts();
            o.max_batch = v & 1 ? 1 : 7;
            o.threads = v & 2 ? 2 : 1;
            o.opt_level = v & 4 ? 0 : 2;
            o.inference = v >> 3 & 1;
            build(&b, models[m], o);
            char buf[256];
            unsigned char *inc = planned(b.c.ir, &o);
            const char *bad = plan_fault(b.c.ir, b.c.plan, inc, buf, sizeof buf);
            ck_assert_msg(bad == NULL, "model %d, variant %d: %s", m, v, bad);
            ck_assert_int_ge(b.c.plan->total, b.c.plan->bound);
            free(inc);
            unbuild(&b);
        }
}
END_TEST

/* Every example model (each .nn of examples/ and examples/tiny/), as nnc plans
 * it for training and for --inference, at batch 1 and 64, one and two
 * threads: the plan checker finds nothing (every declared region placed
 * in its buffer or scratch block, no two live regions sharing a byte,
 * every buffer inside the arena and aligned). */
START_TEST(test_memplan_examples)
{
    static const char *const dirs[] = {"examples", "examples/tiny"};
    int models = 0;
    for (int d = 0; d < 2; d++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", getenv("NNC_ROOT") ? getenv("NNC_ROOT") : ".", dirs[d]);
        DIR *dir = opendir(path);
        ck_assert_msg(dir != NULL, "cannot read %s (run from the repository root or set NNC_ROOT)", path);
        struct dirent *ent;
        while ((ent = readdir(dir)) != NULL) {
            size_t len = strlen(ent->d_name);
            if (len < 4 || strcmp(ent->d_name + len - 3, ".nn") != 0)
                continue;
            char rel[600];
            snprintf(rel, sizeof rel, "%s/%s", dirs[d], ent->d_name);
            char *src = read_repo(rel);
            ck_assert_msg(src != NULL, "cannot read %s", rel);
            for (int v = 0; v < 8; v++) {
                Built b;
                BackOptions o = opts();
                o.max_batch = v & 1 ? 64 : 1;
                o.threads = v & 2 ? 2 : 1;
                o.inference = v >> 2 & 1;
                build(&b, src, o);
                char buf[256];
                unsigned char *inc = planned(b.c.ir, &o);
                const char *bad = plan_fault(b.c.ir, b.c.plan, inc, buf, sizeof buf);
                ck_assert_msg(bad == NULL, "%s, batch %d, %d thread(s)%s: %s", rel, o.max_batch, o.threads,
                              o.inference ? ", --inference" : "", bad);
                free(inc);
                unbuild(&b);
            }
            free(src);
            models++;
        }
        closedir(dir);
    }
    ck_assert_int_ge(models, 12);
}
END_TEST

/* The checker sees a broken plan: two live buffers moved onto each other,
 * a buffer pushed past the arena, a scratch shrunk. */
START_TEST(test_memplan_checker_fails)
{
    Built b;
    BackOptions o = opts();
    build(&b, zoo, o);
    const Ir *ir = b.c.ir;
    MemPlan *p = b.c.plan;
    unsigned char *inc = planned(ir, &o);
    char buf[256];
    ck_assert_ptr_null(plan_fault(ir, p, inc, buf, sizeof buf));

    /* the loss and the prediction live to the end, both own buffers */
    int loss = ir->loss, pred = ir->nodes[loss].in[0];
    int64_t keep = p->offset[loss];
    p->offset[loss] = p->offset[pred];
    ck_assert_ptr_nonnull(plan_fault(ir, p, inc, buf, sizeof buf));
    ck_assert_msg(strstr(buf, "overlap") != NULL, "%s", buf);
    p->offset[loss] = p->total;
    ck_assert_ptr_nonnull(plan_fault(ir, p, inc, buf, sizeof buf));
    p->offset[loss] = keep;
    int conv = -1;
    for (int i = 0; i < ir->n; i++)
        if (ir->nodes[i].op == OP_CONV2D)
            conv = i;
    ck_assert_int_gt(p->scratch_size[conv], 0);
    int64_t had = p->scratch_size[conv];
    p->scratch_size[conv] = 0;
    ck_assert_ptr_nonnull(plan_fault(ir, p, inc, buf, sizeof buf));
    ck_assert_msg(strstr(buf, "scratch") != NULL, "%s", buf);
    p->scratch_size[conv] = had;
    /* a buffer whose element type is not its value's */
    p->type[loss] = MEM_I64;
    ck_assert_ptr_nonnull(plan_fault(ir, p, inc, buf, sizeof buf));
    ck_assert_msg(strstr(buf, "typed") != NULL, "%s", buf);
    p->type[loss] = MEM_F32;
    /* every declared region placed: one the plan forgot, or made smaller
     * (the issue 12 experiment: maxpool's argmax) */
    ck_assert_ptr_null(plan_fault(ir, p, inc, buf, sizeof buf));
    int pool = -1;
    for (int i = 0; i < ir->n; i++)
        if (ir->nodes[i].op == OP_MAXPOOL && mem_region(p, i, "argmax"))
            pool = i;
    ck_assert_int_ge(pool, 0);
    p->region_count[pool]--;
    ck_assert_ptr_nonnull(plan_fault(ir, p, inc, buf, sizeof buf));
    ck_assert_msg(strstr(buf, "regions") != NULL, "%s", buf);
    p->region_count[pool]++;
    MemRegion *argmax = (MemRegion *)mem_region(p, pool, "argmax");
    argmax->offset += 4;
    ck_assert_ptr_nonnull(plan_fault(ir, p, inc, buf, sizeof buf));
    ck_assert_msg(strstr(buf, "argmax") != NULL, "%s", buf);
    argmax->offset -= 4;
    ck_assert_ptr_null(plan_fault(ir, p, inc, buf, sizeof buf));
    free(inc);
    unbuild(&b);
}
END_TEST

/* ---- the generated schedules (emit_c.c) ------------------------------------------- */

/* A value named after a schedule's parameter (n), an unnamed sum, a
 * labelled layer, pipeline stages, and relu kernels over 6 and 4 elements
 * per sample. */
static const char names_src[] = "model names {\n"
                                "    input  x : f32[8]\n"
                                "    target y : class[3]\n"
                                "    h      = x -> fc1: dense(6) -> relu\n"
                                "    n      = dense(x, 6)\n"
                                "    logits = (h + n) -> relu -> dense(4) -> relu -> dense(3)\n"
                                "    loss      cross_entropy(logits, y)\n"
                                "    optimizer sgd(lr = 0.1, momentum = 0.9)\n"
                                "}\n";

/* NAME.c of compilation cp after compile_back, as emit_c writes it for
 * inference code or not and threads (EmitOptions.threads), malloc'ed. */
static char *emitted_c(Compilation *cp, int inference, int threads)
{
    EmitOptions eo;
    memset(&eo, 0, sizeof eo);
    eo.name = cp->ir->model;
    eo.source = "t.nn";
    eo.max_batch = cp->plan->max_batch;
    eo.inference = inference;
    eo.threads = threads;
    char *h = NULL, *c = NULL;
    size_t hl = 0, cl = 0;
    FILE *hf = open_memstream(&h, &hl), *cf = open_memstream(&c, &cl);
    ck_assert_ptr_nonnull(hf);
    ck_assert_ptr_nonnull(cf);
    ck_assert_int_eq(emit_c(cp->ir, cp->plan, &eo, &cp->diag, hf, cf), 0);
    fclose(hf);
    fclose(cf);
    free(h);
    return c;
}

/* NAME.c as nnc src -o DIR writes it under o (malloc'ed). */
static char *generated_c(const char *src, BackOptions o)
{
    Built b;
    build(&b, src, o);
    char *c = emitted_c(&b.c, 0, o.threads);
    unbuild(&b);
    return c;
}

/* The body of function fn in c, from its "static void fn(" line to its
 * closing brace (malloc'ed). */
static char *function_text(const char *c, const char *fn)
{
    char head[128];
    snprintf(head, sizeof head, "static void %s(", fn);
    const char *p = strstr(c, head);
    ck_assert_msg(p != NULL, "no function %s", fn);
    const char *end = strstr(p, "\n}\n");
    ck_assert_ptr_nonnull(end);
    size_t n = (size_t)(end - p) + 3;
    char *out = malloc(n + 1);
    ck_assert_ptr_nonnull(out);
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

static int count(const char *text, const char *s)
{
    int k = 0;
    for (const char *p = strstr(text, s); p; p = strstr(p + 1, s))
        k++;
    return k;
}

/* Does text hold each of the n strings in want? */
static void has_lines(const char *text, const char *const *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(strstr(text, want[i]) != NULL, "no \"%s\" in:\n%s", want[i], text);
}

/* No schedule passes a bare arena offset: each declares its buffers once,
 * named after the values they hold, and calls its kernels with the names. */
START_TEST(test_schedule_names)
{
    static const char *const fns[] = {"run_output", "run_eval", "run_loss", "run_backward", "run_update",
                                      "w_calibrate_n"};
    for (int level = 0; level <= 2; level += 2) {
        BackOptions o = opts();
        o.opt_level = level;
        char *c = generated_c(names_src, o);
        for (size_t f = 0; f < sizeof fns / sizeof *fns; f++) {
            char *body = function_text(c, fns[f]);
            /* every "A + " is in a declaration: "real *const NAME = A + OFFSET;" */
            ck_assert_msg(count(body, "A + ") == count(body, "real *const "), "%s at -O%d passes an offset:\n%s",
                          fns[f], level, body);
            free(body);
        }
        free(c);
    }
    char *c = generated_c(names_src, (BackOptions){.opt_level = 0, .max_batch = 4, .threads = 1});
    char *out = function_text(c, "run_output"), *bwd = function_text(c, "run_backward");
    char *upd = function_text(c, "run_update");
    /* parameters by their state_dict names, values by theirs or by their
     * stage and operator; `n` is the schedules' batch, so the value n
     * takes its node's number */
    static const char *const in_out[] = {
        "    real *const fc1_weight      = A + ",
        "    k004_dense(n, in_x, fc1_weight, fc1_bias, fc1);\n",
        "    k005_relu(n, 6, fc1, h);\n",
        "    k004_dense(n, in_x, n_weight, n_bias, v8_n);\n",
        "    k009_add(n, 6, h, v8_n, add_9);\n",
        "    k005_relu(n, 6, add_9, logits_0_relu);\n",
        "    k013_dense(n, logits_0_relu, logits_1_weight, logits_1_bias, logits_1_dense);\n",
        "    k005_relu(n, 4, logits_1_dense, logits_2_relu);\n",
        "    real *const logits          = A + 880; /* [n, 3] */\n",
    };
    has_lines(out, in_out, sizeof in_out / sizeof *in_out);
    /* gradients after their values, scratch after its kernel */
    static const char *const in_bwd[] = {
        "    k019_cross_entropy_dx(n, logits, target, grad_logits);\n",
        "    k021_dense_dw(n, grad_logits, logits_2_relu, grad_logits_3_weight, k021_scratch);\n",
        "    k023_relu_dx(n, 4, grad_logits_2_relu, logits_2_relu, grad_logits_1_dense);\n",
        "    k023_relu_dx(n, 6, grad_add_9, h, grad_fc1);\n",
        "    real *const k021_scratch         = A + 624; /* k021's scratch: pack */\n",
    };
    has_lines(bwd, in_bwd, sizeof in_bwd / sizeof *in_bwd);
    ck_assert_msg(strstr(upd, "    k034_sgd(lr, m->t, 48, n_weight, grad_n_weight, n_weight_momentum_buffer);\n"),
                  "%s", upd);
    /* kernels that differ only in their count are one function: three
     * relu, three relu_dx and eight sgd kernels, one definition each */
    ck_assert_int_eq(count(c, "static void k005_relu(int n, size_t len,"), 1);
    ck_assert_int_eq(count(c, "static void k023_relu_dx(int n, size_t len,"), 1);
    ck_assert_int_eq(count(c, "static void k034_sgd(double lr, int64_t t, int len,"), 1);
    ck_assert_int_eq(count(c, "_relu(int n"), 1);
    ck_assert_int_eq(count(out, "k005_relu(n, "), 3);
    ck_assert_int_eq(count(c, "_sgd(double lr"), 1);
    ck_assert_int_eq(count(c, "k034_sgd(lr, m->t, "), 8);
    free(out);
    free(bwd);
    free(upd);
    free(c);
}
END_TEST

/* Names that are no C identifiers: inference code folds a batchnorm into
 * the conv2d before it (fold_batchnorm), whose value is then named
 * "a.0+a.1"; its buffer's name keeps only identifier characters. */
START_TEST(test_schedule_names_folded)
{
    static const char src[] = "model folded {\n"
                              "    input  x : f32[1, 6, 6]\n"
                              "    target y : class[2]\n"
                              "    a = x -> conv2d(4, 3) -> batchnorm -> flatten -> dense(2)\n"
                              "    loss      cross_entropy(a, y)\n"
                              "    optimizer sgd(lr = 0.1)\n"
                              "}\n";
    Compilation c;
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(compile_front(&c, "t.nn", src, (uint32_t)strlen(src), NULL, NULL), 0);
    /* every parameter 0.5: positive variances, finite weights */
    static float half[4096];
    for (size_t i = 0; i < sizeof half / sizeof *half; i++)
        half[i] = 0.5f;
    for (int i = 0; i < c.ir->n; i++)
        if (c.ir->nodes[i].op == OP_PARAM)
            c.ir->nodes[i].value = half;
    BackOptions o = opts();
    o.inference = 1;
    o.max_batch = 1;
    ck_assert_int_eq(compile_back(&c, &o), 0);
    char *text = emitted_c(&c, 1, 1);
    char *out = function_text(text, "run_output");
    ck_assert_msg(strstr(out, "    real *const a_0_a_1_conv2d = A + ") != NULL, "%s", out);
    free(out);
    free(text);
    compile_free(&c);
}
END_TEST

/* ---- --inference weights on their parameters (IrNode.value) ---------------- */

/* A parameter's values as the test attached them, by name. */
typedef struct Attached {
    const char *name;
    const float *v;
    int64_t n;          /* elements (1 for the scalar num_batches_tracked) */
} Attached;

static const Attached *attached(const Attached *a, int na, const char *name)
{
    for (int k = 0; k < na; k++)
        if (strcmp(a[k].name, name) == 0)
            return &a[k];
    return NULL;
}

/* The values fold_batchnorm must give layer PREFIX's weight (bias 0) or
 * bias (bias 1) folded with batchnorm BN (fold_batchnorm.c's formula,
 * PyTorch's fuse_conv_bn_weights, eps 1e-5), element k of per per channel. */
static double folded(const Attached *a, int na, const char *prefix, const char *bn, int bias, int64_t k,
                     int64_t per)
{
    char nm[64];
#define VAL(stem, what) (snprintf(nm, sizeof nm, "%s.%s", (stem), (what)), attached(a, na, nm))
    const Attached *w = VAL(prefix, "weight"), *b = VAL(prefix, "bias");
    int64_t c = bias ? k : k / per;
    double s = (double)VAL(bn, "weight")->v[c] / sqrt((double)VAL(bn, "running_var")->v[c] + 1e-5);
    if (!bias)
        return (float)((double)w->v[k] * s);
    return (float)(((b ? (double)b->v[c] : 0.0) - (double)VAL(bn, "running_mean")->v[c]) * s +
                   (double)VAL(bn, "bias")->v[c]);
#undef VAL
}

/* The weights of --inference ride on their OP_PARAM nodes: lower_1d
 * renumbers every node of a model with conv1d layers, fold_batchnorm
 * rebuilds the IR around two conv2d + batchnorm pairs (one conv2d
 * without a bias, which gains one), and still every parameter ends up
 * with the values attached to its name, the folded layers' with the
 * folded values, and the emitted code has every array, biases included,
 * with exactly those values.  Weights kept in an array by node id lost
 * track of them (issue 12: a 1-D model's inference code once lost every
 * bias but the first). */
START_TEST(test_weights_follow_their_parameter)
{
    static const char src[] = "model carry {\n"
                              "    input  x : f32[2, 16]\n"
                              "    h = x -> conv1d(4, 3) -> relu -> conv1d(6, 3) -> reshape([6, 3, 4])\n"
                              "          -> conv2d(4, 3, padding = 1) -> batchnorm -> relu\n"
                              "          -> conv2d(4, 3, padding = 1, bias = false) -> batchnorm\n"
                              "    output y = h -> flatten -> dense(5)\n"
                              "}\n";
    Compilation c;
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(compile_front(&c, "t.nn", src, (uint32_t)strlen(src), NULL, NULL), 0);
    /* values distinct per parameter and element, all positive (variances) */
    Attached a[32];
    int na = 0;
    for (int i = 0; i < c.ir->n; i++) {
        IrNode *p = &c.ir->nodes[i];
        if (p->op != OP_PARAM)
            continue;
        ck_assert_int_lt(na, 32);
        int64_t n = p->shape.rank ? shape_numel(&p->shape) : 1;
        float *v = arena_alloc(&c.arena, (size_t)n * 8); /* 8: an int64 num_batches_tracked */
        memset(v, 0, (size_t)n * 8);
        for (int64_t k = 0; p->dtype == DT_F32 && k < n; k++)
            v[k] = (float)(0.05 * (na + 1) + 0.001 * (double)k);
        a[na].name = p->param;
        a[na].v = v;
        a[na].n = n;
        na++;
        p->value = v;
    }
    ck_assert_int_eq(na, 19);
    BackOptions o = opts();
    o.inference = 1;
    o.max_batch = 1;
    ck_assert_int_eq(compile_back(&c, &o), 0);
    const Ir *ir = c.ir;
    /* lower_1d and fold_batchnorm both rebuilt the IR */
    ck_assert_int_eq(count_op(ir, OP_CONV1D, 0), 0);
    ck_assert_int_eq(count_op(ir, OP_CONV2D, 0), 4);
    ck_assert_int_eq(count_op(ir, OP_BATCHNORM, 0), 0);

    /* every parameter left: the batchnorms' are gone, h.7 gained a bias */
    static const char *const left[] = {"h.0.weight", "h.0.bias", "h.2.weight", "h.2.bias", "h.4.weight",
                                       "h.4.bias", "h.7.weight", "h.7.bias", "y.1.weight", "y.1.bias"};
    int nleft = (int)(sizeof left / sizeof *left), seen[10] = {0};
    for (int i = 0; i < ir->n; i++) {
        const IrNode *p = &ir->nodes[i];
        if (p->op != OP_PARAM)
            continue;
        int at = -1;
        for (int k = 0; k < nleft; k++)
            if (strcmp(p->param, left[k]) == 0)
                at = k;
        ck_assert_msg(at >= 0, "parameter %s is still in the IR", p->param);
        seen[at]++;
        ck_assert_msg(p->value != NULL, "%s has no values", p->param);
        int64_t n = shape_numel(&p->shape);
        /* the conv2d layers h.4 and h.7 took the batchnorms h.5 and h.8 */
        const char *layer = strncmp(p->param, "h.4.", 4) == 0 ? "h.4" : strncmp(p->param, "h.7.", 4) == 0 ? "h.7" : NULL;
        const char *bn = layer && layer[2] == '4' ? "h.5" : "h.8";
        if (!layer) {
            /* the very array attached to its name */
            const Attached *at_name = attached(a, na, p->param);
            ck_assert_ptr_eq(p->value, at_name->v);
            ck_assert_int_eq(n, at_name->n);
            continue;
        }
        int bias = p->role == PR_BIAS;
        const IrNode *l = &ir->nodes[p->layer];
        for (int64_t k = 0; k < n; k++) {
            double want = folded(a, na, layer, bn, bias, k, shape_numel(&ir->nodes[l->in[1]].shape) / l->shape.d[0]);
            ck_assert_msg(fabs(p->value[k] - want) <= 1e-6 * fabs(want), "%s[%lld] = %.9g, folded %.9g", p->param,
                          (long long)k, (double)p->value[k], want);
        }
    }
    for (int k = 0; k < nleft; k++)
        ck_assert_msg(seen[k] == 1, "%s is in the IR %d times", left[k], seen[k]);
    /* every dense and conv2d reads a bias with values */
    for (int i = 0; i < ir->n; i++) {
        const IrNode *l = &ir->nodes[i];
        if (l->op != OP_CONV2D && l->op != OP_DENSE)
            continue;
        int with = 0;
        for (int j = 0; j < l->nin; j++) {
            const IrNode *p = &ir->nodes[l->in[j]];
            with += p->op == OP_PARAM && p->layer == i && p->role == PR_BIAS && p->value != NULL;
        }
        ck_assert_msg(with == 1, "%s (%%%d) has %d biases with values", op_info[l->op].name, i, with);
    }

    /* the emitted code: each parameter's array, every value in it */
    char *text = emitted_c(&c, 1, 1);
    for (int i = 0; i < ir->n; i++) {
        const IrNode *p = &ir->nodes[i];
        if (p->op != OP_PARAM)
            continue;
        int64_t n = shape_numel(&p->shape);
        char want[16384], fb[48];
        size_t len = (size_t)snprintf(want, sizeof want, "static const real w_%s[%lld] NNC_WEIGHTS = {\n", p->param,
                                      (long long)n);
        for (char *d = want + 19; *d != '['; d++)
            if (*d == '.')
                *d = '_';
        for (int64_t k = 0; k < n; k++)
            len += (size_t)snprintf(want + len, sizeof want - len, "%s%s,%s", k % 8 ? " " : "    ",
                                    emit_float(p->value[k], fb), k % 8 == 7 || k == n - 1 ? "\n" : "");
        snprintf(want + len, sizeof want - len, "};\n");
        ck_assert_msg(len < sizeof want - 8 && strstr(text, want) != NULL, "no array\n%s\nin the code", want);
    }
    free(text);
    compile_free(&c);
}
END_TEST

/* ---- main ------------------------------------------------------------------------- */

static Suite *passes_suite(void)
{
    Suite *s = suite_create("passes");
    TCase *t = tcase_create("table");
    tcase_add_test(t, test_table_order_holds);
    tcase_add_test(t, test_table_violations_reported);
    tcase_add_test(t, test_print_passes);
    tcase_add_test(t, test_dump_after_runs);
    tcase_add_test(t, test_docs_list_the_passes);
    suite_add_tcase(s, t);
    t = tcase_create("records");
    tcase_add_test(t, test_every_op_has_a_record);
    suite_add_tcase(s, t);
    t = tcase_create("autodiff");
    tcase_add_test(t, test_autodiff_mlp_wiring);
    tcase_add_test(t, test_autodiff_accumulates);
    tcase_add_test(t, test_autodiff_families);
    tcase_add_test(t, test_autodiff_pools_concat);
    suite_add_tcase(s, t);
    t = tcase_create("fusion");
    tcase_add_test(t, test_fuse_loss_kernels);
    tcase_add_test(t, test_fuse_epilogue_kernels);
    tcase_add_test(t, test_fuse_act_grad_kernels);
    tcase_add_test(t, test_fuse_elementwise_kernels);
    tcase_add_test(t, test_fusion_leaves_shared_values);
    tcase_add_test(t, test_elementwise_table_matches_kernels);
    tcase_add_test(t, test_conv_algo);
    tcase_add_test(t, test_fuse_conv_pool_kernels);
    suite_add_tcase(s, t);
    t = tcase_create("memplan");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_memplan_regions);
    tcase_add_test(t, test_memplan_examples);
    tcase_add_test(t, test_memplan_checker_fails);
    suite_add_tcase(s, t);
    t = tcase_create("emit");
    tcase_add_test(t, test_schedule_names);
    tcase_add_test(t, test_schedule_names_folded);
    suite_add_tcase(s, t);
    t = tcase_create("weights");
    tcase_add_test(t, test_weights_follow_their_parameter);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(passes_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
