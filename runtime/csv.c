/*
 * csv.c: tables of numbers, one sample per line (RFC 4180 syntax).
 *
 * Accepted: a UTF-8 byte-order mark (skipped, as spreadsheet programs
 * write one); LF, CRLF or CR-only line ends; blank lines (ignored); a
 * separator given by the caller or detected as the most frequent of ','
 * ';' and tab in the first non-blank line; quoted fields ("1.5", with ""
 * for a quote, separators and line breaks inside); spaces around fields;
 * cells strtod() reads completely.  A first row is a header, skipped and
 * reported, only when it holds no number and no missing-value marker
 * (NA, N/A, NULL, None, ?, -) and at least one name.
 *
 * Everything else is an error naming the line and column (from 1), never
 * a row silently dropped: an empty cell, "NA", a typo, a row with another
 * number of fields, NaN and infinities (unless the caller allows them).
 * The result is F64 [rows, cols] so no value is rounded before the caller
 * decides what it is (features or labels).
 */
#include "nnrt_impl.h"

#include <errno.h>
#include <math.h>
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

/* What a cell is. */
enum { CELL_NUMBER, CELL_NONFINITE, CELL_EMPTY, CELL_MISSING, CELL_TEXT };

/* One field as read: its text (unquoted, trimmed, cut to fit), where it
 * starts, and what it is. */
typedef struct Cell {
    char text[64];
    size_t len;    /* full length, may exceed the text kept */
    long line;     /* line the field starts on, from 1 */
    long col;      /* field number, from 1 */
    int kind;      /* CELL_* */
    double value;  /* for NUMBER and NONFINITE */
} Cell;

typedef struct Csv {
    const char *s, *end; /* the text and its end */
    long line;           /* line of *s, from 1 */
    char sep;
    int fast;            /* the separator cannot continue a number */
    const char *path;
    NnrtErr *err;
} Csv;

static int is_space(const Csv *c, char ch)
{
    return ch == ' ' || (ch == '\t' && c->sep != '\t');
}

static int at_eol(const Csv *c)
{
    return c->s == c->end || *c->s == '\n' || *c->s == '\r';
}

/* Consumes one line end ("\n", "\r\n" or "\r"). */
static void eat_eol(Csv *c)
{
    if (c->s < c->end && *c->s == '\r') {
        c->s++;
        if (c->s < c->end && *c->s == '\n')
            c->s++;
    } else if (c->s < c->end && *c->s == '\n') {
        c->s++;
    }
    c->line++;
}

/* Characters that may start a number strtod reads (without its white
 * space skipping). */
