/*
 * nnrt.h: the nnc runtime, the whole public API.
 *
 * The runtime is what every generated program shares and what does not
 * depend on a model's shapes: reading data files (.npy, IDX, .csv), reading
 * and writing weights (safetensors), a portable seeded RNG, a progress
 * display and the command-line driver of spec section 11.  Generated code
 * (NAME.c) describes its model with a `const NnrtModel` and calls
 * nnrt_main() from main().
 *
 * Conventions:
 *   - C99 plus zlib; POSIX for reading without blocking (open, fstat),
 *     file replacement and terminal checks.
 *   - Functions that can fail return 0 or a negative NN_E* code and fill a
 *     caller-provided NnrtErr with "FILE: reason".  The NnrtErr pointer may
 *     be NULL when the caller only wants the code.
 *   - Shapes are int64_t dims in row-major (C) order, at most NNRT_MAX_RANK.
 *   - Memory returned to the caller is from malloc() and is released with
 *     the matching nnrt_*_free() or, where stated, plain free().
 *   - No global state: every function is reentrant on distinct objects.
 */
#ifndef NNRT_H
#define NNRT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Errors                                                               */
/* ------------------------------------------------------------------ */

/* Return codes.  0 is success; the negative values are shared with the
 * generated NAME_load()/NAME_save() (spec section 10). */
enum {
    NN_OK = 0,
    NN_EIO = -1,       /* cannot open, read, write or rename a file */
    NN_EFORMAT = -2,   /* malformed or truncated file */
    NN_EMISMATCH = -3, /* a valid file, but wrong names, shapes or dtypes
                          for what the caller expects */
    NN_ENOMEM = -4     /* an allocation failed */
};

/* A human-readable reason for the last failure, "FILE: reason" when a file
 * is involved.  Always NUL-terminated after a failing call; long messages
 * are truncated rather than overflowing. */
typedef struct NnrtErr {
    char msg[512];
} NnrtErr;

/* The NN_E* code's name ("NN_EIO", ...), for logs; "NN_E?" if unknown. */
const char *nnrt_strerror(int code);

/* ------------------------------------------------------------------ */
/* Arrays and element types                                             */
/* ------------------------------------------------------------------ */

#define NNRT_MAX_RANK 8

/* Element types.  NNRT_F32 is 0 so a zero-initialised descriptor means the
 * common case. */
enum {
    NNRT_F32 = 0, /* float, IEEE binary32 */
    NNRT_F64 = 1, /* double, IEEE binary64 */
    NNRT_U8 = 2,  /* uint8_t (images) */
    NNRT_I32 = 3, /* int32_t (class labels) */
    NNRT_I64 = 4  /* int64_t (PyTorch's num_batches_tracked, npy labels) */
};

/* Bytes per element of `dtype`; 0 if it is not one of NNRT_*. */
size_t nnrt_dtype_size(int dtype);

/* The safetensors spelling of `dtype` ("F32", "F64", "U8", "I32", "I64"),
 * also used in messages; "?" if unknown. */
const char *nnrt_dtype_name(int dtype);

/* An n-dimensional array in host byte order, row-major.
 *   dtype  one of NNRT_*
 *   rank   0..NNRT_MAX_RANK (0 is a scalar: one element)
 *   dims   dims[0..rank-1] >= 0; entries past rank are 0
 *   data   malloc()ed, nbytes long (may be NULL when nbytes is 0)
 *   nbytes numel * nnrt_dtype_size(dtype) */
typedef struct NnrtArray {
    int dtype;
    int rank;
    int64_t dims[NNRT_MAX_RANK];
    void *data;
    size_t nbytes;
} NnrtArray;

/* Releases a->data and zeroes *a.  Safe on a zeroed or already freed
 * array and on NULL. */
void nnrt_array_free(NnrtArray *a);

/* Number of elements: the product of dims[0..rank-1] (1 for rank 0). */
int64_t nnrt_array_numel(const NnrtArray *a);

/* The largest file the readers accept, compressed or decompressed
 * (16 GiB): far above any data set a generated program trains on in
 * memory, low enough that a runaway read fails with a message instead of
 * exhausting memory. */
#define NNRT_MAX_FILE_BYTES ((uint64_t)1 << 34)

