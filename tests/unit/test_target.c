/*
 * test_target.c: unit tests of the target description (compiler/target/target.c,
 * nnc --target):
 *
 *   - selection: every name of the table is found, the host is the
 *     default and the first row, an unknown name is not found, the list
 *     for errors and --help names every row;
 *   - the rows' facts the back end reads: lanes, FMA, dispatch, pack,
 *     filter block, --exe's -march;
 *   - target_prune(), the partial preprocessor: decided branches lose
 *     their directives or their text, undecided ones stay as written,
 *     #elif chains are rewritten, continued lines are one line;
 *   - a model compiled for each target: the conv_algo choice and the
 *     memory the kernels declare follow the target (no pack, filters not
 *     padded to 16 on Cortex-M and generic; the host as before).
 *
 * CK_FORK=no build/test_target
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "memplan.h"
#include "target.h"

/* ---- selection --------------------------------------------------------------- */

START_TEST(test_every_name_found)
{
    static const char *const names[] = {"host",      "x86-64",    "x86-64-v3", "x86-64-v4", "aarch64",
                                        "cortex-m0", "cortex-m4", "cortex-m7", "generic"};
    ck_assert_int_eq(target_count, (int)(sizeof names / sizeof names[0]));
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const Target *t = target_find(names[i]);
        ck_assert_msg(t != NULL, "no target %s", names[i]);
        ck_assert_str_eq(t->name, names[i]);
        ck_assert_ptr_eq(t, &target_table[i]); /* --help's order */
        ck_assert_msg(strstr(target_names(), names[i]) != NULL, "target_names() lacks %s", names[i]);
    }
    ck_assert_str_eq(target_names(), "host, x86-64, x86-64-v3, x86-64-v4, aarch64, cortex-m0, cortex-m4, "
                                     "cortex-m7, generic");
}
END_TEST

START_TEST(test_unknown_and_default)
{
    ck_assert_ptr_null(target_find("cortex-m33"));
    ck_assert_ptr_null(target_find(""));
    ck_assert_ptr_null(target_find("Host"));
    ck_assert_ptr_null(target_find("x86-64-v"));
    ck_assert_str_eq(target_host()->name, "host");
    ck_assert_ptr_eq(target_or_host(NULL), target_host());
    const Target *g = target_find("generic");
    ck_assert_ptr_eq(target_or_host(g), g);
}
END_TEST

START_TEST(test_rows)
{
    const Target *h = target_find("host");
    ck_assert_int_eq(h->lanes, TARGET_LANES_BUILD);
    ck_assert_int_eq(h->dispatch, 1);
    ck_assert_int_eq(h->gemm_packs, 1);
    ck_assert_int_eq(h->filter_block, 16);
    ck_assert_int_eq(h->tile_m * 100 + h->tile_n, 632); /* today's 6 x 32 */
    ck_assert_str_eq(h->march, "native");
    static const struct {
        const char *name;
        int lanes, fma;
        const char *march;
    } want[] = {{"x86-64", 4, 0, "x86-64"},   {"x86-64-v3", 8, 1, "x86-64-v3"}, {"x86-64-v4", 16, 1, "x86-64-v4"},
                {"aarch64", 4, 1, NULL},      {"cortex-m0", 0, 0, NULL},         {"cortex-m4", 0, 1, NULL},
                {"cortex-m7", 0, 1, NULL},    {"generic", 0, 0, NULL}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const Target *t = target_find(want[i].name);
        ck_assert_msg(t->lanes == want[i].lanes, "%s: %d lanes", t->name, t->lanes);
        ck_assert_msg(t->fma == want[i].fma, "%s: fma %d", t->name, t->fma);
        ck_assert_msg(t->dispatch == 0, "%s dispatches", t->name);
        if (want[i].march)
            ck_assert_str_eq(t->march, want[i].march);
        else
            ck_assert_ptr_null(t->march);
        /* no vectors: no pack, filters in the plain loops' blocks */
        ck_assert_int_eq(t->gemm_packs, t->lanes > 0);
        ck_assert_int_eq(t->filter_block, t->lanes > 0 ? 16 : 8);
        /* every target prices conv_algo's choices as the host does today */
        ck_assert_int_eq(t->price_block, 16);
        ck_assert_int_eq(t->tile_m, 6);
        ck_assert_int_eq(t->guard[0] != '\0', t->lanes > 0);
    }
}
END_TEST

