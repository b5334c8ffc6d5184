/*
 * safetensors.c: reading and writing safetensors weights files
 * (https://huggingface.co/docs/safetensors, reference implementation
 * huggingface/safetensors, safetensors/src/tensor.rs).
 *
 * Layout: N as 8 bytes little-endian, N bytes of UTF-8 JSON
 *   {"__metadata__": {"format": "pt"},
 *    "fc1.weight": {"dtype": "F32", "shape": [256, 784],
 *                   "data_offsets": [0, 802816]}, ...}
 * padded with spaces, then the tensor bytes, little-endian, C order, at
 * offsets relative to the end of the header.
 *
 * The JSON parser is a strict recursive-descent one for exactly this
 * schema, with a generic value skipper (depth-bounded) for the unknown
 * keys the reference tolerates.  Nothing it reads is trusted: every offset
 * and shape is checked against the real file size, and the reference's
 * rule that the sorted offsets tile the data region exactly is enforced.
 */
#include "nnrt_impl.h"

#include <stdlib.h>
#include <string.h>

/* Deep enough for any sane unknown value, shallow enough for the stack. */
#define JSON_MAX_DEPTH 64

/* All dtypes of the reference, so that offsets can be validated even for
 * tensors this runtime cannot use; `nnrt` is -1 for those. */
static const struct {
    const char *name;
    size_t size;
    int nnrt;
} st_dtypes[] = {
    {"BOOL", 1, -1},     {"U8", 1, NNRT_U8},   {"I8", 1, -1},
    {"F8_E5M2", 1, -1},  {"F8_E4M3", 1, -1},   {"I16", 2, -1},
    {"U16", 2, -1},      {"F16", 2, -1},       {"BF16", 2, -1},
    {"I32", 4, NNRT_I32}, {"U32", 4, -1},      {"F32", 4, NNRT_F32},
    {"F64", 8, NNRT_F64}, {"I64", 8, NNRT_I64}, {"U64", 8, -1},
};

typedef struct Json {
    const unsigned char *s; /* the header */
    size_t n, i;
    char *strings; /* decoded strings are appended here ... */
    size_t used;   /* ... this many bytes so far (capacity >= n + 1) */
    const char *path;
    NnrtErr *err;
    int code; /* NN_EFORMAT, or NN_ENOMEM if that is why parsing stopped */
} Json;

/* What the parser learns about one tensor before validation. */
typedef struct Entry {
    size_t name;      /* offset into strings */
    int dt;           /* index into st_dtypes */
    int rank;
    int64_t dims[NNRT_MAX_RANK];
    uint64_t begin, end;
    size_t at;        /* byte of the entry in the header, for messages */
} Entry;

static int jfail(Json *j, const char *what)
{
    return nnrt__fail(j->err, NN_EFORMAT, j->path,
                      "bad safetensors header JSON at byte %zu: %s",
                      8 + j->i, what);
}

static void jws(Json *j)
{
    while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' ||
                           j->s[j->i] == '\n' || j->s[j->i] == '\r'))
        j->i++;
}

static int jpeek(Json *j)
{
    jws(j);
    return j->i < j->n ? j->s[j->i] : -1;
}

