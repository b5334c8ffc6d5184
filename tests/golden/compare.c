/*
 * compare.c: compares a candidate array file with a reference, within a
 * tolerance; the judge of tests/run_golden.sh.
 *
 *   compare [--rtol R] [--atol A] [--quiet] REFERENCE CANDIDATE
 *
 * Both files are .npy (one array) or both are safetensors (every tensor of
 * the reference must be in the candidate, by name, with the same shape and
 * dtype, as PyTorch's state_dict has them: num_batches_tracked is I64;
 * tensors only in the candidate are listed but are not a failure).  The
 * format is recognised from the content, as the runtime does.
 *
 * An element passes when
 *     |a - b| <= atol + rtol * (|b| + rms(b))
 * where b is the reference, a the candidate and rms(b) the root mean square
 * of the whole reference tensor: an element near zero is judged against
 * the tensor's scale, not its own tiny magnitude (a weight that crosses
 * zero during training would otherwise need an absolute tolerance of its
 * own).  atol defaults to 0.  NaN anywhere fails; an infinity must be
 * matched by the same infinity.  Values are compared as double, whatever
 * the stored dtypes (U8 is compared raw, not scaled).
 *
 * For each tensor one line: ok/FAIL, name, shape, the worst element (its
 * index, both values, the difference) and the smallest rtol that would
 * accept the tensor.  Exit status: 0 all pass, 1 some tensor fails, 2 usage
 * or a file that cannot be read.
 *
 *   compare --stats [--sigmas K] FILE.safetensors TENSOR DIST PARAM
 *
 * The stats mode (tests/run_init_stats.sh) checks that one tensor looks
 * like a sample of a distribution, for initialisers that cannot match
 * PyTorch bit for bit.  DIST PARAM is one of
 *   uniform B    U(-B, B): every |x| <= B; min and max within 40/n of -B
 *                and B (the whole range is used); mean 0 and standard
 *                deviation B/sqrt(3), each within K standard errors
 *                (B/sqrt(3n) and B/sqrt(15n))
 *   normal S     N(0, S^2): mean 0 and standard deviation S within K
 *                standard errors (S/sqrt(n), S/sqrt(2n)); excess kurtosis
 *                0 within K sqrt(24/n) (not uniform: that has -1.2); and
 *                for n >= 2000 some |x| > 2.5 S (not truncated at 2 S)
 *   const V      every element equal to V (as float32, so 0.1 works)
 * K defaults to 5.  A zero B or S means const 0.  One line: ok/FAIL, the
 * tensor, its statistics and what was expected.
 */
#include "nnrt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One tensor as the comparison sees it: values widened to double. */
typedef struct Tensor {
    const char *name;
    int rank;
    int64_t dims[NNRT_MAX_RANK];
    int64_t numel;
    double *v;
} Tensor;

typedef struct Opts {
    double rtol, atol;
    int quiet;
} Opts;

/* The element `i` of raw data of `dtype`, as a double. */
static double elem(const void *data, int dtype, int64_t i)
{
    switch (dtype) {
    case NNRT_F32: return ((const float *)data)[i];
    case NNRT_F64: return ((const double *)data)[i];
    case NNRT_U8: return ((const uint8_t *)data)[i];
    case NNRT_I32: return ((const int32_t *)data)[i];
    case NNRT_I64: return (double)((const int64_t *)data)[i];
    }
    return NAN;
}

static const char *dtype_name(int dtype)
{
    switch (dtype) {
    case NNRT_F32: return "F32";
    case NNRT_F64: return "F64";
    case NNRT_U8: return "U8";
    case NNRT_I32: return "I32";
    case NNRT_I64: return "I64";
    }
    return "?";
}

/* Fills t from a raw array; 0 or -1 on out of memory. */
static int widen(Tensor *t, const char *name, int dtype, int rank,
                 const int64_t *dims, const void *data)
{
    int64_t i, n = 1;
    int k;
    t->name = name;
    t->rank = rank;
    for (k = 0; k < NNRT_MAX_RANK; k++)
        t->dims[k] = k < rank ? dims[k] : 0;
    for (k = 0; k < rank; k++)
        n *= dims[k];
    t->numel = n;
    t->v = malloc((size_t)(n ? n : 1) * sizeof *t->v);
    if (!t->v)
        return -1;
    for (i = 0; i < n; i++)
        t->v[i] = elem(data, dtype, i);
    return 0;
}

