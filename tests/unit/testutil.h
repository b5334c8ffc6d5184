/*
 * testutil.h: helpers shared by the front end's check unit tests.
 *
 * One test binary, one file per phase: test_lex_parse.c, test_sema.c,
 * test_shape.c, test_diag.c, and test_front.c, which holds main(), these
 * helpers and the IR and golden-file tests.  Every test compiles its own
 * source text in its own Compilation (no globals in the compiler), captures
 * the diagnostics as text and asserts on the AST, the IR or that text.
 *
 * Paths (examples/, tests/cases/) are relative to the repository root: the
 * tests run from there, or from $NNC_ROOT when it is set.  The golden
 * files are tests/cases/fashion_mlp.front.ir and fashion_resmlp.front.ir
 * (`nnc MODEL --check --emit ir`: the IR after shape inference; NAME.ir
 * without ".front" is tests/run_examples.sh's IR after autodiff) and
 * tests/cases/fashion_lenet.shapes (`nnc MODEL --emit shapes`).  With
 * NNC_GOLDEN_UPDATE=1 those tests rewrite their files instead of comparing
 * (review the diff before committing it).
 */
#ifndef NNC_TESTUTIL_H
#define NNC_TESTUTIL_H

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "ast.h"
#include "compile.h"
#include "diag.h"
#include "ir.h"
#include "ops.h"
#include "sema.h"

/* One compilation of one source text, with its diagnostics as text. */
typedef struct TestCompile {
    Compilation c;
    char *src;      /* the source (malloc'ed; outlives the compilation) */
    char *diags;    /* what diag_flush printed (malloc'ed), "" if nothing */
    int rc;         /* compile_front: 0 ok, 1 errors; parse/sema: errors */
} TestCompile;

/* The whole front end (compile_front) on src, file name "t.nn". */
int tc_compile(TestCompile *t, const char *src);

/* The same on a printf-formatted source. */
int tc_compilef(TestCompile *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Only parse_module; t->c.module is the tree or NULL.  Returns errors. */
int tc_parse(TestCompile *t, const char *src);

/* parse_module then sema_check (no lowering).  Returns errors. */
int tc_sema(TestCompile *t, const char *src);

void tc_free(TestCompile *t);

/* The last non-parameter IR node whose name is name, or NULL. */
const IrNode *tc_node(const TestCompile *t, const char *name);

/* The OP_PARAM node with state_dict name param, or NULL. */
const IrNode *tc_param(const TestCompile *t, const char *param);

/* Id of the first IR node with op, or -1. */
int tc_find_op(const TestCompile *t, Op op);

/* "[8, 30, 30]" (arena string); "i64[]" for int64; "<error>"/"<none>". */
const char *tc_shape(TestCompile *t, const IrNode *n);

/* Every parameter name in IR order, separated by single spaces. */
const char *tc_params(TestCompile *t);

/* Sum of parameter elements over all layers (trainable ones only, or all). */
int64_t tc_param_count(const TestCompile *t, int trainable_only);

/*
 * The shape of `out` in
 *     model m { DECLS  output out = EXPR }
 * or "error: MESSAGE" (the first error's first line after "error: ") when
 * the model does not compile, so a failing assertion shows the reason.
 */
const char *shape_of(TestCompile *t, const char *decls, const char *expr);

/* The first error message of t->diags (without file:line:col), or "". */
const char *tc_first_error(TestCompile *t);

/* Number of occurrences of needle in hay. */
int count_str(const char *hay, const char *needle);

/* The text of a span of t->src (arena string). */
const char *tc_text(TestCompile *t, Span sp);

/* Read a file relative to the repository root; NULL if missing. */
char *tu_read(const char *rel, size_t *len);

/* Compare actual with the golden file rel (or rewrite it, see above). */
void tu_golden(const char *rel, const char *actual);

/* Run an IR dump into a malloc'ed string. */
char *tu_dump_ir(const Ir *ir, const char *after);
char *tu_dump_shapes(const Ir *ir);

/* hay contains needle; on failure shows both. */
#define ck_assert_has(hay, needle)                                            \
    ck_assert_msg(strstr((hay), (needle)) != NULL,                            \
                  "expected to find \"%s\" in:\n%s", (needle), (hay))
#define ck_assert_lacks(hay, needle)                                          \
    ck_assert_msg(strstr((hay), (needle)) == NULL,                            \
                  "did not expect \"%s\" in:\n%s", (needle), (hay))

/* The suites, one per phase. */
Suite *lex_parse_suite(void);
Suite *sema_suite(void);
Suite *shape_suite(void);
Suite *diag_suite(void);
Suite *ir_suite(void);

#endif
