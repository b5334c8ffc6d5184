/*
 * embed_c.c: turns a helper's C source (compiler/emit/helpers/NAME.c) into what
 * the compiler embeds in the code it generates (docs/architecture.md,
 * "The helper C").  Run by the Makefile at build time:
 *
 *   embed_c SRC.c OUT.inc OUT.h
 *
 * SRC.c is real C, compiled alone by the unit test.  A marker is a line
 * holding only a comment that opens with @ and names a section (below);
 * the lines between a section's marker and the next end marker are the
 * section, written as they are into the generated file.  Lines
 * outside every section (the file's own comment, its include of
 * prelude.h, guards for the standalone build) are not embedded.
 *
 *   OUT.inc  one table per section, in file order:
 *                static const char *const NAME[] = { "line", ... };
 *            each line a C string literal of exactly its bytes (\ " and
 *            control bytes escaped, no trigraph), for emit_lines();
 *   OUT.h    every "#define NAME INTEGER" of the sections whose NAME is
 *            defined nowhere else in them, as
 *                #define NNC_HELPER_NAME INTEGER
 *            so that the compiler's own constants (GEMM_PACK_KC) are the
 *            helper's, written once.
 *
 * Errors (exit status 1, "SRC.c:LINE: reason"): a section opened inside
 * another, an end without a section, a section left open, a name that is
 * not a C identifier, a tab or a byte that is not printable ASCII in a
 * section, a line longer than 4095 bytes; an I/O error: status 2.  Plain
 * C99, no library beyond stdio (a fresh Debian has no xxd to rely on).
 */
// A section, in SRC.c:
//     /*@ gemm_source */
//     #define GEMM_KC 256
//     ...
//     /*@ end */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *src_path, *out_paths[2];

/* A fault of SRC.c: no output is left behind (make would take it as made). */
static void fail(int line, const char *why)
{
    fprintf(stderr, "%s:%d: %s\n", src_path, line, why);
    remove(out_paths[0]);
    remove(out_paths[1]);
    exit(1);
}

/* The NAME of a marker line "/" "*@ NAME *" "/" (only blanks around it),
 * copied into name (at most size - 1 bytes); 0 when line is no marker. */
static int marker(const char *line, char *name, size_t size, int lineno)
{
    const char *p = line;
    while (*p == ' ')
        p++;
    if (strncmp(p, "/*@", 3) != 0)
        return 0;
    p += 3;
    while (*p == ' ')
        p++;
    size_t n = 0;
    while (isalnum((unsigned char)p[n]) || p[n] == '_')
        n++;
    const char *q = p + n;
    while (*q == ' ')
        q++;
    if (n == 0 || isdigit((unsigned char)p[0]) || strncmp(q, "*/", 2) != 0)
        fail(lineno, "a marker is /*@ NAME */ or /*@ end */, NAME a C identifier");
    for (q += 2; *q == ' '; q++)
        ;
    if (*q != '\0')
        fail(lineno, "text after a marker");
    if (n >= size)
        fail(lineno, "a section name longer than 63 bytes");
    memcpy(name, p, n);
    name[n] = '\0';
    return 1;
}

/* line as a C string literal into f: \ and " escaped, and the second ? of
 * ?? (a trigraph under -std=c99). */
static void literal(FILE *f, const char *line, int lineno)
{
    fputc('"', f);
    for (const char *p = line; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c >= 0x7f)
            fail(lineno, "a tab or a byte that is not printable ASCII in a section");
        if (c == '\\' || c == '"' || (c == '?' && p > line && p[-1] == '?'))
            fputc('\\', f);
        fputc(c, f);
    }
    fputc('"', f);
}

/* The macros the sections define: name, and value when an integer. */
#define MAX_DEFINES 256
static struct {
    char name[64], value[32];
    int count;
} defines[MAX_DEFINES];
static int ndefines;

/* Note a "#define NAME ..." line: its name, and its value when the line is
 * "#define NAME INTEGER" (decimal, an optional L suffix). */
static void note_define(const char *line, int lineno)
{
    char name[64], value[32] = "", rest[2];
    if (sscanf(line, " # define %63[A-Za-z0-9_]", name) != 1)
        return;
    if (sscanf(line, " # define %*[A-Za-z0-9_] %31[0-9L] %1s", value, rest) != 1 || !isdigit((unsigned char)value[0]))
        value[0] = '\0';
    for (int i = 0; i < ndefines; i++)
        if (strcmp(defines[i].name, name) == 0) {
            defines[i].count++;
            return;
        }
    if (ndefines == MAX_DEFINES)
        fail(lineno, "more than 256 macros in the sections");
    strcpy(defines[ndefines].name, name);
    strcpy(defines[ndefines].value, value);
    defines[ndefines++].count = 1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: embed_c SRC.c OUT.inc OUT.h\n");
        return 2;
    }
    src_path = argv[1];
    out_paths[0] = argv[2];
    out_paths[1] = argv[3];
    FILE *in = fopen(argv[1], "r"), *inc = fopen(argv[2], "w"), *h = fopen(argv[3], "w");
    if (!in || !inc || !h) {
        perror(!in ? argv[1] : !inc ? argv[2] : argv[3]);
        return 2;
    }
    fprintf(inc, "/* generated by scripts/embed_c.c from %s: do not edit */\n", argv[1]);
    fprintf(h, "/* generated by scripts/embed_c.c from %s: do not edit */\n", argv[1]);
    char line[4096], name[64];
    int lineno = 0, open = 0, opened_at = 0;
    while (fgets(line, sizeof line, in)) {
        lineno++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n')
            fail(lineno, "a line longer than 4095 bytes");
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        if (marker(line, name, sizeof name, lineno)) {
            if (strcmp(name, "end") == 0) {
                if (!open)
                    fail(lineno, "/*@ end */ without a section");
                fprintf(inc, "};\n");
                open = 0;
            } else {
                if (open)
                    fail(lineno, "a section opened inside another (no /*@ end */ before it)");
                fprintf(inc, "static const char *const %s[] = {\n", name);
                open = 1;
                opened_at = lineno;
            }
            continue;
        }
        if (!open)
            continue;
        fputs("    ", inc);
        literal(inc, line, lineno);
        fputs(",\n", inc);
        note_define(line, lineno);
    }
    if (ferror(in)) {
        perror(argv[1]);
        return 2;
    }
    if (open)
        fail(opened_at, "a section without its /*@ end */");
    /* a constant is an integer macro defined once: GEMM_LANES, 8 in the
     * plain build and NNC_LANES in the vector one, is none */
    for (int i = 0; i < ndefines; i++)
        if (defines[i].count == 1 && defines[i].value[0])
            fprintf(h, "#define NNC_HELPER_%s %s\n", defines[i].name, defines[i].value);
    if (fclose(inc) != 0 || fclose(h) != 0) {
        perror(argv[2]);
        return 2;
    }
    fclose(in);
    return 0;
}