/* "[2, 3]" into buf. */
static const char *fmt_dims(char *buf, size_t size, int rank,
                            const int64_t *dims)
{
    size_t len = 0;
    int k;
    len += (size_t)snprintf(buf + len, size - len, "[");
    for (k = 0; k < rank && len < size; k++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld",
                                k ? ", " : "", (long long)dims[k]);
    if (len < size)
        snprintf(buf + len, size - len, "]");
    return buf;
}

/* The multi-index of flat element `i` of t, as "[1, 0, 2]". */
static const char *fmt_index(char *buf, size_t size, const Tensor *t,
                             int64_t i)
{
    int64_t idx[NNRT_MAX_RANK];
    int k;
    for (k = t->rank - 1; k >= 0; k--) {
        idx[k] = t->dims[k] ? i % t->dims[k] : 0;
        i = t->dims[k] ? i / t->dims[k] : 0;
    }
    return fmt_dims(buf, size, t->rank, idx);
}

/* Compares candidate a with reference b (same shape already checked);
 * prints the verdict line and returns 1 if it passes, 0 if not. */
static int compare_tensor(const Tensor *a, const Tensor *b, const Opts *o)
{
    double sum = 0, rms, worst = 0, worst_ratio = 0;
    int64_t i, nfinite = 0, worst_i = -1, nbad = 0, nan_i = -1, inf_i = -1;
    char sh[128], ix[128];

    for (i = 0; i < b->numel; i++)
        if (isfinite(b->v[i])) {
            sum += b->v[i] * b->v[i];
            nfinite++;
        }
    rms = nfinite ? sqrt(sum / (double)nfinite) : 0;

    for (i = 0; i < b->numel; i++) {
        double x = a->v[i], y = b->v[i], d, allowed, ratio;
        if (isnan(x) || isnan(y)) {
            if (nan_i < 0)
                nan_i = i;
            nbad++;
            continue;
        }
        if (isinf(x) || isinf(y)) {
            if (x != y) {
                if (inf_i < 0)
                    inf_i = i;
                nbad++;
            }
            continue;
        }
        d = fabs(x - y);
        allowed = o->atol + o->rtol * (fabs(y) + rms);
        if (d > allowed)
            nbad++;
        /* the smallest rtol accepting this element (atol aside) */
        ratio = d == 0 ? 0 : (fabs(y) + rms > 0 ? d / (fabs(y) + rms)
                                                : INFINITY);
        if (worst_i < 0 || ratio > worst_ratio ||
            (ratio == worst_ratio && d > worst)) {
            worst_i = i;
            worst = d;
            worst_ratio = ratio;
        }
    }

    fmt_dims(sh, sizeof sh, b->rank, b->dims);
    if (nan_i >= 0) {
        fmt_index(ix, sizeof ix, b, nan_i);
        printf("FAIL %s %s: NaN at %s (ref %.9g, got %.9g); "
               "%lld of %lld elements bad\n", b->name, sh, ix, b->v[nan_i],
               a->v[nan_i], (long long)nbad, (long long)b->numel);
        return 0;
    }
    if (inf_i >= 0) {
        fmt_index(ix, sizeof ix, b, inf_i);
        printf("FAIL %s %s: infinity at %s (ref %.9g, got %.9g); "
               "%lld of %lld elements bad\n", b->name, sh, ix, b->v[inf_i],
               a->v[inf_i], (long long)nbad, (long long)b->numel);
        return 0;
    }
    if (worst_i < 0) {
        if (!o->quiet || nbad)
            printf("%s %s %s: no finite elements\n", nbad ? "FAIL" : "ok  ",
                   b->name, sh);
        return nbad == 0;
    }
    if (worst == 0) {
        if (!o->quiet)
            printf("ok   %s %s: identical\n", b->name, sh);
        return 1;
    }
    if (!o->quiet || nbad) {
        fmt_index(ix, sizeof ix, b, worst_i);
        printf("%s %s %s: worst at %s ref %.9g got %.9g |diff| %.3g, "
               "rms(ref) %.3g, needs rtol %.3g (rtol %g)", nbad ? "FAIL" : "ok  ",
               b->name, sh, ix, b->v[worst_i], a->v[worst_i], worst, rms,
               worst_ratio, o->rtol);
        if (nbad)
            printf("; %lld of %lld elements outside", (long long)nbad,
                   (long long)b->numel);
        printf("\n");
    }
    return nbad == 0;
}

