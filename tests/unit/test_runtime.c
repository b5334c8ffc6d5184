/*
 * test_runtime.c: unit tests of the runtime's file formats, parameter
 * loading and RNG (check framework).
 *
 * Every test works in its own temporary directory and writes the files it
 * reads, so the suite needs nothing but zlib and check.  Malformed inputs
 * are built byte by byte; what is asserted is the error code and the key
 * words of the message a user would see, and (under ASan/UBSan) that
 * nothing is read out of bounds.
 */
#include "nnrt.h"

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---- fixture: a fresh temporary directory per test ---- */

static char tmpdir[64];

static void setup(void)
{
    strcpy(tmpdir, "/tmp/nnrt-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char p[512];
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        remove(p);
    }
    closedir(d);
    rmdir(tmpdir);
}

/* A path in the test's directory; rotates over a few buffers so that two
 * can be used in one expression. */
static const char *tpath(const char *name)
{
    static char bufs[4][512];
    static int k;
    char *b = bufs[k++ % 4];
    snprintf(b, 512, "%s/%s", tmpdir, name);
    return b;
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_text(const char *path, const char *s)
{
    write_bytes(path, s, strlen(s));
}

static void write_gz(const char *path, const void *data, size_t len)
{
    gzFile g = gzopen(path, "wb");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gzwrite(g, data, (unsigned)len), (int)len);
    ck_assert_int_eq(gzclose(g), Z_OK);
}

static unsigned char *read_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    long n;
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* No "*.tmp.*" file left in the test directory. */
static int leftover_tmp(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp."))
            found = 1;
    closedir(d);
    return found;
}

/* A byte search (memmem is a GNU extension). */
static int has_bytes(const unsigned char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle), i;
    for (i = 0; n <= len && i <= len - n; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return 1;
    return 0;
}

#define ck_assert_msg_has(err, needle)                                     \
    ck_assert_msg(strstr((err).msg, (needle)) != NULL,                     \
                  "message \"%s\" lacks \"%s\"", (err).msg, (needle))

/* Loads `path` expecting failure with `code` and `needle` in the message. */
static void expect_load_fail(const char *path, int code, const char *needle)
{
    NnrtArray a;
    NnrtErr e;
    int rc = nnrt_load_array(path, &a, &e);
    ck_assert_msg(rc == code, "%s: rc %d, expected %d (%s)", path, rc, code,
                  rc ? e.msg : "ok");
    ck_assert_msg_has(e, needle);
    ck_assert_ptr_null(a.data);
}

/* ---- npy ---- */

/* A v1.0 .npy file with a given header dict and raw data. */
static void write_npy_raw(const char *path, int major, const char *dict,
                          const void *data, size_t len)
{
    unsigned char buf[4096];
    size_t pre = major == 1 ? 10 : 12, hl = strlen(dict) + 1, n = 0;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    buf[8] = (unsigned char)(hl & 0xff);
    buf[9] = (unsigned char)(hl >> 8);
    if (major > 1) {
        buf[10] = 0;
        buf[11] = 0;
    }
    memcpy(buf + pre, dict, hl - 1);
    buf[pre + hl - 1] = '\n';
    n = pre + hl;
    memcpy(buf + n, data, len);
    write_bytes(path, buf, n + len);
}

START_TEST(npy_roundtrip)
{
    const float x[6] = {1.5f, -2.0f, 3.25f, 0.0f, 1e-7f, 65504.0f};
    const int64_t dims[2] = {2, 3};
    NnrtArray a;
    NnrtErr e;
    size_t len;
    unsigned char *raw;

    ck_assert_int_eq(nnrt_save_npy(tpath("x.npy"), x, 2, dims, &e), 0);
    ck_assert(!leftover_tmp());
    ck_assert_int_eq(nnrt_load_array(tpath("x.npy"), &a, &e), 0);
    ck_assert_int_eq(a.dtype, NNRT_F32);
    ck_assert_int_eq(a.rank, 2);
    ck_assert_int_eq(a.dims[0], 2);
    ck_assert_int_eq(a.dims[1], 3);
    ck_assert_uint_eq(a.nbytes, sizeof x);
    ck_assert_mem_eq(a.data, x, sizeof x);
    nnrt_array_free(&a);

    /* numpy's layout: data 64-byte aligned (128 bytes of header here, as
     * np.save writes), header ends in '\n'. */
    raw = read_bytes(tpath("x.npy"), &len);
    ck_assert_uint_eq(len, 128 + sizeof x);
    ck_assert_int_eq(raw[127], '\n');
    ck_assert(has_bytes(raw, 128, "'shape': (2, 3), }"));
    free(raw);
}
END_TEST

START_TEST(npy_rank1_and_scalar)
{
    const float x[3] = {1, 2, 3};
    int64_t d1 = 3;
    NnrtArray a;
    NnrtErr e;
    size_t len;
    unsigned char *raw;

    ck_assert_int_eq(nnrt_save_npy(tpath("v.npy"), x, 1, &d1, &e), 0);
    raw = read_bytes(tpath("v.npy"), &len);
    ck_assert(has_bytes(raw, 128, "'shape': (3,), }"));
    free(raw);
    ck_assert_int_eq(nnrt_load_array(tpath("v.npy"), &a, &e), 0);
    ck_assert_int_eq(a.rank, 1);
    ck_assert_int_eq(a.dims[0], 3);
    nnrt_array_free(&a);

    ck_assert_int_eq(nnrt_save_npy(tpath("s.npy"), x, 0, NULL, &e), 0);
    ck_assert_int_eq(nnrt_load_array(tpath("s.npy"), &a, &e), 0);
    ck_assert_int_eq(a.rank, 0);
    ck_assert_int_eq(nnrt_array_numel(&a), 1);
    ck_assert(((float *)a.data)[0] == 1.0f);
    nnrt_array_free(&a);
}
END_TEST

