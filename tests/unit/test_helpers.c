/*
 * test_helpers.c: unit tests of the helper C the generated code carries
 * (compiler/emit/helpers/gemm.c, dotsum.c), compiled on their own in each
 * configuration of the generated code (helpers_cfg.c, built once per
 * configuration by the Makefile: the plain loops with and without FMA, 4
 * lanes, 8 lanes with and without FMA, 16 lanes; a configuration the CPU
 * cannot run is skipped, and says so):
 *
 *   - the GEMM against a naive double-precision loop: every layout of A
 *     and B (row-major, transposed, B's rows at offsets: boff), the modes
 *     (from 0, a bias per row or per column, GEMM_ACC accumulating into C,
 *     GEMM_K8's eight lanes), odd sizes and sizes around the 6-row tile,
 *     the panels (GEMM_NR: 8, 16, 32) and the K block (GEMM_KC), 1 to 3
 *     threads; C's other cells untouched, the pack used within what
 *     target_gemm_pack_floats() sizes (what kmem declares), each thread
 *     within its GEMM_PACK_KC x 32 slice;
 *   - gemm_dot8() against the GEMM with GEMM_K8 (the same order);
 *   - dotsum() against a naive double loop, first and accumulating;
 *   - the order of every sum is the configuration's own business only
 *     through FMA: builds that fuse give the same bits, and so do builds
 *     that do not (the claim of compiler/emit/gemm.c and kernels_conv.c);
 *   - the helper's GEMM_KC is the compiler's GEMM_PACK_KC, and the text
 *     the compiler embeds (build/helpers/gemm.inc) says so;
 *   - scripts/embed_c.c: a section's bytes as a C string, the constants
 *     it exports, and its errors (run from $(B)/, beside this test).
 *
 * Tolerance.  Every output is init plus K products summed in some order
 * of float additions (chains, blocks of GEMM_KC, trees of lanes), each
 * product rounded at most once; whatever the order, the error is at most
 * gamma(K + 1) (|init| + sum |a b|), gamma(n) = n u / (1 - n u), u = 2^-24
 * (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed.,
 * section 4.2 and (3.4)).  A wrong index or a lost term is off by about
 * one product, which for these values is far above that bound.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers_cfg.h"
#include "target.h"

#include "helpers/gemm.inc" /* the tables gemm_emit() prints */

typedef long GemmFn(int threads, int M, int N, int K, const float *A, long sam, long sak, const float *B, long sbk,
                    long sbn, float *C, long ldc, int acc, const float *bias_m, const float *bias_n, float *pack,
                    const int *boff, long np, long slice);
typedef void DotsumFn(int M, int N, int K, int ns, const float *A, long sa, long lda, const float *B, long sb,
                      const int *boff, float *part, int first);

typedef struct Config {
    const char *name, *feature;
    void (*info)(HelperInfo *);
    GemmFn *gemm;
    float (*dot8)(const float *, const float *, int, float);
    DotsumFn *dotsum;
} Config;

