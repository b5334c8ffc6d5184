/*
 * nnrt_impl.h: helpers shared by the runtime's .c files; not public API.
 *
 * Names are nnrt__* (two underscores) so they cannot be mistaken for the
 * public nnrt_* API.
 */
#ifndef NNRT_IMPL_H
#define NNRT_IMPL_H

#include "nnrt.h"

#include <stdarg.h>

#if defined(__GNUC__) || defined(__clang__)
#define NNRT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define NNRT_PRINTF(f, a)
#endif

/* Fills err (if not NULL) with "PATH: " (omitted when path is NULL) and
 * the formatted reason; returns `code` so callers can `return nnrt__fail(..)`. */
int nnrt__fail(NnrtErr *err, int code, const char *path, const char *fmt, ...)
    NNRT_PRINTF(4, 5);

/* Appends formatted text to err->msg, truncating at its end. */
void nnrt__append(NnrtErr *err, const char *fmt, ...) NNRT_PRINTF(2, 3);

/* A whole file in memory.  data has len bytes plus a NUL after them, so
 * text parsers may rely on a terminator. */
typedef struct NnrtBuf {
    unsigned char *data;
    size_t len;
    int gzip;           /* the file was gzip-compressed */
    int gzip_truncated; /* ... and the stream ended early: data holds what
                           could be decompressed */
} NnrtBuf;

/* Reads `path` completely, decompressing gzip transparently when
 * `allow_gzip` is set.  A cut gzip stream is not an error here (it sets
 * gzip_truncated) so that the format parser can say what was missing.
 * Errors: NN_EIO, NN_EFORMAT (corrupt gzip data), NN_ENOMEM. */
int nnrt__read_file(const char *path, int allow_gzip, NnrtBuf *out,
                    NnrtErr *err);

/* Writing a file atomically: everything goes to "PATH.tmp.PID" and
 * nnrt__atomic_commit() fsync()s and renames it over PATH.  Write errors
 * are sticky and reported by commit; abort (or a failed commit) removes
 * the temporary file. */
typedef struct NnrtAtomic {
    FILE *f;
    char *tmp;
    const char *path;
    int failed; /* errno of the first failed write, or -1 */
} NnrtAtomic;

int nnrt__atomic_open(NnrtAtomic *a, const char *path, NnrtErr *err);
void nnrt__atomic_write(NnrtAtomic *a, const void *data, size_t len);
/* Writes count elements of `size` bytes stored in host order as
 * little-endian. */
void nnrt__atomic_write_le(NnrtAtomic *a, const void *data, size_t count,
                           size_t size);
int nnrt__atomic_commit(NnrtAtomic *a, NnrtErr *err);
void nnrt__atomic_abort(NnrtAtomic *a);

/* 1 on a little-endian host. */
int nnrt__host_le(void);

/* Reverses the bytes of each of count elements of `size` bytes. */
void nnrt__swap(void *data, size_t count, size_t size);

/* Product of dims[0..rank-1] into *numel; -1 if a dim is negative or the
 * product, times elem_size, does not fit in both int64_t and size_t. */
int nnrt__numel(int rank, const int64_t *dims, size_t elem_size,
                int64_t *numel);

/* Writes "[d0, d1, ...]" into buf (always NUL-terminated). */
const char *nnrt__fmt_dims(char *buf, size_t cap, int rank,
                           const int64_t *dims);

/* 1 if s[0..len-1] is well-formed UTF-8 (no overlongs, no surrogates). */
int nnrt__utf8_valid(const unsigned char *s, size_t len);

/* The per-format parsers behind nnrt_load_array(); `b` is the file's
 * content, `path` only names it in messages.  On success *out owns its
 * data (the parser may steal b->data and set it to NULL). */
int nnrt__parse_npy(const char *path, NnrtBuf *b, NnrtArray *out,
                    NnrtErr *err);
int nnrt__parse_idx(const char *path, NnrtBuf *b, NnrtArray *out,
                    NnrtErr *err);
int nnrt__parse_csv(const char *path, NnrtBuf *b, NnrtArray *out,
                    NnrtErr *err);

#endif /* NNRT_IMPL_H */
