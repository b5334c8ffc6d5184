/*
 * array.c: NnrtArray, format detection and conversion to what a model
 * consumes (float32 samples, int32 class labels).
 *
 * The format is decided from the first bytes of the (decompressed)
 * content rather than the file name, because MNIST-style files carry no
 * extension ("train-images-idx3-ubyte") and names lie.
 */
#include "nnrt_impl.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void nnrt_array_free(NnrtArray *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

int64_t nnrt_array_numel(const NnrtArray *a)
{
    int64_t n = 1;
    int i;
    for (i = 0; i < a->rank; i++)
        n *= a->dims[i];
    return n;
}

static int is_idx(const unsigned char *p, size_t len)
{
    if (len < 4 || p[0] != 0 || p[1] != 0 || p[3] == 0)
        return 0;
    switch (p[2]) {
    case 0x08: case 0x09: case 0x0B: case 0x0C: case 0x0D: case 0x0E:
        return 1;
    default:
        return 0;
    }
}

/* 1 if p[0..len-1] (len < 6) is the start of the .npy magic: a file cut
 * there is a truncated .npy, not text. */
static int npy_prefix(const unsigned char *p, size_t len)
{
    return len > 0 && len < 6 && memcmp(p, "\x93NUMPY", len) == 0;
}

/* Text if the first 4 KiB are UTF-8 (a sequence cut at the 4 KiB mark
 * is fine) with no NUL and no control bytes other than white space:
 * binary files nearly always break one rule within that span. */
static int looks_like_text(const unsigned char *p, size_t len)
{
    size_t i, n = len < 4096 ? len : 4096;
    for (i = 0; i < n; i++)
        if (p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' && p[i] != '\t' &&
            p[i] != '\f' && p[i] != '\v')
            return 0;
    if (n < len) { /* end before the character cut by the 4 KiB mark */
        size_t m = n;
        while (m > 0 && n - m < 4 && (p[m] & 0xC0) == 0x80)
            m--;
        n = m;
    }
    return nnrt__utf8_valid(p, n);
}

/* The gzip reader's size oracle: which header declares how much. */
static int declared(const unsigned char *p, size_t len, uint64_t *total,
                    int *exact)
{
    if (len >= 6 && memcmp(p, "\x93NUMPY", 6) == 0)
        return nnrt__npy_declared(p, len, total, exact);
    if (len < 6 && (npy_prefix(p, len) || len < 4))
        return 0;
    if (is_idx(p, len))
        return nnrt__idx_declared(p, len, total, exact);
    return -1; /* CSV or unknown: bounded by NNRT_MAX_FILE_BYTES only */
}

/* Element i of an F32/F64 array as a double. */
static double fval(const NnrtArray *a, int64_t i)
{
    return a->dtype == NNRT_F32 ? (double)((const float *)a->data)[i]
                                : ((const double *)a->data)[i];
}

/* "[12, 5]": element i of `a` as an index in its dims. */
static const char *fmt_index(char *buf, size_t cap, const NnrtArray *a,
                             int64_t i)
{
    int64_t idx[NNRT_MAX_RANK];
    int k;
    for (k = a->rank - 1; k >= 0; k--) {
        idx[k] = a->dims[k] > 0 ? i % a->dims[k] : 0;
        i = a->dims[k] > 0 ? i / a->dims[k] : 0;
    }
    return nnrt__fmt_dims(buf, cap, a->rank, idx);
}

int nnrt_array_check_finite(const NnrtArray *a, const char *path,
                            NnrtErr *err)
{
    int64_t i, n;
    char at[200];
    if (a->dtype != NNRT_F32 && a->dtype != NNRT_F64)
        return 0;
    n = nnrt_array_numel(a);
    for (i = 0; i < n; i++) {
        double v = fval(a, i);
        if (!isfinite(v))
            return nnrt__fail(err, NN_EFORMAT, path, "%s at %s%s",
                              isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf",
                              fmt_index(at, sizeof at, a, i),
                              a->rank >= 2 ? " (row, column from 0)" : "");
    }
    return 0;
}

