/*
 * diag.c: formatting and ordering of diagnostics.
 *
 * Assumes the source may be anything (binary, NUL bytes, megabyte lines):
 * control bytes and invalid UTF-8 are shown as '?', and a long line is shown
 * as a window around the span, so a message is always a few short lines.
 */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct DiagMsg {
    uint32_t off;   /* sort key */
    int seq;        /* stable order among equal offsets */
    char *text;     /* formatted, several lines */
    size_t len;
};

enum { WINDOW = 100, WINDOW_BEFORE = 40 };

void diag_init(Diag *d, Arena *a, const char *path, const char *src, uint32_t len)
{
    memset(d, 0, sizeof *d);
    d->arena = a;
    d->path = path;
    d->src = src;
    d->len = len;
    d->max_errors = 50;
    int cap = 0;
    ARENA_PUSH(a, d->line_start, d->nlines, cap, 0);
    for (uint32_t i = 0; i < len; i++)
        if (src[i] == '\n')
            ARENA_PUSH(a, d->line_start, d->nlines, cap, i + 1);
}

void diag_linecol(const Diag *d, uint32_t off, int *line, int *col)
{
    int lo = 0, hi = d->nlines - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (d->line_start[mid] <= off)
            lo = mid;
        else
            hi = mid - 1;
    }
    *line = lo + 1;
    *col = (int)(off - d->line_start[lo]) + 1;
}