static int jexpect(Json *j, int c, const char *what)
{
    if (jpeek(j) != c)
        return jfail(j, what);
    j->i++;
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int hex4(Json *j, uint32_t *v)
{
    int k;
    *v = 0;
    if (j->n - j->i < 4)
        return -1;
    for (k = 0; k < 4; k++) {
        int h = hexval(j->s[j->i + k]);
        if (h < 0)
            return -1;
        *v = *v << 4 | (uint32_t)h;
    }
    j->i += 4;
    return 0;
}

/* A JSON string, decoded into j->strings; *off receives its offset.
 * A decoded string never exceeds its source (escapes shrink), so the
 * strings buffer sized from the header cannot overflow.  \u0000 is
 * rejected: names are C strings. */
static int jstring(Json *j, size_t *off)
{
    char *o;
    if (jpeek(j) != '"')
        return jfail(j, "expected a string");
    j->i++;
    *off = j->used;
    o = j->strings + j->used;
    for (;;) {
        unsigned c;
        if (j->i >= j->n)
            return jfail(j, "unterminated string");
        c = j->s[j->i++];
        if (c == '"')
            break;
        if (c < 0x20)
            return jfail(j, "control character in a string");
        if (c != '\\') {
            *o++ = (char)c;
            continue;
        }
        if (j->i >= j->n)
            return jfail(j, "unterminated string");
        c = j->s[j->i++];
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (hex4(j, &cp) < 0)
                return jfail(j, "bad \\u escape");
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return jfail(j, "lone low surrogate in \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (j->n - j->i < 2 || j->s[j->i] != '\\' ||
                    j->s[j->i + 1] != 'u')
                    return jfail(j, "lone high surrogate in \\u escape");
                j->i += 2;
                if (hex4(j, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                    return jfail(j, "bad surrogate pair in \\u escape");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp == 0)
                return jfail(j, "\\u0000 in a string");
            /* UTF-8 encoding is never longer than the 6 or 12 escape
             * bytes it came from. */
            if (cp < 0x80) {
                *o++ = (char)cp;
            } else if (cp < 0x800) {
                *o++ = (char)(0xC0 | cp >> 6);
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *o++ = (char)(0xE0 | cp >> 12);
                *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else {
                *o++ = (char)(0xF0 | cp >> 18);
                *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
                *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default:
            return jfail(j, "bad escape in a string");
        }
    }
    *o++ = '\0';
    j->used = (size_t)(o - j->strings);
    return 0;
}

/* A non-negative JSON integer (no sign, fraction or exponent: shapes and
 * offsets are counts). */
static int juint(Json *j, uint64_t *v, const char *what)
{
    uint64_t x = 0;
    size_t start;
    jws(j);
    start = j->i;
    while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9') {
        unsigned d = j->s[j->i] - '0';
        if (x > (UINT64_MAX - d) / 10)
            return jfail(j, "integer too large");
        x = x * 10 + d;
        j->i++;
    }
    if (j->i == start ||
        (j->i < j->n && (j->s[j->i] == '.' || j->s[j->i] == 'e' ||
                         j->s[j->i] == 'E')))
        return jfail(j, what);
    if (j->s[start] == '0' && j->i - start > 1)
        return jfail(j, "leading zero in a number");
    *v = x;
    return 0;
}

/* Skips any JSON value, checking its syntax; recursion is bounded so a
 * header of a million '[' cannot exhaust the stack. */
static int jskip(Json *j, int depth)
{
    int c = jpeek(j);
    size_t off;
    if (depth > JSON_MAX_DEPTH)
        return jfail(j, "nesting deeper than 64 levels");
    if (c == '"')
        return jstring(j, &off) < 0 ? -1 : (j->used = off, 0);
    if (c == '{' || c == '[') {
        int obj = c == '{', close = obj ? '}' : ']';
        j->i++;
        if (jpeek(j) == close) {
            j->i++;
            return 0;
        }
        for (;;) {
            if (obj) {
                if (jstring(j, &off) < 0)
                    return -1;
                j->used = off;
                if (jexpect(j, ':', "expected ':'") < 0)
                    return -1;
            }
            if (jskip(j, depth + 1) < 0)
                return -1;
            c = jpeek(j);
            if (c == close) {
                j->i++;
                return 0;
            }
            if (c != ',')
                return jfail(j, obj ? "expected ',' or '}'"
                                    : "expected ',' or ']'");
            j->i++;
        }
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        /* RFC 8259 number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
        size_t k;
        if (j->s[j->i] == '-')
            j->i++;
        if (j->i < j->n && j->s[j->i] == '0')
            j->i++;
        else if (j->i < j->n && j->s[j->i] >= '1' && j->s[j->i] <= '9')
            while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9')
                j->i++;
        else
            return jfail(j, "bad number");
        if (j->i < j->n && j->s[j->i] == '.') {
            k = ++j->i;
            while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9')
                j->i++;
            if (j->i == k)
                return jfail(j, "bad number");
        }
        if (j->i < j->n && (j->s[j->i] == 'e' || j->s[j->i] == 'E')) {
            j->i++;
            if (j->i < j->n && (j->s[j->i] == '+' || j->s[j->i] == '-'))
                j->i++;
            k = j->i;
            while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9')
                j->i++;
            if (j->i == k)
                return jfail(j, "bad number");
        }
        return 0;
    }
    if (j->n - j->i >= 4 && memcmp(j->s + j->i, "true", 4) == 0) {
        j->i += 4;
        return 0;
    }
    if (j->n - j->i >= 5 && memcmp(j->s + j->i, "false", 5) == 0) {
        j->i += 5;
        return 0;
    }
    if (j->n - j->i >= 4 && memcmp(j->s + j->i, "null", 4) == 0) {
        j->i += 4;
        return 0;
    }
    return jfail(j, c < 0 ? "unexpected end of header" : "expected a value");
}

/* {"dtype": "F32", "shape": [..], "data_offsets": [b, e], ...} */
static int jtensor(Json *j, Entry *t)
{
    int have_dtype = 0, have_shape = 0, have_off = 0;
    const char *name = j->strings + t->name;
    t->at = j->i;
    if (jexpect(j, '{', "expected a tensor entry {\"dtype\": ..}") < 0)
        return -1;
    if (jpeek(j) != '}')
        for (;;) {
            size_t key;
            const char *k;
            if (jstring(j, &key) < 0)
                return -1;
            k = j->strings + key;
            if (jexpect(j, ':', "expected ':'") < 0)
                return -1;
            if (strcmp(k, "dtype") == 0) {
                size_t v, d;
                if (have_dtype++)
                    return jfail(j, "repeated \"dtype\"");
                if (jstring(j, &v) < 0)
                    return -1;
                for (d = 0; d < sizeof st_dtypes / sizeof st_dtypes[0]; d++)
                    if (strcmp(j->strings + v, st_dtypes[d].name) == 0)
                        break;
                if (d == sizeof st_dtypes / sizeof st_dtypes[0])
                    return nnrt__fail(j->err, NN_EFORMAT, j->path,
                                      "tensor '%s': unknown dtype \"%s\"",
                                      name, j->strings + v);
                t->dt = (int)d;
            } else if (strcmp(k, "shape") == 0) {
                if (have_shape++)
                    return jfail(j, "repeated \"shape\"");
                if (jexpect(j, '[', "\"shape\" must be a list of integers") < 0)
                    return -1;
                if (jpeek(j) != ']')
                    for (;;) {
                        uint64_t d;
                        if (t->rank == NNRT_MAX_RANK)
                            return nnrt__fail(j->err, NN_EFORMAT, j->path,
                                              "tensor '%s' has more than %d "
                                              "dimensions",
                                              name, NNRT_MAX_RANK);
                        if (juint(j, &d, "\"shape\" must be a list of "
                                         "non-negative integers") < 0)
                            return -1;
                        if (d > (uint64_t)INT64_MAX)
                            return jfail(j, "dimension too large");
                        t->dims[t->rank++] = (int64_t)d;
                        if (jpeek(j) != ',')
                            break;
                        j->i++;
                    }
                if (jexpect(j, ']', "expected ',' or ']' in \"shape\"") < 0)
                    return -1;
            } else if (strcmp(k, "data_offsets") == 0) {
                if (have_off++)
                    return jfail(j, "repeated \"data_offsets\"");
                if (jexpect(j, '[', "\"data_offsets\" must be [begin, end]") <
                        0 ||
                    juint(j, &t->begin, "\"data_offsets\" must be two "
                                        "non-negative integers") < 0 ||
                    jexpect(j, ',', "\"data_offsets\" must be [begin, end]") <
                        0 ||
                    juint(j, &t->end, "\"data_offsets\" must be two "
                                      "non-negative integers") < 0 ||
                    jexpect(j, ']', "\"data_offsets\" must be [begin, end]") <
                        0)
                    return -1;
            } else if (jskip(j, 3) < 0) { /* unknown key: tolerated */
                return -1;
            }
            j->used = key; /* key strings are not kept */
            if (jpeek(j) != ',')
                break;
            j->i++;
        }
    if (jexpect(j, '}', "expected ',' or '}' in a tensor entry") < 0)
        return -1;
    if (!have_dtype || !have_shape || !have_off)
        return nnrt__fail(j->err, NN_EFORMAT, j->path,
                          "tensor '%s' lacks \"%s\"", name,
                          !have_dtype ? "dtype"
                          : !have_shape ? "shape" : "data_offsets");
    return 0;
}

typedef struct Parsed {
    Entry *e;
    int n, cap;
    size_t *meta; /* key, value string offsets, pairs */
    int nmeta, metacap;
} Parsed;

static int grow_entries(Parsed *p)
{
    if (p->n == p->cap) {
        int c = p->cap ? p->cap * 2 : 16;
        Entry *e;
        if (c > (int)(SIZE_MAX / sizeof *e) || c < 0)
            return -1;
        e = realloc(p->e, (size_t)c * sizeof *e);
        if (!e)
            return -1;
        p->e = e;
        p->cap = c;
    }
    memset(&p->e[p->n], 0, sizeof p->e[p->n]);
    return 0;
}

static int grow_meta(Parsed *p)
{
    if (p->nmeta == p->metacap) {
        int c = p->metacap ? p->metacap * 2 : 8;
        size_t *m = realloc(p->meta, (size_t)c * 2 * sizeof *m);
        if (!m)
            return -1;
        p->meta = m;
        p->metacap = c;
    }
    return 0;
}

/* {"NAME": ENTRY, ..., "__metadata__": {STRING: STRING, ...}} */
static int jheader(Json *j, Parsed *p)
{
    int have_meta = 0;
    if (jexpect(j, '{', "the header must be a JSON object") < 0)
        return -1;
    if (jpeek(j) != '}')
        for (;;) {
            size_t key;
            if (jstring(j, &key) < 0 || jexpect(j, ':', "expected ':'") < 0)
                return -1;
            if (strcmp(j->strings + key, "__metadata__") == 0) {
                if (have_meta++)
                    return jfail(j, "repeated \"__metadata__\"");
                j->used = key;
                if (j->n - j->i >= 4 && jpeek(j) == 'n' &&
                    memcmp(j->s + j->i, "null", 4) == 0) {
                    j->i += 4;
                } else {
                    if (jexpect(j, '{', "\"__metadata__\" must be an object "
                                        "of strings") < 0)
                        return -1;
                    if (jpeek(j) != '}')
                        for (;;) {
                            size_t mk, mv;
                            if (jstring(j, &mk) < 0 ||
                                jexpect(j, ':', "expected ':'") < 0)
                                return -1;
                            if (jpeek(j) != '"')
                                return jfail(j, "\"__metadata__\" values "
                                                "must be strings");
                            if (jstring(j, &mv) < 0)
                                return -1;
                            if (grow_meta(p) < 0)
                                return j->code = nnrt__fail(
                                           j->err, NN_ENOMEM, j->path,
                                           "out of memory");
                            p->meta[2 * p->nmeta] = mk;
                            p->meta[2 * p->nmeta + 1] = mv;
                            p->nmeta++;
                            if (jpeek(j) != ',')
                                break;
                            j->i++;
                        }
                    if (jexpect(j, '}', "expected ',' or '}'") < 0)
                        return -1;
                }
            } else {
                if (grow_entries(p) < 0)
                    return j->code = nnrt__fail(j->err, NN_ENOMEM, j->path,
                                                "out of memory");
                p->e[p->n].name = key;
                if (jtensor(j, &p->e[p->n]) < 0)
                    return -1;
                p->n++;
            }
            if (jpeek(j) != ',')
                break;
            j->i++;
        }
    if (jexpect(j, '}', "expected ',' or '}'") < 0)
        return -1;
    if (jpeek(j) != -1)
        return jfail(j, "text after the header object");
    return 0;
}

/* qsort comparators need the strings and entries; there is no context
 * argument in C99 qsort, so sort small records that carry what they
 * compare instead of using a global. */
typedef struct ByName {
    const char *name;
    int idx;
} ByName;

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const ByName *)a)->name, ((const ByName *)b)->name);
}

