/*
 * emitter.c: the indenting C printer (emitter.h): lines, floats that read
 * back exactly, strings and comments that are safe in C, loops written
 * for the threads.  Knows nothing
 * of the IR; everything it prints is text its callers made.
 */
#include "emitter.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

void emit_line(Emitter *e, const char *fmt, ...)
{
    va_list ap;
    if (fmt[0] != '\0')
        for (int i = 0; i < e->indent; i++)
            fputs("    ", e->f);
    va_start(ap, fmt);
    vfprintf(e->f, fmt, ap);
    va_end(ap);
    fputc('\n', e->f);
}

void emit_lines(Emitter *e, const char *const *lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        emit_line(e, "%s", lines[i]);
}

const char *emit_float(double x, char *buf)
{
    if (isnan(x))
        return "NAN";
    if (isinf(x))
        return x > 0 ? "INFINITY" : "-INFINITY";
    snprintf(buf, 40, "%.9g", x);
    if (!strpbrk(buf, ".e"))
        strcat(buf, ".0");
    strcat(buf, "f");
    return buf;
}

const char *emit_c_string(Arena *a, const char *s)
{
    size_t n = strlen(s);
    char *out = arena_alloc(a, 4 * n + 1), *p = out;
    for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
        if (*q == '"' || *q == '\\') {
            *p++ = '\\';
            *p++ = (char)*q;
        } else if (*q == '?' && q[1] == '?') {
            /* ??/ and the other trigraphs of -std=c99 */
            *p++ = '?';
            *p++ = '\\';
        } else if (*q < 0x20 || *q >= 0x7f) {
            /* Three octal digits: never extended by the next character. */
            p += sprintf(p, "\\%03o", *q);
        } else {
            *p++ = (char)*q;
        }
    }
    *p = '\0';
    return out;
}

const char *emit_c_comment(Arena *a, const char *s)
{
    size_t n = strlen(s);
    char *out = arena_alloc(a, 4 * n + 1), *p = out;
    for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
        if ((*q == '*' && q[1] == '/') || (*q == '/' && q[1] == '*')) {
            /* neither ends the comment nor opens one (-Wcomment) */
            *p++ = (char)*q;
            *p++ = ' ';
        } else if (*q == '?' && q[1] == '?') {
            *p++ = '?';
            *p++ = ' ';
        } else if (*q < 0x20 || *q >= 0x7f) {
            /* Control bytes, and bytes that may not be valid UTF-8 (which
             * some compilers warn about), as the text \ooo. */
            p += sprintf(p, "\\%03o", *q);
        } else {
            *p++ = (char)*q;
        }
    }
    *p = '\0';
    return out;
}

void emit_wrapped(Emitter *e, int close, const char *text)
{
    const char *p = text;
    int first = 1;
    while (*p) {
        size_t width = 79 - 4 * (size_t)e->indent - 6, n = strlen(p), fit = n;
        if (n > width) {
            /* the last space that fits, else the end of the long word */
            for (fit = width; fit > 0 && p[fit] != ' '; fit--)
                ;
            if (fit == 0)
                for (fit = width; p[fit] && p[fit] != ' '; fit++)
                    ;
        }
        const char *next = p + fit;
        while (*next == ' ')
            next++;
        emit_line(e, "%s%.*s%s", first ? "/* " : " * ", (int)fit, p, *next || !close ? "" : " */");
        p = next;
        first = 0;
    }
}

void emit_par_begin(Emitter *e, const char *cond)
{
    if (e->threads <= 1)
        return;
    if (e->par_saved)
        diag_internal("emit", "nested parallel loops");
    e->par_saved = e->f;
    e->par_cond = cond;
    e->f = open_memstream(&e->par_text, &e->par_len);
    if (!e->f)
        diag_internal("emit", "out of memory");
}

/* The captured text, one level deeper. */
static void put_indented(Emitter *e, const char *text)
{
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len > 0)
            fputs("    ", e->f);
        fwrite(p, 1, len, e->f);
        fputc('\n', e->f);
        p += len + (nl != NULL);
    }
}

void emit_par_end(Emitter *e)
{
    if (e->threads <= 1)
        return;
    fclose(e->f);
    e->f = e->par_saved;
    e->par_saved = NULL;
    emit_line(e, "if (%s) {", e->par_cond);
    e->indent++;
    emit_line(e, "NNC_PARALLEL_FOR");
    e->indent--;
    put_indented(e, e->par_text);
    emit_line(e, "} else {");
    put_indented(e, e->par_text);
    emit_line(e, "}");
    free(e->par_text);
    e->par_text = NULL;
}
