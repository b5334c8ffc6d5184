/*
 * io.c: errors, element types, bounded file reading (gzip-transparent) and
 * atomic file replacement, shared by the format readers and writers.
 *
 * Reading: only regular files are read (a FIFO, a device or a directory
 * is refused before any byte is read, and opening never blocks), at most
 * NNRT_MAX_FILE_BYTES of them.  A plain file is read whole, so every size
 * field a parser meets can be checked against the bytes really present
 * before it is trusted for an allocation.  gzip is inflated as a stream
 * and stopped at the size the content's own header declares, so a small
 * file cannot make the reader decompress gigabytes.
 *
 * Writing: nnrt__atomic_open/commit, the one way every writer saves.  A
 * regular (or new) file is written to a fixed temporary ".NAME.tmp" in the
 * same directory and rename()d over NAME, which POSIX makes atomic, so
 * readers only ever see the old file or the complete new one; symbolic
 * links are followed (the target is replaced, the link stays), the old
 * file's permissions are kept, and a device or FIFO is written in place.
 *
 * Messages: nnrt__fail escapes control characters and shortens long paths
 * so the reason always fits in an NnrtErr.
 */
#include "nnrt_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
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

/* Copies s[0..n-1] to dst (cap bytes, NUL-terminated), escaping what a
 * terminal would act on: C0 controls, DEL, C1 controls (U+0080..U+009F)
 * and bytes that are not well-formed UTF-8, each as "\xNN".  Text from
 * files (tensor names, CSV cells, paths) goes through here so a crafted
 * name cannot clear the screen or retitle the window.  Returns the bytes
 * written; stops early (at a character boundary) when dst is full. */
static size_t esc_copy(char *dst, size_t cap, const char *src, size_t n)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0, k = 0;
    if (cap == 0)
        return 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len = 1;
        int escape = c < 0x20 || c == 0x7f;
        if (c >= 0x80) {
            len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                  : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
            if (len == 0 || len > n - i ||
                !nnrt__utf8_valid(s + i, len) ||
                (c == 0xC2 && s[i + 1] < 0xA0)) {
                escape = 1;
                len = 1;
            }
        }
        if (escape) {
            if (k + 4 >= cap)
                break;
            snprintf(dst + k, cap - k, "\\x%02x", c);
            k += 4;
        } else {
            if (k + len >= cap)
                break;
            memcpy(dst + k, s + i, len);
            k += len;
        }
        i += len;
    }
    dst[k] = '\0';
    return k;
}

const char *nnrt__esc(char *buf, size_t cap, const char *s)
{
    if (cap == 0)
        return buf;
    if (!s)
        s = "(null)";
    esc_copy(buf, cap, s, strlen(s));
    return buf;
}

/* Start of the UTF-8 character holding byte i of s. */
static size_t char_start(const char *s, size_t i)
{
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    return i;
}

const char *nnrt__shorten(char *buf, size_t cap, const char *s, size_t max)
{
    char e[1024];
    size_t n, head, tail;
    nnrt__esc(e, sizeof e, s);
    n = strlen(e);
    if (max + 1 > cap)
        max = cap - 1;
    if (n <= max || max < 16) {
        snprintf(buf, cap, "%.*s", (int)max, e);
        return buf;
    }
    /* Keep the start (which directory) and more of the end (which file),
     * cut at character boundaries. */
    head = char_start(e, (max - 3) / 3);
    tail = n - (max - 3 - head);
    while (tail < n && ((unsigned char)e[tail] & 0xC0) == 0x80)
        tail++;
    snprintf(buf, cap, "%.*s...%s", (int)head, e, e + tail);
    return buf;
}

/* The longest path a message shows in full; longer ones are shortened
 * with "..." so the reason after them always fits in NnrtErr. */
#define MSG_PATH_MAX 200

int nnrt__fail(NnrtErr *err, int code, const char *path, const char *fmt, ...)
{
    va_list ap;
    char reason[1024];
    size_t n = 0;
    if (!err)
        return code;
    err->msg[0] = '\0';
    if (path) {
        nnrt__shorten(err->msg, MSG_PATH_MAX + 1, path, MSG_PATH_MAX);
        n = strlen(err->msg);
        memcpy(err->msg + n, ": ", 3);
        n += 2;
    }
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    esc_copy(err->msg + n, sizeof err->msg - n, reason, strlen(reason));
    return code;
}

