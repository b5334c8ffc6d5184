/*
 * main.c: the nnc command line.
 *
 * Exit status: 0 success, 1 errors in the model, 2 usage or I/O errors,
 * 70 an internal compiler error (a bug in nnc).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"

static const char usage[] =
    "usage: nnc MODEL.nn [options]\n"
    "\n"
    "  --check              parse and check the model, shapes included; print\n"
    "                       only diagnostics\n"
    "  --emit ir            print the IR after the last pass\n"
    "  --emit shapes        print every value's per-sample shape, every\n"
    "                       parameter, each layer's and the model's parameter count\n"
    "  --emit dot           print the model as a Graphviz graph (dot -Tsvg)\n"
    "  --dump-after PASS    print the IR after PASS: lower, shape\n"
    "  -h, --help           show this help\n"
    "  --version            show the version\n"
    "\n"
    "MODEL.nn may be - for standard input.\n"
    "Exit status: 0 ok, 1 errors in the model, 2 usage or I/O error, 70 compiler bug.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fputs("nnc: error: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'nnc --help'.\n", stderr);
    return 2;
}

/* Read all of path (or stdin for "-") into a malloc'ed buffer. */
static char *read_source(const char *path, uint32_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "nnc: error: cannot open '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fprintf(stderr, "nnc: error: out of memory reading '%s'\n", path);
            break;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n > NNC_MAX_SOURCE) {
            fprintf(stderr, "nnc: error: '%s' is larger than %u MiB; that is not a model\n", path,
                    NNC_MAX_SOURCE >> 20);
            break;
        }
        if (got == 0) {
            if (ferror(f)) {
                fprintf(stderr, "nnc: error: cannot read '%s': %s\n", path, strerror(errno));
                break;
            }
            if (f != stdin)
                fclose(f);
            *len = (uint32_t)n;
            return buf;
        }
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                free(buf);
            buf = nb;
            cap *= 2;
        }
    }
    free(buf);
    if (f != stdin)
        fclose(f);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *emit = NULL, *dump_after = NULL;
    int check = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("nnc %s\n", NNC_VERSION);
            return 0;
        } else if (strcmp(a, "--check") == 0) {
            check = 1;
        } else if (strcmp(a, "--emit") == 0 || strcmp(a, "--dump-after") == 0) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", a);
            if (a[2] == 'e')
                emit = argv[++i];
            else
                dump_after = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option '%s'", a);
        } else if (path) {
            return usage_error("one model at a time; '%s' is a second file", a);
        } else {
            path = a;
        }
    }
    if (!path)
        return usage_error("%s", "no model file given");
    if (emit && strcmp(emit, "ir") != 0 && strcmp(emit, "shapes") != 0 && strcmp(emit, "dot") != 0)
        return usage_error("--emit takes ir, shapes or dot, not '%s'", emit);
    if (dump_after) {
        int ok = 0;
        for (int i = 0; compile_passes[i]; i++)
            ok |= strcmp(compile_passes[i], dump_after) == 0;
        if (!ok)
            return usage_error("--dump-after takes a pass name: lower, shape; not '%s'", dump_after);
    }
    if (!check && !emit && !dump_after) {
        fprintf(stderr, "nnc: error: code generation is not built yet; use --check, --emit or --dump-after\n");
        return 2;
    }

    uint32_t len = 0;
    char *src = read_source(path, &len);
    if (!src)
        return 2;

    Compilation c;
    int rc = compile_front(&c, path, src, len, dump_after, stdout);
    diag_flush(&c.diag, stderr);
    if (rc == 0 && emit) {
        if (strcmp(emit, "ir") == 0)
            ir_dump(c.ir, stdout, "shape");
        else if (strcmp(emit, "shapes") == 0)
            ir_dump_shapes(c.ir, stdout);
        else
            ir_dump_dot(c.ir, stdout);
    }
    compile_free(&c);
    free(src);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "nnc: error: cannot write output: %s\n", strerror(errno));
        return 2;
    }
    return rc;
}