START_TEST(npy_dtypes_and_versions)
{
    const int64_t i8[3] = {7, -1, 1LL << 40};
    const unsigned char u1[4] = {0, 51, 128, 255};
    const signed char s1[2] = {-3, 4};
    const double f8[2] = {0.1, -2.5};
    NnrtArray a;
    NnrtErr e;
    float *f;

    write_npy_raw(tpath("i8.npy"), 1,
                  "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                  i8, sizeof i8);
    ck_assert_int_eq(nnrt_load_array(tpath("i8.npy"), &a, &e), 0);
    ck_assert_int_eq(a.dtype, NNRT_I64);
    ck_assert_mem_eq(a.data, i8, sizeof i8);
    nnrt_array_free(&a);

    /* Version 2.0 (4-byte header length), double quotes, no spaces. */
    write_npy_raw(tpath("u1.npy"), 2,
                  "{\"descr\":\"|u1\",\"fortran_order\":False,\"shape\":(2,2)}",
                  u1, sizeof u1);
    ck_assert_int_eq(nnrt_load_array(tpath("u1.npy"), &a, &e), 0);
    ck_assert_int_eq(a.dtype, NNRT_U8);
    ck_assert_int_eq(a.dims[1], 2);
    ck_assert_int_eq(nnrt_array_to_f32(&a, &f, &e), 0);
    ck_assert(f[0] == 0.0f && f[1] == 51.0f / 255.0f && f[3] == 1.0f);
    free(f);
    nnrt_array_free(&a);

    write_npy_raw(tpath("s1.npy"), 3,
                  "{'descr': '|i1', 'fortran_order': False, 'shape': (2,), }",
                  s1, sizeof s1);
    ck_assert_int_eq(nnrt_load_array(tpath("s1.npy"), &a, &e), 0);
    ck_assert_int_eq(a.dtype, NNRT_I32);
    ck_assert_int_eq(((int32_t *)a.data)[0], -3);
    nnrt_array_free(&a);

    write_npy_raw(tpath("f8.npy"), 1,
                  "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                  f8, sizeof f8);
    ck_assert_int_eq(nnrt_load_array(tpath("f8.npy"), &a, &e), 0);
    ck_assert_int_eq(a.dtype, NNRT_F64);
    ck_assert_int_eq(nnrt_array_to_f32(&a, &f, &e), 0);
    ck_assert(f[0] == 0.1f && f[1] == -2.5f);
    free(f);
    nnrt_array_free(&a);
}
END_TEST

START_TEST(npy_malformed)
{
    const float x[4] = {1, 2, 3, 4};
    const int64_t dims[1] = {4};
    unsigned char *raw, big[16];
    size_t len;
    NnrtErr e;

    /* Truncated data. */
    ck_assert_int_eq(nnrt_save_npy(tpath("x.npy"), x, 1, dims, &e), 0);
    raw = read_bytes(tpath("x.npy"), &len);
    write_bytes(tpath("cut.npy"), raw, len - 3);
    expect_load_fail(tpath("cut.npy"), NN_EFORMAT,
                     "truncated: shape [4] of '<f4' needs 16 bytes of data, "
                     "the file holds 13");
    /* Cut inside the header. */
    write_bytes(tpath("cut2.npy"), raw, 30);
    expect_load_fail(tpath("cut2.npy"), NN_EFORMAT, "truncated .npy");
    /* Cut inside the preamble. */
    write_bytes(tpath("cut3.npy"), raw, 7);
    expect_load_fail(tpath("cut3.npy"), NN_EFORMAT, "truncated .npy");
    /* Bad magic: then it is nothing we know. */
    raw[5] = 'Z';
    write_bytes(tpath("magic.npy"), raw, len);
    expect_load_fail(tpath("magic.npy"), NN_EFORMAT,
                     "not a .npy, IDX or CSV file");
    /* Unknown version. */
    raw[5] = 'Y';
    raw[6] = 9;
    write_bytes(tpath("ver.npy"), raw, len);
    expect_load_fail(tpath("ver.npy"), NN_EFORMAT, "format version 9.0");
    free(raw);

    /* Version 2.0 header length of 4 GB in a 16-byte file. */
    memcpy(big, "\x93NUMPY\x02\x00\xf0\xff\xff\xff{}\n\n", 16);
    write_bytes(tpath("huge.npy"), big, sizeof big);
    expect_load_fail(tpath("huge.npy"), NN_EFORMAT, "header length 4294967280");

    write_npy_raw(tpath("f.npy"), 1,
                  "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                  x, sizeof x);
    expect_load_fail(tpath("f.npy"), NN_EFORMAT, "fortran_order");
    write_npy_raw(tpath("be.npy"), 1,
                  "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }",
                  x, sizeof x);
    expect_load_fail(tpath("be.npy"), NN_EFORMAT, "big-endian");
    write_npy_raw(tpath("c8.npy"), 1,
                  "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }",
                  x, sizeof x);
    expect_load_fail(tpath("c8.npy"), NN_EFORMAT, "unsupported dtype '<c8'");
    write_npy_raw(tpath("st.npy"), 1,
                  "{'descr': [('a', '<f4')], 'fortran_order': False, "
                  "'shape': (2,), }",
                  x, sizeof x);
    expect_load_fail(tpath("st.npy"), NN_EFORMAT, "structured");
    write_npy_raw(tpath("g.npy"), 1,
                  "{'descr': '<f4', 'fortran_order': False, 'shape': (4,",
                  x, sizeof x);
    expect_load_fail(tpath("g.npy"), NN_EFORMAT, "malformed .npy header");
    write_npy_raw(tpath("k.npy"), 1,
                  "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), "
                  "'evil': 1}",
                  x, sizeof x);
    expect_load_fail(tpath("k.npy"), NN_EFORMAT, "key 'evil'");
    write_npy_raw(tpath("ov.npy"), 1,
                  "{'descr': '<f4', 'fortran_order': False, 'shape': "
                  "(4294967296, 4294967296, 4294967296), }",
                  x, sizeof x);
    expect_load_fail(tpath("ov.npy"), NN_EFORMAT, "too large");
    write_npy_raw(tpath("r9.npy"), 1,
                  "{'descr': '<f4', 'fortran_order': False, 'shape': "
                  "(1,1,1,1,1,1,1,1,1), }",
                  x, sizeof x);
    expect_load_fail(tpath("r9.npy"), NN_EFORMAT, "more than 8 dimensions");
}
END_TEST

/* ---- IDX ---- */

/* An IDX file: type byte, dims, then raw (already big-endian) data. */
static size_t make_idx(unsigned char *buf, int type, int rank,
                       const uint32_t *dims, const void *data, size_t len)
{
    size_t n = 4;
    int i;
    buf[0] = buf[1] = 0;
    buf[2] = (unsigned char)type;
    buf[3] = (unsigned char)rank;
    for (i = 0; i < rank; i++) {
        buf[n++] = (unsigned char)(dims[i] >> 24);
        buf[n++] = (unsigned char)(dims[i] >> 16);
        buf[n++] = (unsigned char)(dims[i] >> 8);
        buf[n++] = (unsigned char)dims[i];
    }
    memcpy(buf + n, data, len);
    return n + len;
}

START_TEST(idx_plain_and_gzip)
{
    unsigned char img[3 * 2 * 2], buf[256];
    const uint32_t dims[3] = {3, 2, 2};
    const unsigned char be_i32[8] = {0, 0, 0, 7, 0xff, 0xff, 0xff, 0xfe};
    const unsigned char be_f32[4] = {0x3f, 0xc0, 0, 0}; /* 1.5f */
    const unsigned char be_f64[8] = {0xc0, 0x04, 0, 0, 0, 0, 0, 0}; /* -2.5 */
    const unsigned char i16[4] = {0xff, 0xfe, 0x01, 0x00};
    uint32_t d1;
    NnrtArray a;
    NnrtErr e;
    size_t n, i;

    for (i = 0; i < sizeof img; i++)
        img[i] = (unsigned char)(i * 20);
    n = make_idx(buf, 0x08, 3, dims, img, sizeof img);
    write_bytes(tpath("img-idx3-ubyte"), buf, n);
    write_gz(tpath("img-idx3-ubyte.gz"), buf, n);
    ck_assert_int_eq(nnrt_load_array(tpath("img-idx3-ubyte"), &a, &e), 0);
    ck_assert_int_eq(a.dtype, NNRT_U8);
    ck_assert_int_eq(a.rank, 3);
    ck_assert_int_eq(a.dims[0], 3);
    ck_assert_int_eq(a.dims[2], 2);
    ck_assert_mem_eq(a.data, img, sizeof img);
    nnrt_array_free(&a);
    ck_assert_int_eq(nnrt_load_array(tpath("img-idx3-ubyte.gz"), &a, &e), 0);
    ck_assert_int_eq(a.dims[0], 3);
    ck_assert_mem_eq(a.data, img, sizeof img);
    nnrt_array_free(&a);

    d1 = 2;
    n = make_idx(buf, 0x0C, 1, &d1, be_i32, sizeof be_i32);
    write_gz(tpath("lab.gz"), buf, n);
    ck_assert_int_eq(nnrt_load_array(tpath("lab.gz"), &a, &e), 0);
    ck_assert_int_eq(a.dtype, NNRT_I32);
    ck_assert_int_eq(((int32_t *)a.data)[0], 7);
    ck_assert_int_eq(((int32_t *)a.data)[1], -2);
    nnrt_array_free(&a);

    d1 = 1;
    n = make_idx(buf, 0x0D, 1, &d1, be_f32, sizeof be_f32);
    write_bytes(tpath("f32"), buf, n);
    ck_assert_int_eq(nnrt_load_array(tpath("f32"), &a, &e), 0);
    ck_assert(a.dtype == NNRT_F32 && ((float *)a.data)[0] == 1.5f);
    nnrt_array_free(&a);

    n = make_idx(buf, 0x0E, 1, &d1, be_f64, sizeof be_f64);
    write_bytes(tpath("f64"), buf, n);
    ck_assert_int_eq(nnrt_load_array(tpath("f64"), &a, &e), 0);
    ck_assert(a.dtype == NNRT_F64 && ((double *)a.data)[0] == -2.5);
    nnrt_array_free(&a);

    d1 = 2;
    n = make_idx(buf, 0x0B, 1, &d1, i16, sizeof i16);
    write_bytes(tpath("i16"), buf, n);
    ck_assert_int_eq(nnrt_load_array(tpath("i16"), &a, &e), 0);
    ck_assert_int_eq(a.dtype, NNRT_I32);
    ck_assert_int_eq(((int32_t *)a.data)[0], -2);
    ck_assert_int_eq(((int32_t *)a.data)[1], 256);
    nnrt_array_free(&a);
}
END_TEST

START_TEST(idx_truncated)
{
    unsigned char img[5 * 2 * 2] = {0}, buf[256], *raw;
    const uint32_t dims[3] = {5, 2, 2};
    uint32_t d1 = 9;
    size_t n, len;

    n = make_idx(buf, 0x08, 3, dims, img, sizeof img);
    /* 2 whole images and a bit of a third. */
    write_bytes(tpath("cut-idx3-ubyte"), buf, 16 + 2 * 4 + 1);
    expect_load_fail(tpath("cut-idx3-ubyte"), NN_EFORMAT,
                     "truncated: header says 5 images of 2x2, file holds 2");
    write_gz(tpath("cut.gz"), buf, 16 + 2 * 4);
    expect_load_fail(tpath("cut.gz"), NN_EFORMAT,
                     "header says 5 images of 2x2, file holds 2");
    /* Extra bytes are as wrong as missing ones. */
    buf[n] = 1;
    write_bytes(tpath("long-idx3-ubyte"), buf, n + 1);
    expect_load_fail(tpath("long-idx3-ubyte"), NN_EFORMAT, "1 bytes more");
    /* Labels: "N labels". */
    n = make_idx(buf, 0x08, 1, &d1, img, 4);
    write_bytes(tpath("lab"), buf, n);
    expect_load_fail(tpath("lab"), NN_EFORMAT,
                     "header says 9 labels, file holds 4");
    /* Header itself cut. */
    write_bytes(tpath("hdr"), "\0\0\x08\x03\0\0", 6);
    expect_load_fail(tpath("hdr"), NN_EFORMAT, "IDX header of 3 dimensions");
    /* A gzip stream cut in the middle: the complete file is compressed,
     * then the compressed bytes are chopped. */
    {
        unsigned char big[16 + 4000];
        const uint32_t bd[3] = {1000, 2, 2};
        size_t k;
        make_idx(big, 0x08, 3, bd, img, 0);
        for (k = 0; k < 4000; k++)
            big[16 + k] = (unsigned char)(k * 7919 >> 3);
        write_gz(tpath("whole.gz"), big, sizeof big);
        raw = read_bytes(tpath("whole.gz"), &len);
        write_bytes(tpath("chopped.gz"), raw, len / 2);
        free(raw);
        expect_load_fail(tpath("chopped.gz"), NN_EFORMAT,
                         "gzip stream is cut short");
    }
}
END_TEST

/* ---- CSV ---- */

START_TEST(csv_header_and_rows)
{
    NnrtArray a;
    NnrtErr e;
    const double *v;

    write_text(tpath("d.csv"), "x1,x2, x3\r\n1,2,3\r\n\r\n4.5, -6e1 ,7\n"
                               "  \n8,9,10");
    ck_assert_int_eq(nnrt_load_array(tpath("d.csv"), &a, &e), 0);
    ck_assert_int_eq(a.dtype, NNRT_F64);
    ck_assert_int_eq(a.rank, 2);
    ck_assert_int_eq(a.dims[0], 3);
    ck_assert_int_eq(a.dims[1], 3);
    v = a.data;
    ck_assert(v[0] == 1 && v[3] == 4.5 && v[4] == -60 && v[8] == 10);
    nnrt_array_free(&a);

    /* No header; one column (a label file). */
    write_text(tpath("l.csv"), "0\n2\n1\n");
    ck_assert_int_eq(nnrt_load_array(tpath("l.csv"), &a, &e), 0);
    ck_assert_int_eq(a.dims[0], 3);
    ck_assert_int_eq(a.dims[1], 1);
    nnrt_array_free(&a);
}
END_TEST

START_TEST(csv_errors)
{
    write_text(tpath("r.csv"), "a,b,c\n1,2,3\n4,5,6\n7,8\n");
    expect_load_fail(tpath("r.csv"), NN_EFORMAT,
                     "line 4 has 2 fields, the header on line 1 has 3");
    write_text(tpath("r2.csv"), "1,2,3\n4,5,6,7\n");
    expect_load_fail(tpath("r2.csv"), NN_EFORMAT,
                     "line 2 has 4 fields, line 1 has 3");
    write_text(tpath("n.csv"), "1,2\n3,abc\n");
    expect_load_fail(tpath("n.csv"), NN_EFORMAT,
                     "line 2, column 2: 'abc' is not a number");
    write_text(tpath("e.csv"), "1,2\n3,\n");
    expect_load_fail(tpath("e.csv"), NN_EFORMAT,
                     "line 2, column 2: empty cell");
    write_text(tpath("h.csv"), "only,a,header\n");
    expect_load_fail(tpath("h.csv"), NN_EFORMAT,
                     "no rows of numbers (only a header row)");
    write_text(tpath("z.csv"), "");
    expect_load_fail(tpath("z.csv"), NN_EFORMAT, "empty file");
    expect_load_fail(tpath("missing.csv"), NN_EIO, "cannot open");
    expect_load_fail(tmpdir, NN_EIO, "is a directory");
}
END_TEST

/* ---- labels and conversion ---- */

START_TEST(labels_range)
{
    uint8_t u[3] = {0, 2, 1};
    int64_t l[2] = {1, -4};
    float f[2] = {1.0f, 2.5f};
    double d[2] = {3.0, 1.0};
    NnrtArray a;
    NnrtErr e;
    int32_t *out;

    memset(&a, 0, sizeof a);
    a.rank = 1;
    a.dtype = NNRT_U8;
    a.dims[0] = 3;
    a.data = u;
    ck_assert_int_eq(nnrt_array_to_labels(&a, &out, 3, &e), 0);
    ck_assert(out[0] == 0 && out[1] == 2 && out[2] == 1);
    free(out);
    ck_assert_int_eq(nnrt_array_to_labels(&a, &out, 2, &e), NN_EMISMATCH);
    ck_assert_msg_has(e, "label at index 1 is 2, outside 0..1");
    ck_assert_ptr_null(out);

    a.dtype = NNRT_I64;
    a.dims[0] = 2;
    a.data = l;
    ck_assert_int_eq(nnrt_array_to_labels(&a, &out, 10, &e), NN_EMISMATCH);
    ck_assert_msg_has(e, "label at index 1 is -4");

    a.dtype = NNRT_F32;
    a.data = f;
    ck_assert_int_eq(nnrt_array_to_labels(&a, &out, 10, &e), NN_EMISMATCH);
    ck_assert_msg_has(e, "label at index 1 is 2.5, not an integer");

    a.dtype = NNRT_F64;
    a.data = d;
    ck_assert_int_eq(nnrt_array_to_labels(&a, &out, 4, &e), 0);
    ck_assert(out[0] == 3 && out[1] == 1);
    free(out);
}
END_TEST

/* ---- safetensors ---- */

START_TEST(st_roundtrip)
{
    const float w[6] = {1, 2, 3, 4, 5, -6};
    const int64_t nbt = 42;
    const double dd[2] = {0.5, -0.25};
    const uint8_t u[3] = {1, 2, 3};
    const int32_t ii[2] = {-7, 9};
    NnrtStTensor t[5];
    NnrtSafetensors st;
    NnrtErr e;
    const NnrtStTensor *f;
    unsigned char *raw;
    size_t len;
    uint64_t hlen = 0;
    int k;

    memset(t, 0, sizeof t);
    t[0].name = "fc.weight"; t[0].dtype = NNRT_F32; t[0].rank = 2;
    t[0].dims[0] = 2; t[0].dims[1] = 3; t[0].data = w;
    /* An odd-sized U8 before wider types makes their data misaligned in
     * the file: the reader must still hand out aligned pointers. */
    t[1].name = "bytes"; t[1].dtype = NNRT_U8; t[1].rank = 1;
    t[1].dims[0] = 3; t[1].data = u;
    t[2].name = "bn.num_batches_tracked"; t[2].dtype = NNRT_I64;
    t[2].rank = 0; t[2].data = &nbt;
    t[3].name = "d \"quoted\"\n\xc3\xa9"; t[3].dtype = NNRT_F64;
    t[3].rank = 1; t[3].dims[0] = 2; t[3].data = dd;
    t[4].name = "ints"; t[4].dtype = NNRT_I32; t[4].rank = 1;
    t[4].dims[0] = 2; t[4].data = ii;
    ck_assert_int_eq(nnrt_st_write(tpath("w.safetensors"), t, 5, &e), 0);
    ck_assert(!leftover_tmp());

    raw = read_bytes(tpath("w.safetensors"), &len);
    for (k = 0; k < 8; k++)
        hlen |= (uint64_t)raw[k] << (8 * k);
    ck_assert_uint_eq(hlen % 8, 0);
    ck_assert_uint_eq(len, 8 + hlen + 24 + 3 + 8 + 16 + 8);
    ck_assert_int_eq(raw[8], '{');
    ck_assert(has_bytes(raw, len, "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":"
                                  "[2,3],\"data_offsets\":[0,24]}"));
    ck_assert(has_bytes(raw, len, "\"d \\\"quoted\\\"\\u000a\xc3\xa9\""));
    free(raw);

    ck_assert_int_eq(nnrt_st_read(tpath("w.safetensors"), &st, &e), 0);
    ck_assert_int_eq(st.ntensors, 5);
    ck_assert_str_eq(nnrt_st_meta(&st, "format"), "pt");
    for (k = 0; k < 5; k++) {
        f = nnrt_st_find(&st, t[k].name);
        ck_assert_ptr_nonnull(f);
        ck_assert_str_eq(f->name, t[k].name);
        ck_assert_int_eq(f->dtype, t[k].dtype);
        ck_assert_int_eq(f->rank, t[k].rank);
        ck_assert_mem_eq(f->dims, t[k].dims, sizeof f->dims);
        ck_assert_uint_eq((uintptr_t)f->data % nnrt_dtype_size(f->dtype), 0);
        ck_assert_mem_eq(f->data, t[k].data, f->nbytes);
    }
    ck_assert_ptr_null(nnrt_st_find(&st, "nope"));
    nnrt_st_free(&st);

    /* Duplicate names are refused before anything is written. */
    t[1].name = "fc.weight";
    ck_assert_int_eq(nnrt_st_write(tpath("dup.safetensors"), t, 5, &e),
                     NN_EMISMATCH);
    ck_assert_msg_has(e, "given twice");
    ck_assert(access(tpath("dup.safetensors"), F_OK) != 0);

    /* No tensors at all is a valid file. */
    ck_assert_int_eq(nnrt_st_write(tpath("empty.safetensors"), t, 0, &e), 0);
    ck_assert_int_eq(nnrt_st_read(tpath("empty.safetensors"), &st, &e), 0);
    ck_assert_int_eq(st.ntensors, 0);
    nnrt_st_free(&st);
}
END_TEST

/* Writes a safetensors file from a JSON header and `data_len` data bytes
 * (all 0x11), with the header length field optionally overridden. */
static void write_st(const char *path, const char *json, size_t data_len,
                     uint64_t hlen_override)
{
    size_t hl = strlen(json), n = 8 + hl + data_len;
    unsigned char *b = malloc(n);
    uint64_t h = hlen_override ? hlen_override : hl;
    int k;
    for (k = 0; k < 8; k++)
        b[k] = (unsigned char)(h >> (8 * k));
    memcpy(b + 8, json, hl);
    memset(b + 8 + hl, 0x11, data_len);
    write_bytes(path, b, n);
    free(b);
}

static void expect_st_fail(const char *json, size_t data_len, uint64_t hlen,
                           int code, const char *needle)
{
    NnrtSafetensors st;
    NnrtErr e;
    int rc;
    write_st(tpath("bad.safetensors"), json, data_len, hlen);
    rc = nnrt_st_read(tpath("bad.safetensors"), &st, &e);
    ck_assert_msg(rc == code, "%s: rc %d, expected %d (%s)", json, rc, code,
                  rc ? e.msg : "ok");
    ck_assert_msg_has(e, needle);
    ck_assert_ptr_null(st.tensors);
}

#define T1 "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"

START_TEST(st_malformed)
{
    NnrtSafetensors st;
    NnrtErr e;
    char *deep;
    size_t k, depth = 100000;

    /* The valid baseline, to be sure the failures below are the edits. */
    write_st(tpath("ok.safetensors"), "{" T1 "}", 8, 0);
    ck_assert_int_eq(nnrt_st_read(tpath("ok.safetensors"), &st, &e), 0);
    nnrt_st_free(&st);

    expect_st_fail("{" T1, 8, 0, NN_EFORMAT, "bad safetensors header JSON");
    expect_st_fail("{" T1 ",}", 8, 0, NN_EFORMAT, "expected a string");
    expect_st_fail("{\"a\" {}}", 8, 0, NN_EFORMAT, "expected ':'");
    expect_st_fail("{" T1 "} x", 8, 0, NN_EFORMAT, "text after the header");
    expect_st_fail("[1]", 8, 0, NN_EFORMAT, "does not start with '{'");
    expect_st_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
                   "\"data_offsets\":[0,8]}}",
                   4, 0, NN_EFORMAT, "tensor 'a' ends at byte 8");
    expect_st_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
                   "\"data_offsets\":[0,4]}}",
                   4, 0, NN_EFORMAT,
                   "shape [2] of F32 needs 8 bytes, data_offsets [0, 4] "
                   "hold 4");
    expect_st_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
                   "\"data_offsets\":[8,0]}}",
                   8, 0, NN_EFORMAT, "end before they begin");
    expect_st_fail("{" T1 "}", 8, 1000, NN_EFORMAT,
                   "header length 1000 but only");
    expect_st_fail("{" T1 "}", 8, 200000000, NN_EFORMAT, "exceeds");
    expect_st_fail("{" T1 "}", 12, 0, NN_EFORMAT,
                   "4 bytes after the last tensor");
    expect_st_fail("{" T1 ",\"b\":{\"dtype\":\"U8\",\"shape\":[1],"
                   "\"data_offsets\":[9,10]}}",
                   10, 0, NN_EFORMAT, "without gaps");
    expect_st_fail("{" T1 ",\"b\":{\"dtype\":\"U8\",\"shape\":[1],"
                   "\"data_offsets\":[7,8]}}",
                   8, 0, NN_EFORMAT, "overlap");
    expect_st_fail("{" T1 "," T1 "}", 8, 0, NN_EFORMAT, "appears twice");
    expect_st_fail("{\"a\":{\"dtype\":\"Q7\",\"shape\":[2],"
                   "\"data_offsets\":[0,8]}}",
                   8, 0, NN_EFORMAT, "unknown dtype \"Q7\"");
    expect_st_fail("{\"a\":{\"dtype\":\"BF16\",\"shape\":[4],"
                   "\"data_offsets\":[0,8]}}",
                   8, 0, NN_EMISMATCH, "dtype BF16");
    expect_st_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],"
                   "\"data_offsets\":[0,8]}}",
                   8, 0, NN_EFORMAT, "non-negative integers");
    expect_st_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],"
                   "\"data_offsets\":[0,8]}}",
                   8, 0, NN_EFORMAT, "non-negative integers");
    expect_st_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, 0,
                   NN_EFORMAT, "lacks \"data_offsets\"");
    expect_st_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],"
                   "\"data_offsets\":[0,8]}}",
                   8, 0, NN_EFORMAT, "integer too large");
    expect_st_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,"
                   "4294967296,4294967296],\"data_offsets\":[0,8]}}",
                   8, 0, NN_EFORMAT, "too large");
    expect_st_fail("{\"a\xff\":{}}", 0, 0, NN_EFORMAT, "not valid UTF-8");
    expect_st_fail("{\"a\\ud800\":{}}", 0, 0, NN_EFORMAT, "surrogate");
    expect_st_fail("{\"a\\u0000\":{}}", 0, 0, NN_EFORMAT, "\\u0000");
    expect_st_fail("{\"__metadata__\":{\"k\":1}}", 0, 0, NN_EFORMAT,
                   "values must be strings");
    expect_st_fail("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, 0,
                   NN_EFORMAT, "appears twice");
    expect_st_fail("{}", 4, 0, NN_EFORMAT, "4 bytes of data but no tensors");

    /* Tiny files. */
    write_bytes(tpath("t.safetensors"), "\x02\0\0", 3);
    ck_assert_int_eq(nnrt_st_read(tpath("t.safetensors"), &st, &e),
                     NN_EFORMAT);
    ck_assert_msg_has(e, "8-byte header length");

    /* Deep nesting: in an (ignored) unknown key, and as a tensor entry. */
    deep = malloc(depth * 2 + 200);
    strcpy(deep, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
                 "\"data_offsets\":[0,8],\"x\":");
    k = strlen(deep);
    memset(deep + k, '[', depth);
    memset(deep + k + depth, ']', depth);
    strcpy(deep + k + 2 * depth, "}}");
    expect_st_fail(deep, 8, 0, NN_EFORMAT, "nesting deeper than 64");
    strcpy(deep, "{\"a\":");
    memset(deep + 5, '[', depth);
    deep[5 + depth] = '\0';
    expect_st_fail(deep, 0, 0, NN_EFORMAT, "expected a tensor entry");
    free(deep);

    /* Unknown keys with ordinary values are tolerated, as by the
     * reference; null metadata too. */
    write_st(tpath("x.safetensors"),
             "{\"__metadata__\":null,\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
             "\"data_offsets\":[0,8],\"extra\":{\"q\":[1,-2.5e3,true,null,"
             "\"\\u00e9\"]}}}",
             8, 0);
    ck_assert_int_eq(nnrt_st_read(tpath("x.safetensors"), &st, &e), 0);
    ck_assert_int_eq(st.ntensors, 1);
    nnrt_st_free(&st);
}
END_TEST