void nnrt__append(NnrtErr *err, const char *fmt, ...)
{
    va_list ap;
    char more[1024];
    size_t n;
    if (!err)
        return;
    n = strnlen(err->msg, sizeof err->msg - 1);
    err->msg[n] = '\0';
    va_start(ap, fmt);
    vsnprintf(more, sizeof more, fmt, ap);
    va_end(ap);
    esc_copy(err->msg + n, sizeof err->msg - n, more, strlen(more));
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


/* ------------------------------------------------------------------ */
/* Reading                                                              */
/* ------------------------------------------------------------------ */

/* Why a file that is not a regular file is refused, in its own terms. */
static const char *not_regular(mode_t m)
{
    if (S_ISDIR(m))
        return "is a directory";
    if (S_ISFIFO(m))
        return "is a FIFO (named pipe), not a regular file";
    if (S_ISCHR(m))
        return "is a character device, not a regular file";
    if (S_ISBLK(m))
        return "is a block device, not a regular file";
    if (S_ISSOCK(m))
        return "is a socket, not a regular file";
    return "is not a regular file";
}

/* read() retried on EINTR: bytes read, 0 at the end, -1 on error. */
static long read_some(int fd, unsigned char *p, size_t n)
{
    ssize_t k;
    if (n > (1u << 30))
        n = 1u << 30;
    do
        k = read(fd, p, n);
    while (k < 0 && errno == EINTR);
    return (long)k;
}

/* Reads a regular file of `size` bytes.  A file that shrinks meanwhile
 * gives fewer bytes (the parser names the truncation); one that grows is
 * read to its size at open. */
static int read_plain(const char *path, int fd, size_t size, NnrtBuf *out,
                      NnrtErr *err)
{
    unsigned char *buf = malloc(size + 1);
    size_t len = 0;
    if (!buf)
        return nnrt__fail(err, NN_ENOMEM, path,
                          "out of memory reading %zu bytes", size);
    while (len < size) {
        long n = read_some(fd, buf + len, size - len);
        if (n < 0) {
            int e = errno;
            free(buf);
            return nnrt__fail(err, NN_EIO, path, "read error: %s",
                              strerror(e));
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    out->data = buf;
    out->len = len;
    return 0;
}

#define GZ_IN_CHUNK (1u << 18)

/* Decompresses gzip (one or more members, as zcat reads them) as a
 * stream.  Until `declared` tells the size the content's header promises,
 * the output is bounded by NNRT_MAX_FILE_BYTES; after, by that size (plus
 * one byte when more would be an error, so the parser can say so), so a
 * small file that inflates to gigabytes behind a header promising a few
 * kilobytes is stopped after those kilobytes. */
static int read_gzip(const char *path, int fd, size_t csize,
                     NnrtDeclared declared, NnrtBuf *out, NnrtErr *err)
{
    z_stream z;
    unsigned char *in = NULL, *buf = NULL;
    size_t cap, len = 0;
    uint64_t stop = (uint64_t)NNRT_MAX_FILE_BYTES + 1, total = 0;
    int known = declared ? 0 : -1, exact = 0, in_eof = 0, rc = 0;

    memset(&z, 0, sizeof z);
    cap = csize < (1u << 22) ? (1u << 18) : csize * 2;
    in = malloc(GZ_IN_CHUNK);
    buf = malloc(cap);
    if (!in || !buf || inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        free(in);
        free(buf);
        return nnrt__fail(err, NN_ENOMEM, path, "out of memory");
    }
    while ((uint64_t)len < stop) {
        size_t room;
        int zr;
        if (z.avail_in == 0 && !in_eof) {
            long n = read_some(fd, in, GZ_IN_CHUNK);
            if (n < 0) {
                rc = nnrt__fail(err, NN_EIO, path, "read error: %s",
                                strerror(errno));
                break;
            }
            in_eof = n == 0;
            z.next_in = in;
            z.avail_in = (uInt)n;
        }
        if (cap - 1 - len == 0) {
            size_t c = cap <= SIZE_MAX / 2 ? cap * 2 : SIZE_MAX;
            unsigned char *p;
            if ((uint64_t)c > stop + 1)
                c = (size_t)(stop + 1);
            p = c > cap ? realloc(buf, c) : NULL;
            if (!p) {
                rc = nnrt__fail(err, NN_ENOMEM, path,
                                "out of memory decompressing (%zu bytes so "
                                "far)",
                                len);
                break;
            }
            buf = p;
            cap = c;
        }
        room = cap - 1 - len;
        if ((uint64_t)room > stop - len)
            room = (size_t)(stop - len);
        if (room > (1u << 30))
            room = 1u << 30;
        z.next_out = buf + len;
        z.avail_out = (uInt)room;
        zr = inflate(&z, Z_NO_FLUSH);
        len += room - z.avail_out;
        if (zr == Z_STREAM_END) {
            /* Another member may follow (cat a.gz b.gz); anything else
             * after the end is ignored, as gzip -d does. */
            if (z.avail_in < 2 && !in_eof) {
                size_t keep = z.avail_in;
                long n;
                memmove(in, z.next_in, keep);
                n = read_some(fd, in + keep, GZ_IN_CHUNK - keep);
                in_eof = n <= 0;
                z.next_in = in;
                z.avail_in = (uInt)(keep + (n > 0 ? (size_t)n : 0));
            }
            if (z.avail_in >= 2 && z.next_in[0] == 0x1f &&
                z.next_in[1] == 0x8b && inflateReset(&z) == Z_OK)
                continue;
            break;
        }
        if (zr == Z_NEED_DICT || zr == Z_DATA_ERROR) {
            rc = nnrt__fail(err, NN_EFORMAT, path, "corrupt gzip data: %s",
                            z.msg ? z.msg : "invalid stream");
            break;
        }
        if (zr == Z_MEM_ERROR) {
            rc = nnrt__fail(err, NN_ENOMEM, path, "out of memory in zlib");
            break;
        }
        if ((zr == Z_BUF_ERROR || z.avail_out > 0) && z.avail_in == 0 &&
            in_eof) {
            out->gzip_truncated = 1; /* the parser says what is missing */
            break;
        }
        if (known == 0) {
            int r = declared(buf, len, &total, &exact);
            if (r < 0)
                known = -1;
            else if (r > 0) {
                known = 1;
                if (total + (exact ? 1 : 0) < stop)
                    stop = total + (exact ? 1 : 0);
                if ((uint64_t)len > stop)
                    len = (size_t)stop;
                /* One allocation for the promised size, when deflate's
                 * ratio (at most about 1032:1) makes it plausible. */
                if (stop + 2 > cap && stop / 1032 <= (uint64_t)csize + 1024) {
                    unsigned char *p = realloc(buf, (size_t)stop + 2);
                    if (p) {
                        buf = p;
                        cap = (size_t)stop + 2;
                    }
                }
            }
        }
    }
    inflateEnd(&z);
    free(in);
    if (rc == 0 && (uint64_t)len > NNRT_MAX_FILE_BYTES)
        rc = nnrt__fail(err, NN_EFORMAT, path,
                        "decompresses to more than %llu bytes, the largest "
                        "data file read",
                        (unsigned long long)NNRT_MAX_FILE_BYTES);
    if (rc) {
        free(buf);
        return rc;
    }
    if (known == 1 && exact && (uint64_t)len > total)
        out->gzip_over = 1;
    buf[len] = '\0';
    out->data = buf;
    out->len = len;
    out->gzip = 1;
    return 0;
}

int nnrt__read_file(const char *path, int allow_gzip, NnrtDeclared declared,
                    NnrtBuf *out, NnrtErr *err)
{
    struct stat st;
    unsigned char magic[2];
    long got;
    int fd, rc, flags;

    memset(out, 0, sizeof *out);
    if (!path)
        return nnrt__fail(err, NN_EIO, "(null)", "no file name");
    /* O_NONBLOCK: opening a FIFO with no writer must not wait for one;
     * the type is checked before anything is read. */
    do
        fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return nnrt__fail(err, NN_EIO, path, "cannot open: %s",
                          strerror(errno));
    if (fstat(fd, &st) != 0) {
        rc = nnrt__fail(err, NN_EIO, path, "cannot stat: %s",
                        strerror(errno));
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return nnrt__fail(err, NN_EIO, path, "%s", not_regular(st.st_mode));
    }
    if ((uintmax_t)st.st_size > (uintmax_t)NNRT_MAX_FILE_BYTES ||
        (uintmax_t)st.st_size > (uintmax_t)SIZE_MAX / 2) {
        close(fd);
        return nnrt__fail(err, NN_EFORMAT, path,
                          "is %llu bytes, more than %llu, the largest data "
                          "or weights file read",
                          (unsigned long long)st.st_size,
                          (unsigned long long)NNRT_MAX_FILE_BYTES);
    }
    flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    got = allow_gzip ? read_some(fd, magic, 2) : 0;
    if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        if (lseek(fd, 0, SEEK_SET) != 0)
            rc = nnrt__fail(err, NN_EIO, path, "cannot seek: %s",
                            strerror(errno));
        else
            rc = read_gzip(path, fd, (size_t)st.st_size, declared, out,
                           err);
    } else if (got < 0 || (got > 0 && lseek(fd, 0, SEEK_SET) != 0)) {
        rc = nnrt__fail(err, NN_EIO, path, "read error: %s",
                        strerror(errno));
    } else {
        rc = read_plain(path, fd, (size_t)st.st_size, out, err);
    }
    close(fd);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Writing                                                              */
/* ------------------------------------------------------------------ */

/* Follows symbolic links from `path` to the file they end at (which may
 * not exist yet: a dangling link names the file to create), so that
 * saving replaces the target and the link stays a link.  malloc()ed;
 * NULL on OOM or a loop of more than 40 links (ELOOP, as the kernel). */
static char *resolve_links(const char *path, int *loop)
{
    char *cur = strdup(path);
    int hops;
    *loop = 0;
    for (hops = 0; cur && hops <= 40; hops++) {
        struct stat st;
        char *link, *next;
        ssize_t k;
        size_t cap = 256;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode))
            return cur;
        for (;;) {
            link = malloc(cap);
            if (!link) {
                free(cur);
                return NULL;
            }
            k = readlink(cur, link, cap);
            if (k < 0) { /* raced away: use the name as it is */
                free(link);
                return cur;
            }
            if ((size_t)k < cap)
                break;
            free(link);
            cap *= 2;
        }
        link[k] = '\0';
        if (link[0] == '/' || !strchr(cur, '/')) {
            next = link;
        } else { /* relative to the link's directory */
            size_t d = (size_t)(strrchr(cur, '/') - cur) + 1;
            next = malloc(d + (size_t)k + 1);
            if (next) {
                memcpy(next, cur, d);
                memcpy(next + d, link, (size_t)k + 1);
            }
            free(link);
        }
        free(cur);
        cur = next;
    }
    free(cur);
    *loop = 1;
    return NULL;
}

/* 64-bit FNV-1a, to name the temporary file of a long name. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

char *nnrt__tmp_name(const char *target)
{
    const char *slash = strrchr(target, '/');
    const char *base = slash ? slash + 1 : target;
    size_t dlen = (size_t)(base - target), blen = strlen(base);
    long name_max = 255;
    char *tmp;
#ifdef _PC_NAME_MAX
    {
        char *dir = strndup(target, dlen ? dlen : 0);
        if (dir) {
            long v = pathconf(dlen ? dir : ".", _PC_NAME_MAX);
            if (v >= 32 && v < 255)
                name_max = v;
            free(dir);
        }
    }
#endif
    tmp = malloc(dlen + (size_t)name_max + 2);
    if (!tmp)
        return NULL;
    memcpy(tmp, target, dlen);
    if (blen + 5 <= (size_t)name_max) {
        /* ".NAME.tmp": hidden, and recognisably NAME's. */
        snprintf(tmp + dlen, (size_t)name_max + 2, ".%s.tmp", base);
    } else {
        /* ".PREFIX~HASH.tmp": still one fixed name per target. */
        size_t keep = (size_t)name_max - 1 - 1 - 16 - 4;
        while (keep > 0 && ((unsigned char)base[keep] & 0xC0) == 0x80)
            keep--;
        snprintf(tmp + dlen, (size_t)name_max + 2, ".%.*s~%016llx.tmp",
                 (int)keep, base, (unsigned long long)fnv1a(base));
    }
    return tmp;
}