/* Reads a data file into *out (zeroed first; left zeroed on failure).
 * Only regular files are read: a directory, FIFO, device or socket is
 * NN_EIO ("is a FIFO (named pipe), not a regular file") before any byte is
 * read, and opening never blocks.  Files above NNRT_MAX_FILE_BYTES are
 * NN_EFORMAT.  The format is detected from the content, not the name:
 *   - gzip (1f 8b) is decompressed as a stream, so any format below may be
 *     .gz; decompression stops at the size the content's header declares
 *     (an IDX file holding more than its header says is an error as soon
 *     as the extra byte appears, not after inflating all of it);
 *   - "\x93NUMPY": .npy version 1.0, 2.0 or 3.0 with descr '<f4' '<f8'
 *     '|u1' '<i4' '<i8' (also '|i1' '<i2' '<u2', widened to I32), C
 *     order.  fortran_order True and big-endian descrs are rejected; a
 *     file cut inside the preamble is "truncated .npy header";
 *   - 00 00 TT RR: IDX (MNIST) with type TT 0x08 u8, 0x09 i8 and 0x0B i16
 *     (both widened to I32), 0x0C i32, 0x0D f32, 0x0E f64 and RR dims,
 *     converted from big-endian to host order;
 *   - anything else that is UTF-8 text: CSV of numbers as
 *     nnrt_load_csv_opts() reads it with default options (separator
 *     detected, header row detected); the result is F64 [rows, cols].
 * NaN and infinities in F32/F64 data are NN_EFORMAT naming the row and
 * column (CSV: the line and column; .npy/IDX: the index, "NaN at [12, 5]");
 * use nnrt_load_csv_opts() with allow_nonfinite to accept them.
 * Errors: NN_EIO (cannot open/read, not a regular file), NN_EFORMAT
 * (unknown format, malformed, truncated, ragged CSV row, bad cell,
 * unsupported dtype, non-finite value), NN_ENOMEM.  Every size in a header
 * is checked against the bytes actually present before anything is
 * allocated from it. */
int nnrt_load_array(const char *path, NnrtArray *out, NnrtErr *err);

/* Options and results of nnrt_load_csv_opts().  Zero-initialise, set the
 * inputs, read the outputs after the call.
 * CSV rules (docs/program.md, "CSV"):
 *   - a UTF-8 byte-order mark is skipped; line ends LF, CRLF or CR alone;
 *     blank lines are ignored;
 *   - fields are separated by `sep`, or, when sep is 0, by whichever of
 *     ',' ';' and tab occurs most often (outside quotes) in the first
 *     non-blank line (ties: ',' then ';' then tab); a field may be quoted
 *     as RFC 4180 says ("1.5", "a ""name"", with, commas"); spaces and
 *     tabs around a field are ignored;
 *   - the first row is a header, skipped, only when none of its fields is
 *     a number or a missing-value marker (NA, N/A, NULL, None, ?, -) and
 *     at least one is a name; it must have as many fields as the data;
 *   - every other cell must be a number (strtod's syntax, C locale): an
 *     empty cell, "NA" or a typo is NN_EFORMAT naming the line and the
 *     column (both counted from 1, as editors and spreadsheets show them),
 *     and so is a row with a different number of fields.
 * Other formats (.npy, IDX) are read as nnrt_load_array() reads them; the
 * label split below applies to them too when they are [rows, cols]. */
/* NnrtCsvOpts.label_stop for a range through the last column ("A:"). */
#define NNRT_CSV_END 0x7fffffff
typedef struct NnrtCsvOpts {
    /* inputs */
    char sep;            /* ',', ';', '\t' or any other byte; 0: detect */
    int have_label;      /* split label column(s) off into *labels */
    int label_column;    /* first label column, 0-based; negative counts
                            from the end (-1: the last column) */
    int label_count;     /* number of label columns from label_column
                            (a range, for several targets); 0 means 1 */
    int allow_nonfinite; /* accept NaN and infinities ("nan", "inf") */
    int label_stop;      /* nonzero: the label columns are label_column
                            up to, not including, this one, as a Python
                            slice A:B (negative counts from the end;
                            NNRT_CSV_END: through the last column);
                            label_count is then ignored */
    /* outputs */
    int header_skipped;  /* 1: the first row was a header and was skipped
                            (the driver says "header row skipped") */
    char sep_used;       /* the separator used (CSV only) */
    int label_column_used; /* label_column resolved to 0-based */
    char header[160];    /* the skipped header line, escaped, possibly
                            shortened; "" when none */
} NnrtCsvOpts;

/* Reads a data table; with opts->have_label, splits it into the feature
 * columns (*features, F64 [rows, cols - label_count], in file order) and
 * the label columns (*labels, F64 [rows, label_count]); otherwise the
 * whole array goes to *features and labels may be NULL.  opts may be NULL
 * (defaults).  The split needs a rank-2 array (every CSV is one) and a
 * column range inside it that leaves at least one feature column;
 * otherwise NN_EMISMATCH ("label column 5 is outside the 4 columns (0..3,
 * or -4..-1 from the end)").  Errors as
 * nnrt_load_array(); on failure both arrays are left zeroed. */