#define HELPER_ROW(name, feature)                                                                             \
    {#name, feature, cfg_##name##_info, cfg_##name##_gemm, cfg_##name##_dot8, cfg_##name##_dotsum},
static const Config configs[] = {HELPER_CONFIGS(HELPER_ROW)};
#define NCONFIGS ((int)(sizeof configs / sizeof configs[0]))

/* The machine can run configuration c (its feature, when it has one). */
static int runs(const Config *c)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (strcmp(c->feature, "avx") == 0)
        return __builtin_cpu_supports("avx");
    if (strcmp(c->feature, "fma") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (strcmp(c->feature, "avx512f") == 0)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
#endif
    return c->feature[0] == '\0';
}

static uint32_t rng_state = 12345;

/* A float in [-1, 1) from a fixed sequence (the same data every run). */
static float rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static float *floats(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = rnd();
    return p;
}

static double gamma_n(int n)
{
    double u = ldexp(1.0, -24);
    return n * u / (1 - n * u);
}

/* One GEMM call's operands, laid out as one of the generated code's calls. */
typedef struct Case {
    int M, N, K, layout, acc, init, threads;
    long sam, sak, sbk, sbn, ldc;
    float *A, *B, *C0, *bias_m, *bias_n;
    int *boff;
} Case;

enum { L_NN, L_TN, L_NT, L_TT, L_BOFF, L_COUNT };
enum { I_ZERO, I_BIAS_M, I_BIAS_N, I_COUNT };
static const char *const layout_names[] = {"A B", "A^T B", "A B^T", "A^T B^T", "A, B's rows at boff"};
static const char *const init_names[] = {"0", "bias_m", "bias_n"};

#define PAD 40 /* past B's last row with boff: the GEMM may read GEMM_NR (<= 32) scalars past column N */
#define LDC_PAD 3

static void case_make(Case *c, int M, int N, int K, int layout, int acc, int init, int threads)
{
    memset(c, 0, sizeof *c);
    c->M = M, c->N = N, c->K = K, c->layout = layout, c->acc = acc, c->init = init, c->threads = threads;
    int at = layout == L_TN || layout == L_TT, bt = layout == L_NT || layout == L_TT;
    /* leading dimensions a little larger than needed: strides are not sizes */
    c->sam = at ? 1 : K + 1;
    c->sak = at ? M + 2 : 1;
    c->A = floats((size_t)(at ? (long)K * c->sak : (long)M * c->sam));
    if (layout == L_BOFF) {
        /* rows of B anywhere (the windows of a padded plane), each with
         * room for a panel past column N */
        c->boff = malloc((size_t)K * sizeof *c->boff);
        ck_assert_ptr_nonnull(c->boff);
        long end = 0;
        for (int k = 0; k < K; k++) {
            c->boff[k] = (int)((k * 7919L) % (K + 5)) * (N + 3) + k % 3;
            if (c->boff[k] + N + PAD > end)
                end = c->boff[k] + N + PAD;
        }
        c->B = floats((size_t)end);
        c->sbk = 0, c->sbn = 1;
    } else {
        c->sbk = bt ? 1 : N + 2;
        c->sbn = bt ? K + 3 : 1;
        c->B = floats((size_t)(bt ? (long)N * c->sbn : (long)K * c->sbk));
    }
    c->ldc = N + LDC_PAD;
    c->C0 = floats((size_t)(M * c->ldc));
    c->bias_m = init == I_BIAS_M ? floats((size_t)M) : NULL;
    c->bias_n = init == I_BIAS_N ? floats((size_t)N) : NULL;
}

static void case_free(Case *c)
{
    free(c->A), free(c->B), free(c->C0), free(c->bias_m), free(c->bias_n), free(c->boff);
}

static double a_at(const Case *c, int m, int k)
{
    return c->A[m * c->sam + k * c->sak];
}

static double b_at(const Case *c, int k, int n)
{
    return c->B[(c->boff ? c->boff[k] : k * c->sbk) + n * c->sbn];
}

/* Run case c on configuration g; C (M x ldc, from C0) gets the result.
 * The pack is exactly what the compiler reserves for the call
 * (target_gemm_pack_floats(), the host target: these are its vector
 * builds), followed by a guard that must stay untouched; with slices,
 * each thread must write only its own slice of it. */
static void case_run(const Case *c, const Config *g, float *C, int slices)
{
    memcpy(C, c->C0, (size_t)(c->M * c->ldc) * sizeof *C);
    int64_t np = target_gemm_pack_floats(NULL, c->threads, c->N, c->K, c->sbn == 1, c->boff != NULL);
    enum { GUARD = 64 };
    float *pack = NULL;
    if (np > 0) {
        pack = malloc((size_t)(np + GUARD) * sizeof *pack);
        ck_assert_ptr_nonnull(pack);
        for (int i = 0; i < GUARD; i++)
            pack[np + i] = 12345.0f;
    }
    long stray = g->gemm(c->threads, c->M, c->N, c->K, c->A, c->sam, c->sak, c->B, c->sbk, c->sbn, C, c->ldc,
                         c->acc, c->bias_m, c->bias_n, pack, c->boff, (long)np,
                         slices ? (long)GEMM_PACK_KC * 32 : 0);
    ck_assert_msg(stray == 0, "%s: %dx%dx%d, %d threads: %ld pack floats written outside the thread's %d x 32",
                  g->name, c->M, c->N, c->K, c->threads, stray, GEMM_PACK_KC);
    for (int i = 0; i < GUARD && pack; i++)
        ck_assert_msg(pack[np + i] == 12345.0f, "%s: %dx%dx%d, %d threads: the pack written past its %lld floats",
                      g->name, c->M, c->N, c->K, c->threads, (long long)np);
    free(pack);
}

/* The case, for a failure's message. */
static const char *case_name(const Case *c, char *buf, size_t n)
{
    snprintf(buf, n, "M %d N %d K %d, %s, init %s%s%s, %d thread%s", c->M, c->N, c->K, layout_names[c->layout],
             init_names[c->init], c->acc & 1 ? ", GEMM_ACC" : "", c->acc & 2 ? ", GEMM_K8" : "", c->threads,
             c->threads > 1 ? "s" : "");
    return buf;
}

/* C against the naive double loop, within the bound of this file's
 * comment; C's cells past column N untouched. */
static void case_check(const Case *c, const Config *g, const float *C)
{
    char buf[160];
    for (int m = 0; m < c->M; m++) {
        for (int n = 0; n < c->N; n++) {
            double init = c->acc & 1 ? c->C0[m * c->ldc + n]
                          : c->bias_m  ? c->bias_m[m]
                          : c->bias_n  ? c->bias_n[n]
                                       : 0.0;
            double s = init, mag = fabs(init);
            for (int k = 0; k < c->K; k++) {
                double p = a_at(c, m, k) * b_at(c, k, n);
                s += p;
                mag += fabs(p);
            }
            double got = C[m * c->ldc + n], tol = gamma_n(c->K + 1) * mag;
            ck_assert_msg(fabs(got - s) <= tol, "%s: %s: C[%d, %d] = %.9g, exactly %.9g (tolerance %.3g)", g->name,
                          case_name(c, buf, sizeof buf), m, n, got, s, tol);
        }
        for (int n = c->N; n < c->ldc; n++)
            ck_assert_msg(C[m * c->ldc + n] == c->C0[m * c->ldc + n], "%s: %s: C[%d, %d] past column N written",
                          g->name, case_name(c, buf, sizeof buf), m, n);
    }
}

/* Sizes around the 6-row tile, the panels of 8, 16 and 32 columns (4
 * lanes: 8; 8: 16; 16: 32) and the plain loops' 2 x 4 blocks, and K
 * around GEMM_KC (256) and its multiples, with odd ones between. */
static const int Ms[] = {1, 2, 5, 6, 7, 13};
static const int Ns[] = {1, 3, 4, 8, 9, 16, 17, 31, 32, 33, 65};
static const int Ks[] = {1, 7, 8, 9, 16, 255, 256, 257, 520};
#define COUNT(a) ((int)(sizeof a / sizeof a[0]))

/* Every size in every layout; the mode (flags, init) and the threads
 * turn with the size, so that every mode meets every layout many times. */
START_TEST(test_gemm_against_naive)
{
    const Config *g = &configs[_i];
    if (!runs(g)) {
        printf("test_helpers: %s skipped (this CPU lacks %s)\n", g->name, g->feature);
        return;
    }
    HelperInfo h;
    g->info(&h);
    int i = 0, cases = 0;
    for (int a = 0; a < COUNT(Ms); a++)
        for (int b = 0; b < COUNT(Ns); b++)
            for (int k = 0; k < COUNT(Ks); k++, i++)
                for (int layout = 0; layout < L_COUNT; layout++) {
                    int mode = i + layout;
                    Case c;
                    case_make(&c, Ms[a], Ns[b], Ks[k], layout, mode % 4 == 0 ? 0 : mode % 4 == 1 ? h.acc
                                                                   : mode % 4 == 2 ? h.k8 : h.acc | h.k8,
                              mode / 4 % I_COUNT, 1 + mode % 3);
                    float *C = malloc((size_t)(c.M * c.ldc) * sizeof *C);
                    ck_assert_ptr_nonnull(C);
                    case_run(&c, g, C, 1);
                    case_check(&c, g, C);
                    free(C);
                    case_free(&c);
                    cases++;
                }
    ck_assert_int_eq(cases, COUNT(Ms) * COUNT(Ns) * COUNT(Ks) * L_COUNT);
}
END_TEST

/* Builds that fuse multiply-adds give the same bits, and so do builds
 * that do not: the order of each sum does not depend on the lanes, the
 * panel or the thread.  Each configuration against the first the machine
 * runs with the same FMA. */
START_TEST(test_gemm_same_bits)
{
    int i = 0;
    for (int a = 0; a < COUNT(Ms); a++)
        for (int b = 0; b < COUNT(Ns); b++)
            for (int k = 0; k < COUNT(Ks); k += 2, i++)
                for (int layout = 0; layout < L_COUNT; layout++) {
                    int mode = i + layout;
                    Case c;
                    HelperInfo h;
                    configs[0].info(&h);
                    case_make(&c, Ms[a], Ns[b], Ks[k], layout, mode % 4 == 0 ? 0 : mode % 4 == 1 ? h.acc
                                                                   : mode % 4 == 2 ? h.k8 : h.acc | h.k8,
                              mode / 4 % I_COUNT, 1 + mode % 3);
                    size_t n = (size_t)(c.M * c.ldc);
                    float *C = malloc(n * sizeof *C), *ref[2] = {NULL, NULL};
                    const char *ref_name[2] = {NULL, NULL};
                    ck_assert_ptr_nonnull(C);
                    for (int q = 0; q < NCONFIGS; q++) {
                        if (!runs(&configs[q]))
                            continue;
                        configs[q].info(&h);
                        c.threads = 1 + (mode + q) % 3; /* the threads must not matter either */
                        case_run(&c, &configs[q], C, 0);
                        if (!ref[h.fma]) {
                            ref[h.fma] = malloc(n * sizeof *C);
                            ck_assert_ptr_nonnull(ref[h.fma]);
                            memcpy(ref[h.fma], C, n * sizeof *C);
                            ref_name[h.fma] = configs[q].name;
                            continue;
                        }
                        char buf[160];
                        for (size_t e = 0; e < n; e++)
                            ck_assert_msg(memcmp(&C[e], &ref[h.fma][e], sizeof *C) == 0,
                                          "%s: C[%d, %d] = %.9g, %s gives %.9g (%s)", configs[q].name,
                                          (int)(e / c.ldc), (int)(e % c.ldc), C[e], ref_name[h.fma],
                                          ref[h.fma][e], case_name(&c, buf, sizeof buf));
                    }
                    free(ref[0]), free(ref[1]), free(C);
                    case_free(&c);
                }
}
END_TEST

/* gemm_dot8(a, b, n, s) is the GEMM_K8 product of one row and one column
 * with s for its bias: the same bits (the few-sample dense forward and
 * the GEMM must agree), and within the bound of a sum. */
START_TEST(test_dot8)
{
    const Config *g = &configs[_i];
    HelperInfo h;
    g->info(&h);
    if (!runs(g) || !h.dot8)
        return;
    static const int ns[] = {1, 7, 8, 9, 15, 16, 17, 64, 255, 256, 257, 300, 513, 1000};
    for (int t = 0; t < COUNT(ns); t++) {
        int n = ns[t];
        float *a = floats((size_t)n), *b = floats((size_t)n), s = rnd(), C = 0.0f;
        float got = g->dot8(a, b, n, s);
        float *pack = malloc((size_t)GEMM_PACK_KC * 32 * sizeof *pack); /* one column: packed */
        ck_assert_ptr_nonnull(pack);
        g->gemm(1, 1, 1, n, a, n, 1, b, 1, 1, &C, 1, h.k8, &s, NULL, pack, NULL, 0, 1);
        free(pack);
        ck_assert_msg(memcmp(&got, &C, sizeof got) == 0, "%s: n %d: gemm_dot8 %.9g, the GEMM %.9g", g->name, n, got,
                      C);
        double exact = s, mag = fabs(s);
        for (int i = 0; i < n; i++)
            exact += (double)a[i] * b[i], mag += fabs((double)a[i] * b[i]);
        ck_assert_msg(fabs(got - exact) <= gamma_n(n + 1) * mag, "%s: n %d: %.9g, exactly %.9g", g->name, n, got,
                      exact);
        free(a), free(b);
    }
}
END_TEST

/* dotsum(): part[m, n, l] (+)= sum over samples s and k = l mod 16 of
 * A[s sa + m lda + k] B[s sb + boff[n] + k], against a naive double loop
 * (bound: init plus ns K / 16 products per lane), first and accumulating;
 * and the same bits from every configuration of the same FMA. */
START_TEST(test_dotsum)
{
    static const int Mv[] = {1, 2, 3, 4, 5, 9}, Nv[] = {1, 2, 3, 6, 7, 13}, Kv[] = {16, 32, 48, 144};
    int i = 0;
    for (int a = 0; a < COUNT(Mv); a++)
        for (int b = 0; b < COUNT(Nv); b++)
            for (int k = 0; k < COUNT(Kv); k++, i++) {
                int M = Mv[a], N = Nv[b], K = Kv[k], ns = 1 + i % 3, first = i % 2;
                long lda = K + 16, sa = M * lda + 5, sb = (long)N * (K + 9) + 7;
                float *A = floats((size_t)(ns * sa)), *B = floats((size_t)(ns * sb));
                int *boff = malloc((size_t)N * sizeof *boff);
                ck_assert_ptr_nonnull(boff);
                for (int n = 0; n < N; n++)
                    boff[n] = (int)(((long)(N - 1 - n) * (K + 9) + n % 4) % (sb - K + 1));
                size_t np = (size_t)M * N * 16;
                float *part0 = floats(np), *part = malloc(np * sizeof *part), *ref[2] = {NULL, NULL};
                ck_assert_ptr_nonnull(part);
                for (int q = 0; q < NCONFIGS; q++) {
                    const Config *g = &configs[q];
                    if (!runs(g))
                        continue;
                    HelperInfo h;
                    g->info(&h);
                    memcpy(part, part0, np * sizeof *part);
                    g->dotsum(M, N, K, ns, A, sa, lda, B, sb, boff, part, first);
                    for (int m = 0; m < M; m++)
                        for (int n = 0; n < N; n++)
                            for (int l = 0; l < 16; l++) {
                                double init = first ? 0.0 : part0[(m * N + n) * 16 + l], s = init, mag = fabs(init);
                                for (int smp = 0; smp < ns; smp++)
                                    for (int kk = l; kk < K; kk += 16) {
                                        double p = (double)A[smp * sa + m * lda + kk] * B[smp * sb + boff[n] + kk];
                                        s += p, mag += fabs(p);
                                    }
                                double got = part[(m * N + n) * 16 + l];
                                ck_assert_msg(fabs(got - s) <= gamma_n(ns * K / 16 + 1) * mag,
                                              "%s: M %d N %d K %d ns %d first %d: part[%d, %d, %d] = %.9g, "
                                              "exactly %.9g",
                                              g->name, M, N, K, ns, first, m, n, l, got, s);
                            }
                    if (!ref[h.fma]) {
                        ref[h.fma] = malloc(np * sizeof *part);
                        ck_assert_ptr_nonnull(ref[h.fma]);
                        memcpy(ref[h.fma], part, np * sizeof *part);
                    } else {
                        ck_assert_msg(memcmp(part, ref[h.fma], np * sizeof *part) == 0,
                                      "%s: M %d N %d K %d ns %d: other bits than the first build with FMA %d",
                                      g->name, M, N, K, ns, h.fma);
                    }
                }
                free(A), free(B), free(boff), free(part0), free(part), free(ref[0]), free(ref[1]);
            }
}
END_TEST

/* The K block is written once: the GEMM_KC every build of the helper
 * sees, the compiler's GEMM_PACK_KC (kmem's pack sizes) and the line of
 * the text it embeds agree. */
START_TEST(test_constants_agree)
{
    char line[64];
    snprintf(line, sizeof line, "#define GEMM_KC %d", GEMM_PACK_KC);
    int found = 0;
    for (size_t i = 0; i < sizeof gemm_source / sizeof gemm_source[0]; i++)
        found += strcmp(gemm_source[i], line) == 0;
    ck_assert_msg(found == 1, "gemm_source has %d lines \"%s\"", found, line);
    for (int q = 0; q < NCONFIGS; q++) {
        HelperInfo h;
        configs[q].info(&h);
        ck_assert_msg(h.kc == GEMM_PACK_KC, "%s: GEMM_KC %d, GEMM_PACK_KC %d", configs[q].name, h.kc,
                      GEMM_PACK_KC);
    }
    /* the pack of one thread holds a K block of the widest panel */
    ck_assert_int_eq(target_gemm_pack_floats(NULL, 1, 33, 10000, 1, 0), (int64_t)GEMM_PACK_KC * 32);
    ck_assert_int_eq(target_gemm_pack_floats(NULL, 2, 33, 10000, 1, 0), (int64_t)GEMM_PACK_KC * 32 * 2);
}
END_TEST

/* ---- scripts/embed_c.c ---------------------------------------------------- */

static const char *bin_dir = "build"; /* where make put this test, and embed_c beside it */

/* Run embed_c on a file holding text; its exit status, stderr into err
 * (size n) and, when it succeeds, the .inc and .h into inc and h. */
static int embed(const char *text, char *err, char *inc, char *h, size_t n)
{
    char src[256], out[256], cmd[1200];
    snprintf(src, sizeof src, "%s/embed_test.c", bin_dir);
    FILE *f = fopen(src, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s/embed_c %s %s/embed_test.inc %s/embed_test.h 2>%s/embed_test.err", bin_dir, src,
             bin_dir, bin_dir, bin_dir);
    int rc = system(cmd);
    rc = rc >= 0 && (rc & 0x7f) == 0 ? (rc >> 8) & 0xff : -1;
    const char *ext[3] = {"err", "inc", "h"};
    char *dst[3] = {err, inc, h};
    for (int i = 0; i < 3; i++) {
        snprintf(out, sizeof out, "%s/embed_test.%s", bin_dir, ext[i]);
        f = fopen(out, "r");
        size_t got = f ? fread(dst[i], 1, n - 1, f) : 0;
        dst[i][got] = '\0';
        if (f)
            fclose(f);
        if (!f)
            strcpy(dst[i], "(none)");
        remove(out);
    }
    remove(src);
    return rc;
}

/* The text of a section, byte for byte, as a C string (quotes,
 * backslashes, a trigraph's ??); the constants defined once, not a macro
 * defined twice; the lines outside sections left out. */
START_TEST(test_embed_tables)
{
    char err[512], inc[2048], h[1024];
    int rc = embed("/* outside */\n#include \"prelude.h\"\n/*@ first */\n#define ONE 1\n#define TWICE 2\n"
                   "#define TWICE 3\nconst char *s = \"a\\\\b \\\"q\\\" ?\?=\";\n/*@ end */\nint outside;\n"
                   "  /*@ second */  \n#define BIG 262144L\n\n/*@ end */\n",
                   err, inc, h, sizeof inc);
    ck_assert_msg(rc == 0, "embed_c failed: %s", err);
    ck_assert_msg(strstr(inc, "static const char *const first[] = {\n    \"#define ONE 1\",\n") != NULL, "%s", inc);
    ck_assert_msg(strstr(inc, "    \"const char *s = \\\"a\\\\\\\\b \\\\\\\"q\\\\\\\" ?\\?=\\\";\",\n") != NULL, "%s", inc);
    ck_assert_msg(strstr(inc, "static const char *const second[] = {\n    \"#define BIG 262144L\",\n    \"\",\n};") != NULL,
                  "%s", inc);
    ck_assert_msg(strstr(inc, "outside") == NULL && strstr(inc, "prelude") == NULL, "%s", inc);
    ck_assert_msg(strstr(h, "#define NNC_HELPER_ONE 1\n") && strstr(h, "#define NNC_HELPER_BIG 262144L\n") &&
                      !strstr(h, "TWICE"),
                  "%s", h);
}
END_TEST

/* A malformed helper stops the build with the file, the line and the
 * reason, and leaves no output make would take as made. */
START_TEST(test_embed_errors)
{
    static const struct {
        const char *text, *error;
    } bad[] = {
        {"int x;\n/*@ a */\nint y;\n", "embed_test.c:2: a section without its /*@ end */"},
        {"/*@ end */\n", "embed_test.c:1: /*@ end */ without a section"},
        {"/*@ a */\n/*@ b */\n", "embed_test.c:2: a section opened inside another"},
        {"/*@ a */\n\tint y;\n/*@ end */\n", "embed_test.c:2: a tab or a byte that is not printable ASCII"},
        {"/*@ 9a */\n", "embed_test.c:1: a marker is /*@ NAME */ or /*@ end */"},
        {"/*@ a */ int x;\n", "embed_test.c:1: text after a marker"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[512], inc[512], h[512];
        int rc = embed(bad[i].text, err, inc, h, sizeof err);
        ck_assert_msg(rc == 1, "case %d: exit status %d", (int)i, rc);
        ck_assert_msg(strstr(err, bad[i].error) != NULL, "case %d: \"%s\", expected \"%s\"", (int)i, err,
                      bad[i].error);
        ck_assert_str_eq(inc, "(none)");
        ck_assert_str_eq(h, "(none)");
    }
}
END_TEST

/* Number of lines of the table t (n lines) that contain needle. */
static int lines_with(const char *const *t, size_t n, const char *needle)
{
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += strstr(t[i], needle) != NULL;
    return k;
}
#define LINES_WITH(t, needle) lines_with(t, sizeof t / sizeof t[0], needle)

/* The tile the compiler prices and sizes with (Target.tile_m, tile_n;
 * the pack's 32 columns a thread) is the GEMM's: its rows a step of
 * gemm_panel(), its columns the GEMM_NR of the build of those lanes, the
 * widest (the host's, 16 lanes) the pack's stride between threads. */
START_TEST(test_tiles_agree)
{
    char needle[64];
    for (int t = 0; t < target_count; t++) {
        const Target *tg = &target_table[t];
        snprintf(needle, sizeof needle, "m0 += %d)", tg->tile_m);
        ck_assert_msg(LINES_WITH(gemm_panel_source, needle) == 1, "%s: tile_m %d, gemm_panel() steps otherwise",
                      tg->name, tg->tile_m);
        if (tg->lanes > 0)
            ck_assert_msg(tg->tile_n == 2 * tg->lanes, "%s: tile_n %d for %d lanes", tg->name, tg->tile_n, tg->lanes);
        for (int q = 0; q < NCONFIGS; q++) {
            HelperInfo h;
            configs[q].info(&h);
            /* (the plain-loop targets price as the host: target.c) */
            if (tg->lanes > 0 && h.lanes == tg->lanes)
                ck_assert_msg(h.nr == tg->tile_n, "%s: tile_n %d, %s's GEMM_NR %d", tg->name, tg->tile_n,
                              configs[q].name, h.nr);
        }
    }
    const Target *host = target_host();
    snprintf(needle, sizeof needle, "NNC_THREAD * GEMM_KC * %d", host->tile_n);
    ck_assert_msg(LINES_WITH(gemm_rest_source, needle) == 1, "the threads' packs are not GEMM_KC x %d apart",
                  host->tile_n);
    snprintf(needle, sizeof needle, "nnc_isa == 2 ? %d", host->tile_n);
    ck_assert_msg(LINES_WITH(gemm_source, needle) == 1, "the widest panel is not %d columns", host->tile_n);
    ck_assert_int_eq(target_gemm_pack_floats(host, 1, 33, 10000, 1, 0), (int64_t)GEMM_PACK_KC * host->tile_n);
}
END_TEST

static Suite *helpers_suite(void)
{
    Suite *s = suite_create("helpers");
    TCase *t = tcase_create("gemm");
    tcase_set_timeout(t, 120);
    tcase_add_loop_test(t, test_gemm_against_naive, 0, NCONFIGS);
    tcase_add_test(t, test_gemm_same_bits);
    tcase_add_loop_test(t, test_dot8, 0, NCONFIGS);
    tcase_add_test(t, test_constants_agree);
    tcase_add_test(t, test_tiles_agree);
    suite_add_tcase(s, t);
    t = tcase_create("dotsum");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_dotsum);
    suite_add_tcase(s, t);
    t = tcase_create("embed_c");
    tcase_add_test(t, test_embed_tables);
    tcase_add_test(t, test_embed_errors);
    suite_add_tcase(s, t);
    return s;
}

int main(int argc, char **argv)
{
    /* embed_c is made beside this test ($(B)/) */
    static char dir[1024];
    const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
    if (slash && (size_t)(slash - argv[0]) < sizeof dir) {
        memcpy(dir, argv[0], (size_t)(slash - argv[0]));
        bin_dir = dir;
    } else if (slash == NULL) {
        bin_dir = ".";
    }
    SRunner *sr = srunner_create(helpers_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
