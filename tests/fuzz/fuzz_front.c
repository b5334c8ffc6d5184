/*
 * fuzz_front.c: libFuzzer target for the nnc front end.
 *
 * Each input is a whole .nn file.  It goes through compile_front() (parse,
 * sema, lower, shape, with ir_verify after each IR pass), the buffered
 * diagnostics are formatted to /dev/null, and on success the three IR dumps
 * are written to /dev/null too, so the formatting code runs under the
 * sanitizers as well; then compile_back() (autodiff, fusion, memory
 * planning) and emit_c() write the whole generated C to /dev/null.  Everything is released with compile_free(); the
 * input buffer is a private heap copy with no NUL terminator, so a read
 * past the end of the source is caught by AddressSanitizer.
 *
 * A compiler bug reported through diag_internal() exits with status 70;
 * libFuzzer reports any exit from the target as a crash ("fuzz target
 * exited"), so internal errors are findings too.
 *
 * Build and run: tests/fuzz/run.sh [SECONDS]
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "emit_c.h"

/* Inputs larger than this are ignored (run.sh also passes -max_len). */
#define FUZZ_MAX_INPUT (1u << 16)

static FILE *sink;

static FILE *open_sink(void)
{
    FILE *f = fopen("/dev/null", "w");
    if (!f) {
        perror("fuzz_front: /dev/null");
        abort();
    }
    return f;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sink = open_sink();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;

    /* An exact-size copy: no terminator, so over-reads are detected.
     * malloc(0) may return NULL; use one byte then (len stays 0). */
    char *src = malloc(size ? size : 1);
    if (!src)
        return 0;
    if (size)
        memcpy(src, data, size);

    /* Alternate the --dump-after pass on a bit of the input, so the dump of
     * the unshaped IR after "lower" is exercised as well as the one after
     * "shape"; it is deterministic, so a reproducer replays the same way. */
    const char *dump_after = (size & 1) ? "lower" : "shape";

    Compilation c;
    int rc = compile_front(&c, "fuzz.nn", src, (uint32_t)size, dump_after, sink);
    diag_flush(&c.diag, sink);
    if (rc == 0) {
        ir_dump(c.ir, sink, "shape");
        ir_dump_shapes(c.ir, sink);
        ir_dump_dot(c.ir, sink);
        /* Every model the front end accepts goes through the back end and
         * the C emitter too, at -O0 or -O2, with 1 or 2 threads (two more
         * bits of the input), so autodiff, fusion, memory planning and
         * every kernel emitter run under the sanitizers. */
        BackOptions bo;
        memset(&bo, 0, sizeof bo);
        bo.max_batch = 4;
        bo.opt_level = (size & 2) ? 0 : 2;
        bo.threads = (size & 4) ? 2 : 1;
        if (compile_back(&c, &bo) == 0) {
            EmitOptions eo;
            memset(&eo, 0, sizeof eo);
            eo.name = c.ir->model;
            eo.source = "fuzz.nn";
            eo.cmdline = "nnc fuzz.nn";
            eo.max_batch = bo.max_batch;
            eo.threads = bo.threads;
            emit_c(c.ir, c.plan, &eo, &c.diag, sink, sink);
            mem_dump(c.ir, c.plan, sink);
            emit_kernel_list(c.ir, c.plan, sink);
        }
        diag_flush(&c.diag, sink);
    }
    compile_free(&c);
    free(src);

    /* Keep the sink's buffer from growing state across inputs. */
    fflush(sink);
    return 0;
}