int nnrt_load_csv_opts(const char *path, NnrtCsvOpts *opts,
                       NnrtArray *features, NnrtArray *labels, NnrtErr *err);

/* Finds the first NaN or infinity of an F32/F64 array (other dtypes have
 * none).  Returns 0 when all values are finite; otherwise NN_EFORMAT with
 * "PATH: NaN at [12, 5]" (path may be NULL), the index in the array's own
 * dims. */
int nnrt_array_check_finite(const NnrtArray *a, const char *path,
                            NnrtErr *err);

/* Converts the elements of `a` to a new float array *out (numel floats,
 * free() it).  U8 becomes x / 255 in [0, 1], as torchvision's ToTensor
 * does; other types are converted by value (F64 rounded to nearest).
 * A finite F64 value beyond float32's range (|x| > 3.4e38, which would
 * become an infinity) is NN_EFORMAT naming its index ("value at [3, 1] is
 * 1e+39, outside float32's range"); NaN and infinities already in the
 * array pass through (nnrt_load_array() rejected them unless allowed).
 * Errors: NN_ENOMEM; NN_EMISMATCH for an unknown dtype.  Messages carry no
 * file name (the array does not know it); callers prefix it. */
int nnrt_array_to_f32(const NnrtArray *a, float **out, NnrtErr *err);

/* Converts class labels to a new int32 array *out (numel entries, free()
 * it).  Integer dtypes and integral F32/F64 values are accepted; every
 * label must lie in 0..nclasses-1.  Errors: NN_EMISMATCH naming the first
 * bad index and value ("label at index 12 is 7, outside 0..4 (5
 * classes)", "label at index 3 is 2.5, not an integer"), also for
 * nclasses < 1; NN_ENOMEM.  No file name in the message, as for
 * nnrt_array_to_f32. */
int nnrt_array_to_labels(const NnrtArray *a, int32_t **out, int nclasses,
                         NnrtErr *err);

/* Saving, shared by every writer below (nnrt_save_npy, nnrt_save_csv,
 * nnrt_st_write, nnrt_save_file):
 *   - a regular file (or a new one) is written to the temporary file
 *     ".NAME.tmp" in the same directory (".PREFIX~HASH.tmp" when NAME is
 *     too long for that to fit NAME_MAX), flushed, fsync()ed and renamed
 *     over NAME, so NAME is either the old file or the complete new one.
 *     The temporary's name is fixed per target: a crash leaves at most
 *     that one file, which the next save of NAME removes.  Two programs
 *     saving the same NAME at the same moment are not supported;
 *   - an existing file's permission bits (and, when allowed, owner) are
 *     kept; a symbolic link is followed and its target replaced, the link
 *     staying a link (a hard link is broken, as by any rename);
 *   - a device or FIFO is written in place, without a temporary: saving
 *     to /dev/full is "write error: No space left on device" and the
 *     device stays a device; a FIFO with no reader is an error, not a
 *     hang; a directory is "is a directory".
 * Errors: NN_EIO with the reason (messages shorten a long path with "..."
 * so the reason is never cut), NN_ENOMEM. */

/* Writes len bytes to `path` as described above. */
int nnrt_save_file(const char *path, const void *data, size_t len,
                   NnrtErr *err);

/* Writes float32 data [dims[0], ..., dims[rank-1]] to `path` as .npy
 * version 1.0, descr '<f4', C order, readable by numpy.load(), saving as
 * described above.  rank 0..NNRT_MAX_RANK.  Errors: NN_EIO, NN_EMISMATCH
 * (bad rank or dims), NN_ENOMEM. */
int nnrt_save_npy(const char *path, const float *data, int rank,
                  const int64_t *dims, NnrtErr *err);

/* Writes data [rows, cols] to `path` as CSV: one row per line ('\n'),
 * fields separated by ',', each value as "%.9g" (which reads back as the
 * same float32), no header; NaN and infinities as printf writes them
 * ("nan" or "-nan", "inf", "-inf").
 * Saved as described above.  Errors: NN_EIO; NN_EMISMATCH for negative
 * sizes; NN_ENOMEM. */
int nnrt_save_csv(const char *path, const float *data, int64_t rows,
                  int64_t cols, NnrtErr *err);