/* Reads and parses any supported format. */
static int load_any(const char *path, NnrtCsvOpts *opts, NnrtArray *out,
                    NnrtErr *err)
{
    NnrtBuf b;
    int rc, csv = 0;

    memset(out, 0, sizeof *out);
    rc = nnrt__read_file(path, 1, declared, &b, err);
    if (rc)
        return rc;
    if (b.len == 0) {
        rc = nnrt__fail(err, NN_EFORMAT, path, "empty file");
    } else if ((b.len >= 6 && memcmp(b.data, "\x93NUMPY", 6) == 0) ||
               npy_prefix(b.data, b.len)) {
        rc = nnrt__parse_npy(path, &b, out, err);
    } else if (is_idx(b.data, b.len)) {
        rc = nnrt__parse_idx(path, &b, out, err);
    } else if (b.len < 4 && b.data[0] == 0) {
        rc = nnrt__fail(err, NN_EFORMAT, path,
                        "truncated: %zu bytes, not even an IDX header",
                        b.len);
    } else if (looks_like_text(b.data, b.len)) {
        rc = nnrt__parse_csv(path, &b, opts, out, err);
        csv = 1;
    } else {
        rc = nnrt__fail(err, NN_EFORMAT, path,
                        "not a .npy, IDX or CSV file (starts with bytes "
                        "%02x %02x %02x %02x)",
                        b.data[0], b.len > 1 ? b.data[1] : 0,
                        b.len > 2 ? b.data[2] : 0, b.len > 3 ? b.data[3] : 0);
    }
    if (b.gzip_truncated) {
        /* The parser saw fewer bytes than the header promised (its own
         * message says how many) or, if the data happened to be complete,
         * the gzip trailer is missing: either way the file is cut. */
        if (rc == NN_EFORMAT)
            nnrt__append(err, " (the gzip stream is cut short)");
        else if (rc == 0) {
            nnrt_array_free(out);
            rc = nnrt__fail(err, NN_EFORMAT, path,
                            "truncated: the gzip stream is cut short");
        }
    }
    free(b.data);
    /* CSV checked its cells itself, naming lines; binary formats here. */
    if (rc == 0 && !csv && !(opts && opts->allow_nonfinite) &&
        (rc = nnrt_array_check_finite(out, path, err)) != 0)
        nnrt_array_free(out);
    return rc;
}

int nnrt_load_array(const char *path, NnrtArray *out, NnrtErr *err)
{
    return load_any(path, NULL, out, err);
}

/* Copies columns [c0, c0 + k) of the F64/F32/... [rows, cols] array a
 * into *dst ([rows, k], same dtype), or, with `rest`, every other column
 * ([rows, cols - k]). */
static int take_columns(const NnrtArray *a, int64_t c0, int64_t k, int rest,
                        NnrtArray *dst)
{
    size_t es = nnrt_dtype_size(a->dtype);
    int64_t rows = a->dims[0], cols = a->dims[1], r;
    int64_t w = rest ? cols - k : k;
    const unsigned char *s = a->data;
    unsigned char *d;
    memset(dst, 0, sizeof *dst);
    d = malloc(rows * w > 0 ? (size_t)(rows * w) * es : 1);
    if (!d)
        return -1;
    for (r = 0; r < rows; r++) {
        const unsigned char *row = s + (size_t)(r * cols) * es;
        unsigned char *o = d + (size_t)(r * w) * es;
        if (rest) {
            memcpy(o, row, (size_t)c0 * es);
            memcpy(o + (size_t)c0 * es, row + (size_t)(c0 + k) * es,
                   (size_t)(cols - c0 - k) * es);
        } else {
            memcpy(o, row + (size_t)c0 * es, (size_t)k * es);
        }
    }
    dst->dtype = a->dtype;
    dst->rank = 2;
    dst->dims[0] = rows;
    dst->dims[1] = w;
    dst->data = d;
    dst->nbytes = (size_t)(rows * w) * es;
    return 0;
}

