/*
 * compile.c: the pipeline, written out as the table it is.
 *
 *   parse -> sema -> compile_passes[] in order -> emit_c
 *
 * compile_passes[] (below) holds one row per pass over the IR: its name,
 * its function, whether it is optional (-O1 and up, --disable NAME) or
 * training-only, the passes it must run after, and a line saying what it
 * does.  compile_front() runs parse, sema and the PASS_FRONT rows, the
 * checks every use of nnc needs; compile_back() the other rows, which
 * prepare code generation; main.c calls emit_c().  nnc --help, --disable
 * and --dump-after take their pass names from the same table, and
 * compile_check_passes() (run by nnc at startup and by the unit tests)
 * checks its order.
 *
 * Sema's errors do not stop lowering: calls it could not check become
 * poisoned nodes, so shape errors elsewhere in the file are still found
 * and reported in the same run.  Syntax errors do stop: a partial
 * tree would only produce noise.
 */
#include "compile.h"

#include <stdio.h>
#include <string.h>

#include "autodiff.h"
#include "conv_algo.h"
#include "fold_batchnorm.h"
#include "fuse_act_grad.h"
#include "fuse_conv_pool.h"
#include "fuse_elementwise.h"
#include "fuse_epilogue.h"
#include "fuse_loss.h"
#include "lower.h"
#include "sema.h"
#include "shape.h"

/* ---- the passes, each as compile_passes calls it -------------------------- */

static int run_lower(Compilation *c, const BackOptions *o)
{
    (void)o;
    c->ir = lower_module(&c->arena, c->module);
    return 0;
}

/* Shape errors (and warnings under -Werror) stop the compilation here:
 * every error in the file has been reported by now. */
static int run_shape(Compilation *c, const BackOptions *o)
{
    (void)o;
    shape_infer(c->ir, &c->diag);
    return c->diag.nerrors > 0 || (c->diag.werror && c->diag.nwarnings > 0);
}

/* Renumbers the nodes; --inference's weights travel with their
 * parameters (IrNode.value). */
static int run_lower_1d(Compilation *c, const BackOptions *o)
{
    (void)o;
    lower_1d(c->ir);
    return 0;
}

/* Only inference code has constant weights to fold into (a parameter
 * without IrNode.value keeps its batchnorm); training code keeps
 * batchnorm (it learns from batch statistics). */
static int run_fold_batchnorm(Compilation *c, const BackOptions *o)
{
    if (o->inference)
        fold_batchnorm(c->ir);
    return 0;
}

static int run_fuse_loss(Compilation *c, const BackOptions *o)
{
    (void)o;
    fuse_loss(c->ir);
    return 0;
}

static int run_autodiff(Compilation *c, const BackOptions *o)
{
    (void)o;
    return ad_backward(c->ir, &c->diag) > 0;
}

static int run_fuse_epilogue(Compilation *c, const BackOptions *o)
{
    (void)o;
    fuse_epilogue(c->ir);
    return 0;
}

static int run_fuse_act_grad(Compilation *c, const BackOptions *o)
{
    (void)o;
    fuse_act_grad(c->ir);
    return 0;
}

static int run_fuse_elementwise(Compilation *c, const BackOptions *o)
{
    (void)o;
    fuse_elementwise(c->ir);
    return 0;
}

static int run_conv_algo(Compilation *c, const BackOptions *o)
{
    (void)o;
    conv_algo(c->ir);
    return 0;
}

static int run_fuse_conv_pool(Compilation *c, const BackOptions *o)
{
    (void)o;
    fuse_conv_pool(c->ir);
    return 0;
}

/* Everything is planned; inference-only code plans only what the output
 * needs, and its parameters are constants outside the arena. */