/* ------------------------------------------------------------------ */
/* safetensors                                                          */
/* ------------------------------------------------------------------ */

/* Largest JSON header accepted, as the reference implementation
 * (huggingface/safetensors MAX_HEADER_SIZE). */
#define NNRT_ST_MAX_HEADER 100000000u

/* One tensor, for reading and for writing.
 *   name   NUL-terminated UTF-8
 *   dtype  NNRT_*; rank and dims as in NnrtArray
 *   data   little-endian on disk; in memory host order, suitably aligned
 *          for dtype when returned by nnrt_st_read()
 *   nbytes filled by the reader; ignored by the writer, which derives it
 *          from dtype and dims */
typedef struct NnrtStTensor {
    const char *name;
    int dtype;
    int rank;
    int64_t dims[NNRT_MAX_RANK];
    const void *data;
    size_t nbytes;
} NnrtStTensor;

/* A safetensors file read into memory.  Fields are read-only for callers;
 * everything is owned by the struct and released by nnrt_st_free().
 *   tensors[0..ntensors-1]   in header order
 *   meta_keys/meta_vals      the "__metadata__" string map, nmeta pairs */
typedef struct NnrtSafetensors {
    int ntensors;
    NnrtStTensor *tensors;
    int nmeta;
    const char **meta_keys;
    const char **meta_vals;
    /* private */
    unsigned char *file;  /* the whole file */
    char *strings;        /* decoded names and metadata */
    int *by_name;         /* tensor indices sorted by name, for lookup */
    void **copies;        /* realigned tensor data, ntensors entries */
} NnrtSafetensors;

/* Reads and validates a whole safetensors file (a regular file of at most
 * NNRT_MAX_FILE_BYTES; FIFOs and devices are refused before reading): 8-byte little-endian
 * header length N (at most NNRT_ST_MAX_HEADER and within the file), N
 * bytes of JSON {"NAME": {"dtype": D, "shape": [..], "data_offsets":
 * [BEGIN, END]}, ..., "__metadata__": {STRING: STRING}}, then the data.
 * The JSON is parsed strictly (RFC 8259, UTF-8, nesting bounded, no
 * duplicate keys); unknown keys inside a tensor entry are ignored as the
 * reference reader ignores them.  Offsets are relative to the data start
 * and, sorted, must tile the data exactly (no gaps, no overlap, nothing
 * after), each tensor's END - BEGIN being numel * dtype size.
 * Dtypes F32, F64, U8, I32, I64 are supported; any other dtype is
 * NN_EMISMATCH naming the tensor.  Errors: NN_EIO, NN_EFORMAT, NN_EMISMATCH,
 * NN_ENOMEM; *st is zeroed on failure. */
int nnrt_st_read(const char *path, NnrtSafetensors *st, NnrtErr *err);

/* The tensor called `name`, or NULL.  O(log ntensors). */
const NnrtStTensor *nnrt_st_find(const NnrtSafetensors *st, const char *name);

/* The "__metadata__" value for `key`, or NULL. */
const char *nnrt_st_meta(const NnrtSafetensors *st, const char *key);

/* Releases everything nnrt_st_read() allocated and zeroes *st.  Safe on a
 * zeroed struct and on NULL. */
void nnrt_st_free(NnrtSafetensors *st);

/* Writes tensors[0..n-1] in the given order, with {"format": "pt"} as
 * metadata, the JSON header padded with spaces to a multiple of 8 bytes
 * as the reference writer does.  Saved as nnrt_save_npy() says (temporary
 * ".NAME.tmp", fsync, rename; links followed, permissions kept), so a
 * crash never leaves a half-written checkpoint.  Errors: NN_EIO; NN_EMISMATCH for a NULL or duplicate name,
 * an unknown dtype, a bad rank or a negative dim; NN_ENOMEM. */
int nnrt_st_write(const char *path, const NnrtStTensor *tensors, int n,
                  NnrtErr *err);

/* ------------------------------------------------------------------ */
/* Model parameters                                                     */
/* ------------------------------------------------------------------ */

/* One parameter (or buffer, such as batchnorm's running_mean) of a model,
 * named as PyTorch's state_dict names it (spec section 4).
 *   dtype      NNRT_F32 for weights, NNRT_I64 for num_batches_tracked
 *   rank/dims  the exact shape, PyTorch's layout
 *   trainable  1 if the optimizer updates it, 0 for buffers */
typedef struct NnrtParamDesc {
    const char *name;
    int dtype;
    int rank;
    int64_t dims[8];
    int trainable;
} NnrtParamDesc;