START_TEST(test_pack_and_filters)
{
    const Target *h = target_host(), *m4 = target_find("cortex-m4");
    /* a dense GEMM over W^T (sbn != 1) packs on the host, never on a Cortex-M */
    ck_assert_int_eq(target_gemm_pack_floats(h, 1, 10, 784, 0, 0), 256 * 32);
    ck_assert_int_eq(target_gemm_pack_floats(h, 2, 10, 100, 0, 0), 256 * 32 + 100 * 32);
    ck_assert_int_eq(target_gemm_pack_floats(NULL, 1, 10, 784, 0, 0), 256 * 32);
    ck_assert_int_eq(target_gemm_pack_floats(h, 1, 64, 784, 1, 0), 0);
    ck_assert_int_eq(target_gemm_pack_floats(m4, 1, 10, 784, 0, 0), 0);
    ck_assert_int_eq(target_gemm_pack_floats(target_find("generic"), 4, 10, 784, 0, 0), 0);
    ck_assert_int_eq(target_gemm_pack_floats(target_find("aarch64"), 1, 10, 784, 0, 0), 256 * 32);
    ck_assert_int_eq(target_filters(h, 6), 16);
    ck_assert_int_eq(target_filters(h, 16), 16);
    ck_assert_int_eq(target_filters(h, 17), 32);
    ck_assert_int_eq(target_filters(m4, 6), 8);
    ck_assert_int_eq(target_filters(m4, 16), 16);
    ck_assert_int_eq(target_filters(m4, 20), 24);
}
END_TEST

/* ---- target_prune ---------------------------------------------------------- */

/* in pruned for target name (malloc'ed). */
static char *prune(const char *name, const char *in)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    fputs(in, f);
    rewind(f);
    char *out = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&out, &len);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(target_prune(target_find(name), f, o), 0);
    fclose(o);
    fclose(f);
    return out;
}

static void expect(const char *target, const char *in, const char *want)
{
    char *got = prune(target, in);
    ck_assert_msg(strcmp(got, want) == 0, "--target %s:\n%s\nbecame:\n%s\nnot:\n%s", target, in, got, want);
    free(got);
}

START_TEST(test_prune_vector_or_not)
{
    const char *src = "a\n#ifdef NNC_VECTOR\nv\n#else\np\n#endif\nb\n";
    expect("cortex-m4", src, "a\np\nb\n");
    expect("generic", src, "a\np\nb\n");
    /* a vector target still has the plain loops: undecided, as written */
    expect("x86-64-v3", src, src);
    expect("aarch64", src, src);
    /* the width is decided inside the vector branch (and where undefined) */
    const char *w = "#ifdef NNC_VECTOR\n#if NNC_LANES == 16\nx16\n#elif NNC_LANES == 8\nx8\n#else\nx4\n#endif\n#endif\n";
    expect("x86-64-v3", w, "#ifdef NNC_VECTOR\nx8\n#endif\n");
    expect("x86-64-v4", w, "#ifdef NNC_VECTOR\nx16\n#endif\n");
    expect("aarch64", w, "#ifdef NNC_VECTOR\nx4\n#endif\n");
    expect("cortex-m0", w, "");
    expect("x86-64", "#if defined(NNC_VECTOR) && NNC_LANES >= 8\ne\n#endif\n", "");
    expect("x86-64-v3", "    #if GEMM_LANES == 16\n    a\n    #elif GEMM_LANES == 8\n    b\n    #endif\n", "    b\n");
}
END_TEST

