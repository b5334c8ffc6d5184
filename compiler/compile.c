/*
 * compile.c: the pipeline, written out as the list of calls it is.
 *
 *   parse -> sema -> lower -> shape
 *
 * Later phases (autodiff, fusion, memory planning, the C emitter) append to
 * this list.  Sema's errors do not stop lowering: calls it could not check
 * become poisoned nodes, so shape errors elsewhere in the file are still
 * found and reported in the same run.  Syntax errors do stop: a partial
 * tree would only produce noise.
 */
#include "compile.h"

#include <string.h>

#include "lower.h"
#include "sema.h"
#include "shape.h"

const char *const compile_passes[] = {"lower", "shape", NULL};

static void after(Compilation *c, const char *pass, int need_shapes, const char *dump_after, FILE *dump)
{
    ir_verify(c->ir, pass, need_shapes);
    if (dump_after && strcmp(dump_after, pass) == 0)
        ir_dump(c->ir, dump, pass);
}

int compile_front(Compilation *c, const char *path, const char *src, uint32_t len,
                  const char *dump_after, FILE *dump)
{
    memset(c, 0, sizeof *c);
    diag_init(&c->diag, &c->arena, path, src, len);

    c->module = parse_module(&c->arena, &c->diag);
    if (!c->module)
        return 1;
    sema_check(&c->arena, &c->diag, c->module);
    if (diag_full(&c->diag))
        return 1;

    c->ir = lower_module(&c->arena, c->module);
    after(c, "lower", 0, c->diag.nerrors ? NULL : dump_after, dump);

    shape_infer(c->ir, &c->diag);
    if (c->diag.nerrors > 0)
        return 1;
    after(c, "shape", 1, dump_after, dump);
    return 0;
}

void compile_free(Compilation *c)
{
    arena_free(&c->arena);
    memset(c, 0, sizeof *c);
}