/* Number of elements of a parameter (1 for rank 0). */
int64_t nnrt_param_numel(const NnrtParamDesc *p);

/* Loads a model's parameters from a safetensors file.  dst[i] receives
 * params[i]: numel elements of params[i].dtype in host order.
 * Every parameter must be present with exactly its shape; an F32 parameter
 * may be stored as F32 or F64 (converted), any other as its own dtype.  A
 * missing tensor, a wrong shape (both shapes are named), a wrong dtype, a
 * tensor in the file that is not a parameter of the model, or a NaN or
 * infinity in a float tensor ("tensor 'fc1.weight' holds NaN at index
 * 12") is NN_EMISMATCH.  With one problem the message is that problem;
 * with several it is "PATH: N problems:" and one problem per line (as
 * many as fit; the report of nnrt_st_load_params_opts() has them all).
 * Nothing is written to dst unless the whole file matches, so a failed
 * load leaves the model as it was.  Other errors as nnrt_st_read().
 * Same as nnrt_st_load_params_opts() with no options; generated code
 * calls this. */
int nnrt_st_load_params(const char *path, const NnrtParamDesc *params, int n,
                        void *const *dst, NnrtErr *err);

/* Options of nnrt_st_load_params_opts(); zero means the default. */
typedef struct NnrtParamLoadOpts {
    int partial;              /* load the tensors that match a parameter by
                                 name, shape and dtype; skip the others;
                                 parameters not loaded keep their values */
    const char *strip_prefix; /* removed from the start of every file name
                                 that has it, before matching ("module.") */
    int allow_nonfinite;      /* load NaN and infinities as they are */
} NnrtParamLoadOpts;

/* What a load did, for the driver to print.  text is malloc()ed (free()
 * it; NULL when there is nothing to say): one line per event, each ending
 * in '\n', escaped:
 *   "skipped 'fc3.weight': not a parameter of this model"
 *   "skipped 'fc1.weight': shape [4, 3] in the file, the model expects [3, 4]"
 *   "kept initialisation: 'fc2.bias' (not in the file)"
 * and, after a failed load, every problem (up to 1000 lines). */
typedef struct NnrtParamLoadReport {
    int nloaded;  /* parameters loaded */
    int nkept;    /* parameters that kept their values (partial) */
    int nskipped; /* tensors of the file not loaded (partial) */
    char *text;
} NnrtParamLoadReport;

/* nnrt_st_load_params() with options.  opts and report may be NULL.
 * partial: problems with single tensors become "skipped" lines instead of
 * errors; loading nothing at all is still NN_EMISMATCH ("no tensor of the
 * file matches a parameter of the model"), and NaN or infinity in a tensor
 * that would be loaded is still an error.  strip_prefix: two file names
 * that become equal after stripping are NN_EMISMATCH.  A failed load
 * writes nothing to dst. */
int nnrt_st_load_params_opts(const char *path, const NnrtParamDesc *params,
                             int n, void *const *dst,
                             const NnrtParamLoadOpts *opts,
                             NnrtParamLoadReport *report, NnrtErr *err);

/* Saves params[i] from src[i] (host order, params[i].dtype) with
 * nnrt_st_write(), in the order given.  Errors as nnrt_st_write(). */
int nnrt_st_save_params(const char *path, const NnrtParamDesc *params, int n,
                        const void *const *src, NnrtErr *err);

/* ------------------------------------------------------------------ */
/* Random numbers                                                       */
/* ------------------------------------------------------------------ */

/* xoshiro256** (Blackman and Vigna, 2018), state seeded from one 64-bit
 * seed through splitmix64 as the authors recommend.  Integer outputs are
 * identical on every platform; nnrt_rng_normal() goes through libm's log
 * and cos, which may differ in the last bit between libms. */
typedef struct NnrtRng {
    uint64_t s[4];
} NnrtRng;

/* (Re)starts the generator from `seed`; any seed, 0 included, is fine. */
void nnrt_rng_seed(NnrtRng *rng, uint64_t seed);

/* The next 64 random bits. */
uint64_t nnrt_rng_next_u64(NnrtRng *rng);

/* A float uniform in [0, 1): the top 24 bits times 2^-24, so every value
 * is exact and 1.0 never occurs. */
float nnrt_rng_uniform(NnrtRng *rng);

/* A standard normal sample (mean 0, std 1) by the Box-Muller transform
 * over two 53-bit uniforms; one sample per call, the sine half is
 * dropped to keep the state a plain xoshiro state. */
float nnrt_rng_normal(NnrtRng *rng);