START_TEST(test_prune_absent_and_unknown)
{
    /* an unknown condition stays; a later decided one becomes #else */
    expect("x86-64-v3", "#if defined(FOO)\nf\n#elif defined(__AVX512F__)\ng\n#else\nh\n#endif\n",
           "#if defined(FOO)\nf\n#else\nh\n#endif\n");
    expect("x86-64-v3", "#if defined(FOO)\nf\n#elif !defined(__AVX512F__)\ng\n#else\nh\n#endif\n",
           "#if defined(FOO)\nf\n#else\ng\n#endif\n");
    /* every branch before it gone: the #elif opens the group */
    expect("x86-64-v3", "  # if defined(__AVX512F__)\na\n  # elif defined(FOO)\nb\n  # endif\n",
           "  # if defined(FOO)\nb\n  # endif\n");
    /* && and || with one side unknown */
    expect("cortex-m4", "#if defined(__AVX__) && defined(FOO)\na\n#endif\n", "");
    expect("cortex-m4", "#if defined(__AVX__) || defined(FOO)\na\n#endif\n",
           "#if defined(__AVX__) || defined(FOO)\na\n#endif\n");
    expect("cortex-m4", "#if !defined(NNC_DISPATCH) || defined(FOO)\na\n#endif\n", "a\n");
    /* the host prunes nothing of the vector branches (nothing is known) */
    expect("host", "#ifdef NNC_VECTOR\nv\n#else\np\n#endif\n", "#ifdef NNC_VECTOR\nv\n#else\np\n#endif\n");
    /* what it cannot read it keeps */
    expect("generic", "#if FOO(1) && defined(NNC_VECTOR)\na\n#endif\n", "#if FOO(1) && defined(NNC_VECTOR)\na\n#endif\n");
    expect("generic", "#if __GNUC__ >= 6 /* GCC 6 */\na\n#endif\n", "#if __GNUC__ >= 6 /* GCC 6 */\na\n#endif\n");
}
END_TEST

START_TEST(test_prune_lines)
{
    /* a continued directive is one line, a continued #define is kept whole */
    expect("generic", "#if defined(NNC_DISPATCH) && \\\n    defined(X)\nd\n#endif\ne\n", "e\n");
    expect("generic", "#define M(x) \\\n#ifdef NNC_VECTOR \\\n    x\nz\n", "#define M(x) \\\n#ifdef NNC_VECTOR \\\n    x\nz\n");
    /* nested in a dropped group: dropped whatever it says */
    expect("generic", "#ifdef NNC_VECTOR\n#if FOO\nq\n#else\nr\n#endif\n#endif\ns\n", "s\n");
    /* nested in an undecided one: decided as usual */
    expect("generic", "#ifdef FOO\n#ifndef NNC_VECTOR\nq\n#endif\n#endif\n", "#ifdef FOO\nq\n#endif\n");
    /* text without directives, and a last line without a newline */
    expect("generic", "int x;\n/* #if in a comment is text */\nlast", "int x;\n/* #if in a comment is text */\nlast");
}
END_TEST

START_TEST(test_prune_comments)
{
    /* a comment right before a group goes with it when the group is empty */
    expect("generic", "/* about v */\n#ifdef NNC_VECTOR\nv\n#endif\nx\n", "x\n");
    expect("generic", "/* a\n * b */\n#ifdef NNC_VECTOR\nv\n#endif\n", "");
    expect("generic", "    /* in a function */\n    #if GEMM_LANES == 16\n    a\n    #endif\n", "");
    /* and stays when it writes anything */
    expect("generic", "/* about p */\n#ifndef NNC_VECTOR\np\n#endif\n", "/* about p */\np\n");
    expect("generic", "/* f */\n#ifdef FOO\nq\n#endif\n", "/* f */\n#ifdef FOO\nq\n#endif\n");
    expect("generic", "/* g */\n#ifdef NNC_VECTOR\nv\n#elif defined(FOO)\nw\n#endif\n", "/* g */\n#if defined(FOO)\nw\n#endif\n");
    /* code after the comment, a blank line or another directive: kept */
    expect("generic", "/* c */ int a;\n#ifdef NNC_VECTOR\nv\n#endif\n", "/* c */ int a;\n");
    expect("generic", "/* e */\n\n#ifdef NNC_VECTOR\nv\n#endif\n", "/* e */\n\n");
    expect("generic", "/* d */\n#define X 1\n#ifdef NNC_VECTOR\nv\n#endif\n", "/* d */\n#define X 1\n");
    expect("generic", "#ifdef FOO\n/* h */\n#endif\n", "#ifdef FOO\n/* h */\n#endif\n");
    expect("generic", "#ifndef NNC_VECTOR\n/* i */\n#endif\nj\n", "/* i */\nj\n");
    expect("generic", "/* k */\n/* l */\n#ifdef NNC_VECTOR\nv\n#endif\n", "/* k */\n");
}
END_TEST