static int same_shape(const Tensor *a, const Tensor *b)
{
    int k;
    if (a->rank != b->rank)
        return 0;
    for (k = 0; k < a->rank; k++)
        if (a->dims[k] != b->dims[k])
            return 0;
    return 1;
}

/* 1 if the file starts with the .npy magic, 0 if not, -1 if unreadable. */
static int is_npy(const char *path)
{
    unsigned char magic[6];
    size_t got;
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    return got == sizeof magic && memcmp(magic, "\x93NUMPY", 6) == 0;
}

static int compare_npy(const char *ref, const char *cand, const Opts *o)
{
    NnrtArray ra, ca;
    NnrtErr err;
    Tensor rt, ct;
    char s1[128], s2[128];
    int ok;

    if (nnrt_load_array(ref, &ra, &err) < 0) {
        fprintf(stderr, "compare: %s\n", err.msg);
        return 2;
    }
    if (nnrt_load_array(cand, &ca, &err) < 0) {
        fprintf(stderr, "compare: %s\n", err.msg);
        nnrt_array_free(&ra);
        return 2;
    }
    if (widen(&rt, ref, ra.dtype, ra.rank, ra.dims, ra.data) < 0 ||
        widen(&ct, cand, ca.dtype, ca.rank, ca.dims, ca.data) < 0) {
        fprintf(stderr, "compare: out of memory\n");
        exit(2);
    }
    if (!same_shape(&ct, &rt)) {
        printf("FAIL %s: shape %s, the reference %s has %s\n", cand,
               fmt_dims(s1, sizeof s1, ct.rank, ct.dims), ref,
               fmt_dims(s2, sizeof s2, rt.rank, rt.dims));
        ok = 0;
    } else {
        ok = compare_tensor(&ct, &rt, o);
    }
    free(rt.v);
    free(ct.v);
    nnrt_array_free(&ra);
    nnrt_array_free(&ca);
    return ok ? 0 : 1;
}

static int compare_safetensors(const char *ref, const char *cand,
                               const Opts *o)
{
    NnrtSafetensors rs, cs;
    NnrtErr err;
    int i, failed = 0;
    char s1[128], s2[128];

    if (nnrt_st_read(ref, &rs, &err) < 0) {
        fprintf(stderr, "compare: %s\n", err.msg);
        return 2;
    }
    if (nnrt_st_read(cand, &cs, &err) < 0) {
        fprintf(stderr, "compare: %s\n", err.msg);
        nnrt_st_free(&rs);
        return 2;
    }
    for (i = 0; i < rs.ntensors; i++) {
        const NnrtStTensor *r = &rs.tensors[i];
        const NnrtStTensor *c = nnrt_st_find(&cs, r->name);
        Tensor rt, ct;
        if (!c) {
            printf("FAIL %s: missing from %s\n", r->name, cand);
            failed++;
            continue;
        }
        if (widen(&rt, r->name, r->dtype, r->rank, r->dims, r->data) < 0 ||
            widen(&ct, c->name, c->dtype, c->rank, c->dims, c->data) < 0) {
            fprintf(stderr, "compare: out of memory\n");
            exit(2);
        }
        if (!same_shape(&ct, &rt)) {
            printf("FAIL %s: shape %s in %s, %s in the reference\n", r->name,
                   fmt_dims(s1, sizeof s1, ct.rank, ct.dims), cand,
                   fmt_dims(s2, sizeof s2, rt.rank, rt.dims));
            failed++;
        } else if (c->dtype != r->dtype) {
            printf("FAIL %s: dtype %s in %s, %s in the reference\n", r->name,
                   dtype_name(c->dtype), cand, dtype_name(r->dtype));
            failed++;
        } else if (!compare_tensor(&ct, &rt, o)) {
            failed++;
        }
        free(rt.v);
        free(ct.v);
    }
    for (i = 0; i < cs.ntensors; i++)
        if (!nnrt_st_find(&rs, cs.tensors[i].name) && !o->quiet)
            printf("note %s: only in %s\n", cs.tensors[i].name, cand);
    if (!o->quiet || failed)
        printf("%d tensors, %d failed\n", rs.ntensors, failed);
    nnrt_st_free(&rs);
    nnrt_st_free(&cs);
    return failed ? 1 : 0;
}