typedef struct ByOff {
    uint64_t begin, end;
    int idx;
} ByOff;

static int cmp_off(const void *a, const void *b)
{
    const ByOff *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->idx - y->idx;
}

void nnrt_st_free(NnrtSafetensors *st)
{
    int i;
    if (!st)
        return;
    if (st->copies)
        for (i = 0; i < st->ntensors; i++)
            free(st->copies[i]);
    free(st->copies);
    free(st->tensors);
    free(st->meta_keys);
    free(st->meta_vals);
    free(st->file);
    free(st->strings);
    free(st->by_name);
    memset(st, 0, sizeof *st);
}

/* Checks names are unique and fills st->by_name, sorted by name. */
static int index_names(NnrtSafetensors *st, const char *path, NnrtErr *err)
{
    ByName *v;
    int i, rc = 0;
    if (st->ntensors == 0)
        return 0;
    v = malloc((size_t)st->ntensors * sizeof *v);
    st->by_name = malloc((size_t)st->ntensors * sizeof *st->by_name);
    if (!v || !st->by_name) {
        free(v);
        return nnrt__fail(err, NN_ENOMEM, path, "out of memory");
    }
    for (i = 0; i < st->ntensors; i++) {
        v[i].name = st->tensors[i].name;
        v[i].idx = i;
    }
    qsort(v, (size_t)st->ntensors, sizeof *v, cmp_name);
    for (i = 0; i < st->ntensors; i++) {
        st->by_name[i] = v[i].idx;
        if (i > 0 && strcmp(v[i].name, v[i - 1].name) == 0 && rc == 0)
            rc = nnrt__fail(err, NN_EFORMAT, path,
                            "tensor '%s' appears twice in the header",
                            v[i].name);
    }
    free(v);
    return rc;
}