/* ---- a model for each target ------------------------------------------------- */

/* A small LeNet-like model: conv2d with 6 and 20 filters, pooling, dense. */
static const char lenet[] = "model m {\n"
                            "    input x : f32[1, 12, 12]\n"
                            "    target y : class[10]\n"
                            "    out = x -> conv2d(6, kernel = 3, padding = 1) -> relu -> maxpool(2)\n"
                            "            -> conv2d(20, kernel = 3, padding = 1) -> relu\n"
                            "            -> flatten -> dense(10)\n"
                            "    loss cross_entropy(out, y)\n"
                            "    optimizer sgd(lr = 0.1)\n"
                            "    train { batch = 16, epochs = 1 }\n"
                            "}\n";

typedef struct {
    int packs;      /* KM_PACK regions declared */
    int64_t wt_oc;  /* floats of CONV_DIRECT_OC's transposed weights (0: none) */
    int64_t total;  /* the arena's floats */
} Plan;

static Plan plan_for(const char *target, int max_batch)
{
    Compilation c;
    size_t n = strlen(lenet);
    int rc = compile_front(&c, "t.nn", lenet, (uint32_t)n, NULL, NULL);
    BackOptions o;
    memset(&o, 0, sizeof o);
    o.opt_level = 2;
    o.max_batch = max_batch;
    o.threads = 1;
    o.target = target_find(target);
    if (rc == 0)
        rc = compile_back(&c, &o);
    if (rc != 0)
        diag_flush(&c.diag, stderr);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_eq(c.ir->target, o.target);
    Plan p = {0, 0, c.plan->total};
    for (int i = 0; i < c.plan->nregions; i++) {
        const MemRegion *r = &c.plan->regions[i];
        const IrNode *nd = &c.ir->nodes[r->node];
        p.packs += r->decl.kind == KM_PACK;
        if (strcmp(r->decl.name, "wt") == 0 && nd->op == OP_CONV2D && (nd->conv_algo & CONV_DIRECT_OC))
            p.wt_oc += r->decl.bytes / 4;
    }
    compile_free(&c);
    return p;
}

START_TEST(test_model_per_target)
{
    Plan host = plan_for("host", 16), m4 = plan_for("cortex-m4", 16), gen = plan_for("generic", 16);
    Plan v4 = plan_for("x86-64-v4", 16);
    /* the host packs (the training GEMMs), the plain loops never do */
    ck_assert_int_gt(host.packs, 0);
    ck_assert_int_eq(m4.packs, 0);
    ck_assert_int_eq(gen.packs, 0);
    ck_assert_int_gt(v4.packs, 0);
    /* the 20-filter layer is direct over the output channels: 32 padded
     * filters per tap on the host, 24 on Cortex-M (9 taps of 6 channels) */
    ck_assert_int_eq(host.wt_oc, 54 * 32);
    ck_assert_int_eq(m4.wt_oc, 54 * 24);
    ck_assert_int_le(m4.total, host.total);
    ck_assert_int_eq(m4.total, gen.total);
}
END_TEST

static Suite *target_suite(void)
{
    Suite *s = suite_create("target");
    TCase *t = tcase_create("select");
    tcase_add_test(t, test_every_name_found);
    tcase_add_test(t, test_unknown_and_default);
    tcase_add_test(t, test_rows);
    tcase_add_test(t, test_pack_and_filters);
    suite_add_tcase(s, t);
    t = tcase_create("prune");
    tcase_add_test(t, test_prune_vector_or_not);
    tcase_add_test(t, test_prune_absent_and_unknown);
    tcase_add_test(t, test_prune_lines);
    tcase_add_test(t, test_prune_comments);
    suite_add_tcase(s, t);
    t = tcase_create("model");
    tcase_add_test(t, test_model_per_target);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(target_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
