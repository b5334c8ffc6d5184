/*
 * npy.c: NumPy .npy files (numpy/lib/format.py, format versions 1.0, 2.0
 * and 3.0).
 *
 * Layout: "\x93NUMPY", major, minor, header length (2 bytes LE in 1.0,
 * 4 bytes LE in 2.0/3.0), then a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (60000, 784), }
 * padded with spaces and a newline, then the raw C-order data.
 * The header is parsed as the small literal subset numpy writes, never
 * evaluated.  Like numpy.load, bytes after the array are ignored (np.save
 * can append several arrays to one file); missing bytes are an error.
 */
#include "nnrt_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct NpyHdr {
    const char *s; /* header text, not NUL-terminated */
    size_t n, i;
} NpyHdr;

static void skip_ws(NpyHdr *h)
{
    while (h->i < h->n && (h->s[h->i] == ' ' || h->s[h->i] == '\t' ||
                           h->s[h->i] == '\n' || h->s[h->i] == '\r'))
        h->i++;
}

static int eat(NpyHdr *h, char c)
{
    skip_ws(h);
    if (h->i < h->n && h->s[h->i] == c) {
        h->i++;
        return 1;
    }
    return 0;
}

/* A quoted Python string without escapes (numpy never writes any in the
 * keys or descrs we accept); copied into buf. */
static int str_lit(NpyHdr *h, char *buf, size_t cap)
{
    char q;
    size_t k = 0;
    skip_ws(h);
    if (h->i >= h->n || (h->s[h->i] != '\'' && h->s[h->i] != '"'))
        return -1;
    q = h->s[h->i++];
    while (h->i < h->n && h->s[h->i] != q) {
        if (h->s[h->i] == '\\' || k + 1 >= cap)
            return -1;
        buf[k++] = h->s[h->i++];
    }
    if (h->i >= h->n)
        return -1;
    h->i++;
    buf[k] = '\0';
    return 0;
}

