/*
 * io.c: errors, element types, whole-file reading (gzip-transparent) and
 * atomic file replacement, shared by the format readers and writers.
 *
 * Reading loads the whole file (decompressed) before any parsing, so every
 * size field a parser meets can be checked against the bytes really
 * present before it is trusted for an allocation.  Writing goes through a
 * temporary file in the same directory and rename(), which POSIX makes
 * atomic, so readers only ever see the old file or the complete new one.
 */
#include "nnrt_impl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

const char *nnrt_strerror(int code)
{
    switch (code) {
    case NN_OK: return "NN_OK";
    case NN_EIO: return "NN_EIO";
    case NN_EFORMAT: return "NN_EFORMAT";
    case NN_EMISMATCH: return "NN_EMISMATCH";
    case NN_ENOMEM: return "NN_ENOMEM";
    default: return "NN_E?";
    }
}

size_t nnrt_dtype_size(int dtype)
{
    switch (dtype) {
    case NNRT_F32: return 4;
    case NNRT_F64: return 8;
    case NNRT_U8: return 1;
    case NNRT_I32: return 4;
    case NNRT_I64: return 8;
    default: return 0;
    }
}

const char *nnrt_dtype_name(int dtype)
{
    switch (dtype) {
    case NNRT_F32: return "F32";
    case NNRT_F64: return "F64";
    case NNRT_U8: return "U8";
    case NNRT_I32: return "I32";
    case NNRT_I64: return "I64";
    default: return "?";
    }
}

int nnrt__fail(NnrtErr *err, int code, const char *path, const char *fmt, ...)
{
    va_list ap;
    int n = 0;
    if (!err)
        return code;
    if (path)
        n = snprintf(err->msg, sizeof err->msg, "%s: ", path);
    if (n < 0 || (size_t)n >= sizeof err->msg)
        n = (int)strlen(err->msg);
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
    va_end(ap);
    return code;
}

void nnrt__append(NnrtErr *err, const char *fmt, ...)
{
    va_list ap;
    size_t n;
    if (!err)
        return;
    n = strnlen(err->msg, sizeof err->msg - 1);
    err->msg[n] = '\0';
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof err->msg - n, fmt, ap);
    va_end(ap);
}

int nnrt__host_le(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

void nnrt__swap(void *data, size_t count, size_t size)
{
    unsigned char *p = data;
    size_t i, j;
    if (size < 2)
        return;
    for (i = 0; i < count; i++, p += size)
        for (j = 0; j < size / 2; j++) {
            unsigned char t = p[j];
            p[j] = p[size - 1 - j];
            p[size - 1 - j] = t;
        }
}

int nnrt__numel(int rank, const int64_t *dims, size_t elem_size,
                int64_t *numel)
{
    /* The limit keeps numel * elem_size representable in both types. */
    uint64_t lim = (uint64_t)INT64_MAX < (uint64_t)SIZE_MAX
                       ? (uint64_t)INT64_MAX : (uint64_t)SIZE_MAX;
    uint64_t n = 1;
    int i;
    if (rank < 0 || rank > NNRT_MAX_RANK)
        return -1;
    if (elem_size == 0)
        elem_size = 1;
    lim /= elem_size;
    for (i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return -1;
        if (dims[i] == 0) {
            n = 0;
            continue;
        }
        if (n > lim / (uint64_t)dims[i]) {
            /* A zero dim later would make it fit, but such a shape is
             * nonsense in any file we read. */
            return -1;
        }
        n *= (uint64_t)dims[i];
    }
    *numel = (int64_t)n;
    return 0;
}

const char *nnrt__fmt_dims(char *buf, size_t cap, int rank,
                           const int64_t *dims)
{
    size_t n = 0;
    int i;
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    n += (size_t)snprintf(buf, cap, "[");
    for (i = 0; i < rank && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "",
                              (long long)dims[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
    return buf;
}

int nnrt__utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t k, need;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (len - i <= need)
            return 0;
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += need + 1;
    }
    return 1;
}

/* Grows buf to at least `need` bytes (doubling); 0 or -1 on OOM. */
static int grow(unsigned char **buf, size_t *cap, size_t need)
{
    size_t c = *cap ? *cap : 65536;
    unsigned char *p;
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return -1;
        c *= 2;
    }
    p = realloc(*buf, c);
    if (!p)
        return -1;
    *buf = p;
    *cap = c;
    return 0;
}

/* Reads a plain stream to its end.  `size_hint` is the regular file's
 * size (or 0), so the common case is one allocation and one fread. */
