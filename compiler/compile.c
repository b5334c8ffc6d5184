/*
 * compile.c: the pipeline, written out as the list of calls it is.
 *
 *   parse -> sema -> lower -> shape -> fuse_loss -> autodiff -> fuse_epilogue
 *   -> fuse_act_grad -> fuse_elementwise -> conv_algo -> fuse_conv_pool -> memplan
 *   -> emit_c   (every pass after autodiff, and fuse_loss, only at -O1 and
 *   above, each switched off alone by --disable)
 *
 * compile_front() runs the checks every use of nnc needs; compile_back()
 * the phases that prepare code generation; main.c calls emit_c().  Sema's errors do not stop lowering: calls it could not check
 * become poisoned nodes, so shape errors elsewhere in the file are still
 * found and reported in the same run.  Syntax errors do stop: a partial
 * tree would only produce noise.
 */
#include "compile.h"

#include <string.h>

#include "autodiff.h"
#include "conv_algo.h"
#include "fuse_act_grad.h"
#include "fuse_conv_pool.h"
#include "fuse_elementwise.h"
#include "fuse_epilogue.h"
#include "fuse_loss.h"
#include "lower.h"
#include "sema.h"
#include "shape.h"

const char *const compile_passes[] = {"lower",         "shape",         "fuse_loss",        "autodiff",
                                      "fuse_epilogue", "fuse_act_grad", "fuse_elementwise", "conv_algo",
                                      "fuse_conv_pool", NULL};
const char *const compile_optional_passes[] = {"fuse_loss",        "fuse_epilogue", "fuse_act_grad",
                                               "fuse_elementwise", "conv_algo",     "fuse_conv_pool", NULL};

int compile_optional_pass(const char *name)
{
    for (int i = 0; compile_optional_passes[i]; i++)
        if (strcmp(compile_optional_passes[i], name) == 0)
            return i;
    return -1;
}

/* Does optional pass name run under o? */
static int pass_on(const BackOptions *o, const char *name)
{
    return o->opt_level >= 1 && !(o->disabled >> compile_optional_pass(name) & 1u);
}

static void after(Compilation *c, const char *pass, int need_shapes, const char *dump_after, FILE *dump)
{
    ir_verify(c->ir, pass, need_shapes);
    c->last_pass = pass;
    if (dump_after && strcmp(dump_after, pass) == 0)
        ir_dump(c->ir, dump, pass);
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

    c->ir = lower_module(&c->arena, c->module);
    after(c, "lower", 0, c->diag.nerrors ? NULL : dump_after, dump);

    shape_infer(c->ir, &c->diag);
    if (c->diag.nerrors > 0 || (werror && c->diag.nwarnings > 0))
        return 1;
    after(c, "shape", 1, dump_after, dump);
    return 0;
}

int compile_back(Compilation *c, const BackOptions *o)
{
    c->ir->threads = o->threads > 1 ? o->threads : 1;
    c->ir->inference = o->inference;
    if (pass_on(o, "fuse_loss") && !o->inference) {
        fuse_loss(c->ir);
        after(c, "fuse_loss", 1, o->dump_after, o->dump);
    }
    if (!o->inference) {
        if (ad_backward(c->ir, &c->diag) > 0)
            return 1;
        after(c, "autodiff", 1, o->dump_after, o->dump);
    } else if (o->dump_after && strcmp(o->dump_after, "autodiff") == 0) {
        ir_dump(c->ir, o->dump, "autodiff (inference: nothing to differentiate)");
    }

    /* Optional passes, in order; -O0 runs none of them. */
    if (pass_on(o, "fuse_epilogue")) {
        fuse_epilogue(c->ir);
        after(c, "fuse_epilogue", 1, o->dump_after, o->dump);
    }
    if (pass_on(o, "fuse_act_grad") && !o->inference) {
        fuse_act_grad(c->ir);
        after(c, "fuse_act_grad", 1, o->dump_after, o->dump);
    }
    if (pass_on(o, "fuse_elementwise")) {
        fuse_elementwise(c->ir);
        after(c, "fuse_elementwise", 1, o->dump_after, o->dump);
    }
    if (pass_on(o, "conv_algo")) {
        conv_algo(c->ir);
        after(c, "conv_algo", 1, o->dump_after, o->dump);
    }
    if (pass_on(o, "fuse_conv_pool")) {
        fuse_conv_pool(c->ir);
        after(c, "fuse_conv_pool", 1, o->dump_after, o->dump);
    }

    /* Everything is planned; inference-only code plans only what the
     * output needs, and its parameters are constants outside the arena. */
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

void compile_free(Compilation *c)
{
    arena_free(&c->arena);
    memset(c, 0, sizeof *c);
}
