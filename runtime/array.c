/*
 * array.c: NnrtArray, format detection and conversion to what a model
 * consumes (float32 samples, int32 class labels).
 *
 * The format is decided from the first bytes of the (decompressed)
 * content rather than the file name, because MNIST-style files carry no
 * extension ("train-images-idx3-ubyte") and names lie.
 */
#include "nnrt_impl.h"

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

/* Text if the first 4 KiB hold no NUL and no control bytes other than
 * white space: binary files nearly always do within that span. */
static int looks_like_text(const unsigned char *p, size_t len)
{
    size_t i, n = len < 4096 ? len : 4096;
    for (i = 0; i < n; i++)
        if (p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' && p[i] != '\t' &&
            p[i] != '\f' && p[i] != '\v')
            return 0;
    return 1;
}

int nnrt_load_array(const char *path, NnrtArray *out, NnrtErr *err)
{
    NnrtBuf b;
    int rc;

    memset(out, 0, sizeof *out);
    rc = nnrt__read_file(path, 1, &b, err);
    if (rc)
        return rc;
    if (b.len == 0) {
        rc = nnrt__fail(err, NN_EFORMAT, path, "empty file");
    } else if (b.len >= 6 && memcmp(b.data, "\x93NUMPY", 6) == 0) {
        rc = nnrt__parse_npy(path, &b, out, err);
    } else if (is_idx(b.data, b.len)) {
        rc = nnrt__parse_idx(path, &b, out, err);
    } else if (looks_like_text(b.data, b.len)) {
        rc = nnrt__parse_csv(path, &b, out, err);
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
    return rc;
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
        for (i = 0; i < n; i++)
            f[i] = (float)d[i];
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