/* A uniform integer in 0..n-1 without modulo bias (rejection of the
 * 2^64 mod n lowest values); 0 when n is 0. */
uint64_t nnrt_rng_below(NnrtRng *rng, uint64_t n);

/* Shuffles perm[0..n-1] in place (Fisher-Yates, Durstenfeld's version),
 * every permutation equally likely.  To draw a random permutation fill
 * perm with 0..n-1 first. */
void nnrt_rng_shuffle(NnrtRng *rng, int32_t *perm, int64_t n);

/* ------------------------------------------------------------------ */
/* Training progress                                                    */
/* ------------------------------------------------------------------ */

/* Progress of one epoch.  On a terminal a single line is redrawn with
 * '\r' at most 10 times a second:
 *   epoch 2/5 [#########-----------]  412/938  loss 0.4123  acc 0.8512  lr 0.05  52011 samples/s  3.1s  eta 12.0s
 * elsewhere (a pipe or a file) nothing is drawn until nnrt_progress_end()
 * writes one line per epoch.  Fields are private. */
typedef struct NnrtProgress {
    FILE *stream;
    int tty, quiet, drawn;
    int epoch, epochs;
    int64_t steps, step;
    int64_t samples, counted, correct;
    double loss_sum; /* what the steps added to the epoch's loss */
    int64_t loss_n;  /* samples the loss counts (ignored labels left out) */
    int loss_is_sum; /* set after nnrt_progress_begin(): the model's loss
                        has reduction = sum, and the line shows the sum
                        over the epoch's samples, as PyTorch's loss over
                        them would be; 0: the mean over them */
    double t_begin, t_draw, t_last; /* seconds: begin, last bar, last step */
    /* Set by nnrt_progress_plan(); the line omits what is unknown. */
    double lr;          /* learning rate of the next step; < 0 unknown */
    double t_run;       /* start of the whole run (seconds); < 0 unknown */
    int64_t steps_after; /* steps of the epochs after this one, for ETA */
} NnrtProgress;

/* Monotonic wall-clock seconds (arbitrary origin), for rates. */
double nnrt_seconds(void);

/* Starts epoch `epoch` (1-based) of `epochs`, which has `steps` optimizer
 * steps.  Nothing is ever written when `quiet` is set. */
void nnrt_progress_begin(NnrtProgress *p, FILE *stream, int epoch,
                         int epochs, int64_t steps, int quiet);

/* What the line shows beyond the epoch: `t_run` the nnrt_seconds() at
 * which the run started (elapsed time; < 0 to omit), `steps_after` the
 * optimizer steps still to come after this epoch (the ETA is the steps
 * left, this epoch's and those, times this epoch's seconds per step) and
 * `lr` the current learning rate (< 0 to omit).  May be called again at
 * any step, say when a schedule or a warm-up changes the rate. */
void nnrt_progress_plan(NnrtProgress *p, double t_run, int64_t steps_after,
                        double lr);

/* Records one step over `n` samples with mean loss `loss`, of which
 * `correct` were classified correctly (pass a negative `correct` when
 * accuracy is unknown).  Redraws the bar on a terminal if 0.1 s passed. */
void nnrt_progress_update(NnrtProgress *p, int n, double loss, int64_t correct);

/* nnrt_progress_update() in full, for losses that leave samples out
 * (ignore_index) or sum instead of averaging: the step took `n` samples
 * (for the throughput), adds `loss_total` to the epoch's loss (the step's
 * sum; its mean times loss_n for reduction = mean) over `loss_n` samples,
 * and `correct` of `counted` samples were classified correctly (counted
 * 0 when accuracy is unknown).  nnrt_progress_update(p, n, l, c) is
 * nnrt_progress_step(p, n, l * n, n, c, c >= 0 ? n : 0). */
void nnrt_progress_step(NnrtProgress *p, int n, double loss_total,
                        int64_t loss_n, int64_t correct, int64_t counted);

/* Running loss (the mean over the samples it counts, or with
 * loss_is_sum their sum) and accuracy of the epoch so far (accuracy -1 when
 * unknown) and its training throughput in samples per second, measured
 * from nnrt_progress_begin() to the last update (so time spent after the
 * last step, say on a test set, does not count). */
double nnrt_progress_loss(const NnrtProgress *p);
double nnrt_progress_accuracy(const NnrtProgress *p);
double nnrt_progress_rate(const NnrtProgress *p);

