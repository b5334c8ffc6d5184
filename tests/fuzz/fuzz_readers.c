/*
 * fuzz_readers.c: libFuzzer target for the runtime's file readers: the CSV,
 * IDX and .npy parsers on the input as a buffer, and, for one input in 16,
 * the whole path from a file (gzip, format detection, label split,
 * safetensors and partial/prefixed parameter loading).
 *
 * The first byte chooses the options (separator, non-finite values, label
 * column, partial, strip_prefix); the rest is the file.  Build and run:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -fno-sanitize-recover=undefined -D_POSIX_C_SOURCE=200809L \
 *       -Iruntime -o build/fuzz_readers tests/fuzz/fuzz_readers.c \
 *       runtime/io.c runtime/csv.c runtime/npy.c runtime/idx.c \
 *       runtime/array.c runtime/params.c runtime/safetensors.c -lz -lm
 *   build/fuzz_readers -max_len=4096 -max_total_time=600 CORPUS_DIR
 */
#include "nnrt_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const unsigned char *d, size_t n);

int LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
    static char path[64];
    NnrtBuf b;
    NnrtArray a, x, y;
    NnrtErr e;
    NnrtCsvOpts o;
    unsigned char mode = n ? d[0] : 0;

    if (n) {
        d++;
        n--;
    }
    memset(&o, 0, sizeof o);
    o.sep = (mode & 3) == 1 ? ';' : (mode & 3) == 2 ? '\t' : 0;
    o.allow_nonfinite = mode >> 2 & 1;
    memset(&b, 0, sizeof b);
    b.data = malloc(n + 1);
    if (!b.data)
        return 0;
    memcpy(b.data, d, n);
    b.data[n] = 0; /* the readers' contract: a NUL after the content */
    b.len = n;
    b.gzip_over = mode >> 3 & 1;
    memset(&a, 0, sizeof a);
    if (nnrt__parse_csv("f", &b, &o, &a, &e) == 0)
        nnrt_array_free(&a);
    if (n >= 4 && nnrt__parse_idx("f", &b, &a, &e) == 0)
        nnrt_array_free(&a);
    if (b.data && n >= 6 && nnrt__parse_npy("f", &b, &a, &e) == 0)
        nnrt_array_free(&a);
    free(b.data);

    if ((mode & 0xf0) == 0xf0) {
        static const NnrtParamDesc p[2] = {{"a", NNRT_F32, 1, {2}, 1},
                                           {"b.c", NNRT_F32, 0, {0}, 1}};
        float va[2], vb[1];
        void *dst[2] = {va, vb};
        NnrtParamLoadOpts po;
        NnrtParamLoadReport r;
        FILE *f;
        if (!path[0])
            snprintf(path, sizeof path, "/tmp/fuzz_readers.%d", (int)getpid());
        f = fopen(path, "wb");
        if (!f)
            return 0;
        fwrite(d, 1, n, f);
        fclose(f);
        o.have_label = 1;
        o.label_column = (signed char)(mode & 0x0f) - 4;
        if (nnrt_load_csv_opts(path, &o, &x, &y, &e) == 0) {
            nnrt_array_free(&x);
            nnrt_array_free(&y);
        }
        memset(&po, 0, sizeof po);
        po.partial = mode & 1;
        po.strip_prefix = (mode & 2) ? "m." : NULL;
        nnrt_st_load_params_opts(path, p, 2, dst, &po, &r, &e);
        free(r.text);
    }
    return 0;
}