static int check_meta_unique(const NnrtSafetensors *st, const char *path,
                             NnrtErr *err)
{
    ByName *v;
    int i, rc = 0;
    if (st->nmeta < 2)
        return 0;
    v = malloc((size_t)st->nmeta * sizeof *v);
    if (!v)
        return nnrt__fail(err, NN_ENOMEM, path, "out of memory");
    for (i = 0; i < st->nmeta; i++) {
        v[i].name = st->meta_keys[i];
        v[i].idx = i;
    }
    qsort(v, (size_t)st->nmeta, sizeof *v, cmp_name);
    for (i = 1; i < st->nmeta && rc == 0; i++)
        if (strcmp(v[i].name, v[i - 1].name) == 0)
            rc = nnrt__fail(err, NN_EFORMAT, path,
                            "\"__metadata__\" key \"%s\" appears twice",
                            v[i].name);
    free(v);
    return rc;
}

/* Offsets: each tensor's byte count must match dtype and shape, and the
 * tensors, sorted by offset, must cover [0, data_len) exactly, as the
 * reference's Metadata::validate demands. */
static int check_offsets(const Parsed *p, const char *strings,
                         size_t data_len, const char *path, NnrtErr *err)
{
    ByOff *v;
    uint64_t at = 0;
    int i;
    char dims[160];
    for (i = 0; i < p->n; i++) {
        const Entry *e = &p->e[i];
        const char *name = strings + e->name;
        int64_t numel;
        uint64_t need;
        if (e->end < e->begin)
            return nnrt__fail(err, NN_EFORMAT, path,
                              "tensor '%s': data_offsets [%llu, %llu] end "
                              "before they begin",
                              name, (unsigned long long)e->begin,
                              (unsigned long long)e->end);
        if (nnrt__numel(e->rank, e->dims, st_dtypes[e->dt].size, &numel) < 0)
            return nnrt__fail(err, NN_EFORMAT, path,
                              "tensor '%s': shape %s is too large", name,
                              nnrt__fmt_dims(dims, sizeof dims, e->rank,
                                             e->dims));
        need = (uint64_t)numel * st_dtypes[e->dt].size;
        if (e->end - e->begin != need)
            return nnrt__fail(err, NN_EFORMAT, path,
                              "tensor '%s': shape %s of %s needs %llu bytes, "
                              "data_offsets [%llu, %llu] hold %llu",
                              name,
                              nnrt__fmt_dims(dims, sizeof dims, e->rank,
                                             e->dims),
                              st_dtypes[e->dt].name, (unsigned long long)need,
                              (unsigned long long)e->begin,
                              (unsigned long long)e->end,
                              (unsigned long long)(e->end - e->begin));
        if (e->end > data_len)
            return nnrt__fail(err, NN_EFORMAT, path,
                              "truncated: tensor '%s' ends at byte %llu of "
                              "the data, the file holds %zu bytes of data",
                              name, (unsigned long long)e->end, data_len);
    }
    if (p->n <= 0) {
        if (data_len != 0)
            return nnrt__fail(err, NN_EFORMAT, path,
                              "%zu bytes of data but no tensors", data_len);
        return 0;
    }
    v = malloc((size_t)p->n * sizeof *v);
    if (!v)
        return nnrt__fail(err, NN_ENOMEM, path, "out of memory");
    for (i = 0; i < p->n; i++) {
        v[i].begin = p->e[i].begin;
        v[i].end = p->e[i].end;
        v[i].idx = i;
    }
    qsort(v, (size_t)p->n, sizeof *v, cmp_off);
    for (i = 0; i < p->n; i++) {
        if (v[i].begin != at) {
            const char *name = strings + p->e[v[i].idx].name;
            int rc = nnrt__fail(err, NN_EFORMAT, path,
                                "tensor '%s': data_offsets begin at %llu, "
                                "expected %llu (tensors must tile the data "
                                "without %s)",
                                name, (unsigned long long)v[i].begin,
                                (unsigned long long)at,
                                v[i].begin > at ? "gaps" : "overlap");
            free(v);
            return rc;
        }
        at = v[i].end;
    }
    free(v);
    if (at != data_len)
        return nnrt__fail(err, NN_EFORMAT, path,
                          "%llu bytes after the last tensor's data",
                          (unsigned long long)(data_len - at));
    return 0;
}