/* Ends the epoch: replaces the bar (or, off a terminal, writes a line)
 * with "epoch e/E  loss L  acc A  EXTRA  lr R  N samples/s  T s  elapsed
 * E  eta S" and a newline (lr, elapsed and eta as nnrt_progress_plan()
 * set them); `extra` (validation and test results, "stopped after ...")
 * may be NULL or "". */
void nnrt_progress_end(NnrtProgress *p, const char *extra);

/* ------------------------------------------------------------------ */
/* The generated program                                                */
/* ------------------------------------------------------------------ */

/* What the generated code tells the driver about a model.  The code
 * generator emits one `const NnrtModel NAME_model`. */
enum { NNRT_TARGET_NONE, NNRT_TARGET_CLASS, NNRT_TARGET_F32 };
/* The loss a model trains with (NnrtModel.loss_kind); NONE in code from an
 * older nnc, when the driver reports loss and, for class targets,
 * accuracy only. */
enum {
    NNRT_LOSS_NONE,
    NNRT_LOSS_CROSS_ENTROPY, /* class or probability targets: accuracy */
    NNRT_LOSS_NLL,           /* class targets: accuracy */
    NNRT_LOSS_BCE,           /* binary_cross_entropy on logits: accuracy at 0.5 */
    NNRT_LOSS_MSE,           /* float targets: MAE and RMSE */
    NNRT_LOSS_L1,
    NNRT_LOSS_HUBER
};
/* One input of a model, in declaration order (spec section 11: --data once
 * per input, or --data NAME=FILE). */
typedef struct NnrtInputDesc {
    const char *name;
    int rank;
    int64_t dims[8];
    int64_t numel; /* per sample */
} NnrtInputDesc;
typedef struct NnrtModel {
    const char *name;            /* model name */
    const char *source;          /* .nn file it was compiled from */
    int max_batch;               /* largest n any call accepts */
    int input_rank; int64_t input_dims[8]; int64_t input_numel;     /* per sample */
    int target_kind; int64_t target_numel; /* CLASS: number of classes K, labels int32; F32: elements per sample */
    int output_rank; int64_t output_dims[8]; int64_t output_numel;  /* per sample */
    int train_batch, train_epochs, train_shuffle; uint64_t train_seed; double lr;  /* the .nn train block */
    int nparams; const NnrtParamDesc *params;
    size_t arena_bytes; double flops_per_sample;     /* forward FLOPs */
    void *(*create)(uint64_t seed);                  /* NULL on OOM */
    void (*destroy)(void *m);
    /* 0 or NN_E*; on failure err holds "FILE: reason" (typically from
     * nnrt_st_load_params / nnrt_st_save_params) and, for load, the model
     * is unchanged.  save writes atomically (temporary file + rename). */
    int (*load)(void *m, const char *path, NnrtErr *err);
    int (*save)(const void *m, const char *path, NnrtErr *err);
    void (*forward)(void *m, int n, const float *x, float *out);      /* eval mode; out [n, output_numel] */
    float (*train_step)(void *m, int n, const float *x, const void *target);  /* one optimizer step, returns mean loss over the n samples */
    float (*eval_loss)(void *m, int n, const float *x, const void *target, float *logits_out); /* eval mode, no update; fills out like forward */
    void (*set_lr)(void *m, double lr);              /* --lr */
    void (*epoch_end)(void *m);                      /* steps the learning-rate schedule once per epoch */
    /* Added fields (may be NULL / 0 in generated code):
     * train_logits: the loss's first argument as computed by the last
     * train_step, [n, target_numel] for the n of that call; used only to
     * show running training accuracy for CLASS targets (argmax).  NULL:
     * the progress shows no training accuracy. */
    const float *(*train_logits)(const void *m);

    /* ---- version 2 of the descriptor (spec section 11, version 2).  Every
     * field below may be 0 / NULL in code from an older nnc; the driver
     * then falls back to the single-input fields above. ---- */

    /* Every input in declaration order; inputs[0] repeats input_rank,
     * input_dims and input_numel above. */
    int ninputs;
    const NnrtInputDesc *inputs;
    /* As forward/train_step/eval_loss, with xs[i] the rows of inputs[i],
     * [n, inputs[i].numel] float32 each. */
    void (*forward_n)(void *m, int n, const float *const *xs, float *out);
    float (*train_step_n)(void *m, int n, const float *const *xs, const void *target);
    float (*eval_loss_n)(void *m, int n, const float *const *xs, const void *target, float *out);
    /* The loss's first argument (the prediction metrics are computed on:
     * logits for cross_entropy and binary_cross_entropy, log-probabilities
     * for nll, the prediction for mse/l1/huber) as computed by the last
     * train_step or eval_loss call, [n, target_numel] (class targets:
     * [n, K]).  NULL when the loss reads an input directly. */
    const float *(*pred)(const void *m);
    /* Which loss the model trains with, so the driver reports the metrics
     * of spec section 11: NNRT_LOSS_*. */
    int loss_kind;
    /* Training state beyond the parameters, for --checkpoint/--resume:
     * optimizer slots named "<param>.<slot>" after torch.optim's state
     * (momentum_buffer, exp_avg, exp_avg_sq, max_exp_avg_sq, sum,
     * square_avg, grad_avg, acc_delta), the optimizer's step count, the
     * learning-rate schedule's position and the model's own RNG (dropout,
     * rrelu), each as a named tensor ("__step__", "__lr__", "__rng__",
     * ...).  state_ptr(m, i) is where state[i] lives in m (host order,
     * state[i].dtype).  Restoring every state tensor and every parameter
     * makes the next train_step bit-identical to an uninterrupted run. */
    int nstate;
    const NnrtParamDesc *state;
    void *(*state_ptr)(void *m, int i);
    /* The learning rate the next step uses (schedule and warm-up applied),
     * for the progress line and --log. */
    double (*get_lr)(const void *m);
    /* As epoch_end, given the epoch's validation loss (the training loss
     * when there is no validation data): lr_schedule = plateau steps on it
     * (torch.optim.lr_scheduler.ReduceLROnPlateau.step(loss)).  When set,
     * the driver calls it instead of epoch_end. */
    void (*epoch_end_loss)(void *m, double loss);
    /* cross_entropy and nll with class targets and an ignore_index written
     * in the model (has_ignore_index 0 otherwise: the default -100 matches
     * no label, and the generated train_step refuses it).  The
     * driver accepts labels equal to it even outside 0..K-1 and leaves
     * those samples out of the loss's mean, accuracy and the confusion
     * matrix. */
    int has_ignore_index;
    int32_t ignore_index;
    /* 1 when the loss has reduction = sum: train_step and eval_loss
     * return the sum over the batch, and the driver reports sums over
     * the epoch / the data set (docs/program.md). */
    int loss_reduction_sum;
    /* The threads its parallel loops run on (nnc --threads N; 0 or 1:
     * one), for the program's warning when N exceeds the cores. */
    int threads;
    /* PROG calibrate (docs/quantization.md): the nranges values whose
     * ranges calibrate_n measures, by their names in the model ("x",
     * "logits.1").  calibrate_n runs the forward pass in eval mode on
     * n <= max_batch samples (xs as forward_n) and widens lo[i] and hi[i]
     * to the least and greatest element value range_names[i] takes. */
    int nranges;
    const char *const *range_names;
    void (*calibrate_n)(void *m, int n, const float *const *xs, float *lo, float *hi);
} NnrtModel;