/* Length of the valid UTF-8 sequence at p, or 0. */
static int utf8_len(const unsigned char *p, const unsigned char *end)
{
    int n;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4;
    else
        return 0;
    if (end - p < n)
        return 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* A growing text buffer in plain heap memory, copied to the arena at the end. */
typedef struct {
    char *p;
    size_t len, cap;
} Buf;

static void buf_put(Buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            fputs("nnc: error: out of memory\n", stderr);
            exit(2);
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_vprintf(Buf *b, const char *fmt, va_list ap)
{
    char small[512];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n < 0)
        n = 0;
    if ((size_t)n < sizeof small) {
        buf_put(b, small, (size_t)n);
    } else {
        char *big = malloc((size_t)n + 1);
        if (!big) {
            fputs("nnc: error: out of memory\n", stderr);
            exit(2);
        }
        vsnprintf(big, (size_t)n + 1, fmt, ap2);
        buf_put(b, big, (size_t)n);
        free(big);
    }
    va_end(ap2);
}

static void buf_printf(Buf *b, const char *fmt, ...) DIAG_PRINTF(2, 3);
static void buf_printf(Buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

/* Where a span is shown: an error at the end of a file that ends with a
 * newline points just after the last character, not at an empty line. */
static Span shown(const Diag *d, Span sp)
{
    if (sp.start > d->len)
        sp.start = d->len;
    if (sp.start == d->len && d->len > 0 && d->src[d->len - 1] == '\n') {
        sp.start = d->len - 1;
        if (sp.start > 0 && d->src[sp.start - 1] == '\r')
            sp.start--;
    }
    if (sp.end < sp.start)
        sp.end = sp.start;
    return sp;
}

/* The source line holding sp, a window of it if long, and the caret line. */
static void put_excerpt(const Diag *d, Buf *b, Span sp)
{
    int line, col;
    sp = shown(d, sp);
    diag_linecol(d, sp.start, &line, &col);
    const unsigned char *src = (const unsigned char *)d->src;
    uint32_t ls = d->line_start[line - 1], le = ls;
    while (le < d->len && src[le] != '\n')
        le++;
    if (le > ls && src[le - 1] == '\r')
        le--; /* CRLF line endings */
    if (sp.end > le)
        sp.end = le;

    uint32_t ws = ls, we = le;
    if (sp.start - ls > WINDOW_BEFORE + 20)
        ws = sp.start - WINDOW_BEFORE;
    while (ws > ls && ws < le && (src[ws] & 0xc0) == 0x80)
        ws++;
    if (we - ws > WINDOW)
        we = ws + WINDOW;
    if (we < sp.start)
        we = sp.start;

    Buf text = {0}, mark = {0};
    if (ws > ls) {
        buf_put(&text, "...", 3);
        buf_put(&mark, "   ", 3);
    }
    uint32_t i = ws;
    while (i < we) {
        int in_span = i >= sp.start && i < sp.end;
        char m = i == sp.start ? '^' : in_span ? '~' : ' ';
        int n = src[i] >= 0x80 ? utf8_len(src + i, src + we) : 0;
        if (n > 0) {
            buf_put(&text, (const char *)src + i, (size_t)n);
            i += (uint32_t)n;
        } else if (src[i] == '\t') {
            buf_put(&text, "\t", 1);
            if (m == ' ')
                m = '\t';
            i++;
        } else {
            char c = src[i] < 0x20 || src[i] >= 0x7f ? '?' : (char)src[i];
            buf_put(&text, &c, 1);
            i++;
        }
        buf_put(&mark, &m, 1);
    }
    if (we < le)
        buf_put(&text, "...", 3);
    if (sp.start >= we)
        buf_put(&mark, "^", 1);
    /* Trailing blanks of the mark line carry no information. */
    while (mark.len > 0 && (mark.p[mark.len - 1] == ' ' || mark.p[mark.len - 1] == '\t'))
        mark.p[--mark.len] = '\0';

    buf_printf(b, "%5d | %s\n      | %s\n", line, text.p ? text.p : "", mark.p ? mark.p : "");
    free(text.p);
    free(mark.p);
}

static void add_msg(Diag *d, uint32_t off, Buf *b)
{
    DiagMsg m;
    m.off = off;
    m.seq = d->nmsgs;
    m.text = arena_strndup(d->arena, b->p, b->len);
    m.len = b->len;
    ARENA_PUSH(d->arena, d->msgs, d->nmsgs, d->cap, m);
    free(b->p);
}

static void report(Diag *d, const char *kind, const char *suffix, Span sp, const char *fmt, va_list ap)
{
    Buf b = {0};
    int line, col;
    diag_linecol(d, shown(d, sp).start, &line, &col);
    buf_printf(&b, "%s:%d:%d: %s: ", d->path, line, col, kind);
    buf_vprintf(&b, fmt, ap);
    buf_put(&b, suffix, strlen(suffix));
    buf_put(&b, "\n", 1);
    put_excerpt(d, &b, sp);
    add_msg(d, sp.start, &b);
}

void diag_error(Diag *d, Span sp, const char *fmt, ...)
{
    d->last_dropped = diag_full(d);
    if (d->last_dropped)
        return;
    va_list ap;
    va_start(ap, fmt);
    report(d, "error", "", sp, fmt, ap);
    va_end(ap);
    d->nerrors++;
}

void diag_warning(Diag *d, Span sp, const char *fmt, ...)
{
    d->last_dropped = diag_full(d);
    if (d->last_dropped)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (d->werror)
        report(d, "error", " [-Werror]", sp, fmt, ap);
    else
        report(d, "warning", "", sp, fmt, ap);
    va_end(ap);
    d->nwarnings++;
}

/* Append to the last message so that it sorts with it. */
static void append_last(Diag *d, Buf *b)
{
    if (d->nmsgs == 0) {
        free(b->p);
        return;
    }
    DiagMsg *m = &d->msgs[d->nmsgs - 1];
    char *t = arena_alloc(d->arena, m->len + b->len + 1);
    memcpy(t, m->text, m->len);
    memcpy(t + m->len, b->p, b->len);
    m->text = t;
    m->len += b->len;
    free(b->p);
}

void diag_hint(Diag *d, const char *fmt, ...)
{
    if (d->last_dropped)
        return;
    Buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    buf_put(&b, "hint: ", 6);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    buf_put(&b, "\n", 1);
    append_last(d, &b);
}

void diag_note(Diag *d, Span sp, const char *fmt, ...)
{
    if (d->last_dropped)
        return;
    Buf b = {0};
    int line, col;
    diag_linecol(d, shown(d, sp).start, &line, &col);
    buf_printf(&b, "%s:%d:%d: note: ", d->path, line, col);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    buf_put(&b, "\n", 1);
    put_excerpt(d, &b, sp);
    append_last(d, &b);
}

int diag_full(const Diag *d)
{
    return d->nerrors >= d->max_errors;
}

static int cmp_msg(const void *a, const void *b)
{
    const DiagMsg *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return x->seq - y->seq;
}

void diag_flush(Diag *d, FILE *f)
{
    if (d->nmsgs > 1)
        qsort(d->msgs, (size_t)d->nmsgs, sizeof *d->msgs, cmp_msg);
    for (int i = 0; i < d->nmsgs; i++)
        fwrite(d->msgs[i].text, 1, d->msgs[i].len, f);
    if (diag_full(d))
        fprintf(f, "%s: too many errors; stopped after %d\n", d->path, d->max_errors);
    d->nmsgs = 0;
}

void diag_internal(const char *pass, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "nnc: internal error in %s: ", pass);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nThis is a bug in nnc, not in your model; please report it with the .nn file.\n", stderr);
    exit(70);
}

int diag_edit_distance(const char *a, const char *b, int limit)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return limit + 1;
    if ((la > lb ? la - lb : lb - la) > (size_t)limit)
        return limit + 1;
    int row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int prev = row[0], best = row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cur = row[j];
            int sub = prev + (a[i - 1] != b[j - 1]);
            int v = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
            row[j] = v < sub ? v : sub;
            prev = cur;
            if (row[j] < best)
                best = row[j];
        }
        if (best > limit)
            return limit + 1;
    }
    return row[lb];
}