static int read_plain(const char *path, FILE *f, size_t size_hint,
                      NnrtBuf *out, NnrtErr *err)
{
    unsigned char *buf = NULL;
    size_t cap = 0, len = 0;
    if (grow(&buf, &cap, size_hint + 2) < 0)
        return nnrt__fail(err, NN_ENOMEM, path,
                          "out of memory reading %zu bytes", size_hint);
    for (;;) {
        size_t n;
        if (cap - len < 2 && grow(&buf, &cap, len + 2) < 0) {
            free(buf);
            return nnrt__fail(err, NN_ENOMEM, path, "out of memory");
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno;
        free(buf);
        return nnrt__fail(err, NN_EIO, path, "read error: %s", strerror(e));
    }
    buf[len] = '\0';
    out->data = buf;
    out->len = len;
    return 0;
}

/* Decompresses a gzip file completely.  zlib's gzread would also pass a
 * plain file through, but reading plain files with fread avoids a copy.
 * `hint` is the uncompressed size from the gzip trailer (ISIZE, modulo
 * 2^32), trusted only as far as deflate's maximum ratio allows. */
static int read_gzip(const char *path, size_t csize, uint32_t hint,
                     NnrtBuf *out, NnrtErr *err)
{
    unsigned char *buf = NULL;
    size_t cap = 0, len = 0, first;
    gzFile gz;
    int zerr = 0;
    const char *zmsg;

    gz = gzopen(path, "rb");
    if (!gz)
        return nnrt__fail(err, NN_EIO, path, "cannot open: %s",
                          errno ? strerror(errno) : "out of memory");
    gzbuffer(gz, 1u << 18);
    /* deflate cannot exceed about 1032:1, so a larger ISIZE is a lie. */
    first = (hint > 0 && csize <= SIZE_MAX / 1032 && hint <= csize * 1032)
                ? (size_t)hint : csize * 4;
    if (grow(&buf, &cap, first + 2) < 0) {
        gzclose(gz);
        return nnrt__fail(err, NN_ENOMEM, path, "out of memory");
    }
    for (;;) {
        size_t room;
        int n;
        if (cap - len < 2 && grow(&buf, &cap, len + 2) < 0) {
            free(buf);
            gzclose(gz);
            return nnrt__fail(err, NN_ENOMEM, path,
                              "out of memory decompressing (%zu bytes so far)",
                              len);
        }
        room = cap - len - 1;
        if (room > (1u << 30))
            room = 1u << 30;
        n = gzread(gz, buf + len, (unsigned)room);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    zmsg = gzerror(gz, &zerr);
    if (zerr == Z_BUF_ERROR) {
        out->gzip_truncated = 1; /* the parser says what is missing */
    } else if (zerr == Z_ERRNO) {
        int e = errno;
        free(buf);
        gzclose(gz);
        return nnrt__fail(err, NN_EIO, path, "read error: %s", strerror(e));
    } else if (zerr == Z_MEM_ERROR) {
        free(buf);
        gzclose(gz);
        return nnrt__fail(err, NN_ENOMEM, path, "out of memory in zlib");
    } else if (zerr != Z_OK) {
        /* gzerror's text starts with the path; keep only the reason. */
        const char *why = strrchr(zmsg, ':');
        nnrt__fail(err, NN_EFORMAT, path, "corrupt gzip data: %s",
                   why ? why + 2 : zmsg);
        free(buf);
        gzclose(gz);
        return NN_EFORMAT;
    }
    gzclose(gz);
    buf[len] = '\0';
    out->data = buf;
    out->len = len;
    out->gzip = 1;
    return 0;
}

int nnrt__read_file(const char *path, int allow_gzip, NnrtBuf *out,
                    NnrtErr *err)
{
    FILE *f;
    struct stat st;
    unsigned char magic[4];
    size_t size = 0, got;
    int rc;

    memset(out, 0, sizeof *out);
    if (!path)
        return nnrt__fail(err, NN_EIO, "(null)", "no file name");
    f = fopen(path, "rb");
    if (!f)
        return nnrt__fail(err, NN_EIO, path, "cannot open: %s",
                          strerror(errno));
    if (fstat(fileno(f), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            fclose(f);
            return nnrt__fail(err, NN_EIO, path, "is a directory");
        }
        if (S_ISREG(st.st_mode)) {
            if ((uintmax_t)st.st_size > (uintmax_t)SIZE_MAX - 2) {
                fclose(f);
                return nnrt__fail(err, NN_ENOMEM, path, "file too large");
            }
            size = (size_t)st.st_size;
        }
    }
    got = fread(magic, 1, 2, f);
    if (allow_gzip && got == 2 && magic[0] == 0x1f && magic[1] == 0x8b &&
        size >= 18) {
        uint32_t hint = 0;
        if (fseek(f, -4, SEEK_END) == 0 && fread(magic, 1, 4, f) == 4)
            hint = (uint32_t)magic[0] | (uint32_t)magic[1] << 8 |
                   (uint32_t)magic[2] << 16 | (uint32_t)magic[3] << 24;
        fclose(f);
        return read_gzip(path, size, hint, out, err);
    }
    if (allow_gzip && got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        fclose(f); /* tiny or not a regular file: let zlib size it */
        return read_gzip(path, 64, 0, out, err);
    }
    if (ferror(f) || fseek(f, 0, SEEK_SET) != 0) {
        int e = errno;
        fclose(f);
        return nnrt__fail(err, NN_EIO, path, "read error: %s", strerror(e));
    }
    rc = read_plain(path, f, size, out, err);
    fclose(f);
    return rc;
}

int nnrt__atomic_open(NnrtAtomic *a, const char *path, NnrtErr *err)
{
    size_t n;
    memset(a, 0, sizeof *a);
    a->failed = -1;
    if (!path || !*path)
        return nnrt__fail(err, NN_EIO, path ? path : "(null)",
                          "no file name");
    n = strlen(path) + 32;
    a->tmp = malloc(n);
    if (!a->tmp)
        return nnrt__fail(err, NN_ENOMEM, path, "out of memory");
    /* Same directory as PATH (rename cannot cross file systems); the pid
     * keeps two processes saving at once from sharing a temporary. */
    snprintf(a->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    a->path = path;
    a->f = fopen(a->tmp, "wb");
    if (!a->f) {
        int e = errno;
        nnrt__fail(err, NN_EIO, path, "cannot create %s: %s", a->tmp,
                   strerror(e));
        free(a->tmp);
        a->tmp = NULL;
        return NN_EIO;
    }
    return 0;
}

void nnrt__atomic_write(NnrtAtomic *a, const void *data, size_t len)
{
    if (a->failed >= 0 || len == 0)
        return;
    if (fwrite(data, 1, len, a->f) != len)
        a->failed = errno ? errno : EIO;
}

void nnrt__atomic_write_le(NnrtAtomic *a, const void *data, size_t count,
                           size_t size)
{
    unsigned char tmp[4096];
    const unsigned char *p = data;
    size_t per = sizeof tmp / size;
    if (nnrt__host_le() || size < 2) {
        nnrt__atomic_write(a, data, count * size);
        return;
    }
    while (count > 0) {
        size_t k = count < per ? count : per;
        memcpy(tmp, p, k * size);
        nnrt__swap(tmp, k, size);
        nnrt__atomic_write(a, tmp, k * size);
        p += k * size;
        count -= k;
    }
}

void nnrt__atomic_abort(NnrtAtomic *a)
{
    if (a->f)
        fclose(a->f);
    if (a->tmp) {
        remove(a->tmp);
        free(a->tmp);
    }
    a->f = NULL;
    a->tmp = NULL;
}

int nnrt__atomic_commit(NnrtAtomic *a, NnrtErr *err)
{
    int e;
    if (a->failed < 0 && fflush(a->f) != 0)
        a->failed = errno ? errno : EIO;
    /* fsync before rename: otherwise a power cut can leave the new name
     * pointing at a file whose blocks never reached the disk. */
    if (a->failed < 0 && fsync(fileno(a->f)) != 0 && errno != EINVAL &&
        errno != EROFS)
        a->failed = errno;
    e = fclose(a->f);
    a->f = NULL;
    if (a->failed < 0 && e != 0)
        a->failed = errno ? errno : EIO;
    if (a->failed >= 0) {
        e = a->failed;
        nnrt__atomic_abort(a);
        return nnrt__fail(err, NN_EIO, a->path, "write error: %s",
                          strerror(e));
    }
    if (rename(a->tmp, a->path) != 0) {
        e = errno;
        nnrt__fail(err, NN_EIO, a->path, "cannot rename %s into place: %s",
                   a->tmp, strerror(e));
        nnrt__atomic_abort(a);
        return NN_EIO;
    }
    free(a->tmp);
    a->tmp = NULL;
    return 0;
}