static int run_memplan(Compilation *c, const BackOptions *o)
{
    unsigned char *include = arena_alloc(&c->arena, (size_t)c->ir->n);
    if (o->inference) {
        ir_mark_needed(c->ir, c->ir->output, include);
        for (int i = 0; i < c->ir->n; i++)
            if (c->ir->nodes[i].op == OP_PARAM)
                include[i] = 0;
    } else {
        memset(include, 1, (size_t)c->ir->n);
    }
    c->plan = mem_plan(c->ir, include, o->max_batch, c->ir->output);
    return 0;
}

/* ---- the pipeline ------------------------------------------------------------ */

/* The pipeline, in order.  Columns: name, function, flags, must run
 * after, what it does (--help), what --dump-after prints when --inference
 * skips it.  A pass's own file says why it needs the passes it names. */
const CompilePass compile_passes[] = {
    {"lower", run_lower, PASS_FRONT | PASS_UNSHAPED, "", "the checked syntax tree to the IR", NULL},
    {"shape", run_shape, PASS_FRONT, "lower", "every value's shape, checked", NULL},
    {"lower_1d", run_lower_1d, 0, "shape", "1-D operators as 2-D ones on [C, 1, L] views", NULL},
    {"fold_batchnorm", run_fold_batchnorm, PASS_OPTIONAL, "shape",
     "batchnorm into the dense/conv2d (inference)", NULL},
    {"fuse_loss", run_fuse_loss, PASS_OPTIONAL | PASS_TRAINING, "shape", "nll(log_softmax(z)) as cross_entropy(z)",
     NULL},
    {"autodiff", run_autodiff, PASS_TRAINING, "shape lower_1d fuse_loss",
     "the backward graph and the optimizer's update", "inference: nothing to differentiate"},
    {"fuse_epilogue", run_fuse_epilogue, PASS_OPTIONAL, "autodiff", "activation inside the dense/conv2d before it",
     NULL},
    {"fuse_act_grad", run_fuse_act_grad, PASS_OPTIONAL | PASS_TRAINING, "autodiff fuse_epilogue",
     "activation backward in the kernel of its dy", NULL},
    {"fuse_elementwise", run_fuse_elementwise, PASS_OPTIONAL, "autodiff fuse_epilogue",
     "element-wise chains as one loop", NULL},
    {"conv_algo", run_conv_algo, PASS_OPTIONAL, "shape lower_1d", "direct convolution where faster than im2col", NULL},
    {"fuse_conv_pool", run_fuse_conv_pool, PASS_OPTIONAL, "autodiff fuse_epilogue fuse_act_grad conv_algo",
     "direct conv2d, activation, maxpool: one kernel", NULL},
    {"memplan", run_memplan, PASS_NO_IR,
     "lower_1d autodiff fuse_epilogue fuse_act_grad fuse_elementwise conv_algo fuse_conv_pool",
     "every buffer's place in the arena", NULL},
    {NULL, NULL, 0, NULL, NULL, NULL},
};
const int compile_npasses = (int)(sizeof compile_passes / sizeof compile_passes[0]) - 1;

int compile_pass(const char *name)
{
    for (int i = 0; compile_passes[i].name; i++)
        if (strcmp(compile_passes[i].name, name) == 0)
            return i;
    return -1;
}

int compile_check_passes(const CompilePass *t, int n, char *why, size_t size)
{
    if (n > 32) {
        snprintf(why, size, "%d passes; BackOptions.disabled has 32 bits", n);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++)
            if (strcmp(t[j].name, t[i].name) == 0) {
                snprintf(why, size, "%s is in the table twice", t[i].name);
                return -1;
            }
        if (i > 0 && (t[i].flags & PASS_FRONT) && !(t[i - 1].flags & PASS_FRONT)) {
            snprintf(why, size, "%s runs in compile_front but comes after %s, which does not", t[i].name,
                     t[i - 1].name);
            return -1;
        }
        /* each space-separated word of after, at an earlier row */
        for (const char *a = t[i].after; *a;) {
            size_t len = strcspn(a, " ");
            int at = -1;
            for (int j = 0; j < n && at < 0; j++)
                if (strlen(t[j].name) == len && strncmp(t[j].name, a, len) == 0)
                    at = j;
            if (at < 0 || at >= i) {
                snprintf(why, size, "%s must run after %.*s, %s", t[i].name, (int)len, a,
                         at < 0 ? "which is no pass" : at == i ? "itself" : "which comes later");
                return -1;
            }
            a += len;
            a += strspn(a, " ");
        }
    }
    return 0;
}