int nnrt_load_csv_opts(const char *path, NnrtCsvOpts *opts,
                       NnrtArray *features, NnrtArray *labels, NnrtErr *err)
{
    NnrtArray a;
    int64_t cols, c0, k;
    int rc;

    memset(features, 0, sizeof *features);
    if (labels)
        memset(labels, 0, sizeof *labels);
    if (opts) {
        opts->header_skipped = 0;
        opts->sep_used = 0;
        opts->label_column_used = 0;
        opts->header[0] = '\0';
    }
    rc = load_any(path, opts, &a, err);
    if (rc)
        return rc;
    if (!opts || !opts->have_label) {
        *features = a;
        return 0;
    }
    if (!labels || a.rank != 2) {
        char d[160];
        nnrt_array_free(&a);
        return nnrt__fail(err, NN_EMISMATCH, path,
                          "a label column needs a table [rows, columns], "
                          "the file holds %s",
                          labels ? nnrt__fmt_dims(d, sizeof d, a.rank, a.dims)
                                 : "(no labels array given)");
    }
    cols = a.dims[1];
    c0 = opts->label_column < 0 ? cols + opts->label_column
                                : opts->label_column;
    k = opts->label_count > 0 ? opts->label_count : 1;
    if (opts->label_stop) {
        /* A:B: k from the stop, which may count from the end too; an
         * empty or reversed slice leaves k < 1, reported below. */
        int64_t e = opts->label_stop == NNRT_CSV_END ? cols
                    : opts->label_stop < 0 ? cols + opts->label_stop
                                           : opts->label_stop;
        k = e - c0;
    }
    if (c0 < 0 || k < 1 || c0 + k > cols || k >= cols) {
        char what[64];
        if (opts->label_stop == NNRT_CSV_END)
            snprintf(what, sizeof what, "label columns %d:",
                     opts->label_column);
        else if (opts->label_stop)
            snprintf(what, sizeof what, "label columns %d:%d",
                     opts->label_column, opts->label_stop);
        else if (k > 1)
            snprintf(what, sizeof what, "label columns %d..%d",
                     opts->label_column, opts->label_column + (int)k - 1);
        else
            snprintf(what, sizeof what, "label column %d",
                     opts->label_column);
        rc = nnrt__fail(err, NN_EMISMATCH, path,
                        "%s %s the %lld columns (0..%lld, or -%lld..-1 from "
                        "the end)",
                        what,
                        k < 1 ? "select none of"
                        : k >= cols && c0 >= 0 && c0 + k <= cols
                            ? "leave no feature column of"
                            : k > 1 ? "are outside" : "is outside",
                        (long long)cols, (long long)cols - 1,
                        (long long)cols);
        nnrt_array_free(&a);
        return rc;
    }
    opts->label_column_used = (int)c0;
    if (take_columns(&a, c0, k, 0, labels) < 0 ||
        take_columns(&a, c0, k, 1, features) < 0) {
        nnrt_array_free(labels);
        nnrt_array_free(features);
        nnrt_array_free(&a);
        return nnrt__fail(err, NN_ENOMEM, path, "out of memory");
    }
    nnrt_array_free(&a);
    return 0;
}

