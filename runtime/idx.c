/*
 * idx.c: the IDX format MNIST and Fashion-MNIST ship in
 * (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS FOR THE MNIST DATABASE").
 *
 * Layout: two zero bytes, a type byte (0x08 ubyte, 0x09 byte, 0x0B short,
 * 0x0C int, 0x0D float, 0x0E double), a rank byte, rank big-endian 32-bit
 * dims, then the big-endian data.  The file must hold exactly the bytes
 * the header promises: there is no legitimate reason for extra ones, and
 * a shortfall is the classic symptom of an interrupted download.
 */
#include "nnrt_impl.h"

#include <stdlib.h>
#include <string.h>

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* "60000 images of 28x28", "60000 labels", "100 samples of [3, 4, 5, 6]":
 * the header's promise in MNIST's own terms. */
static void describe(char *buf, size_t cap, int rank, const int64_t *dims,
                     int64_t items)
{
    if (rank == 1)
        snprintf(buf, cap, "%lld labels", (long long)items);
    else if (rank == 3)
        snprintf(buf, cap, "%lld images of %lldx%lld", (long long)items,
                 (long long)dims[1], (long long)dims[2]);
    else {
        char d[160];
        snprintf(buf, cap, "%lld samples of %s", (long long)items,
                 nnrt__fmt_dims(d, sizeof d, rank - 1, dims + 1));
    }
}

/* Bytes per element of an IDX type byte; 0 if unknown. */
static size_t idx_esize(int type)
{
    switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
    }
}

int nnrt__idx_declared(const unsigned char *p, size_t len, uint64_t *total,
                       int *exact)
{
    int rank, i;
    size_t hdr, esize;
    int64_t dims[NNRT_MAX_RANK], numel;
    if (len < 4)
        return 0;
    rank = p[3];
    esize = idx_esize(p[2]);
    hdr = 4 + 4 * (size_t)rank;
    *exact = 1; /* the file must hold exactly what the header promises */
    if (esize == 0 || rank > NNRT_MAX_RANK) {
        *total = 4; /* the parser reports the bad header */
        return 1;
    }
    if (len < hdr)
        return 0;
    for (i = 0; i < rank; i++)
        dims[i] = be32(p + 4 + 4 * i);
    if (nnrt__numel(rank, dims, esize, &numel) < 0 ||
        (uint64_t)numel * esize > NNRT_MAX_FILE_BYTES)
        *total = hdr; /* "too large": the header alone tells */
    else
        *total = hdr + (uint64_t)numel * esize;
    return 1;
}

int nnrt__parse_idx(const char *path, NnrtBuf *b, NnrtArray *out,
                    NnrtErr *err)
{
    const unsigned char *p = b->data;
    int type = p[2], rank = p[3], i;
    size_t esize, hdr, need, have;
    int64_t dims[NNRT_MAX_RANK], numel, i64;
    char what[256];

    esize = idx_esize(type); /* the caller checked the type */
    if (rank > NNRT_MAX_RANK)
        return nnrt__fail(err, NN_EFORMAT, path,
                          "IDX header has %d dimensions (at most %d)", rank,
                          NNRT_MAX_RANK);
    hdr = 4 + 4 * (size_t)rank;
    if (b->len < hdr)
        return nnrt__fail(err, NN_EFORMAT, path,
                          "truncated: IDX header of %d dimensions needs %zu "
                          "bytes, the file holds %zu",
                          rank, hdr, b->len);
    for (i = 0; i < rank; i++)
        dims[i] = be32(p + 4 + 4 * i); /* unsigned, so never negative */
    if (nnrt__numel(rank, dims, esize, &numel) < 0 ||
        (uint64_t)numel * esize > NNRT_MAX_FILE_BYTES)
        return nnrt__fail(err, NN_EFORMAT, path,
                          "IDX shape %s is too large",
                          nnrt__fmt_dims(what, sizeof what, rank, dims));
    need = (size_t)numel * esize;
    have = b->len - hdr;
    if (need != have) {
        /* Say it in items of the first dimension: that is what the user
         * counts ("60000 images"). */
        size_t per = dims[0] > 0 ? need / (size_t)dims[0] : 0;
        describe(what, sizeof what, rank, dims, dims[0]);
        if (b->gzip_over)
            return nnrt__fail(err, NN_EFORMAT, path,
                              "header says %s (%zu bytes of data), but the "
                              "gzip stream holds more; stopped reading "
                              "after %zu bytes",
                              what, need, b->len);
        if (need > have)
            return nnrt__fail(err, NN_EFORMAT, path,
                              "truncated: header says %s, file holds %zu",
                              what, per ? have / per : (size_t)0);
        return nnrt__fail(err, NN_EFORMAT, path,
                          "header says %s (%zu bytes of data), but the file "
                          "holds %zu bytes more",
                          what, need, have - need);
    }

    out->rank = rank;
    for (i = 0; i < rank; i++)
        out->dims[i] = dims[i];
    if (type == 0x09 || type == 0x0B) {
        /* Signed bytes and shorts are widened to int32. */
        int32_t *w = malloc(numel > 0 ? (size_t)numel * 4 : 1);
        const unsigned char *s = p + hdr;
        if (!w)
            return nnrt__fail(err, NN_ENOMEM, path, "out of memory");
        for (i64 = 0; i64 < numel; i64++)
            w[i64] = type == 0x09
                         ? (int32_t)(signed char)s[i64]
                         : (int32_t)(int16_t)(uint16_t)(s[2 * i64] << 8 |
                                                        s[2 * i64 + 1]);
        out->dtype = NNRT_I32;
        out->data = w;
        out->nbytes = (size_t)numel * 4;
        return 0;
    }
    out->dtype = type == 0x08   ? NNRT_U8
                 : type == 0x0C ? NNRT_I32
                 : type == 0x0D ? NNRT_F32
                                : NNRT_F64;
    /* Keep the buffer: move the data over the header, fix byte order in
     * place.  Saves a copy of 47 MB for the Fashion-MNIST training set. */
    memmove(b->data, p + hdr, need);
    out->data = b->data;
    out->nbytes = need;
    b->data = NULL;
    if (nnrt__host_le())
        nnrt__swap(out->data, (size_t)numel, esize);
    return 0;
}