/* Random corruption of a valid file must give a clean error or success,
 * never a crash or an out-of-bounds read (run under ASan). */
START_TEST(st_mutations)
{
    const float w[4] = {1, 2, 3, 4};
    const int64_t one = 1;
    NnrtStTensor t[2];
    NnrtSafetensors st;
    NnrtErr e;
    NnrtRng rng;
    unsigned char *raw, *mut;
    size_t len;
    int it, k;

    memset(t, 0, sizeof t);
    t[0].name = "w"; t[0].dtype = NNRT_F32; t[0].rank = 2;
    t[0].dims[0] = 2; t[0].dims[1] = 2; t[0].data = w;
    t[1].name = "n"; t[1].dtype = NNRT_I64; t[1].rank = 0; t[1].data = &one;
    ck_assert_int_eq(nnrt_st_write(tpath("m.safetensors"), t, 2, &e), 0);
    raw = read_bytes(tpath("m.safetensors"), &len);
    mut = malloc(len);
    nnrt_rng_seed(&rng, 7);
    for (it = 0; it < 2000; it++) {
        size_t cut = len;
        memcpy(mut, raw, len);
        for (k = 0; k < 1 + (int)nnrt_rng_below(&rng, 4); k++)
            mut[nnrt_rng_below(&rng, len)] =
                (unsigned char)nnrt_rng_next_u64(&rng);
        if (nnrt_rng_below(&rng, 4) == 0)
            cut = (size_t)nnrt_rng_below(&rng, len + 1);
        write_bytes(tpath("mut.safetensors"), mut, cut);
        if (nnrt_st_read(tpath("mut.safetensors"), &st, &e) == 0)
            nnrt_st_free(&st);
        else
            ck_assert(strlen(e.msg) > 0);
    }
    free(mut);
    free(raw);
}
END_TEST