/* --stats: see the top of the file.  Returns 0 if t fits the
 * distribution, 1 if not. */
static int stats_tensor(const Tensor *t, const char *dist, double param,
                        double k)
{
    double n = (double)t->numel, sum = 0, mean, m2 = 0, m4 = 0, sd, kurt;
    double lo = INFINITY, hi = -INFINITY, amax = 0, se;
    int64_t i;
    char sh[128], why[256] = "";

    fmt_dims(sh, sizeof sh, t->rank, t->dims);
    if (param == 0)
        dist = "const";
    for (i = 0; i < t->numel; i++) {
        double x = t->v[i];
        if (!isfinite(x)) {
            printf("FAIL %s %s: element %lld is %g\n", t->name, sh,
                   (long long)i, x);
            return 1;
        }
        sum += x;
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
        amax = fabs(x) > amax ? fabs(x) : amax;
    }
    if (t->numel == 0) {
        printf("FAIL %s %s: no elements\n", t->name, sh);
        return 1;
    }
    mean = sum / n;
    for (i = 0; i < t->numel; i++) {
        double d = t->v[i] - mean;
        m2 += d * d;
        m4 += d * d * d * d;
    }
    m2 /= n;
    m4 /= n;
    sd = sqrt(m2);
    kurt = m2 > 0 ? m4 / (m2 * m2) - 3 : 0;

    if (strcmp(dist, "const") == 0) {
        double v = (double)(float)param;
        if (lo != hi || fabs(lo - v) > 1e-6 * fabs(v))
            snprintf(why, sizeof why, "elements in [%.9g, %.9g], want all "
                     "%.9g", lo, hi, v);
        printf("%s %s %s const(%g): n %.0f, min %.9g, max %.9g%s%s\n",
               why[0] ? "FAIL" : "ok  ", t->name, sh, param, n, lo, hi,
               why[0] ? "; " : "", why);
        return why[0] != 0;
    }
    if (strcmp(dist, "uniform") == 0) {
        double b = param, edge = b * (1 - 40 / n);
        if (amax > b * (1 + 1e-6))
            snprintf(why, sizeof why, "an element %.9g is outside "
                     "[-%.9g, %.9g]", hi > -lo ? hi : lo, b, b);
        else if (hi < edge || lo > -edge)
            snprintf(why, sizeof why, "range [%.6g, %.6g] does not reach "
                     "+-%.6g (the bound is %.6g)", lo, hi, edge, b);
        else if (fabs(mean) > k * (se = b / sqrt(3 * n)))
            snprintf(why, sizeof why, "mean is %.2f standard errors from 0",
                     fabs(mean) / se);
        else if (fabs(sd - b / sqrt(3.0)) > k * (se = b / sqrt(15 * n)))
            snprintf(why, sizeof why, "std is %.2f standard errors from "
                     "%.6g", fabs(sd - b / sqrt(3.0)) / se, b / sqrt(3.0));
        printf("%s %s %s uniform(%g): n %.0f, min %.6g, max %.6g, mean %.3g,"
               " std %.6g (want %.6g)%s%s\n", why[0] ? "FAIL" : "ok  ",
               t->name, sh, b, n, lo, hi, mean, sd, b / sqrt(3.0),
               why[0] ? "; " : "", why);
        return why[0] != 0;
    }
    if (strcmp(dist, "normal") == 0) {
        double s = param;
        if (fabs(mean) > k * (se = s / sqrt(n)))
            snprintf(why, sizeof why, "mean is %.2f standard errors from 0",
                     fabs(mean) / se);
        else if (fabs(sd - s) > k * (se = s / sqrt(2 * n)))
            snprintf(why, sizeof why, "std is %.2f standard errors from "
                     "%.6g", fabs(sd - s) / se, s);
        else if (fabs(kurt) > k * (se = sqrt(24 / n)))
            snprintf(why, sizeof why, "excess kurtosis %.3f is %.2f standard"
                     " errors from 0", kurt, fabs(kurt) / se);
        else if (n >= 2000 && amax <= 2.5 * s)
            snprintf(why, sizeof why, "no element beyond 2.5 std (%.6g): "
                     "truncated?", 2.5 * s);
        printf("%s %s %s normal(%g): n %.0f, min %.6g, max %.6g, mean %.3g,"
               " std %.6g, excess kurtosis %.3f%s%s\n",
               why[0] ? "FAIL" : "ok  ", t->name, sh, s, n, lo, hi, mean, sd,
               kurt, why[0] ? "; " : "", why);
        return why[0] != 0;
    }
    fprintf(stderr, "compare: unknown distribution '%s' (uniform, normal, "
                    "const)\n", dist);
    return 2;
}