static int number_start(char ch)
{
    return (ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == '.' ||
           ch == 'i' || ch == 'I' || ch == 'n' || ch == 'N';
}

/* Characters that may occur inside a number strtod reads ("0x1p-3",
 * "infinity", "nan(...)"): a separator among them needs the slow path. */
static int number_char(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
           (ch >= 'A' && ch <= 'Z') || ch == '.' || ch == '+' ||
           ch == '-' || ch == '(' || ch == ')' || ch == '_';
}

/* Compares case-insensitively with an ASCII word. */
static int same_word(const char *s, size_t n, const char *w)
{
    size_t i;
    if (strlen(w) != n)
        return 0;
    for (i = 0; i < n; i++) {
        char a = s[i], b = w[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (a != b)
            return 0;
    }
    return 1;
}

/* Classifies cell->text (complete when len < sizeof text).  Numbers
 * first: they are nearly every cell. */
static void classify(Cell *cell)
{
    static const char *const missing[] = {"na", "n/a", "null", "none",
                                          "?", "-", ""};
    char *end;
    size_t k;
    if (cell->len == 0) {
        cell->kind = CELL_EMPTY;
        return;
    }
    if (cell->len < sizeof cell->text) {
        cell->value = strtod(cell->text, &end);
        if (end == cell->text + cell->len) {
            cell->kind = isfinite(cell->value) ? CELL_NUMBER : CELL_NONFINITE;
            return;
        }
    }
    for (k = 0; missing[k][0]; k++)
        if (same_word(cell->text, cell->len, missing[k])) {
            cell->kind = CELL_MISSING;
            return;
        }
    cell->kind = CELL_TEXT;
}

/* Reads the field at c->s into *cell and stops at the separator, the
 * line end or the end of the text (not consumed).  Returns 0, or
 * NN_EFORMAT for a quote never closed or text after a closing quote. */
static int read_field(Csv *c, Cell *cell, long col)
{
    size_t k = 0;
    cell->len = 0;
    cell->col = col;
    while (c->s < c->end && is_space(c, *c->s))
        c->s++;
    cell->line = c->line;
    if (c->s < c->end && *c->s == '"') {
        long open_line = c->line;
        c->s++;
        for (;;) {
            char ch;
            if (c->s == c->end)
                return nnrt__fail(c->err, NN_EFORMAT, c->path,
                                  "line %ld, column %ld: the quoted field "
                                  "is never closed",
                                  open_line, col);
            ch = *c->s;
            if (ch == '"') {
                if (c->s + 1 < c->end && c->s[1] == '"') {
                    c->s += 2; /* "" is one quote */
                } else {
                    c->s++;
                    break;
                }
            } else if (ch == '\r' || ch == '\n') {
                eat_eol(c); /* a line break inside quotes is data */
                ch = '\n';
            } else {
                c->s++;
            }
            if (k + 1 < sizeof cell->text)
                cell->text[k++] = ch;
            cell->len++;
        }
        while (c->s < c->end && is_space(c, *c->s))
            c->s++;
        if (!at_eol(c) && *c->s != c->sep)
            return nnrt__fail(c->err, NN_EFORMAT, c->path,
                              "line %ld, column %ld: text after the closing "
                              "quote",
                              c->line, col);
    } else {
        const char *start = c->s, *e, *p = c->s, *end = c->end;
        char sep = c->sep;
        /* The common case in one pass and without a copy: strtod reads
         * the number and stops at the separator or line end (the text is
         * NUL-terminated); if only spaces follow before them, the number
         * is the whole field.  Only from a character that starts a number,
         * as strtod would skip white space (line ends included), and not
         * when the separator could continue a number. */
        if (c->fast && p < end && number_start(*p)) {
            char *num_end;
            const char *q;
            cell->value = strtod(p, &num_end);
            q = num_end;
            while (q < end && is_space(c, *q))
                q++;
            if (num_end > p && isfinite(cell->value) &&
                (q == end || *q == sep || *q == '\n' || *q == '\r')) {
                cell->len = (size_t)(num_end - p);
                cell->text[0] = '\0';
                cell->kind = CELL_NUMBER;
                c->s = q;
                return 0;
            }
        }
        while (p < end && *p != sep && *p != '\n' && *p != '\r')
            p++;
        c->s = p;
        e = p;
        while (e > start && is_space(c, e[-1]))
            e--;
        cell->len = (size_t)(e - start);
        k = cell->len < sizeof cell->text ? cell->len
                                           : sizeof cell->text - 1;
        memcpy(cell->text, start, k);
    }
    cell->text[k] = '\0';
    classify(cell);
    return 0;
}

/* The error for a cell that is not a usable number. */
static int bad_cell(Csv *c, const Cell *cell)
{
    char q[300];
    nnrt__shorten(q, sizeof q, cell->text, 40);
    switch (cell->kind) {
    case CELL_EMPTY:
        return nnrt__fail(c->err, NN_EFORMAT, c->path,
                          "line %ld, column %ld: empty cell (every cell must "
                          "be a number)",
                          cell->line, cell->col);
    case CELL_MISSING:
        return nnrt__fail(c->err, NN_EFORMAT, c->path,
                          "line %ld, column %ld: missing value '%s' (every "
                          "cell must be a number)",
                          cell->line, cell->col, q);
    case CELL_NONFINITE:
        return nnrt__fail(c->err, NN_EFORMAT, c->path,
                          "line %ld, column %ld: '%s' is not a finite number",
                          cell->line, cell->col, q);
    default: {
        /* "1,5" with ';' separators: a decimal comma, which strtod in the
         * C locale does not read. */
        char t[sizeof cell->text], *comma, *end;
        int decimal_comma = 0;
        memcpy(t, cell->text, sizeof t);
        comma = strchr(t, ',');
        if (c->sep != ',' && comma && cell->len < sizeof t) {
            *comma = '.';
            strtod(t, &end);
            decimal_comma = end == t + cell->len;
        }
        return nnrt__fail(c->err, NN_EFORMAT, c->path,
                          "line %ld, column %ld: '%s%s' is not a number%s",
                          cell->line, cell->col, q,
                          cell->len >= sizeof cell->text ? "..." : "",
                          decimal_comma ? " (a decimal comma? numbers need "
                                          "'.')"
                                        : "");
    }
    }
}

/* Skips blank lines (only spaces); 1 if a record starts at c->s. */
static int next_record(Csv *c)
{
    for (;;) {
        const char *t = c->s;
        while (t < c->end && is_space(c, *t))
            t++;
        if (t == c->end) {
            c->s = t;
            return 0;
        }
        if (*t != '\n' && *t != '\r')
            return 1;
        c->s = t;
        eat_eol(c);
    }
}

/* The most frequent of ',' ';' and tab outside quotes in the line at s;
 * ',' when there is none (one column). */
static char detect_sep(const char *s, const char *end)
{
    static const char cand[3] = {',', ';', '\t'};
    long count[3] = {0, 0, 0};
    int quoted = 0, k, best = 0;
    for (; s < end && (quoted || (*s != '\n' && *s != '\r')); s++) {
        if (*s == '"')
            quoted = !quoted;
        else if (!quoted)
            for (k = 0; k < 3; k++)
                count[k] += *s == cand[k];
    }
    for (k = 1; k < 3; k++)
        if (count[k] > count[best])
            best = k;
    return cand[best];
}

int nnrt__parse_csv(const char *path, NnrtBuf *b, NnrtCsvOpts *opts,
                    NnrtArray *out, NnrtErr *err)
{
    Csv c;
    Vals vs = {NULL, 0, 0};
    Cell cell, *first = NULL;
    long ncols = -1, cols_line = 0, rows = 0, nfirst = 0, capfirst = 0;
    int allow = opts && opts->allow_nonfinite, header = 0, rc = 0;
    const char *rec_start;

    c.s = (const char *)b->data;
    c.end = c.s + b->len;
    c.line = 1;
    c.path = path;
    c.err = err;
    c.sep = opts && opts->sep ? opts->sep : 0; /* 0: tabs are blanks */
    c.fast = 0;
    if (b->len >= 3 && memcmp(c.s, "\xEF\xBB\xBF", 3) == 0)
        c.s += 3; /* byte-order mark */
    if (!next_record(&c)) {
        return nnrt__fail(err, NN_EFORMAT, path, "no rows of numbers");
    }
    c.sep = opts && opts->sep ? opts->sep : detect_sep(c.s, c.end);
    c.fast = !number_char(c.sep);
    if (opts)
        opts->sep_used = c.sep;

    /* The first record is kept whole to decide whether it is a header. */
    rec_start = c.s;
    cols_line = c.line;
    for (;;) {
        if (nfirst == capfirst) {
            long cap2 = capfirst ? capfirst * 2 : 64;
            Cell *p = realloc(first, (size_t)cap2 * sizeof *p);
            if (!p) {
                rc = nnrt__fail(err, NN_ENOMEM, path, "out of memory");
                goto done;
            }
            first = p;
            capfirst = cap2;
        }
        if ((rc = read_field(&c, &first[nfirst], nfirst + 1)) != 0)
            goto done;
        nfirst++;
        if (at_eol(&c))
            break;
        c.s++; /* the separator */
    }
    {
        long k, names = 0, others = 0;
        for (k = 0; k < nfirst; k++) {
            if (first[k].kind == CELL_TEXT)
                names++;
            else if (first[k].kind != CELL_EMPTY)
                others++;
        }
        header = names > 0 && others == 0;
    }
    if (header) {
        if (opts) {
            char raw[1024];
            size_t n = (size_t)(c.s - rec_start);
            if (n >= sizeof raw)
                n = sizeof raw - 1;
            memcpy(raw, rec_start, n);
            raw[n] = '\0';
            opts->header_skipped = 1;
            nnrt__shorten(opts->header, sizeof opts->header, raw,
                          sizeof opts->header - 1);
        }
    } else {
        long k;
        for (k = 0; k < nfirst; k++) {
            if (first[k].kind != CELL_NUMBER &&
                !(allow && first[k].kind == CELL_NONFINITE)) {
                rc = bad_cell(&c, &first[k]);
                goto done;
            }
            if (push(&vs, first[k].value) < 0) {
                rc = nnrt__fail(err, NN_ENOMEM, path, "out of memory");
                goto done;
            }
        }
        rows = 1;
    }
    ncols = nfirst;
    eat_eol(&c);

    while (next_record(&c)) {
        long nf = 0, line = c.line;
        for (;;) {
            if ((rc = read_field(&c, &cell, nf + 1)) != 0)
                goto done;
            nf++;
            if (cell.kind != CELL_NUMBER &&
                !(allow && cell.kind == CELL_NONFINITE)) {
                rc = bad_cell(&c, &cell);
                goto done;
            }
            if (nf > ncols)
                break;
            if (push(&vs, cell.value) < 0) {
                rc = nnrt__fail(err, NN_ENOMEM, path,
                                "out of memory at line %ld", line);
                goto done;
            }
            if (at_eol(&c))
                break;
            c.s++;
        }
        if (nf != ncols) {
            while (!at_eol(&c)) { /* count the rest for the message */
                if (*c.s == c.sep)
                    nf++;
                c.s++;
            }
            rc = nnrt__fail(err, NN_EFORMAT, path,
                            "line %ld has %ld field%s, %s %ld has %ld "
                            "(every row must have the same number; "
                            "separator '%s')",
                            line, nf, nf == 1 ? "" : "s",
                            header ? "the header on line" : "line", cols_line, ncols,
                            c.sep == '\t' ? "\\t" : (char[2]){c.sep, 0});
            goto done;
        }
        rows++;
        eat_eol(&c);
    }
    if (rows == 0) {
        rc = nnrt__fail(err, NN_EFORMAT, path,
                        "no rows of numbers (only a header row)");
        goto done;
    }
    out->dtype = NNRT_F64;
    out->rank = 2;
    out->dims[0] = rows;
    out->dims[1] = ncols;
    out->data = vs.v;
    out->nbytes = vs.n * sizeof(double);
    vs.v = NULL;
done:
    free(first);
    free(vs.v);
    return rc;
}

int nnrt_save_csv(const char *path, const float *data, int64_t rows,
                  int64_t cols, NnrtErr *err)
{
    NnrtAtomic a;
    int64_t r, k;
    int rc;
    if (rows < 0 || cols < 0 || (rows > 0 && cols > 0 && !data))
        return nnrt__fail(err, NN_EMISMATCH, path,
                          "cannot save a table of %lld x %lld values",
                          (long long)rows, (long long)cols);
    rc = nnrt__atomic_open(&a, path, err);
    if (rc)
        return rc;
    for (r = 0; r < rows && a.failed < 0; r++) {
        char line[4096];
        size_t n = 0;
        for (k = 0; k < cols; k++) {
            /* %.9g: the shortest precision that reads back as the same
             * float32 for every value (FLT_DECIMAL_DIG). */
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%.9g",
                                  k ? "," : "", (double)data[r * cols + k]);
            if (n > sizeof line - 64 || k == cols - 1) {
                if (k == cols - 1)
                    line[n++] = '\n';
                nnrt__atomic_write(&a, line, n);
                n = 0;
            }
        }
        if (cols == 0)
            nnrt__atomic_write(&a, "\n", 1);
    }
    return nnrt__atomic_commit(&a, err);
}
