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
 * the formatted reason; returns `code` so callers can `return nnrt__fail(..)`.
 * Control characters (and bytes that are not UTF-8) in the path and the
 * reason are escaped as "\xNN"; a path longer than 200 bytes is shortened
 * with "..." in its middle, so the reason is never cut off. */
int nnrt__fail(NnrtErr *err, int code, const char *path, const char *fmt, ...)
    NNRT_PRINTF(4, 5);

/* Appends formatted text to err->msg (escaped as nnrt__fail does),
 * truncating at its end. */
void nnrt__append(NnrtErr *err, const char *fmt, ...) NNRT_PRINTF(2, 3);

/* s with control characters escaped, for text from files that a message
 * quotes where nnrt__fail cannot see it; always NUL-terminated in buf. */
const char *nnrt__esc(char *buf, size_t cap, const char *s);

/* s escaped and, if longer than max bytes, shortened to its start, "..."
 * and its end (cap >= max + 1). */
const char *nnrt__shorten(char *buf, size_t cap, const char *s, size_t max);

/* A file's content in memory.  data has len bytes plus a NUL after them,
 * so text parsers may rely on a terminator. */
typedef struct NnrtBuf {
    unsigned char *data;
    size_t len;
    int gzip;           /* the file was gzip-compressed */
    int gzip_truncated; /* ... and the stream ended early: data holds what
                           could be decompressed */
    int gzip_over;      /* ... and held more than the content's header
                           declares: reading stopped one byte past it */
} NnrtBuf;

/* What a format's header says about the content's total size, for the
 * gzip reader to stop at.  p[0..len-1] is the start of the content.
 * Returns 1 with *total (bytes) and *exact (1: more bytes are an error,
 * 0: they are ignored) when the header tells, 0 when more bytes are
 * needed to tell, -1 when the format declares no size (CSV). */
typedef int (*NnrtDeclared)(const unsigned char *p, size_t len,
                            uint64_t *total, int *exact);

/* Reads the regular file `path` (FIFOs, devices and directories are
 * refused without reading; at most NNRT_MAX_FILE_BYTES), decompressing
 * gzip as a stream when `allow_gzip` is set, bounded by `declared` (may
 * be NULL).  A cut gzip stream is not an error here (it sets
 * gzip_truncated) so that the format parser can say what was missing.
 * Errors: NN_EIO, NN_EFORMAT (corrupt gzip data, too large), NN_ENOMEM. */
int nnrt__read_file(const char *path, int allow_gzip, NnrtDeclared declared,
                    NnrtBuf *out, NnrtErr *err);

/* Writing a file atomically (see io.c): nnrt__atomic_open() resolves
 * symbolic links, then opens the fixed temporary nnrt__tmp_name(target)
 * beside a regular or new target, or a device/FIFO target itself;
 * nnrt__atomic_commit() flushes, fsync()s and renames.  Write errors are
 * sticky and reported by commit; abort (or a failed commit) removes the
 * temporary file. */
typedef struct NnrtAtomic {
    FILE *f;
    char *target;     /* PATH with its symbolic links resolved */
    char *tmp;        /* NULL when writing a device or FIFO in place */
    const char *path; /* as given, for messages */
    int failed;       /* errno of the first failed write, or -1 */
} NnrtAtomic;

int nnrt__atomic_open(NnrtAtomic *a, const char *path, NnrtErr *err);
void nnrt__atomic_write(NnrtAtomic *a, const void *data, size_t len);
/* Writes count elements of `size` bytes stored in host order as
 * little-endian. */
void nnrt__atomic_write_le(NnrtAtomic *a, const void *data, size_t count,
                           size_t size);
int nnrt__atomic_commit(NnrtAtomic *a, NnrtErr *err);
void nnrt__atomic_abort(NnrtAtomic *a);

/* The temporary file a save of `target` writes: ".NAME.tmp" in NAME's
 * directory, or ".PREFIX~HASH.tmp" when that would pass NAME_MAX; the
 * same name every time for a given target.  malloc()ed; NULL on OOM. */
char *nnrt__tmp_name(const char *target);

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
/* CSV with options (separator, non-finite values); opts may be NULL, and
 * its outputs (header_skipped, sep_used) are filled when given. */
int nnrt__parse_csv(const char *path, NnrtBuf *b, NnrtCsvOpts *opts,
                    NnrtArray *out, NnrtErr *err);

/* NnrtDeclared for IDX (exactly header + data). */
int nnrt__idx_declared(const unsigned char *p, size_t len, uint64_t *total,
                       int *exact);
/* NnrtDeclared for .npy (data after the header; extra bytes allowed). */
int nnrt__npy_declared(const unsigned char *p, size_t len, uint64_t *total,
                       int *exact);

#endif /* NNRT_IMPL_H */
