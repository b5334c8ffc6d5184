/*
 * csv.c: comma-separated numbers, one sample per line.
 *
 * Accepted: fields that strtod() reads completely (decimal, exponent,
 * "nan", "inf"), spaces or tabs around them, '\n' or "\r\n" line ends,
 * blank lines (ignored), and a first non-blank line that is not numeric
 * (a header, skipped).  Every data row must have as many fields as the
 * first; the result is F64 [rows, cols] so no value is rounded before the
 * caller decides what it is (features or labels).  Not accepted: quoted
 * fields, empty fields, other separators.
 */
#include "nnrt_impl.h"

#include <stdlib.h>
#include <string.h>

typedef struct Vals {
    double *v;
    size_t n, cap;
} Vals;

static int push(Vals *vs, double x)
{
    if (vs->n == vs->cap) {
        size_t c = vs->cap ? vs->cap * 2 : 1024;
        double *p;
        if (c > SIZE_MAX / sizeof *p)
            return -1;
        p = realloc(vs->v, c * sizeof *p);
        if (!p)
            return -1;
        vs->v = p;
        vs->cap = c;
    }
    vs->v[vs->n++] = x;
    return 0;
}

/* Chars that may start a number strtod accepts.  Checking first keeps
 * strtod from skipping white space, which could run past the line end. */
static int number_start(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' ||
           c == 'i' || c == 'I' || c == 'n' || c == 'N';
}

/* Parses one line [s, e) into vs.  Returns the number of fields, or -1
 * with *bad_field (1-based) and *bad_at set when a field is not a number,
 * or -2 when out of memory. */
static long parse_line(const char *s, const char *e, Vals *vs,
                       long *bad_field, const char **bad_at)
{
    long nf = 0;
    for (;;) {
        const char *q;
        char *end;
        double x;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        nf++;
        if (s == e || !number_start(*s)) {
            *bad_field = nf;
            *bad_at = s;
            return -1;
        }
        x = strtod(s, &end);
        q = end;
        if (q == s || q > e) {
            *bad_field = nf;
            *bad_at = s;
            return -1;
        }
        while (q < e && (*q == ' ' || *q == '\t'))
            q++;
        if (q < e && *q != ',') {
            *bad_field = nf;
            *bad_at = s;
            return -1;
        }
        if (push(vs, x) < 0)
            return -2;
        if (q == e)
            return nf;
        s = q + 1;
    }
}

int nnrt__parse_csv(const char *path, NnrtBuf *b, NnrtArray *out,
                    NnrtErr *err)
{
    const char *s = (const char *)b->data, *end = s + b->len;
    Vals vs = {NULL, 0, 0};
    long line = 0, first_line = 0, cols = -1, rows = 0;
    int seen_nonblank = 0;

    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl ? nl : end, *t;
        long nf, bad_field = 0;
        const char *bad_at = NULL;
        size_t mark = vs.n;

        line++;
        if (e > s && e[-1] == '\r')
            e--;
        for (t = s; t < e && (*t == ' ' || *t == '\t'); t++)
            ;
        if (t == e) { /* blank line */
            s = nl ? nl + 1 : end;
            continue;
        }
        nf = parse_line(s, e, &vs, &bad_field, &bad_at);
        if (nf == -2) {
            free(vs.v);
            return nnrt__fail(err, NN_ENOMEM, path,
                              "out of memory at line %ld", line);
        }
        if (nf == -1) {
            const char *f = bad_at;
            int flen = 0;
            vs.n = mark;
            if (!seen_nonblank) { /* a header: skip it once */
                seen_nonblank = 1;
                s = nl ? nl + 1 : end;
                continue;
            }
            while (f + flen < e && f[flen] != ',' && flen < 40)
                flen++;
            free(vs.v);
            if (flen == 0)
                return nnrt__fail(err, NN_EFORMAT, path,
                                  "line %ld, field %ld is empty", line,
                                  bad_field);
            return nnrt__fail(err, NN_EFORMAT, path,
                              "line %ld, field %ld: '%.*s' is not a number",
                              line, bad_field, flen, f);
        }
        seen_nonblank = 1;
        if (cols < 0) {
            cols = nf;
            first_line = line;
        } else if (nf != cols) {
            free(vs.v);
            return nnrt__fail(err, NN_EFORMAT, path,
                              "line %ld has %ld values, line %ld has %ld "
                              "(every row must have the same number)",
                              line, nf, first_line, cols);
        }
        rows++;
        s = nl ? nl + 1 : end;
    }
    if (rows == 0) {
        free(vs.v);
        return nnrt__fail(err, NN_EFORMAT, path, "no rows of numbers");
    }
    out->dtype = NNRT_F64;
    out->rank = 2;
    out->dims[0] = rows;
    out->dims[1] = cols;
    out->data = vs.v;
    out->nbytes = vs.n * sizeof(double);
    return 0;
}