/* The same for the data formats: mutated .npy, IDX (plain and gzip)
 * and CSV files. */
START_TEST(load_mutations)
{
    const float x[6] = {1, 2, 3, 4, 5, 6};
    const int64_t dims[2] = {2, 3};
    const uint32_t idims[3] = {2, 2, 2};
    const unsigned char px[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const char *names[4] = {"m.npy", "m-idx", "m.gz", "m.csv"};
    unsigned char buf[64];
    NnrtRng rng;
    NnrtArray a;
    NnrtErr e;
    int f, it, k;

    ck_assert_int_eq(nnrt_save_npy(tpath("m.npy"), x, 2, dims, &e), 0);
    write_bytes(tpath("m-idx"), buf, make_idx(buf, 0x08, 3, idims, px, 8));
    write_gz(tpath("m.gz"), buf, make_idx(buf, 0x08, 3, idims, px, 8));
    write_text(tpath("m.csv"), "a,b\n1,2\n3.5,-4e2\n");
    nnrt_rng_seed(&rng, 11);
    for (f = 0; f < 4; f++) {
        size_t len;
        unsigned char *raw = read_bytes(tpath(names[f]), &len), *mut;
        mut = malloc(len);
        for (it = 0; it < 500; it++) {
            size_t cut = len;
            memcpy(mut, raw, len);
            for (k = 0; k < 1 + (int)nnrt_rng_below(&rng, 3); k++)
                mut[nnrt_rng_below(&rng, len)] =
                    (unsigned char)nnrt_rng_next_u64(&rng);
            if (nnrt_rng_below(&rng, 4) == 0)
                cut = (size_t)nnrt_rng_below(&rng, len + 1);
            write_bytes(tpath("mut"), mut, cut);
            if (nnrt_load_array(tpath("mut"), &a, &e) == 0)
                nnrt_array_free(&a);
            else
                ck_assert(strlen(e.msg) > 0);
        }
        free(mut);
        free(raw);
    }
}
END_TEST

/* ---- parameters ---- */

static const NnrtParamDesc model_params[2] = {
    {"fc.weight", NNRT_F32, 2, {3, 4}, 1},
    {"fc.bias", NNRT_F32, 1, {3}, 1},
};

static void write_params(const char *path, int ntensors, int64_t w0,
                         int bias_dtype)
{
    static const double bias64[3] = {0.5, 1.5, 2.5};
    static const float bias32[3] = {0.5f, 1.5f, 2.5f};
    float wv[12];
    NnrtStTensor t[3];
    NnrtErr e;
    int k;
    for (k = 0; k < 12; k++)
        wv[k] = (float)k;
    memset(t, 0, sizeof t);
    t[0].name = "fc.weight"; t[0].dtype = NNRT_F32; t[0].rank = 2;
    t[0].dims[0] = w0; t[0].dims[1] = 12 / w0; t[0].data = wv;
    t[1].name = "fc.bias"; t[1].dtype = bias_dtype; t[1].rank = 1;
    t[1].dims[0] = 3;
    t[1].data = bias_dtype == NNRT_F64 ? (const void *)bias64
                                       : (const void *)bias32;
    t[2].name = "fc2.weight"; t[2].dtype = NNRT_F32; t[2].rank = 1;
    t[2].dims[0] = 12; t[2].data = wv;
    ck_assert_int_eq(nnrt_st_write(path, t, ntensors, &e), 0);
}

START_TEST(params_load)
{
    float w[12], b[3];
    void *dst[2] = {w, b};
    const void *src[2] = {w, b};
    NnrtErr e;
    int k;

    /* Bias stored as F64 loads into an F32 parameter. */
    write_params(tpath("p.safetensors"), 2, 3, NNRT_F64);
    ck_assert_int_eq(nnrt_st_load_params(tpath("p.safetensors"),
                                         model_params, 2, dst, &e), 0);
    for (k = 0; k < 12; k++)
        ck_assert(w[k] == (float)k);
    ck_assert(b[0] == 0.5f && b[2] == 2.5f);

    /* Save and load back. */
    b[1] = -9;
    ck_assert_int_eq(nnrt_st_save_params(tpath("q.safetensors"), model_params,
                                         2, src, &e), 0);
    memset(w, 0, sizeof w);
    memset(b, 0, sizeof b);
    ck_assert_int_eq(nnrt_st_load_params(tpath("q.safetensors"),
                                         model_params, 2, dst, &e), 0);
    ck_assert(w[11] == 11.0f && b[1] == -9.0f);
    ck_assert(!leftover_tmp());
}
END_TEST

START_TEST(params_mismatch)
{
    float w[12], b[3];
    void *dst[2] = {w, b};
    NnrtParamDesc i64p = {"fc.bias", NNRT_I64, 1, {3}, 0};
    NnrtParamDesc two[2];
    NnrtErr e;
    int k;

    for (k = 0; k < 12; k++)
        w[k] = -1;
    /* Missing tensor. */
    write_params(tpath("miss.safetensors"), 1, 3, NNRT_F32);
    ck_assert_int_eq(nnrt_st_load_params(tpath("miss.safetensors"),
                                         model_params, 2, dst, &e),
                     NN_EMISMATCH);
    ck_assert_msg_has(e, "miss.safetensors: missing tensor 'fc.bias' (the "
                         "model expects F32 [3])");
    ck_assert(w[0] == -1); /* nothing loaded on failure */

    /* Wrong shape: both shapes named. */
    write_params(tpath("shape.safetensors"), 2, 4, NNRT_F32);
    ck_assert_int_eq(nnrt_st_load_params(tpath("shape.safetensors"),
                                         model_params, 2, dst, &e),
                     NN_EMISMATCH);
    ck_assert_msg_has(e, "tensor 'fc.weight' has shape [4, 3] in the file, "
                         "the model expects [3, 4]");
    ck_assert(w[5] == -1);

    /* An extra tensor. */
    write_params(tpath("extra.safetensors"), 3, 3, NNRT_F32);
    ck_assert_int_eq(nnrt_st_load_params(tpath("extra.safetensors"),
                                         model_params, 2, dst, &e),
                     NN_EMISMATCH);
    ck_assert_msg_has(e, "tensor 'fc2.weight' in the file is not a parameter "
                         "of this model");

    /* Several problems: every one is listed, one per line. */
    write_params(tpath("multi.safetensors"), 3, 4, NNRT_F32);
    ck_assert_int_eq(nnrt_st_load_params(tpath("multi.safetensors"),
                                         model_params, 2, dst, &e),
                     NN_EMISMATCH);
    ck_assert_msg_has(e, "multi.safetensors: 2 problems:\n  tensor "
                         "'fc.weight' has shape [4, 3] in the file, the "
                         "model expects [3, 4]\n  tensor 'fc2.weight' in "
                         "the file is not a parameter of this model");

    /* dtype: an I64 buffer is not loaded from an F32 tensor. */
    two[0] = model_params[0];
    two[1] = i64p;
    write_params(tpath("dt.safetensors"), 2, 3, NNRT_F32);
    ck_assert_int_eq(nnrt_st_load_params(tpath("dt.safetensors"), two, 2,
                                         dst, &e),
                     NN_EMISMATCH);
    ck_assert_msg_has(e, "tensor 'fc.bias' is F32 in the file, the model "
                         "expects I64");

    /* I/O and format errors pass through. */
    ck_assert_int_eq(nnrt_st_load_params(tpath("none.safetensors"),
                                         model_params, 2, dst, &e),
                     NN_EIO);
    ck_assert_msg_has(e, "none.safetensors: cannot open");
}
END_TEST

/* ---- atomic saving ---- */

START_TEST(atomic_save)
{
    const float x[2] = {1, 2}, y[3] = {3, 4, 5};
    int64_t d = 2, d3 = 3;
    NnrtArray a;
    NnrtErr e;

    ck_assert_int_eq(nnrt_save_npy(tpath("a.npy"), x, 1, &d, &e), 0);
    ck_assert_int_eq(nnrt_save_npy(tpath("a.npy"), y, 1, &d3, &e), 0);
    ck_assert(!leftover_tmp());
    ck_assert_int_eq(nnrt_load_array(tpath("a.npy"), &a, &e), 0);
    ck_assert_int_eq(a.dims[0], 3);
    nnrt_array_free(&a);
    /* A directory that does not exist: an error, and no stray files. */
    ck_assert_int_eq(nnrt_save_npy(tpath("no/such/dir.npy"), x, 1, &d, &e),
                     NN_EIO);
    ck_assert_msg_has(e, "cannot create");
    ck_assert_int_eq(nnrt_save_npy(tpath("bad.npy"), x, 9, &d, &e),
                     NN_EMISMATCH);
    ck_assert(!leftover_tmp());
}
END_TEST

/* ---- saving that cannot lose or replace the wrong thing (issue 16.4) ---- */

/* A file whose name ends in ".tmp" is in the test directory. */
static int leftover_dot_tmp(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if ((n > 4 && strcmp(e->d_name + n - 4, ".tmp") == 0) ||
            strstr(e->d_name, ".tmp."))
            found = 1;
    }
    closedir(d);
    return found;
}