int nnrt__atomic_open(NnrtAtomic *a, const char *path, NnrtErr *err)
{
    struct stat st;
    int have, fd, loop, e;
    char shown[128];

    memset(a, 0, sizeof *a);
    a->failed = -1;
    if (!path || !*path)
        return nnrt__fail(err, NN_EIO, path ? path : "(null)",
                          "no file name");
    a->path = path;
    /* stat() follows every link, the kernel's "magic" ones in /proc
     * (/dev/stdout -> /proc/self/fd/1 -> pipe:[N]) included. */
    have = stat(path, &st) == 0;
    if (have && S_ISDIR(st.st_mode))
        return nnrt__fail(err, NN_EIO, path, "is a directory");
    if (have && !S_ISREG(st.st_mode)) {
        /* A device or a FIFO is written in place: renaming over it would
         * turn /dev/null into a regular file.  O_NONBLOCK so a FIFO that
         * nobody reads is an error (ENXIO) rather than a hang. */
        do
            fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY);
        while (fd < 0 && errno == EINTR);
        if (fd < 0) {
            e = errno;
            nnrt__atomic_abort(a);
            if (e == ENXIO && S_ISFIFO(st.st_mode))
                return nnrt__fail(err, NN_EIO, path,
                                  "cannot write: the FIFO has no reader");
            return nnrt__fail(err, NN_EIO, path, "cannot write: %s",
                              strerror(e));
        }
        e = fcntl(fd, F_GETFL);
        if (e >= 0)
            fcntl(fd, F_SETFL, e & ~O_NONBLOCK);
    } else {
        /* A regular or new file: replace what the links end at. */
        a->target = resolve_links(path, &loop);
        if (!a->target)
            return nnrt__fail(err, loop ? NN_EIO : NN_ENOMEM, path, "%s",
                              loop ? "too many levels of symbolic links"
                                   : "out of memory");
        a->tmp = nnrt__tmp_name(a->target);
        if (!a->tmp) {
            nnrt__atomic_abort(a);
            return nnrt__fail(err, NN_ENOMEM, path, "out of memory");
        }
        /* One fixed temporary per target: a save that crashed leaves at
         * most this file, and the next save removes it.  unlink + O_EXCL
         * never follows a link planted under the temporary's name. */
        unlink(a->tmp);
        do
            fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY, 0666);
        while (fd < 0 && errno == EINTR);
        if (fd < 0) {
            e = errno;
            nnrt__shorten(shown, sizeof shown,
                          strrchr(a->tmp, '/') ? strrchr(a->tmp, '/') + 1
                                               : a->tmp,
                          60);
            free(a->tmp);
            a->tmp = NULL;
            nnrt__atomic_abort(a);
            return nnrt__fail(err, NN_EIO, path,
                              "cannot create temporary file %s: %s", shown,
                              strerror(e));
        }
        if (have) {
            /* Keep the replaced file's permissions (a 0600 checkpoint
             * stays private) and, when allowed, its owner. */
            if ((st.st_uid != geteuid() || st.st_gid != getegid()) &&
                fchown(fd, st.st_uid, st.st_gid) != 0) {
                /* not permitted: the file becomes ours, as cp's does */
            }
            if (fchmod(fd, st.st_mode & 07777) != 0)
                a->failed = errno;
        }
    }
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        e = errno;
        close(fd);
        nnrt__atomic_abort(a);
        return nnrt__fail(err, NN_ENOMEM, path, "cannot open a stream: %s",
                          strerror(e));
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
        unlink(a->tmp);
        free(a->tmp);
    }
    free(a->target);
    a->f = NULL;
    a->tmp = NULL;
    a->target = NULL;
}