int nnrt_st_read(const char *path, NnrtSafetensors *st, NnrtErr *err)
{
    NnrtBuf b;
    Json j;
    Parsed p;
    uint64_t hlen = 0;
    size_t data_at, k;
    int i, rc;

    memset(st, 0, sizeof *st);
    memset(&p, 0, sizeof p);
    rc = nnrt__read_file(path, 0, NULL, &b, err);
    if (rc)
        return rc;
    st->file = b.data;
    if (b.len < 8) {
        rc = nnrt__fail(err, NN_EFORMAT, path,
                        "truncated: %zu bytes, a safetensors file starts "
                        "with an 8-byte header length",
                        b.len);
        goto fail;
    }
    for (k = 0; k < 8; k++)
        hlen |= (uint64_t)b.data[k] << (8 * k);
    if (hlen > NNRT_ST_MAX_HEADER) {
        rc = nnrt__fail(err, NN_EFORMAT, path,
                        "header length %llu exceeds the %u-byte limit (not a "
                        "safetensors file?)",
                        (unsigned long long)hlen, NNRT_ST_MAX_HEADER);
        goto fail;
    }
    if (hlen > b.len - 8) {
        rc = nnrt__fail(err, NN_EFORMAT, path,
                        "truncated: header length %llu but only %zu bytes "
                        "follow",
                        (unsigned long long)hlen, b.len - 8);
        goto fail;
    }
    if (hlen < 2 || b.data[8] != '{') {
        rc = nnrt__fail(err, NN_EFORMAT, path,
                        "the header does not start with '{' (not a "
                        "safetensors file?)");
        goto fail;
    }
    if (!nnrt__utf8_valid(b.data + 8, (size_t)hlen)) {
        rc = nnrt__fail(err, NN_EFORMAT, path,
                        "the header is not valid UTF-8");
        goto fail;
    }
    st->strings = malloc((size_t)hlen + 1);
    if (!st->strings) {
        rc = nnrt__fail(err, NN_ENOMEM, path, "out of memory");
        goto fail;
    }
    j.s = b.data + 8;
    j.n = (size_t)hlen;
    j.i = 0;
    j.strings = st->strings;
    j.used = 0;
    j.path = path;
    j.err = err;
    j.code = NN_EFORMAT;
    if (jheader(&j, &p) < 0) {
        rc = j.code;
        goto fail;
    }
    data_at = 8 + (size_t)hlen;

    st->ntensors = p.n;
    st->tensors = calloc(p.n ? (size_t)p.n : 1, sizeof *st->tensors);
    st->copies = calloc(p.n ? (size_t)p.n : 1, sizeof *st->copies);
    st->nmeta = p.nmeta;
    st->meta_keys = malloc((p.nmeta ? (size_t)p.nmeta : 1) * sizeof(char *));
    st->meta_vals = malloc((p.nmeta ? (size_t)p.nmeta : 1) * sizeof(char *));
    if (!st->tensors || !st->copies || !st->meta_keys || !st->meta_vals) {
        rc = nnrt__fail(err, NN_ENOMEM, path, "out of memory");
        goto fail;
    }
    for (i = 0; i < p.nmeta; i++) {
        st->meta_keys[i] = st->strings + p.meta[2 * i];
        st->meta_vals[i] = st->strings + p.meta[2 * i + 1];
    }
    for (i = 0; i < p.n; i++) {
        NnrtStTensor *t = &st->tensors[i];
        t->name = st->strings + p.e[i].name;
        t->dtype = st_dtypes[p.e[i].dt].nnrt;
        t->rank = p.e[i].rank;
        memcpy(t->dims, p.e[i].dims, sizeof t->dims);
    }
    /* Names first: a duplicated tensor also breaks the offset tiling, and
     * "appears twice" is the message that tells what is wrong. */
    rc = index_names(st, path, err);
    if (rc == 0)
        rc = check_meta_unique(st, path, err);
    if (rc == 0)
        rc = check_offsets(&p, st->strings, b.len - data_at, path, err);
    if (rc)
        goto fail;

    for (i = 0; i < p.n; i++) {
        const Entry *e = &p.e[i];
        NnrtStTensor *t = &st->tensors[i];
        size_t esize = st_dtypes[e->dt].size;
        unsigned char *src = b.data + data_at + e->begin;
        if (t->dtype < 0) {
            rc = nnrt__fail(err, NN_EMISMATCH, path,
                            "tensor '%s' has dtype %s; supported are F32, "
                            "F64, U8, I32, I64",
                            t->name, st_dtypes[e->dt].name);
            goto fail;
        }
        t->nbytes = (size_t)(e->end - e->begin);
        t->data = src;
        /* Writers that do not sort by alignment (this one included, when
         * asked for a given order) can leave data misaligned for its type;
         * give such tensors an aligned copy rather than a pointer that
         * is undefined behaviour to read as float. */
        if ((data_at + e->begin) % esize != 0) {
            st->copies[i] = malloc(t->nbytes ? t->nbytes : 1);
            if (!st->copies[i]) {
                rc = nnrt__fail(err, NN_ENOMEM, path, "out of memory");
                goto fail;
            }
            memcpy(st->copies[i], src, t->nbytes);
            src = st->copies[i];
            t->data = src;
        }
        if (!nnrt__host_le())
            nnrt__swap(src, t->nbytes / esize, esize);
    }
    free(p.e);
    free(p.meta);
    return 0;

fail:
    free(p.e);
    free(p.meta);
    nnrt_st_free(st);
    return rc;
}