/* The generated program's command line (spec section 11, version 2;
 * docs/program.md is the manual):
 *   PROG train   --data X --labels Y [--test-data X2 --test-labels Y2]
 *                [--val-split F] [--epochs N] [--steps N] [--batch N]
 *                [--lr F] [--seed N] [--no-shuffle] [--no-scale]
 *                [--init W [--partial] [--strip-prefix P]] [--save W]
 *                [--save-best W] [--patience N] [--checkpoint C]
 *                [--resume C] [--log FILE.csv] [--quiet]
 *   PROG eval    --weights W --data X --labels Y [--confusion]
 * (--label-column N instead of --labels takes the targets from the table)
 *   PROG predict --weights W --data X --output OUT.npy|OUT.csv
 *   PROG info;  PROG --help;  PROG CMD --help
 * --data is given once per input (or as NAME=FILE).  Output goes to
 * stdout (progress, key=value results), errors to stderr as "nnc model
 * NAME: reason".  Returns the exit status: 0 ok, 1 training or data
 * failure (bad file, NaN/Inf loss or weights, out of memory), 2 usage
 * error.  In a program linked with OpenMP, nnrt_main() first sets
 * OMP_WAIT_POLICY=passive when it is unset and executes the program again
 * (/proc/self/exe) so that libgomp reads it. */
int nnrt_main(const NnrtModel *model, int argc, char **argv);

/* nnrt_main() with explicit streams, for tests and embedding: `out` gets
 * results and progress, `errs` gets errors and usage.  It leaves the
 * OpenMP environment alone. */
int nnrt_main_io(const NnrtModel *model, int argc, char **argv, FILE *out,
                 FILE *errs);

#ifdef __cplusplus
}
#endif

#endif /* NNRT_H */