int nnrt__atomic_commit(NnrtAtomic *a, NnrtErr *err)
{
    int e;
    if (a->failed < 0 && fflush(a->f) != 0)
        a->failed = errno ? errno : EIO;
    /* fsync before rename: otherwise a power cut can leave the new name
     * pointing at a file whose blocks never reached the disk.  Devices
     * and pipes may not support it (EINVAL, ENOTSUP). */
    if (a->failed < 0 && fsync(fileno(a->f)) != 0 && errno != EINVAL &&
        errno != EROFS && errno != ENOTSUP)
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
    if (a->tmp) {
        if (rename(a->tmp, a->target) != 0) {
            e = errno;
            nnrt__atomic_abort(a);
            return nnrt__fail(err, NN_EIO, a->path,
                              "cannot rename the temporary file into place: "
                              "%s",
                              strerror(e));
        }
        /* The directory is not fsync()ed: that doubles the cost of a
         * save (every epoch, for small models the whole run), and after a
         * power cut NAME is then the previous complete file, which is
         * still a good checkpoint. */
        free(a->tmp);
        a->tmp = NULL;
    }
    free(a->target);
    a->target = NULL;
    return 0;
}

int nnrt_save_file(const char *path, const void *data, size_t len,
                   NnrtErr *err)
{
    NnrtAtomic a;
    int rc = nnrt__atomic_open(&a, path, err);
    if (rc)
        return rc;
    nnrt__atomic_write(&a, data, len);
    return nnrt__atomic_commit(&a, err);
}