static int stats_main(const char *path, const char *name, const char *dist,
                      double param, double k)
{
    NnrtSafetensors st;
    NnrtErr err;
    const NnrtStTensor *r;
    Tensor t;
    int rc;

    if (nnrt_st_read(path, &st, &err) < 0) {
        fprintf(stderr, "compare: %s\n", err.msg);
        return 2;
    }
    r = nnrt_st_find(&st, name);
    if (!r) {
        printf("FAIL %s: not in %s\n", name, path);
        nnrt_st_free(&st);
        return 1;
    }
    if (widen(&t, r->name, r->dtype, r->rank, r->dims, r->data) < 0) {
        fprintf(stderr, "compare: out of memory\n");
        exit(2);
    }
    rc = stats_tensor(&t, dist, param, k);
    free(t.v);
    nnrt_st_free(&st);
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: compare [--rtol R] [--atol A] [--quiet] "
                    "REFERENCE CANDIDATE\n"
                    "  both .npy or both .safetensors; passes when every "
                    "element has\n"
                    "  |a - b| <= atol + rtol * (|b| + rms(b)), b the "
                    "reference (rtol 1e-5, atol 0)\n"
                    "       compare --stats [--sigmas K] FILE.safetensors "
                    "TENSOR uniform B|normal S|const V\n"
                    "  TENSOR looks like a sample of the distribution "
                    "(within K = 5 standard errors)\n");
    return 2;
}

/* A non-negative finite number, or -1. */
static double number(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    return (*s && !*end && isfinite(v) && v >= 0) ? v : -1;
}

int main(int argc, char **argv)
{
    Opts o = {1e-5, 0, 0};
    const char *path[4];
    int i, npaths = 0, kind0, kind1, stats = 0;
    double sigmas = 5;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--stats") == 0) {
            stats = 1;
        } else if (strcmp(argv[i], "--sigmas") == 0 && i + 1 < argc) {
            if ((sigmas = number(argv[++i])) <= 0)
                return usage();
        } else if (strcmp(argv[i], "--rtol") == 0 && i + 1 < argc) {
            if ((o.rtol = number(argv[++i])) < 0)
                return usage();
        } else if (strcmp(argv[i], "--atol") == 0 && i + 1 < argc) {
            if ((o.atol = number(argv[++i])) < 0)
                return usage();
        } else if (strcmp(argv[i], "--quiet") == 0) {
            o.quiet = 1;
        } else if (argv[i][0] == '-' && argv[i][1] && npaths < 3) {
            return usage();   /* (a negative const value may follow) */
        } else if (npaths < 4) {
            path[npaths++] = argv[i];
        } else {
            return usage();
        }
    }
    if (stats) {
        char *end;
        double param;
        if (npaths != 4)
            return usage();
        param = strtod(path[3], &end);
        if (!*path[3] || *end || !isfinite(param))
            return usage();
        return stats_main(path[0], path[1], path[2], param, sigmas);
    }
    if (npaths != 2)
        return usage();
    kind0 = is_npy(path[0]);
    kind1 = is_npy(path[1]);
    for (i = 0; i < 2; i++)
        if ((i ? kind1 : kind0) < 0) {
            fprintf(stderr, "compare: %s: cannot open\n", path[i]);
            return 2;
        }
    if (kind0 != kind1) {
        fprintf(stderr, "compare: %s and %s are not the same format\n",
                path[0], path[1]);
        return 2;
    }
    return kind0 ? compare_npy(path[0], path[1], &o)
                 : compare_safetensors(path[0], path[1], &o);
}