int nnrt_array_to_f32(const NnrtArray *a, float **out, NnrtErr *err)
{
    int64_t i, n = nnrt_array_numel(a);
    float *f;

    *out = NULL;
    if (nnrt_dtype_size(a->dtype) == 0)
        return nnrt__fail(err, NN_EMISMATCH, NULL, "unknown dtype %d",
                          a->dtype);
    f = malloc(n > 0 ? (size_t)n * sizeof *f : 1);
    if (!f)
        return nnrt__fail(err, NN_ENOMEM, NULL,
                          "out of memory converting %lld values to float32",
                          (long long)n);
    switch (a->dtype) {
    case NNRT_F32:
        if (n > 0)
            memcpy(f, a->data, (size_t)n * sizeof *f);
        break;
    case NNRT_F64: {
        const double *d = a->data;
        for (i = 0; i < n; i++) {
            /* A finite double past FLT_MAX would silently become Inf. */
            if (isfinite(d[i]) && fabs(d[i]) > FLT_MAX &&
                !isfinite((float)d[i])) {
                char at[200];
                free(f);
                return nnrt__fail(err, NN_EFORMAT, NULL,
                                  "value at %s is %g, outside float32's "
                                  "range",
                                  fmt_index(at, sizeof at, a, i), d[i]);
            }
            f[i] = (float)d[i];
        }
        break;
    }
    case NNRT_U8: {
        /* torchvision's ToTensor: img.float().div(255); a division, not a
         * multiplication by 1/255, so values match PyTorch bit for bit. */
        const uint8_t *u = a->data;
        float lut[256];
        int k;
        for (k = 0; k < 256; k++)
            lut[k] = (float)k / 255.0f;
        for (i = 0; i < n; i++)
            f[i] = lut[u[i]];
        break;
    }
    case NNRT_I32: {
        const int32_t *s = a->data;
        for (i = 0; i < n; i++)
            f[i] = (float)s[i];
        break;
    }
    case NNRT_I64: {
        const int64_t *s = a->data;
        for (i = 0; i < n; i++)
            f[i] = (float)s[i];
        break;
    }
    }
    *out = f;
    return 0;
}

/* Element i of `a` as a double (every supported type fits except int64
 * beyond 2^53, which is range-checked as an integer below instead). */
static double elem_f64(const NnrtArray *a, int64_t i)
{
    switch (a->dtype) {
    case NNRT_F32: return ((const float *)a->data)[i];
    case NNRT_F64: return ((const double *)a->data)[i];
    case NNRT_U8: return ((const uint8_t *)a->data)[i];
    case NNRT_I32: return ((const int32_t *)a->data)[i];
    default: return 0;
    }
}

int nnrt_array_to_labels(const NnrtArray *a, int32_t **out, int nclasses,
                         NnrtErr *err)
{
    int64_t i, n = nnrt_array_numel(a);
    int32_t *l;

    *out = NULL;
    if (nnrt_dtype_size(a->dtype) == 0)
        return nnrt__fail(err, NN_EMISMATCH, NULL, "unknown dtype %d",
                          a->dtype);
    if (nclasses < 1)
        return nnrt__fail(err, NN_EMISMATCH, NULL,
                          "number of classes must be positive, got %d",
                          nclasses);
    l = malloc(n > 0 ? (size_t)n * sizeof *l : 1);
    if (!l)
        return nnrt__fail(err, NN_ENOMEM, NULL,
                          "out of memory converting %lld labels",
                          (long long)n);
    for (i = 0; i < n; i++) {
        if (a->dtype == NNRT_I64) {
            int64_t v = ((const int64_t *)a->data)[i];
            if (v < 0 || v >= nclasses) {
                free(l);
                return nnrt__fail(err, NN_EMISMATCH, NULL,
                                  "label at index %lld is %lld, outside "
                                  "0..%d (%d classes)",
                                  (long long)i, (long long)v, nclasses - 1,
                                  nclasses);
            }
            l[i] = (int32_t)v;
        } else {
            double v = elem_f64(a, i);
            if (v != floor(v) || isnan(v)) {
                free(l);
                return nnrt__fail(err, NN_EMISMATCH, NULL,
                                  "label at index %lld is %g, not an integer",
                                  (long long)i, v);
            }
            if (v < 0 || v >= nclasses) {
                free(l);
                return nnrt__fail(err, NN_EMISMATCH, NULL,
                                  "label at index %lld is %.17g, outside "
                                  "0..%d (%d classes)",
                                  (long long)i, v, nclasses - 1, nclasses);
            }
            l[i] = (int32_t)v;
        }
    }
    *out = l;
    return 0;
}