START_TEST(save_follows_symlink)
{
    const float x[2] = {1, 2}, y[3] = {3, 4, 5};
    int64_t d2 = 2, d3 = 3;
    struct stat st;
    NnrtArray a;
    NnrtErr e;

    ck_assert_int_eq(nnrt_save_npy(tpath("real.npy"), x, 1, &d2, &e), 0);
    ck_assert_int_eq(symlink("real.npy", tpath("link.npy")), 0);
    ck_assert_int_eq(nnrt_save_npy(tpath("link.npy"), y, 1, &d3, &e), 0);
    /* The link is still a link, and its target holds the new data. */
    ck_assert_int_eq(lstat(tpath("link.npy"), &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_int_eq(nnrt_load_array(tpath("real.npy"), &a, &e), 0);
    ck_assert_int_eq(a.dims[0], 3);
    nnrt_array_free(&a);
    /* A dangling link: its target is created. */
    ck_assert_int_eq(symlink("new.npy", tpath("dangling.npy")), 0);
    ck_assert_int_eq(nnrt_save_npy(tpath("dangling.npy"), x, 1, &d2, &e), 0);
    ck_assert_int_eq(lstat(tpath("dangling.npy"), &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_int_eq(nnrt_load_array(tpath("new.npy"), &a, &e), 0);
    nnrt_array_free(&a);
    /* A link to a device writes the device (and keeps both). */
    ck_assert_int_eq(symlink("/dev/null", tpath("null.npy")), 0);
    ck_assert_int_eq(nnrt_save_npy(tpath("null.npy"), x, 1, &d2, &e), 0);
    ck_assert_int_eq(lstat(tpath("null.npy"), &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_int_eq(stat("/dev/null", &st), 0);
    ck_assert(S_ISCHR(st.st_mode));
    ck_assert(!leftover_dot_tmp());
}
END_TEST

START_TEST(save_keeps_mode)
{
    const float x[2] = {1, 2};
    int64_t d2 = 2;
    struct stat st;
    NnrtErr e;
    NnrtStTensor t;

    write_text(tpath("w.st"), "old");
    ck_assert_int_eq(chmod(tpath("w.st"), 0600), 0);
    memset(&t, 0, sizeof t);
    t.name = "x";
    t.rank = 1;
    t.dims[0] = 2;
    t.data = x;
    ck_assert_int_eq(nnrt_st_write(tpath("w.st"), &t, 1, &e), 0);
    ck_assert_int_eq(stat(tpath("w.st"), &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    write_text(tpath("o.npy"), "old");
    ck_assert_int_eq(chmod(tpath("o.npy"), 0640), 0);
    ck_assert_int_eq(nnrt_save_npy(tpath("o.npy"), x, 1, &d2, &e), 0);
    ck_assert_int_eq(stat(tpath("o.npy"), &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0640);
}
END_TEST

/* tmpdir/NAME where NAME is `len` copies of `c` followed by `ext`. */
static const char *long_name(char *buf, size_t cap, char c, size_t len,
                             const char *ext)
{
    size_t n = (size_t)snprintf(buf, cap, "%s/", tmpdir), k;
    for (k = 0; k < len && n + 1 < cap; k++)
        buf[n++] = c;
    snprintf(buf + n, cap - n, "%s", ext);
    return buf;
}

START_TEST(save_long_names)
{
    const float x[3] = {1, 2, 3};
    int64_t d3 = 3;
    char p[600];
    NnrtArray a;
    NnrtErr e;
    size_t len[2] = {245, 251}; /* + ".npy": 249 and 255 characters */
    int k;

    for (k = 0; k < 2; k++) {
        long_name(p, sizeof p, k ? 'b' : 'a', len[k], ".npy");
        ck_assert_int_eq(nnrt_save_npy(p, x, 1, &d3, &e), 0);
        ck_assert_int_eq(nnrt_save_npy(p, x, 1, &d3, &e), 0);
        ck_assert_int_eq(nnrt_load_array(p, &a, &e), 0);
        ck_assert_int_eq(a.dims[0], 3);
        nnrt_array_free(&a);
    }
    ck_assert(!leftover_dot_tmp());
    /* A name that cannot exist: the reason survives the long path. */
    long_name(p, sizeof p, 'c', 300, "/x.npy");
    ck_assert_int_eq(nnrt_save_npy(p, x, 1, &d3, &e), NN_EIO);
    ck_assert_msg_has(e, "...");
    ck_assert_msg_has(e, "File name too long");
    long_name(p, sizeof p, 'd', 200, "/");
    snprintf(p + strlen(p), sizeof p - strlen(p), "%0200d.npy", 7);
    ck_assert_int_eq(nnrt_save_npy(p, x, 1, &d3, &e), NN_EIO);
    ck_assert_msg_has(e, "No such file or directory");
    ck_assert_int_eq(nnrt_load_array(p, &a, &e), NN_EIO);
    ck_assert_msg_has(e, "cannot open: No such file or directory");
}
END_TEST

START_TEST(save_removes_stale_tmp)
{
    const float x[2] = {1, 2};
    int64_t d2 = 2;
    NnrtErr e;
    /* What a save killed half-way leaves behind: the next save reuses
     * and so removes it. */
    write_text(tpath(".a.npy.tmp"), "half-written");
    ck_assert(leftover_dot_tmp());
    ck_assert_int_eq(nnrt_save_npy(tpath("a.npy"), x, 1, &d2, &e), 0);
    ck_assert(!leftover_dot_tmp());
    ck_assert_int_eq(access(tpath(".a.npy.tmp"), F_OK), -1);
    /* A link planted under the temporary's name is not followed. */
    ck_assert_int_eq(symlink("victim", tpath(".b.npy.tmp")), 0);
    ck_assert_int_eq(nnrt_save_npy(tpath("b.npy"), x, 1, &d2, &e), 0);
    ck_assert_int_eq(access(tpath("victim"), F_OK), -1);
    ck_assert(!leftover_dot_tmp());
}
END_TEST

static void on_alarm(int sig)
{
    (void)sig;
    ck_abort_msg("blocked on a FIFO");
}

START_TEST(save_devices_in_place)
{
    const float x[2] = {1, 2};
    int64_t d2 = 2;
    struct stat st;
    NnrtErr e;

    if (access("/dev/full", W_OK) == 0) {
        ck_assert_int_eq(nnrt_save_npy("/dev/full", x, 1, &d2, &e), NN_EIO);
        ck_assert_msg_has(e, "/dev/full: write error: No space left on device");
        ck_assert_int_eq(nnrt_save_csv("/dev/full", x, 1, 2, &e), NN_EIO);
        ck_assert_msg_has(e, "No space left on device");
        ck_assert_int_eq(stat("/dev/full", &st), 0);
        ck_assert(S_ISCHR(st.st_mode));
    }
    /* A FIFO nobody reads: an error, not a hang, and it stays a FIFO. */
    ck_assert_int_eq(mkfifo(tpath("fifo"), 0600), 0);
    signal(SIGALRM, on_alarm);
    alarm(10);
    ck_assert_int_eq(nnrt_save_npy(tpath("fifo"), x, 1, &d2, &e), NN_EIO);
    alarm(0);
    ck_assert_msg_has(e, "the FIFO has no reader");
    ck_assert_int_eq(lstat(tpath("fifo"), &st), 0);
    ck_assert(S_ISFIFO(st.st_mode));
    ck_assert_int_eq(nnrt_save_npy(tmpdir, x, 1, &d2, &e), NN_EIO);
    ck_assert_msg_has(e, "is a directory");
    /* A pipe through /dev/fd (as --output /dev/stdout | python is): the
     * kernel's links name no file, yet the pipe is written. */
    {
        int fds[2];
        char p[64], got[8];
        ck_assert_int_eq(pipe(fds), 0);
        snprintf(p, sizeof p, "/dev/fd/%d", fds[1]);
        ck_assert_int_eq(nnrt_save_npy(p, x, 1, &d2, &e), 0);
        ck_assert_int_eq(read(fds[0], got, 6), 6);
        ck_assert(memcmp(got, "\x93NUMPY", 6) == 0);
        close(fds[0]);
        close(fds[1]);
    }
}
END_TEST

START_TEST(save_csv_roundtrip)
{
    const float x[6] = {1, 2.5f, -3e-7f, 0.1f, 16777217.0f, -0.0f};
    NnrtArray a;
    NnrtErr e;
    size_t n;
    unsigned char *text;
    const double *v;
    int k;

    ck_assert_int_eq(nnrt_save_csv(tpath("o.csv"), x, 3, 2, &e), 0);
    text = read_bytes(tpath("o.csv"), &n);
    ck_assert(n > 10 && memcmp(text, "1,2.5\n-3.00000011e-07,0.100000001\n",
                               34) == 0);
    free(text);
    ck_assert_int_eq(nnrt_load_array(tpath("o.csv"), &a, &e), 0);
    ck_assert_int_eq(a.dims[0], 3);
    ck_assert_int_eq(a.dims[1], 2);
    v = a.data;
    for (k = 0; k < 6; k++)
        ck_assert((float)v[k] == x[k]);
    nnrt_array_free(&a);
    ck_assert_int_eq(nnrt_save_csv(tpath("o.csv"), x, -1, 2, &e),
                     NN_EMISMATCH);
    ck_assert(!leftover_dot_tmp());
}
END_TEST

/* ---- bounded, early-checked reads (issue 16.5) ---- */

START_TEST(read_rejects_non_regular)
{
    NnrtSafetensors st;
    NnrtErr e;
    ck_assert_int_eq(mkfifo(tpath("fifo"), 0600), 0);
    signal(SIGALRM, on_alarm);
    alarm(10); /* the old reader waited forever for a writer */
    expect_load_fail(tpath("fifo"), NN_EIO,
                     "is a FIFO (named pipe), not a regular file");
    ck_assert_int_eq(nnrt_st_read(tpath("fifo"), &st, &e), NN_EIO);
    alarm(0);
    ck_assert_msg_has(e, "fifo: is a FIFO");
    expect_load_fail("/dev/zero", NN_EIO,
                     "/dev/zero: is a character device, not a regular file");
    ck_assert_int_eq(nnrt_st_read("/dev/zero", &st, &e), NN_EIO);
    ck_assert_msg_has(e, "is a character device");
    expect_load_fail(tmpdir, NN_EIO, "is a directory");
}
END_TEST

/* Writes a gzip file holding an IDX header for `n` 28x28 images, those
 * images, and then `zeros_mib` MiB of zeros, without ever holding the
 * zeros in memory: one deflated MiB of zeros (after a full flush, so it
 * refers to nothing before it) is repeated. */
static void write_gzip_bomb(const char *path, uint32_t n, int zeros_mib)
{
    static unsigned char in[1 << 20], out[1 << 20], zout[1 << 16];
    const uint32_t dims[3] = {n, 28, 28};
    size_t head, zlen;
    z_stream z;
    uLong crc, len;
    FILE *f = fopen(path, "wb");
    unsigned char trailer[8];
    int k;

    ck_assert_ptr_nonnull(f);
    memset(in, 0, sizeof in);
    head = make_idx(in, 0x08, 3, dims, "", 0);
    memset(in + head, 7, (size_t)n * 784);
    head += (size_t)n * 784;
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, -15, 9,
                                  Z_DEFAULT_STRATEGY), Z_OK);
    fwrite("\x1f\x8b\x08\0\0\0\0\0\0\x03", 1, 10, f);
    z.next_in = in;
    z.avail_in = (uInt)head;
    z.next_out = out;
    z.avail_out = sizeof out;
    ck_assert_int_eq(deflate(&z, Z_FULL_FLUSH), Z_OK);
    fwrite(out, 1, sizeof out - z.avail_out, f);
    crc = crc32(0, in, (uInt)head);
    memset(in, 0, head);
    z.next_in = in;
    z.avail_in = sizeof in;
    z.next_out = zout;
    z.avail_out = sizeof zout;
    ck_assert_int_eq(deflate(&z, Z_FULL_FLUSH), Z_OK);
    zlen = sizeof zout - z.avail_out;
    for (k = 0; k < zeros_mib; k++) {
        fwrite(zout, 1, zlen, f);
        crc = crc32_combine(crc, crc32(0, in, sizeof in), sizeof in);
    }
    z.next_in = in;
    z.avail_in = 0;
    z.next_out = out;
    z.avail_out = sizeof out;
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    fwrite(out, 1, sizeof out - z.avail_out, f);
    deflateEnd(&z);
    len = (uLong)(head + (size_t)zeros_mib * sizeof in);
    for (k = 0; k < 4; k++) {
        trailer[k] = (unsigned char)(crc >> (8 * k));
        trailer[4 + k] = (unsigned char)(len >> (8 * k));
    }
    fwrite(trailer, 1, 8, f);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(gzip_bomb_stops_early)
{
    NnrtArray a;
    NnrtErr e;
    double t;
    /* About 1 MB on disk, 1 GiB inflated; the header promises 10 images. */
    write_gzip_bomb(tpath("bomb.gz"), 10, 1024);
    t = nnrt_seconds();
    ck_assert_int_eq(nnrt_load_array(tpath("bomb.gz"), &a, &e), NN_EFORMAT);
    t = nnrt_seconds() - t;
    ck_assert_msg_has(e, "header says 10 images of 28x28 (7840 bytes of "
                         "data), but the gzip stream holds more; stopped "
                         "reading after 7857 bytes");
    ck_assert_msg(t < 1.0, "took %.2f s: not stopped early", t);
    /* The same construction without the zeros is a valid file. */
    write_gzip_bomb(tpath("ok.gz"), 10, 0);
    ck_assert_int_eq(nnrt_load_array(tpath("ok.gz"), &a, &e), 0);
    ck_assert_int_eq(a.dims[0], 10);
    ck_assert_int_eq(((unsigned char *)a.data)[7839], 7);
    nnrt_array_free(&a);
}
END_TEST

START_TEST(truncated_headers_named)
{
    write_bytes(tpath("five.npy"), "\x93NUMP", 5);
    expect_load_fail(tpath("five.npy"), NN_EFORMAT, "truncated .npy header");
    write_bytes(tpath("nine.npy"), "\x93NUMPY\x01\x00\x10", 9);
    expect_load_fail(tpath("nine.npy"), NN_EFORMAT, "truncated .npy header");
    write_gz(tpath("five.npy.gz"), "\x93NUMP", 5);
    expect_load_fail(tpath("five.npy.gz"), NN_EFORMAT,
                     "truncated .npy header");
    write_bytes(tpath("three.idx"), "\0\0\x08", 3);
    expect_load_fail(tpath("three.idx"), NN_EFORMAT, "truncated");
}
END_TEST

/* ---- CSV that cannot lose a row (issue 16.6, issue 15) ---- */

static void expect_csv(const char *name, const char *text, int64_t rows,
                       int64_t cols, int header)
{
    NnrtCsvOpts o;
    NnrtArray a;
    NnrtErr e;
    int rc;
    memset(&o, 0, sizeof o);
    if (text)
        write_text(tpath(name), text);
    rc = nnrt_load_csv_opts(tpath(name), &o, &a, NULL, &e);
    ck_assert_msg(rc == 0, "%s: %s", name, e.msg);
    ck_assert_msg(a.dims[0] == rows && a.dims[1] == cols,
                  "%s: [%lld, %lld], expected [%lld, %lld]", name,
                  (long long)a.dims[0], (long long)a.dims[1],
                  (long long)rows, (long long)cols);
    ck_assert_int_eq(o.header_skipped, header);
    nnrt_array_free(&a);
}

START_TEST(csv_keeps_every_row)
{
    char text[1024];
    size_t n = 0;
    int k;
    NnrtArray a;
    NnrtErr e;

    /* A byte-order mark before 20 rows of numbers: 20 rows. */
    n += (size_t)snprintf(text, sizeof text, "\xEF\xBB\xBF");
    for (k = 0; k < 20; k++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%d,%d.5\r\n", k,
                              k);
    expect_csv("bom.csv", text, 20, 2, 0);
    ck_assert_int_eq(nnrt_load_array(tpath("bom.csv"), &a, &e), 0);
    ck_assert(((double *)a.data)[0] == 0 && ((double *)a.data)[39] == 19.5);
    nnrt_array_free(&a);
    /* A BOM before a header: the header is still recognised. */
    expect_csv("bomh.csv", "\xEF\xBB\xBFx,y\n1,2\n", 1, 2, 1);
    /* CR-only line ends (old Mac spreadsheets). */
    expect_csv("cr.csv", "1,2\r3,4\r5,6", 3, 2, 0);
    expect_csv("crh.csv", "a,b\r1,2\r\r3,4\r", 2, 2, 1);
    /* A bad cell anywhere, the first row included, is an error with its
     * line and column, never a skipped "header". */
    write_text(tpath("empty1.csv"), "1,,3\n4,5,6\n");
    expect_load_fail(tpath("empty1.csv"), NN_EFORMAT,
                     "empty1.csv: line 1, column 2: empty cell");
    write_text(tpath("na1.csv"), "NA,2\n3,4\n");
    expect_load_fail(tpath("na1.csv"), NN_EFORMAT,
                     "line 1, column 1: missing value 'NA'");
    write_text(tpath("typo1.csv"), "1,2x,3\n4,5,6\n");
    expect_load_fail(tpath("typo1.csv"), NN_EFORMAT,
                     "line 1, column 2: '2x' is not a number");
    write_text(tpath("na3.csv"), "a,b\n1,2\n\n3,n/a\n");
    expect_load_fail(tpath("na3.csv"), NN_EFORMAT,
                     "line 4, column 2: missing value 'n/a'");
    write_text(tpath("hdr2.csv"), "a,b\nc,d\n1,2\n");
    expect_load_fail(tpath("hdr2.csv"), NN_EFORMAT,
                     "line 2, column 1: 'c' is not a number");
    /* Two gzip members (cat a.gz b.gz): both are read, as zcat does. */
    {
        size_t n1, n2;
        unsigned char *g1, *g2, *both;
        write_gz(tpath("g1.gz"), "1,2\n", 4);
        write_gz(tpath("g2.gz"), "3,4\n5,6\n", 8);
        g1 = read_bytes(tpath("g1.gz"), &n1);
        g2 = read_bytes(tpath("g2.gz"), &n2);
        both = malloc(n1 + n2);
        memcpy(both, g1, n1);
        memcpy(both + n1, g2, n2);
        write_bytes(tpath("both.csv.gz"), both, n1 + n2);
        free(g1);
        free(g2);
        free(both);
        expect_csv("both.csv.gz", NULL, 3, 2, 0);
    }
    write_text(tpath("crlf.csv"), "1,2\r\n3,\r\n");
    expect_load_fail(tpath("crlf.csv"), NN_EFORMAT,
                     "line 2, column 2: empty cell");
}
END_TEST

START_TEST(csv_quotes_and_separators)
{
    NnrtCsvOpts o;
    NnrtArray a;
    NnrtErr e;
    const double *v;

    /* RFC 4180: quoted names with separators, quotes and line breaks;
     * quoted numbers. */
    write_text(tpath("q.csv"),
               "\"a, \"\"first\"\"\",\"b\nsecond\"\n\"1.5\", 2\n3,\"-4\"\n");
    memset(&o, 0, sizeof o);
    ck_assert_int_eq(nnrt_load_csv_opts(tpath("q.csv"), &o, &a, NULL, &e), 0);
    ck_assert_int_eq(o.header_skipped, 1);
    ck_assert_str_eq(o.header, "\"a, \"\"first\"\"\",\"b\\x0asecond\"");
    ck_assert_int_eq(a.dims[0], 2);
    v = a.data;
    ck_assert(v[0] == 1.5 && v[1] == 2 && v[3] == -4);
    nnrt_array_free(&a);
    /* Line numbers count the line breaks inside quotes. */
    write_text(tpath("q2.csv"), "\"x\ny\",z\n1,\n");
    expect_load_fail(tpath("q2.csv"), NN_EFORMAT,
                     "line 3, column 2: empty cell");
    write_text(tpath("q3.csv"), "1,\"2\n");
    expect_load_fail(tpath("q3.csv"), NN_EFORMAT,
                     "line 1, column 2: the quoted field is never closed");
    write_text(tpath("q4.csv"), "1,\"2\"3\n");
    expect_load_fail(tpath("q4.csv"), NN_EFORMAT,
                     "line 1, column 2: text after the closing quote");
    /* Separators: detected, or given. */
    expect_csv("semi.csv", "a;b;c\n1.5;2;3\n4;5;6\n", 2, 3, 1);
    expect_csv("tab.csv", "1\t2\n3\t4\n", 2, 2, 0);
    expect_csv("one.csv", "y\n1\n0\n", 2, 1, 1);
    write_text(tpath("pipe.csv"), "1|2\n3|4\n");
    memset(&o, 0, sizeof o);
    o.sep = '|';
    ck_assert_int_eq(nnrt_load_csv_opts(tpath("pipe.csv"), &o, &a, NULL, &e),
                     0);
    ck_assert_int_eq(a.dims[1], 2);
    ck_assert_int_eq(o.sep_used, '|');
    nnrt_array_free(&a);
    /* A wrong separator shows as a field count that does not match. */
    memset(&o, 0, sizeof o);
    o.sep = ';';
    write_text(tpath("w.csv"), "a;b\n1,5;2\n3;4\n");
    ck_assert_int_eq(nnrt_load_csv_opts(tpath("w.csv"), &o, &a, NULL, &e),
                     NN_EFORMAT);
    ck_assert_msg_has(e, "line 2, column 1: '1,5' is not a number (a "
                         "decimal comma? numbers need '.')");
}
END_TEST

START_TEST(csv_label_column)
{
    NnrtCsvOpts o;
    NnrtArray x, y;
    NnrtErr e;
    const double *xv, *yv;

    write_text(tpath("t.csv"), "x1,x2,x3,y\n1,2,3,0\n4,5,6,1\n");
    memset(&o, 0, sizeof o);
    o.have_label = 1;
    o.label_column = -1;
    ck_assert_int_eq(nnrt_load_csv_opts(tpath("t.csv"), &o, &x, &y, &e), 0);
    ck_assert_int_eq(o.header_skipped, 1);
    ck_assert_int_eq(o.label_column_used, 3);
    ck_assert_int_eq(x.dims[0], 2);
    ck_assert_int_eq(x.dims[1], 3);
    ck_assert_int_eq(y.dims[0], 2);
    ck_assert_int_eq(y.dims[1], 1);
    xv = x.data;
    yv = y.data;
    ck_assert(xv[0] == 1 && xv[5] == 6 && yv[0] == 0 && yv[1] == 1);
    nnrt_array_free(&x);
    nnrt_array_free(&y);
    /* From the front, and a range of two columns. */
    o.label_column = 1;
    o.label_count = 2;
    ck_assert_int_eq(nnrt_load_csv_opts(tpath("t.csv"), &o, &x, &y, &e), 0);
    xv = x.data;
    yv = y.data;
    ck_assert_int_eq(x.dims[1], 2);
    ck_assert_int_eq(y.dims[1], 2);
    ck_assert(xv[0] == 1 && xv[1] == 0 && yv[0] == 2 && yv[3] == 6);
    nnrt_array_free(&x);
    nnrt_array_free(&y);
    o.label_column = 4;
    o.label_count = 0;
    ck_assert_int_eq(nnrt_load_csv_opts(tpath("t.csv"), &o, &x, &y, &e),
                     NN_EMISMATCH);
    ck_assert_msg_has(e, "label column 4 is outside the 4 columns (0..3, or "
                         "-4..-1 from the end)");
    ck_assert_ptr_null(x.data);
    ck_assert_ptr_null(y.data);
    o.label_column = -5;
    ck_assert_int_eq(nnrt_load_csv_opts(tpath("t.csv"), &o, &x, &y, &e),
                     NN_EMISMATCH);
    o.label_column = 2;
    o.label_count = 3;
    ck_assert_int_eq(nnrt_load_csv_opts(tpath("t.csv"), &o, &x, &y, &e),
                     NN_EMISMATCH);
    ck_assert_msg_has(e, "label columns 2..4 are outside the 4 columns");
    o.label_column = 0;
    o.label_count = 4;
    ck_assert_int_eq(nnrt_load_csv_opts(tpath("t.csv"), &o, &x, &y, &e),
                     NN_EMISMATCH);
    ck_assert_msg_has(e, "label columns 0..3 leave no feature column of the "
                         "4 columns");
}
END_TEST

/* ---- NaN and infinities are named (issue 16.8) ---- */

START_TEST(nonfinite_data_named)
{
    const float f[6] = {1, 2, 3, 4, 5, 0};
    const double big[2] = {1, 1e39};
    float nanf_[6];
    NnrtCsvOpts o;
    NnrtArray a;
    NnrtErr e;
    float *conv;
    char dict[128];

    write_text(tpath("n.csv"), "1,2\n3,nan\n");
    expect_load_fail(tpath("n.csv"), NN_EFORMAT,
                     "n.csv: line 2, column 2: 'nan' is not a finite number");
    write_text(tpath("i.csv"), "1,-inf\n3,4\n");
    expect_load_fail(tpath("i.csv"), NN_EFORMAT,
                     "line 1, column 2: '-inf' is not a finite number");
    write_text(tpath("o.csv"), "1,1e999\n");
    expect_load_fail(tpath("o.csv"), NN_EFORMAT,
                     "line 1, column 2: '1e999' is not a finite number");
    memset(&o, 0, sizeof o);
    o.allow_nonfinite = 1;
    ck_assert_int_eq(nnrt_load_csv_opts(tpath("n.csv"), &o, &a, NULL, &e), 0);
    ck_assert(isnan(((double *)a.data)[3]));
    nnrt_array_free(&a);

    memcpy(nanf_, f, sizeof f);
    nanf_[5] = NAN;
    snprintf(dict, sizeof dict,
             "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
    write_npy_raw(tpath("n.npy"), 1, dict, nanf_, sizeof nanf_);
    expect_load_fail(tpath("n.npy"), NN_EFORMAT, "n.npy: NaN at [1, 2]");
    nanf_[5] = -INFINITY;
    write_npy_raw(tpath("n.npy"), 1, dict, nanf_, sizeof nanf_);
    expect_load_fail(tpath("n.npy"), NN_EFORMAT, "n.npy: -Inf at [1, 2]");

    /* A finite double beyond float32 is not silently made infinite. */
    memset(&a, 0, sizeof a);
    a.dtype = NNRT_F64;
    a.rank = 2;
    a.dims[0] = 1;
    a.dims[1] = 2;
    a.data = (void *)big;
    ck_assert_int_eq(nnrt_array_to_f32(&a, &conv, &e), NN_EFORMAT);
    ck_assert_msg_has(e, "value at [0, 1] is 1e+39, outside float32's range");
}
END_TEST

/* ---- weights: non-finite, escaped names, partial, prefixes ---- */

START_TEST(params_nonfinite_named)
{
    float wv[12], b[3] = {1, 2, 3}, w[12];
    void *dst[2] = {w, b};
    NnrtStTensor t[2];
    NnrtParamLoadOpts po;
    NnrtErr e;
    int k;
    for (k = 0; k < 12; k++)
        wv[k] = w[k] = (float)k;
    wv[5] = NAN;
    memset(t, 0, sizeof t);
    t[0].name = "fc.weight"; t[0].rank = 2; t[0].dims[0] = 3;
    t[0].dims[1] = 4; t[0].data = wv;
    t[1].name = "fc.bias"; t[1].rank = 1; t[1].dims[0] = 3; t[1].data = b;
    ck_assert_int_eq(nnrt_st_write(tpath("w.st"), t, 2, &e), 0);
    w[5] = -1;
    ck_assert_int_eq(nnrt_st_load_params(tpath("w.st"), model_params, 2, dst,
                                         &e),
                     NN_EMISMATCH);
    ck_assert_msg_has(e, "w.st: tensor 'fc.weight' holds NaN at index 5");
    ck_assert(w[5] == -1); /* nothing loaded */
    memset(&po, 0, sizeof po);
    po.allow_nonfinite = 1;
    ck_assert_int_eq(nnrt_st_load_params_opts(tpath("w.st"), model_params, 2,
                                              dst, &po, NULL, &e),
                     0);
    ck_assert(isnan(w[5]));
}
END_TEST

START_TEST(messages_escape_controls)
{
    float x[3] = {1, 2, 3}, w[12], b[3];
    void *dst[2] = {w, b};
    NnrtStTensor t;
    NnrtErr e;
    memset(&t, 0, sizeof t);
    t.name = "evil\x1b]0;owned\x07\x1b[2J";
    t.rank = 1;
    t.dims[0] = 3;
    t.data = x;
    ck_assert_int_eq(nnrt_st_write(tpath("evil.st"), &t, 1, &e), 0);
    ck_assert_int_eq(nnrt_st_load_params(tpath("evil.st"), model_params, 2,
                                         dst, &e),
                     NN_EMISMATCH);
    ck_assert_msg_has(e, "tensor 'evil\\x1b]0;owned\\x07\\x1b[2J' in the file "
                         "is not a parameter");
    ck_assert_ptr_null(strchr(e.msg, '\x1b'));
    ck_assert_ptr_null(strchr(e.msg, '\x07'));
    /* C1 CSI (U+009B) and DEL in a CSV cell. */
    write_text(tpath("esc.csv"), "1,2\n3,\xc2\x9b" "31m\x7f" "red\n");
    expect_load_fail(tpath("esc.csv"), NN_EFORMAT,
                     "'\\xc2\\x9b31m\\x7fred' is not a number");
}
END_TEST

START_TEST(params_partial_and_prefix)
{
    float w[12], b[3], wv[12];
    void *dst[2] = {w, b};
    NnrtStTensor t[2];
    NnrtParamLoadOpts po;
    NnrtParamLoadReport rep;
    NnrtErr e;
    int k;

    /* Every parameter and an extra fc2.weight: loaded, fc2 skipped. */
    write_params(tpath("part.st"), 3, 3, NNRT_F32);
    memset(&po, 0, sizeof po);
    po.partial = 1;
    ck_assert_int_eq(nnrt_st_load_params_opts(tpath("part.st"), model_params,
                                              2, dst, &po, &rep, &e),
                     0);
    ck_assert_int_eq(rep.nloaded, 2);
    ck_assert_int_eq(rep.nskipped, 1);
    ck_assert_ptr_nonnull(strstr(rep.text, "skipped 'fc2.weight': not a "
                                           "parameter of this model\n"));
    free(rep.text);

    /* The encoder half: fc.weight loads, fc.bias keeps its values. */
    for (k = 0; k < 12; k++)
        w[k] = -1;
    b[0] = b[1] = b[2] = 42;
    for (k = 0; k < 12; k++)
        wv[k] = (float)(100 + k);
    memset(t, 0, sizeof t);
    t[0].name = "fc.weight"; t[0].rank = 2; t[0].dims[0] = 3;
    t[0].dims[1] = 4; t[0].data = wv;
    t[1].name = "dec.weight"; t[1].rank = 2; t[1].dims[0] = 4;
    t[1].dims[1] = 3; t[1].data = wv;
    ck_assert_int_eq(nnrt_st_write(tpath("enc.st"), t, 2, &e), 0);
    ck_assert_int_eq(nnrt_st_load_params(tpath("enc.st"), model_params, 2,
                                         dst, &e),
                     NN_EMISMATCH);
    ck_assert_msg_has(e, "enc.st: 2 problems:\n  missing tensor 'fc.bias' "
                         "(the model expects F32 [3])\n  tensor 'dec.weight' "
                         "in the file is not a parameter of this model");
    ck_assert(w[0] == -1);
    ck_assert_int_eq(nnrt_st_load_params_opts(tpath("enc.st"), model_params,
                                              2, dst, &po, &rep, &e),
                     0);
    ck_assert(w[0] == 100 && w[11] == 111 && b[0] == 42);
    ck_assert_int_eq(rep.nloaded, 1);
    ck_assert_int_eq(rep.nkept, 1);
    ck_assert_int_eq(rep.nskipped, 1);
    ck_assert_ptr_nonnull(strstr(rep.text, "kept initialisation: 'fc.bias' "
                                           "(not in the file)\n"));
    ck_assert_ptr_nonnull(strstr(rep.text, "skipped 'dec.weight': not a "
                                           "parameter of this model\n"));
    free(rep.text);

    /* Nothing matches: an error even when partial. */
    t[0].name = "other";
    ck_assert_int_eq(nnrt_st_write(tpath("none.st"), t, 1, &e), 0);
    ck_assert_int_eq(nnrt_st_load_params_opts(tpath("none.st"), model_params,
                                              2, dst, &po, &rep, &e),
                     NN_EMISMATCH);
    ck_assert_msg_has(e, "no tensor of the file matches a parameter");
    free(rep.text);

    /* PyTorch's DataParallel prefix: a hint, then --strip-prefix. */
    t[0].name = "module.fc.weight";
    t[1].name = "module.fc.bias"; t[1].rank = 1; t[1].dims[0] = 3;
    ck_assert_int_eq(nnrt_st_write(tpath("dp.st"), t, 2, &e), 0);
    ck_assert_int_eq(nnrt_st_load_params(tpath("dp.st"), model_params, 2, dst,
                                         &e),
                     NN_EMISMATCH);
    ck_assert_msg_has(e, "--strip-prefix module. removes it");
    memset(&po, 0, sizeof po);
    po.strip_prefix = "module.";
    w[0] = b[0] = 0;
    ck_assert_int_eq(nnrt_st_load_params_opts(tpath("dp.st"), model_params, 2,
                                              dst, &po, NULL, &e),
                     0);
    ck_assert(w[0] == 100 && b[0] == 100);
    /* Two names that become one. */
    t[1].name = "fc.weight";
    t[1].rank = 2; t[1].dims[0] = 3; t[1].dims[1] = 4;
    ck_assert_int_eq(nnrt_st_write(tpath("dup.st"), t, 2, &e), 0);
    ck_assert_int_eq(nnrt_st_load_params_opts(tpath("dup.st"), model_params,
                                              2, dst, &po, NULL, &e),
                     NN_EMISMATCH);
    ck_assert_msg_has(e, "both become 'fc.weight' after stripping 'module.'");
}
END_TEST

START_TEST(params_all_problems_listed)
{
    enum { N = 40 };
    NnrtParamDesc p[N];
    static char names[N][16];
    float v[N];
    void *dst[N];
    NnrtStTensor t;
    NnrtParamLoadReport rep;
    NnrtErr e;
    int k, lines = 0;
    const char *s;

    for (k = 0; k < N; k++) {
        snprintf(names[k], sizeof names[k], "layer%02d.weight", k);
        memset(&p[k], 0, sizeof p[k]);
        p[k].name = names[k];
        p[k].rank = 1;
        p[k].dims[0] = 1;
        dst[k] = &v[k];
    }
    memset(&t, 0, sizeof t);
    t.name = "stranger";
    t.rank = 1;
    t.dims[0] = 1;
    t.data = v;
    ck_assert_int_eq(nnrt_st_write(tpath("s.st"), &t, 1, &e), 0);
    ck_assert_int_eq(nnrt_st_load_params_opts(tpath("s.st"), p, N, dst, NULL,
                                              &rep, &e),
                     NN_EMISMATCH);
    ck_assert_msg_has(e, "s.st: 41 problems:\n  missing tensor "
                         "'layer00.weight'");
    ck_assert_msg_has(e, " more)");
    ck_assert(strlen(e.msg) < sizeof e.msg);
    for (s = rep.text; (s = strchr(s, '\n')) != NULL; s++)
        lines++;
    ck_assert_int_eq(lines, 41);
    ck_assert_ptr_nonnull(strstr(rep.text, "missing tensor 'layer39.weight'"));
    ck_assert_ptr_nonnull(strstr(rep.text, "'stranger' in the file"));
    free(rep.text);
}
END_TEST

/* ---- RNG ---- */

START_TEST(rng_pinned)
{
    /* Values from an independent Python implementation of splitmix64 +
     * xoshiro256** 1.0; they must never change, or every seeded run
     * (initial weights, shuffles) changes with them. */
    static const uint64_t seed0[4] = {
        UINT64_C(0x99ec5f36cb75f2b4), UINT64_C(0xbf6e1f784956452a),
        UINT64_C(0x1a5f849d4933e6e0), UINT64_C(0x6aa594f1262d2d2c)};
    static const uint64_t seed42[4] = {
        UINT64_C(0x15780b2e0c2ec716), UINT64_C(0x6104d9866d113a7e),
        UINT64_C(0xae17533239e499a1), UINT64_C(0xecb8ad4703b360a1)};
    NnrtRng r;
    int k;
    nnrt_rng_seed(&r, 0);
    for (k = 0; k < 4; k++)
        ck_assert_uint_eq(nnrt_rng_next_u64(&r), seed0[k]);
    nnrt_rng_seed(&r, 42);
    for (k = 0; k < 4; k++)
        ck_assert_uint_eq(nnrt_rng_next_u64(&r), seed42[k]);
    nnrt_rng_seed(&r, 42);
    ck_assert(nnrt_rng_uniform(&r) == 0.08386296033859253f);
    ck_assert(nnrt_rng_uniform(&r) == 0.37898021936416626f);
}
END_TEST

START_TEST(rng_distributions)
{
    NnrtRng r;
    double s = 0, s2 = 0;
    int k, n = 200000, hist[7] = {0};
    nnrt_rng_seed(&r, 1);
    for (k = 0; k < n; k++) {
        float u = nnrt_rng_uniform(&r);
        ck_assert(u >= 0.0f && u < 1.0f);
    }
    for (k = 0; k < n; k++) {
        double z = nnrt_rng_normal(&r);
        ck_assert(isfinite(z));
        s += z;
        s2 += z * z;
    }
    ck_assert_double_lt(fabs(s / n), 0.01);
    ck_assert_double_lt(fabs(s2 / n - 1.0), 0.02);
    for (k = 0; k < 70000; k++) {
        uint64_t v = nnrt_rng_below(&r, 7);
        ck_assert_uint_lt(v, 7);
        hist[v]++;
    }
    for (k = 0; k < 7; k++)
        ck_assert_int_lt(abs(hist[k] - 10000), 500);
    ck_assert_uint_eq(nnrt_rng_below(&r, 1), 0);
    ck_assert_uint_eq(nnrt_rng_below(&r, 0), 0);
}
END_TEST

START_TEST(rng_shuffle)
{
    enum { N = 1000 };
    int32_t p[N], q[N];
    char seen[N];
    NnrtRng r;
    int k, moved = 0;
    for (k = 0; k < N; k++)
        p[k] = q[k] = k;
    nnrt_rng_seed(&r, 3);
    nnrt_rng_shuffle(&r, p, N);
    nnrt_rng_seed(&r, 3);
    nnrt_rng_shuffle(&r, q, N);
    ck_assert_mem_eq(p, q, sizeof p); /* deterministic */
    memset(seen, 0, sizeof seen);
    for (k = 0; k < N; k++) {
        ck_assert(p[k] >= 0 && p[k] < N && !seen[p[k]]);
        seen[p[k]] = 1;
        moved += p[k] != k;
    }
    ck_assert_int_gt(moved, N / 2);
    nnrt_rng_shuffle(&r, p, 0); /* degenerate sizes are fine */
    nnrt_rng_shuffle(&r, p, 1);
}
END_TEST

/* ---- the real data set, when the machine has it ---- */

START_TEST(fashion_mnist)
{
    const char *dir = "/usr/share/datasets/fashion-mnist/";
    char p[256];
    NnrtArray a;
    NnrtErr e;
    double t;
    int32_t *labels;
    snprintf(p, sizeof p, "%strain-images-idx3-ubyte.gz", dir);
    if (access(p, R_OK) != 0)
        return; /* not installed here */
    t = nnrt_seconds();
    ck_assert_int_eq(nnrt_load_array(p, &a, &e), 0);
    t = nnrt_seconds() - t;
    ck_assert_int_eq(a.dtype, NNRT_U8);
    ck_assert_int_eq(a.rank, 3);
    ck_assert_int_eq(a.dims[0], 60000);
    ck_assert_int_eq(a.dims[1], 28);
    ck_assert_int_eq(a.dims[2], 28);
    ck_assert_msg(t < 2.0, "loading took %.2f s", t);
    nnrt_array_free(&a);
    snprintf(p, sizeof p, "%strain-labels-idx1-ubyte.gz", dir);
    ck_assert_int_eq(nnrt_load_array(p, &a, &e), 0);
    ck_assert_int_eq(a.rank, 1);
    ck_assert_int_eq(a.dims[0], 60000);
    ck_assert_int_eq(nnrt_array_to_labels(&a, &labels, 10, &e), 0);
    free(labels);
    nnrt_array_free(&a);
}
END_TEST

static Suite *runtime_suite(void)
{
    Suite *s = suite_create("runtime");
    TCase *tc = tcase_create("formats");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, npy_roundtrip);
    tcase_add_test(tc, npy_rank1_and_scalar);
    tcase_add_test(tc, npy_dtypes_and_versions);
    tcase_add_test(tc, npy_malformed);
    tcase_add_test(tc, idx_plain_and_gzip);
    tcase_add_test(tc, idx_truncated);
    tcase_add_test(tc, csv_header_and_rows);
    tcase_add_test(tc, csv_errors);
    tcase_add_test(tc, labels_range);
    tcase_add_test(tc, st_roundtrip);
    tcase_add_test(tc, st_malformed);
    tcase_add_test(tc, st_mutations);
    tcase_add_test(tc, load_mutations);
    tcase_add_test(tc, params_load);
    tcase_add_test(tc, params_mismatch);
    tcase_add_test(tc, atomic_save);
    tcase_add_test(tc, save_follows_symlink);
    tcase_add_test(tc, save_keeps_mode);
    tcase_add_test(tc, save_long_names);
    tcase_add_test(tc, save_removes_stale_tmp);
    tcase_add_test(tc, save_devices_in_place);
    tcase_add_test(tc, save_csv_roundtrip);
    tcase_add_test(tc, read_rejects_non_regular);
    tcase_add_test(tc, gzip_bomb_stops_early);
    tcase_add_test(tc, truncated_headers_named);
    tcase_add_test(tc, csv_keeps_every_row);
    tcase_add_test(tc, csv_quotes_and_separators);
    tcase_add_test(tc, csv_label_column);
    tcase_add_test(tc, nonfinite_data_named);
    tcase_add_test(tc, params_nonfinite_named);
    tcase_add_test(tc, messages_escape_controls);
    tcase_add_test(tc, params_partial_and_prefix);
    tcase_add_test(tc, params_all_problems_listed);
    tcase_add_test(tc, rng_pinned);
    tcase_add_test(tc, rng_distributions);
    tcase_add_test(tc, rng_shuffle);
    tcase_add_test(tc, fashion_mnist);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(runtime_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