/* A non-negative decimal integer, optionally with Python 2's 'L'. */
static int int_lit(NpyHdr *h, int64_t *v)
{
    int64_t x = 0;
    size_t start;
    skip_ws(h);
    start = h->i;
    while (h->i < h->n && h->s[h->i] >= '0' && h->s[h->i] <= '9') {
        int d = h->s[h->i] - '0';
        if (x > (INT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
        h->i++;
    }
    if (h->i == start)
        return -1;
    if (h->i < h->n && h->s[h->i] == 'L')
        h->i++;
    *v = x;
    return 0;
}

/* The part of numpy's descr we understand: how the bytes are stored and
 * what they become here. */
typedef struct NpyType {
    const char *descr; /* without the byte-order character */
    size_t size;
    int dtype;         /* NNRT_* after widening */
    int is_signed;
} NpyType;

static const NpyType npy_types[] = {
    {"f4", 4, NNRT_F32, 1}, {"f8", 8, NNRT_F64, 1}, {"u1", 1, NNRT_U8, 0},
    {"i4", 4, NNRT_I32, 1}, {"i8", 8, NNRT_I64, 1}, {"i1", 1, NNRT_I32, 1},
    {"i2", 2, NNRT_I32, 1}, {"u2", 2, NNRT_I32, 0},
};

/* What the header says: where the data starts, its type and shape. */
typedef struct NpyInfo {
    size_t start, hlen; /* preamble bytes, header bytes */
    const NpyType *t;
    char descr[32];
    int rank;
    int64_t dims[NNRT_MAX_RANK], numel;
    size_t need; /* bytes of data */
} NpyInfo;

/* Parses the preamble and header of p[0..len-1] into *info, checking the
 * header (not the data) against len. */
static int npy_header(const char *path, const unsigned char *p, size_t len,
                      NpyInfo *info, NnrtErr *err)
{
    size_t hlen, start;
    NpyHdr h;
    char key[32], dimbuf[160];
    char *descr = info->descr;
    int have_descr = 0, have_fortran = 0, have_shape = 0, fortran = 0;
    int rank = 0;
    int64_t *dims = info->dims, numel;
    const NpyType *t = NULL;
    size_t k;

    if (len < 10)
        return nnrt__fail(err, NN_EFORMAT, path,
                          "truncated .npy header: %zu bytes, the preamble "
                          "alone is 10",
                          len);
    if (p[6] == 1 && p[7] == 0) {
        hlen = (size_t)p[8] | (size_t)p[9] << 8;
        start = 10;
    } else if ((p[6] == 2 || p[6] == 3) && p[7] == 0) {
        if (len < 12)
            return nnrt__fail(err, NN_EFORMAT, path,
                              "truncated .npy header: %zu bytes, the "
                              "preamble alone is 12",
                              len);
        hlen = (size_t)p[8] | (size_t)p[9] << 8 | (size_t)p[10] << 16 |
               (size_t)p[11] << 24;
        start = 12;
    } else {
        return nnrt__fail(err, NN_EFORMAT, path,
                          "unsupported .npy format version %d.%d "
                          "(1.0, 2.0 and 3.0 are supported)",
                          p[6], p[7]);
    }
    if (hlen > len - start)
        return nnrt__fail(err, NN_EFORMAT, path,
                          "truncated .npy header: header length %zu but the "
                          "file has only %zu bytes after the preamble",
                          hlen, len - start);

    h.s = (const char *)p + start;
    h.n = hlen;
    h.i = 0;
    if (!eat(&h, '{'))
        goto bad;
    while (!eat(&h, '}')) {
        if (str_lit(&h, key, sizeof key) < 0 || !eat(&h, ':'))
            goto bad;
        skip_ws(&h);
        if (strcmp(key, "descr") == 0 && !have_descr) {
            if (h.i < h.n && h.s[h.i] == '[')
                return nnrt__fail(err, NN_EFORMAT, path,
                                  "structured dtypes are not supported");
            if (str_lit(&h, descr, sizeof descr) < 0)
                goto bad;
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !have_fortran) {
            if (h.n - h.i >= 4 && memcmp(h.s + h.i, "True", 4) == 0) {
                fortran = 1;
                h.i += 4;
            } else if (h.n - h.i >= 5 && memcmp(h.s + h.i, "False", 5) == 0) {
                h.i += 5;
            } else {
                goto bad;
            }
            have_fortran = 1;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            if (!eat(&h, '('))
                goto bad;
            while (!eat(&h, ')')) {
                if (rank == NNRT_MAX_RANK)
                    return nnrt__fail(err, NN_EFORMAT, path,
                                      "more than %d dimensions",
                                      NNRT_MAX_RANK);
                if (int_lit(&h, &dims[rank]) < 0)
                    goto bad;
                rank++;
                if (!eat(&h, ',')) {
                    if (!eat(&h, ')'))
                        goto bad;
                    break;
                }
            }
            have_shape = 1;
        } else {
            return nnrt__fail(err, NN_EFORMAT, path,
                              "unexpected or repeated key '%s' in the .npy "
                              "header",
                              key);
        }
        if (!eat(&h, ',')) {
            if (!eat(&h, '}'))
                goto bad;
            break;
        }
    }
    skip_ws(&h);
    if (h.i != h.n)
        goto bad;
    if (!have_descr || !have_fortran || !have_shape)
        return nnrt__fail(err, NN_EFORMAT, path,
                          "the .npy header lacks '%s'",
                          !have_descr ? "descr"
                          : !have_fortran ? "fortran_order" : "shape");

    if (descr[0] == '>')
        return nnrt__fail(err, NN_EFORMAT, path,
                          "big-endian data ('%s') is not supported; save "
                          "it with arr.astype('<%s')",
                          descr, descr + 1);
    for (k = 0; k < sizeof npy_types / sizeof npy_types[0]; k++) {
        const char *d = descr;
        /* '|' means "byte order irrelevant" (1-byte types); '=' native,
         * which is little-endian on every machine numpy writes '<' for. */
        if (d[0] == '<' || d[0] == '|' || d[0] == '=')
            d++;
        if (strcmp(d, npy_types[k].descr) == 0) {
            t = &npy_types[k];
            break;
        }
    }
    if (!t)
        return nnrt__fail(err, NN_EFORMAT, path,
                          "unsupported dtype '%s' (supported: '<f4', '<f8', "
                          "'|u1', '<i4', '<i8', '|i1', '<i2', '<u2')",
                          descr);
    if (fortran)
        return nnrt__fail(err, NN_EFORMAT, path,
                          "fortran_order arrays are not supported; save "
                          "np.ascontiguousarray(arr) instead");
    if (nnrt__numel(rank, dims, t->size, &numel) < 0)
        return nnrt__fail(err, NN_EFORMAT, path, "shape %s is too large",
                          nnrt__fmt_dims(dimbuf, sizeof dimbuf, rank, dims));
    info->start = start;
    info->hlen = hlen;
    info->t = t;
    info->rank = rank;
    info->numel = numel;
    info->need = (size_t)numel * t->size;
    return 0;

bad:
    /* Quote the start of the header, with anything unprintable as '?'. */
    for (k = 0; k < hlen && k < 80; k++) {
        unsigned char c = p[start + k];
        dimbuf[k] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    dimbuf[k] = '\0';
    return nnrt__fail(err, NN_EFORMAT, path,
                      "malformed .npy header at byte %zu: %s%s", start + h.i,
                      dimbuf, hlen > 80 ? "..." : "");
}

int nnrt__npy_declared(const unsigned char *p, size_t len, uint64_t *total,
                       int *exact)
{
    NpyInfo info;
    size_t start, hlen;
    *exact = 0; /* np.save may append further arrays: numpy.load ignores them */
    if (len < 12)
        return 0;
    start = p[6] == 1 ? 10 : 12;
    hlen = p[6] == 1 ? ((size_t)p[8] | (size_t)p[9] << 8)
                     : ((size_t)p[8] | (size_t)p[9] << 8 |
                        (size_t)p[10] << 16 | (size_t)p[11] << 24);
    if (hlen > len - start && hlen <= (1u << 20))
        return 0; /* a plausible header, not all here yet */
    memset(&info, 0, sizeof info);
    if (hlen > len - start || npy_header(NULL, p, len, &info, NULL) != 0) {
        *total = (uint64_t)start + hlen; /* the parser will say what is wrong */
        return 1;
    }
    *total = (uint64_t)info.start + info.hlen + info.need;
    return 1;
}

int nnrt__parse_npy(const char *path, NnrtBuf *b, NnrtArray *out,
                    NnrtErr *err)
{
    const unsigned char *p = b->data;
    NpyInfo info;
    size_t start, hlen, need, have, k;
    const NpyType *t;
    int rank, rc;
    int64_t numel;
    char dimbuf[160];

    memset(&info, 0, sizeof info);
    rc = npy_header(path, p, b->len, &info, err);
    if (rc)
        return rc;
    start = info.start;
    hlen = info.hlen;
    t = info.t;
    rank = info.rank;
    numel = info.numel;
    need = info.need;
    have = b->len - start - hlen;
    if (need > have)
        return nnrt__fail(err, NN_EFORMAT, path,
                          "truncated: shape %s of '%s' needs %zu bytes of "
                          "data, the file holds %zu",
                          nnrt__fmt_dims(dimbuf, sizeof dimbuf, rank,
                                         info.dims),
                          info.descr, need, have);

    out->rank = rank;
    for (k = 0; k < (size_t)rank; k++)
        out->dims[k] = info.dims[k];
    out->dtype = t->dtype;
    if (t->dtype == NNRT_I32 && t->size != 4) {
        /* Widen 1- and 2-byte integers, reading them little-endian. */
        int32_t *w = malloc(numel > 0 ? (size_t)numel * 4 : 1);
        const unsigned char *s = p + start + hlen;
        int64_t i;
        if (!w)
            return nnrt__fail(err, NN_ENOMEM, path, "out of memory");
        for (i = 0; i < numel; i++) {
            if (t->size == 1)
                w[i] = t->is_signed ? (int32_t)(signed char)s[i] : s[i];
            else {
                unsigned v = (unsigned)s[2 * i] | (unsigned)s[2 * i + 1] << 8;
                w[i] = t->is_signed ? (int32_t)(int16_t)v : (int32_t)v;
            }
        }
        out->data = w;
        out->nbytes = (size_t)numel * 4;
        return 0;
    }
    /* Same type: slide the data to the start of the buffer and keep it,
     * which saves a second copy of what may be hundreds of megabytes. */
    memmove(b->data, p + start + hlen, need);
    out->data = b->data;
    out->nbytes = need;
    b->data = NULL;
    if (need > 0 && need + 64 < b->len) {
        void *q = realloc(out->data, need);
        if (q)
            out->data = q;
    }
    if (!nnrt__host_le())
        nnrt__swap(out->data, (size_t)numel, t->size);
    return 0;
}

int nnrt_save_npy(const char *path, const float *data, int rank,
                  const int64_t *dims, NnrtErr *err)
{
    char hdr[512], dimbuf[256];
    size_t n = 0, total;
    int64_t numel;
    int i, rc;
    NnrtAtomic a;

    if (rank < 0 || rank > NNRT_MAX_RANK || (rank > 0 && !dims))
        return nnrt__fail(err, NN_EMISMATCH, path,
                          "cannot save an array of rank %d (0..%d)", rank,
                          NNRT_MAX_RANK);
    if (nnrt__numel(rank, dims, 4, &numel) < 0)
        return nnrt__fail(err, NN_EMISMATCH, path,
                          "cannot save an array of shape %s",
                          nnrt__fmt_dims(dimbuf, sizeof dimbuf, rank, dims));
    /* Python tuple syntax: "()", "(3,)", "(3, 4)". */
    dimbuf[0] = '\0';
    for (i = 0; i < rank; i++)
        n += (size_t)snprintf(dimbuf + n, sizeof dimbuf - n, "%s%lld",
                              i ? ", " : "", (long long)dims[i]);
    n = (size_t)snprintf(hdr + 10, sizeof hdr - 10,
                         "{'descr': '<f4', 'fortran_order': False, "
                         "'shape': (%s%s), }",
                         dimbuf, rank == 1 ? "," : "");
    /* numpy pads so the data starts at a multiple of 64 bytes and ends the
     * header with '\n'. */
    total = 10 + n + 1;
    total = (total + 63) / 64 * 64;
    memset(hdr + 10 + n, ' ', total - 10 - n - 1);
    hdr[total - 1] = '\n';
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    hdr[8] = (char)((total - 10) & 0xff);
    hdr[9] = (char)((total - 10) >> 8);

    rc = nnrt__atomic_open(&a, path, err);
    if (rc)
        return rc;
    nnrt__atomic_write(&a, hdr, total);
    if (numel > 0)
        nnrt__atomic_write_le(&a, data, (size_t)numel, 4);
    return nnrt__atomic_commit(&a, err);
}