void compile_print_passes(FILE *f, unsigned with, unsigned without, int first, int indent, int width)
{
    int col = first, any = 0;
    for (int i = 0; compile_passes[i].name; i++) {
        const CompilePass *p = &compile_passes[i];
        if ((p->flags & with) != with || (p->flags & without))
            continue;
        /* the name and the comma after it, unless it is the last */
        int last = 1;
        for (int j = i + 1; compile_passes[j].name && last; j++)
            last = (compile_passes[j].flags & with) != with || (compile_passes[j].flags & without);
        int len = (int)strlen(p->name) + !last;
        if (any && col + 1 + len > width) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (any) {
            fputc(' ', f);
            col++;
        }
        fprintf(f, "%s%s", p->name, last ? "" : ",");
        col += len;
        any = 1;
    }
}

/* Does pass i run under o?  -O0 runs no optional pass, --inference no
 * training one. */
static int pass_runs(int i, const BackOptions *o)
{
    unsigned fl = compile_passes[i].flags;
    if ((fl & PASS_TRAINING) && o->inference)
        return 0;
    return !(fl & PASS_OPTIONAL) || (o->opt_level >= 1 && !(o->disabled >> i & 1u));
}

/*
 * Run the rows of compile_passes with PASS_FRONT set as front says, in
 * order, each followed by ir_verify() and the dump --dump-after asks for
 * (none once errors were reported: the IR then holds poisoned nodes).
 * Returns 0, or 1 when a pass reported errors.
 */
static int run_passes(Compilation *c, int front, const BackOptions *o, const char *dump_after, FILE *dump)
{
    for (int i = 0; compile_passes[i].name; i++) {
        const CompilePass *p = &compile_passes[i];
        int dumped = dump_after && strcmp(dump_after, p->name) == 0;
        if (!(p->flags & PASS_FRONT) != !front)
            continue;
        if (o && !pass_runs(i, o)) {
            if (dumped && o->inference && p->skipped)
                ir_dump(c->ir, dump, arena_printf(&c->arena, "%s (%s)", p->name, p->skipped));
            continue;
        }
        if (p->run(c, o))
            return 1;
        if (p->flags & PASS_NO_IR)
            continue;
        ir_verify(c->ir, p->name, !(p->flags & PASS_UNSHAPED));
        c->last_pass = p->name;
        if (dumped && !c->diag.nerrors)
            ir_dump(c->ir, dump, p->name);
    }
    return 0;
}

int compile_front(Compilation *c, const char *path, const char *src, uint32_t len,
                  const char *dump_after, FILE *dump)
{
    return compile_front_werror(c, path, src, len, dump_after, dump, 0);
}

int compile_front_werror(Compilation *c, const char *path, const char *src, uint32_t len,
                         const char *dump_after, FILE *dump, int werror)
{
    memset(c, 0, sizeof *c);
    diag_init(&c->diag, &c->arena, path, src, len);
    c->diag.werror = werror;

    c->module = parse_module(&c->arena, &c->diag);
    if (!c->module)
        return 1;
    sema_check(&c->arena, &c->diag, c->module);
    if (diag_full(&c->diag))
        return 1;
    return run_passes(c, 1, NULL, dump_after, dump);
}

int compile_back(Compilation *c, const BackOptions *o)
{
    c->ir->threads = o->threads > 1 ? o->threads : 1;
    c->ir->inference = o->inference;
    c->ir->target = o->target;
    return run_passes(c, 0, o, o->dump_after, o->dump);
}

void compile_free(Compilation *c)
{
    arena_free(&c->arena);
    memset(c, 0, sizeof *c);
}