const NnrtStTensor *nnrt_st_find(const NnrtSafetensors *st, const char *name)
{
    int lo = 0, hi = st->ntensors - 1;
    if (!name || !st->by_name)
        return NULL;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const NnrtStTensor *t = &st->tensors[st->by_name[mid]];
        int c = strcmp(name, t->name);
        if (c == 0)
            return t;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *nnrt_st_meta(const NnrtSafetensors *st, const char *key)
{
    int i;
    for (i = 0; key && i < st->nmeta; i++)
        if (strcmp(st->meta_keys[i], key) == 0)
            return st->meta_vals[i];
    return NULL;
}

/* ---- writing ---- */

typedef struct Sb {
    char *s;
    size_t n, cap;
    int oom;
} Sb;

static void sb_put(Sb *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->cap - b->n < n + 1) {
        size_t c = b->cap ? b->cap : 256;
        char *p;
        while (c - b->n < n + 1)
            c *= 2;
        p = realloc(b->s, c);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = c;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void sb_str(Sb *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* A JSON string literal; names are validated as UTF-8 by the caller, so
 * only quotes, backslashes and control characters need escaping. */
static void sb_json(Sb *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            sb_put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_put(b, esc, 6);
        } else {
            sb_put(b, s, 1);
        }
    }
    sb_put(b, "\"", 1);
}

int nnrt_st_write(const char *path, const NnrtStTensor *tensors, int n,
                  NnrtErr *err)
{
    Sb h = {NULL, 0, 0, 0};
    ByName *names = NULL;
    uint64_t off = 0;
    unsigned char len8[8];
    NnrtAtomic a;
    char num[64];
    int i, k, rc;

    if (n < 0 || (n > 0 && !tensors))
        return nnrt__fail(err, NN_EMISMATCH, path, "bad tensor list");
    /* Validate everything before creating any file. */
    names = malloc((n ? (size_t)n : 1) * sizeof *names);
    if (!names)
        return nnrt__fail(err, NN_ENOMEM, path, "out of memory");
    for (i = 0; i < n; i++) {
        const NnrtStTensor *t = &tensors[i];
        int64_t numel;
        if (!t->name || !*t->name ||
            !nnrt__utf8_valid((const unsigned char *)t->name,
                              strlen(t->name)) ||
            strcmp(t->name, "__metadata__") == 0) {
            free(names);
            return nnrt__fail(err, NN_EMISMATCH, path,
                              "tensor %d has no valid name", i);
        }
        if (nnrt_dtype_size(t->dtype) == 0 ||
            nnrt__numel(t->rank, t->dims, nnrt_dtype_size(t->dtype), &numel) <
                0 ||
            (numel > 0 && !t->data)) {
            free(names);
            return nnrt__fail(err, NN_EMISMATCH, path,
                              "tensor '%s' has a bad dtype, rank, shape or "
                              "no data",
                              t->name);
        }
        names[i].name = t->name;
        names[i].idx = i;
    }
    qsort(names, (size_t)n, sizeof *names, cmp_name);
    for (i = 1; i < n; i++)
        if (strcmp(names[i].name, names[i - 1].name) == 0) {
            rc = nnrt__fail(err, NN_EMISMATCH, path,
                            "tensor name '%s' given twice", names[i].name);
            free(names);
            return rc;
        }
    free(names);

    sb_str(&h, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (i = 0; i < n; i++) {
        const NnrtStTensor *t = &tensors[i];
        int64_t numel;
        uint64_t bytes;
        nnrt__numel(t->rank, t->dims, nnrt_dtype_size(t->dtype), &numel);
        bytes = (uint64_t)numel * nnrt_dtype_size(t->dtype);
        sb_str(&h, ",");
        sb_json(&h, t->name);
        sb_str(&h, ":{\"dtype\":\"");
        sb_str(&h, nnrt_dtype_name(t->dtype));
        sb_str(&h, "\",\"shape\":[");
        for (k = 0; k < t->rank; k++) {
            snprintf(num, sizeof num, "%s%lld", k ? "," : "",
                     (long long)t->dims[k]);
            sb_str(&h, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}",
                 (unsigned long long)off, (unsigned long long)(off + bytes));
        sb_str(&h, num);
        off += bytes;
    }
    sb_str(&h, "}");
    /* The reference pads with spaces so the data starts 8-byte aligned. */
    while (!h.oom && h.n % 8 != 0)
        sb_str(&h, " ");
    if (h.oom) {
        free(h.s);
        return nnrt__fail(err, NN_ENOMEM, path, "out of memory");
    }
    for (k = 0; k < 8; k++)
        len8[k] = (unsigned char)((uint64_t)h.n >> (8 * k));

    rc = nnrt__atomic_open(&a, path, err);
    if (rc) {
        free(h.s);
        return rc;
    }
    nnrt__atomic_write(&a, len8, 8);
    nnrt__atomic_write(&a, h.s, h.n);
    free(h.s);
    for (i = 0; i < n; i++) {
        const NnrtStTensor *t = &tensors[i];
        int64_t numel;
        nnrt__numel(t->rank, t->dims, nnrt_dtype_size(t->dtype), &numel);
        if (numel > 0)
            nnrt__atomic_write_le(&a, t->data, (size_t)numel,
                                  nnrt_dtype_size(t->dtype));
    }
    return nnrt__atomic_commit(&a, err);
}
