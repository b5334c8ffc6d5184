/*
 * driver.c: the command line of a generated program (spec section 11,
 * version 2; docs/program.md says the same for users).
 *
 *   PROG train | eval | predict | info  [options],  PROG [CMD] --help
 *
 * The driver knows a model only through its NnrtModel: shapes, defaults
 * from the .nn train block, and function pointers.  It owns everything
 * around the model: argument checking, loading and checking data files
 * against the model's shapes, batching and shuffling, the validation split,
 * metrics, progress, checkpoints and resuming, the training log, and the
 * NaN guard.  Code from an older nnc leaves the version-2 fields of the
 * descriptor NULL/0; the driver then falls back to one input, the loss
 * and (class targets) accuracy, and weights-only checkpoints.
 *
 * Guarantees: never crashes on bad arguments or files; exit status 0 ok,
 * 1 training or data failure, 2 usage error; a checkpoint is only ever
 * written from weights whose every value is finite (they are saved to a
 * temporary file, read back and checked first), and always atomically,
 * so after a failure the last good checkpoint is intact.
 */
#include "nnrt_impl.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };
enum { MAX_INPUTS = 16 };

/* One input of the model, from inputs[] or (older code) input_*. */
typedef struct Input {
    const char *name; /* NULL when the program does not say */
    int rank;
    const int64_t *dims;
    int64_t numel; /* per sample */
} Input;

/* What the metrics of a batch are computed on (spec section 11). */
enum {
    MET_LOSS,   /* the loss only */
    MET_CLASS,  /* class labels: accuracy (argmax), confusion */
    MET_PROB,   /* cross_entropy on probability targets: argmax vs argmax */
    MET_BINARY, /* binary_cross_entropy on logits: accuracy at 0.5 */
    MET_REGR    /* mse, l1, huber: MAE and RMSE */
};

typedef struct Ctx {
    const NnrtModel *m;
    const char *prog;
    FILE *out, *errs;
    int nin;
    Input in[MAX_INPUTS];
    int metric; /* MET_* */
    /* Where the prediction comes from: 1 the model's pred(), 0 the
     * forward output (older code, class targets with one output per
     * class). */
    int use_pred;
    const char *label_spec; /* --label-column, or NULL */
    int label_col, label_stop; /* it as NnrtCsvOpts.label_column and
                                  label_stop */
    char sep;  /* --sep, 0: detected by the reader */
    int quiet; /* --quiet: no notices either */
} Ctx;

typedef struct Opts {
    const char *cmd;
    int ndata, ntest;
    const char *data[MAX_INPUTS], *test_data[MAX_INPUTS];
    const char *labels, *test_labels;
    const char *weights, *output, *init, *save, *save_best;
    const char *checkpoint, *resume, *log, *strip_prefix, *label_column;
    const char *sep;
    long epochs, batch, steps, patience; /* 0: not given (patience -1) */
    long samples;  /* calibrate --samples; 0: all */
    double lr;                           /* 0: not given */
    double val_split;                    /* 0: none */
    uint64_t seed;
    int have_seed, no_shuffle, quiet, no_scale, confusion, partial, help;
} Opts;

/* The samples of one data set, converted for the model. */
typedef struct Data {
    int64_t n;                 /* samples */
    float *x[MAX_INPUTS];      /* [n, in[i].numel] each */
    int32_t *cls;              /* [n] for CLASS targets */
    float *y;                  /* [n, target_numel] for F32 targets */
    const char *name;          /* "training data", ... for messages */
} Data;

static int fail(const Ctx *c, int status, const char *fmt, ...)
    NNRT_PRINTF(3, 4);
static void warn(const Ctx *c, const char *fmt, ...) NNRT_PRINTF(2, 3);

/* "nnc model NAME: message" on the error stream. */
static void say(const Ctx *c, const char *fmt, va_list ap)
{
    fprintf(c->errs, "nnc model %s: ", c->m->name ? c->m->name : "?");
    vfprintf(c->errs, fmt, ap);
    fputc('\n', c->errs);
}

static int fail(const Ctx *c, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(c, fmt, ap);
    va_end(ap);
    return status;
}

static void warn(const Ctx *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(c->errs, "nnc model %s: warning: ",
            c->m->name ? c->m->name : "?");
    va_start(ap, fmt);
    vfprintf(c->errs, fmt, ap);
    va_end(ap);
    fputc('\n', c->errs);
}

/* ---- options ---- */

/* Which command takes which option. */
enum { C_TRAIN = 1, C_EVAL = 2, C_PREDICT = 4, C_CALIBRATE = 8 };

/* One option: its name, the name of its value (NULL: a flag), the
 * commands it applies to, and its --help line.  A "%D" in the help is
 * replaced by the option's default for this model (dflt()). */
typedef struct OptDef {
    const char *name;
    const char *arg;
    int cmds;
    const char *help;
} OptDef;

static const OptDef optdefs[] = {
    {"data", "FILE", C_TRAIN | C_EVAL | C_PREDICT | C_CALIBRATE,
     "samples (.npy, IDX, .csv); once per input in declaration order, or "
     "NAME=FILE (required)"},
    {"labels", "FILE", C_TRAIN | C_EVAL,
     "targets, one per sample (required, unless --label-column)"},
    {"label-column", "N", C_TRAIN | C_EVAL,
     "take the targets from column N of the --data table (and of "
     "--test-data), counting from 0, -1 the last; A:B for columns A to "
     "B-1 (default: --labels)"},
    {"sep", "C", C_TRAIN | C_EVAL | C_PREDICT | C_CALIBRATE,
     "CSV files: the field separator, one character or 'tab' "
     "(default: the most frequent of , ; and tab in the first line)"},
    {"test-data", "FILE", C_TRAIN,
     "test samples, evaluated after every epoch; as --data (default: none)"},
    {"test-labels", "FILE", C_TRAIN, "test targets (with --test-data)"},
    {"val-split", "F", C_TRAIN,
     "hold out this fraction (0 < F < 1) of the training data for "
     "validation, chosen by --seed (default: none)"},
    {"epochs", "N", C_TRAIN, "epochs to train (default %D)"},
    {"steps", "N", C_TRAIN,
     "run exactly N optimizer steps, over as many epochs as that takes; "
     "overrides --epochs (default: whole epochs)"},
    {"batch", "N", C_TRAIN,
     "samples per step, at most the compiled batch (default %D)"},
    {"lr", "F", C_TRAIN, "learning rate (default %D)"},
    {"seed", "N", C_TRAIN,
     "seed of the initial weights, the shuffle and --val-split "
     "(default %D)"},
    {"no-shuffle", NULL, C_TRAIN,
     "take the batches in file order (default: %D)"},
    {"no-scale", NULL, C_TRAIN | C_EVAL | C_PREDICT | C_CALIBRATE,
     "read uint8 inputs as their values, not divided by 255 "
     "(default: scaled)"},
    {"init", "W", C_TRAIN,
     "start from these weights (.safetensors) (default: the model's "
     "initialisers)"},
    {"partial", NULL, C_TRAIN,
     "with --init: load the tensors that match by name and shape, list the "
     "rest (default: all must match)"},
    {"strip-prefix", "P", C_TRAIN,
     "with --init: remove P from the front of the file's tensor names, as "
     "'module.' (default: none)"},
    {"save", "W", C_TRAIN,
     "save the weights after every epoch (.safetensors) (default: not "
     "saved)"},
    {"save-best", "W", C_TRAIN,
     "save the weights of the epoch with the lowest validation loss "
     "(default: not saved)"},
    {"patience", "N", C_TRAIN,
     "stop after N epochs without a lower validation loss (default: never)"},
    {"checkpoint", "C", C_TRAIN,
     "after every epoch, save weights, optimizer state, epoch, step and "
     "RNG state for --resume (default: none)"},
    {"resume", "C", C_TRAIN,
     "continue the run that wrote checkpoint C, to the same bits "
     "(default: a new run)"},
    {"log", "FILE", C_TRAIN,
     "write one CSV row per epoch: metrics, lr, time (default: none)"},
    {"quiet", NULL, C_TRAIN | C_CALIBRATE,
     "print only the final key=value lines (default: progress)"},
    {"weights", "W", C_EVAL | C_PREDICT | C_CALIBRATE,
     "the trained weights (.safetensors) (required)"},
    {"confusion", NULL, C_EVAL,
     "class targets: print the confusion matrix, per-class precision and "
     "recall (default: off)"},
    {"output", "OUT", C_PREDICT,
     "where the outputs go: OUT.npy (float32) or OUT.csv (required)"},
    {"output", "Q", C_CALIBRATE,
     "where the weights and each value's scale and zero point go "
     "(.safetensors, for nnc --quantize int8) (required)"},
    {"samples", "N", C_CALIBRATE,
     "calibrate on the first N samples of --data (default: all)"},
};
enum { NOPTS = sizeof optdefs / sizeof optdefs[0] };

static int cmd_bit(const char *cmd)
{
    return strcmp(cmd, "train") == 0     ? C_TRAIN
           : strcmp(cmd, "eval") == 0    ? C_EVAL
           : strcmp(cmd, "predict") == 0 ? C_PREDICT
           : strcmp(cmd, "calibrate") == 0 ? C_CALIBRATE
                                         : 0;
}

static int default_batch(const NnrtModel *m)
{
    return m->train_batch >= 1 && m->train_batch <= m->max_batch
               ? m->train_batch
               : m->max_batch;
}

static int default_epochs(const NnrtModel *m)
{
    return m->train_epochs >= 1 ? m->train_epochs : 1;
}

/* The default of option `d` for this model, for --help. */
static void dflt(const NnrtModel *m, const OptDef *d, char *buf, size_t cap)
{
    if (strcmp(d->name, "epochs") == 0)
        snprintf(buf, cap, "%d, from the model's train block",
                 default_epochs(m));
    else if (strcmp(d->name, "batch") == 0)
        snprintf(buf, cap, "%d; compiled for at most %d", default_batch(m),
                 m->max_batch);
    else if (strcmp(d->name, "lr") == 0)
        snprintf(buf, cap, "%g, from the model's optimizer", m->lr);
    else if (strcmp(d->name, "seed") == 0)
        snprintf(buf, cap, "%llu", (unsigned long long)m->train_seed);
    else if (strcmp(d->name, "no-shuffle") == 0)
        snprintf(buf, cap, "%s", m->train_shuffle ? "shuffled every epoch"
                                                  : "file order");
    else
        buf[0] = '\0';
}

static void usage(const Ctx *c, FILE *f)
{
    const char *p = c->prog;
    fprintf(f,
            "usage: %s train --data X --labels Y [--test-data X2 "
            "--test-labels Y2]\n"
            "         [--label-column N (instead of --labels)] "
            "[--val-split F] [--epochs N]\n"
            "         [--steps N] [--batch N] [--lr F] [--seed N] "
            "[--no-shuffle]\n"
            "         [--no-scale] [--init W [--partial] [--strip-prefix P]] "
            "[--save W]\n"
            "         [--save-best W] [--patience N] [--checkpoint C] "
            "[--resume C]\n"
            "         [--log FILE.csv] [--quiet]\n"
            "       %s eval --weights W --data X --labels Y [--confusion] "
            "[--no-scale]\n"
            "         [--label-column N]\n"
            "       %s predict --weights W --data X --output OUT.npy|OUT.csv "
            "[--no-scale]\n"
            "       %s calibrate --weights W --data X --output Q.safetensors "
            "[--samples N]\n"
            "       %s info\n"
            "       %s --help, %s CMD --help (every option with its "
            "default)\n"
            "Data files are .npy, IDX (optionally .gz) or .csv; their first "
            "dimension\ncounts samples.  Weights are .safetensors.\n",
            p, p, p, p, p, p, p);
}

/* Writes text's words, each after a space, from column `indent` - 1 (where
 * the caller left the line), breaking lines before column `width` and
 * starting the next ones at the same column.  A final parenthesised group
 * ("(default ...)") is kept on one line, so it can be searched for. */
static void wrap(FILE *f, const char *text, int indent, int width)
{
    int col = indent;
    size_t n = strlen(text);
    const char *w = text, *unit = NULL;
    if (n && text[n - 1] == ')') {
        const char *p = text + n;
        while (p > text && !(p[-1] == '(' && p - 1 > text && p[-2] == ' '))
            p--;
        if (p > text)
            unit = p - 1;
    }
    while (*w) {
        int len = 0;
        while (*w == ' ')
            w++;
        if (w == unit)
            len = (int)strlen(w);
        else
            while (w[len] && w[len] != ' ')
                len++;
        if (!len)
            break;
        if (col > indent && col + 1 + len > width) {
            fprintf(f, "\n%*s", indent - 1, "");
            col = indent;
        }
        fprintf(f, " %.*s", len, w); /* the space ends the column before */
        col += 1 + len;
        w += len;
    }
    fputc('\n', f);
}

/* PROG CMD --help: every option of CMD with its default. */
static void usage_cmd(const Ctx *c, const char *cmd, FILE *f)
{
    int bit = cmd_bit(cmd), k;
    fprintf(f, "usage: %s %s [options]\noptions of '%s':\n", c->prog, cmd,
            cmd);
    for (k = 0; k < NOPTS; k++) {
        const OptDef *d = &optdefs[k];
        char head[64], def[96], text[512];
        const char *h, *pct;
        if (!(d->cmds & bit))
            continue;
        snprintf(head, sizeof head, "--%s%s%s", d->name, d->arg ? " " : "",
                 d->arg ? d->arg : "");
        h = d->help;
        pct = strstr(h, "%D");
        def[0] = '\0';
        if (pct)
            dflt(c->m, d, def, sizeof def);
        snprintf(text, sizeof text, "%.*s%s%s",
                 (int)(pct ? pct - h : (long)strlen(h)), h, def,
                 pct ? pct + 2 : "");
        fprintf(f, "  %-20s", head);
        wrap(f, text, 23, 79);
    }
    fprintf(f, "Results are printed as key=value lines; see "
               "docs/program.md.\n");
}

/* A usage error: the reason, then the usage text, status 2. */
static int bad_usage(const Ctx *c, const char *fmt, ...) NNRT_PRINTF(2, 3);

static int bad_usage(const Ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(c, fmt, ap);
    va_end(ap);
    usage(c, c->errs);
    return EXIT_USAGE;
}

static int parse_long(const char *s, long lo, long hi, long *v)
{
    char *end;
    long x;
    if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
        return -1;
    errno = 0;
    x = strtol(s, &end, 10);
    if (errno || *end || x < lo || x > hi)
        return -1;
    *v = x;
    return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    unsigned long long x;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = (uint64_t)x;
    return 0;
}

static int parse_pos_double(const char *s, double *v)
{
    char *end;
    double x;
    if (!s || !*s)
        return -1;
    errno = 0;
    x = strtod(s, &end);
    if (errno || *end || !(x > 0) || !isfinite(x))
        return -1;
    *v = x;
    return 0;
}

/* --label-column: "N" or "A:B" (a Python slice, B exclusive and
 * optional; negative values count from the end) into the reader's
 * label_column and label_stop (0 for one column, NNRT_CSV_END for "A:").
 * -1 if the text is not of that form; whether the columns exist is the
 * reader's to say, as it knows the table. */
static int parse_columns(const char *spec, int *col, int *stop)
{
    char *end;
    long a, b;
    errno = 0;
    a = strtol(spec, &end, 10);
    if (errno || end == spec || a < -INT_MAX || a > INT_MAX)
        return -1;
    *col = (int)a;
    *stop = 0;
    if (*end == '\0')
        return 0;
    if (*end != ':')
        return -1;
    spec = end + 1;
    if (*spec == '\0') {
        *stop = NNRT_CSV_END;
        return 0;
    }
    b = strtol(spec, &end, 10);
    /* B = 0 is an empty slice in Python; here 0 would mean "one column". */
    if (errno || end == spec || *end || b == 0 || b < -INT_MAX ||
        b >= NNRT_CSV_END)
        return -1;
    *stop = (int)b;
    return 0;
}

static int parse_args(const Ctx *c, int argc, char **argv, Opts *o)
{
    int i, cmd;
    memset(o, 0, sizeof *o);
    o->patience = -1;
    o->cmd = argv[1];
    cmd = cmd_bit(o->cmd);
    for (i = 2; i < argc; i++) {
        const char *a = argv[i], *val = NULL, *eq;
        size_t len, k;
        const OptDef *d = NULL;
        if (a && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            o->help = 1;
            return 0;
        }
        if (!a || strncmp(a, "--", 2) != 0)
            return bad_usage(c, "unexpected argument '%s'", a ? a : "(null)");
        a += 2;
        eq = strchr(a, '=');
        len = eq ? (size_t)(eq - a) : strlen(a);
        /* a name may have a row per command (--output): the one for cmd */
        for (k = 0; k < NOPTS; k++)
            if (strlen(optdefs[k].name) == len &&
                strncmp(optdefs[k].name, a, len) == 0 &&
                (!d || (optdefs[k].cmds & cmd)))
                d = &optdefs[k];
        if (!d)
            return bad_usage(c, "unknown option '%s'", argv[i]);
        if (!(d->cmds & cmd))
            return bad_usage(c, "option '--%s' does not apply to '%s'",
                             d->name, o->cmd);
        if (d->arg) {
            if (eq)
                val = eq + 1;
            else if (i + 1 < argc && argv[i + 1])
                val = argv[++i];
            else
                return bad_usage(c, "option '--%s' needs a value", d->name);
            if (!*val)
                return bad_usage(c, "option '--%s' has an empty value",
                                 d->name);
        } else if (eq) {
            return bad_usage(c, "option '--%s' takes no value", d->name);
        }
        if (strcmp(d->name, "data") == 0 ||
            strcmp(d->name, "test-data") == 0) {
            int *n = d->name[0] == 'd' ? &o->ndata : &o->ntest;
            const char **list = d->name[0] == 'd' ? o->data : o->test_data;
            if (*n >= MAX_INPUTS)
                return bad_usage(c, "too many '--%s' options (at most %d)",
                                 d->name, MAX_INPUTS);
            list[(*n)++] = val;
        } else if (strcmp(d->name, "labels") == 0) o->labels = val;
        else if (strcmp(d->name, "test-labels") == 0) o->test_labels = val;
        else if (strcmp(d->name, "weights") == 0) o->weights = val;
        else if (strcmp(d->name, "output") == 0) o->output = val;
        else if (strcmp(d->name, "samples") == 0) {
            if (parse_long(val, 1, LONG_MAX, &o->samples) < 0)
                return bad_usage(c, "--samples wants a whole number >= 1, "
                                    "got '%s'", val);
        }
        else if (strcmp(d->name, "init") == 0) o->init = val;
        else if (strcmp(d->name, "save") == 0) o->save = val;
        else if (strcmp(d->name, "save-best") == 0) o->save_best = val;
        else if (strcmp(d->name, "checkpoint") == 0) o->checkpoint = val;
        else if (strcmp(d->name, "resume") == 0) o->resume = val;
        else if (strcmp(d->name, "log") == 0) o->log = val;
        else if (strcmp(d->name, "strip-prefix") == 0) o->strip_prefix = val;
        else if (strcmp(d->name, "label-column") == 0) o->label_column = val;
        else if (strcmp(d->name, "sep") == 0) o->sep = val;
        else if (strcmp(d->name, "no-shuffle") == 0) o->no_shuffle = 1;
        else if (strcmp(d->name, "no-scale") == 0) o->no_scale = 1;
        else if (strcmp(d->name, "quiet") == 0) o->quiet = 1;
        else if (strcmp(d->name, "confusion") == 0) o->confusion = 1;
        else if (strcmp(d->name, "partial") == 0) o->partial = 1;
        else if (strcmp(d->name, "epochs") == 0) {
            if (parse_long(val, 1, INT_MAX, &o->epochs) < 0)
                return bad_usage(c, "--epochs wants a whole number >= 1, "
                                    "got '%s'", val);
        } else if (strcmp(d->name, "patience") == 0) {
            if (parse_long(val, 1, INT_MAX, &o->patience) < 0)
                return bad_usage(c, "--patience wants a whole number >= 1, "
                                    "got '%s'", val);
        } else if (strcmp(d->name, "batch") == 0) {
            long b;
            if (parse_long(val, 1, LONG_MAX, &b) < 0)
                return bad_usage(c, "--batch wants a whole number >= 1, "
                                    "got '%s'", val);
            if (b > c->m->max_batch)
                return bad_usage(c, "--batch %ld: this program was compiled "
                                    "for batches of at most %d; rebuild "
                                    "with `nnc --batch %ld`",
                                 b, c->m->max_batch, b);
            o->batch = b;
        } else if (strcmp(d->name, "steps") == 0) {
            if (parse_long(val, 1, LONG_MAX, &o->steps) < 0)
                return bad_usage(c, "--steps wants a whole number >= 1, "
                                    "got '%s'", val);
        } else if (strcmp(d->name, "lr") == 0) {
            if (parse_pos_double(val, &o->lr) < 0)
                return bad_usage(c, "--lr wants a positive number, got '%s'",
                                 val);
        } else if (strcmp(d->name, "val-split") == 0) {
            if (parse_pos_double(val, &o->val_split) < 0 ||
                !(o->val_split < 1))
                return bad_usage(c, "--val-split wants a fraction between 0 "
                                    "and 1 (exclusive), got '%s'", val);
        } else if (strcmp(d->name, "seed") == 0) {
            if (parse_u64(val, &o->seed) < 0)
                return bad_usage(c, "--seed wants a whole number in "
                                    "0..18446744073709551615, got '%s'", val);
            o->have_seed = 1;
        }
    }
    return 0;
}

/* ---- data ---- */

static void data_free(Data *d)
{
    int i;
    for (i = 0; i < MAX_INPUTS; i++)
        free(d->x[i]);
    free(d->cls);
    free(d->y);
    memset(d, 0, sizeof *d);
}

/* dims without their size-1 entries, into out; returns the new rank. */
static int squeeze(int rank, const int64_t *dims, int64_t *out)
{
    int i, r = 0;
    for (i = 0; i < rank; i++)
        if (dims[i] != 1)
            out[r++] = dims[i];
    return r;
}

/* 1 if the file holds CSV text: CSV rows are flat, so only their length
 * is checked.  Told by the content (the binary formats start with a magic
 * number) or, when compressed, by the name. */
static int is_csv(const char *path)
{
    unsigned char h[4] = {0};
    size_t n;
    FILE *f = fopen(path, "rb");
    size_t len = strlen(path);
    if (!f)
        return 0;
    n = fread(h, 1, sizeof h, f);
    fclose(f);
    if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
        return len > 7 && strcmp(path + len - 7, ".csv.gz") == 0;
    if (n >= 1 && h[0] == 0x93)
        return 0; /* .npy */
    if (n >= 3 && h[0] == 0 && h[1] == 0)
        return 0; /* IDX */
    return 1;
}

/* Converts a's elements to floats by value (uint8 too), for targets and
 * --no-scale; *out is malloc()ed, numel floats. */
static int to_f32_values(const NnrtArray *a, float **out, NnrtErr *err)
{
    int64_t n = nnrt_array_numel(a), i;
    const uint8_t *u = a->data;
    if (a->dtype != NNRT_U8)
        return nnrt_array_to_f32(a, out, err);
    *out = malloc((size_t)(n > 0 ? n : 1) * sizeof **out);
    if (!*out)
        return nnrt__fail(err, NN_ENOMEM, NULL, "out of memory");
    for (i = 0; i < n; i++)
        (*out)[i] = (float)u[i];
    return 0;
}

/* Class labels as nnrt_array_to_labels() checks them (0..K-1, integers),
 * except that a value equal to the model's ignore_index is kept as it is
 * even outside that range (PyTorch's default -100): those are set to 0
 * for the check and put back after.  `a` is the caller's, changed. */
static int to_labels(const Ctx *c, NnrtArray *a, int32_t **out, NnrtErr *err)
{
    const NnrtModel *m = c->m;
    int64_t i, n = nnrt_array_numel(a);
    unsigned char *mask = NULL;
    int rc;
    if (m->has_ignore_index) {
        int32_t ig = m->ignore_index;
        mask = calloc((size_t)(n > 0 ? n : 1), 1);
        if (!mask)
            return nnrt__fail(err, NN_ENOMEM, NULL, "out of memory");
        for (i = 0; i < n; i++) {
            switch (a->dtype) {
            case NNRT_F32: {
                float *v = (float *)a->data + i;
                if (*v == (float)ig) { *v = 0; mask[i] = 1; }
                break;
            }
            case NNRT_F64: {
                double *v = (double *)a->data + i;
                if (*v == (double)ig) { *v = 0; mask[i] = 1; }
                break;
            }
            case NNRT_I32: {
                int32_t *v = (int32_t *)a->data + i;
                if (*v == ig) { *v = 0; mask[i] = 1; }
                break;
            }
            case NNRT_I64: {
                int64_t *v = (int64_t *)a->data + i;
                if (*v == ig) { *v = 0; mask[i] = 1; }
                break;
            }
            case NNRT_U8: {
                uint8_t *v = (uint8_t *)a->data + i;
                if ((int32_t)*v == ig) { *v = 0; mask[i] = 1; }
                break;
            }
            default:
                break;
            }
        }
    }
    rc = nnrt_array_to_labels(a, out, (int)m->target_numel, err);
    for (i = 0; rc == 0 && mask && i < n; i++)
        if (mask[i])
            (*out)[i] = m->ignore_index;
    free(mask);
    return rc;
}

/* Reads the data file `path` with the runtime's reader (any format; CSV
 * with --sep), into *x, or, when `split` (--label-column), into the
 * feature columns *x and the label columns *y ([rows, k]).  Says so on
 * stderr when the reader skipped a header row, unless --quiet. */
static int read_file(const Ctx *c, const char *path, int split, NnrtArray *x,
                     NnrtArray *y)
{
    NnrtCsvOpts co;
    NnrtErr err;
    memset(&co, 0, sizeof co);
    co.sep = c->sep;
    if (split) {
        co.have_label = 1;
        co.label_column = c->label_col;
        co.label_stop = c->label_stop;
    }
    if (nnrt_load_csv_opts(path, &co, x, split ? y : NULL, &err) != 0) {
        if (split && strstr(err.msg, "label column"))
            return fail(c, EXIT_FAIL, "%s (--label-column %s)", err.msg,
                        c->label_spec);
        return fail(c, EXIT_FAIL, "%s", err.msg);
    }
    if (co.header_skipped && !c->quiet)
        fprintf(c->errs, "%s: header row skipped (%s)\n", path, co.header);
    return 0;
}

/* Loads the samples of one input from `path`, checked against it:
 * the per-sample shape must equal the input's up to size-1 dimensions
 * (a rank-1 input takes any per-sample shape of its size, flattened
 * row-major, as torch.flatten does; CSV rows are flat and need only the
 * right length).  uint8 is divided by 255 when `scale`.  Sets *n.  When
 * `pre` is not NULL its array is used (and released) instead of reading
 * `path`, which then only names it. */
static int load_samples(const Ctx *c, const char *path, const Input *in,
                        int scale, NnrtArray *pre, int64_t *n, float **x)
{
    NnrtArray a;
    NnrtErr err;
    int64_t per, numel, sq[NNRT_MAX_RANK], sqin[NNRT_MAX_RANK];
    char shape[160], want[160], sample[160], where[96];
    int rc, r, rin, same = 1, k;

    *x = NULL;
    if (pre) {
        a = *pre; /* the features of a --label-column table: flat rows */
        memset(pre, 0, sizeof *pre);
    } else if ((rc = read_file(c, path, 0, &a, NULL)) != 0) {
        return rc;
    }
    numel = nnrt_array_numel(&a);
    nnrt__fmt_dims(shape, sizeof shape, a.rank, a.dims);
    if (a.rank < 1 || a.dims[0] == 0) {
        nnrt_array_free(&a);
        return fail(c, EXIT_FAIL, "%s: no samples (shape %s)", path, shape);
    }
    *n = a.dims[0];
    per = numel / *n;
    nnrt__fmt_dims(want, sizeof want, in->rank, in->dims);
    if (in->name)
        snprintf(where, sizeof where, "input '%s'", in->name);
    else
        snprintf(where, sizeof where, "input");
    if (per != in->numel) {
        nnrt_array_free(&a);
        return fail(c, EXIT_FAIL,
                    "%s: shape %s is %lld samples of %lld values, but the "
                    "model's %s %s has %lld values per sample",
                    path, shape, (long long)*n, (long long)per, where, want,
                    (long long)in->numel);
    }
    r = squeeze(a.rank - 1, a.dims + 1, sq);
    rin = squeeze(in->rank, in->dims, sqin);
    same = r == rin;
    for (k = 0; same && k < r; k++)
        same = sq[k] == sqin[k];
    if (!same && in->rank > 1 && !pre && !is_csv(path)) {
        int64_t s1[NNRT_MAX_RANK], s2[NNRT_MAX_RANK];
        int perm = r == rin, i, j;
        /* The same sizes in another order: a layout problem, most often
         * channels-last (NHWC) data for a channels-first model. */
        for (i = 0; perm && i < r; i++) {
            s1[i] = sq[i];
            s2[i] = sqin[i];
        }
        for (i = 0; perm && i < r; i++)
            for (j = i + 1; j < r; j++) {
                int64_t t;
                if (s1[j] < s1[i]) { t = s1[i]; s1[i] = s1[j]; s1[j] = t; }
                if (s2[j] < s2[i]) { t = s2[i]; s2[i] = s2[j]; s2[j] = t; }
            }
        for (i = 0; perm && i < r; i++)
            perm = s1[i] == s2[i];
        nnrt__fmt_dims(sample, sizeof sample, a.rank - 1, a.dims + 1);
        nnrt_array_free(&a);
        return fail(c, EXIT_FAIL,
                    "%s: each sample has shape %s, but the model's %s is %s "
                    "(size-1 dimensions aside, the shapes must be equal)%s",
                    path, sample, where, want,
                    perm ? "; the values are laid out differently: transpose "
                           "the file (channels-last [N, H, W, C] data "
                           "becomes [N, C, H, W] with numpy's "
                           "x.transpose(0, 3, 1, 2))"
                         : "");
    }
    if (*n > INT32_MAX) {
        nnrt_array_free(&a);
        return fail(c, EXIT_FAIL, "%s: %lld samples is more than %ld", path,
                    (long long)*n, (long)INT32_MAX);
    }
    rc = scale ? nnrt_array_to_f32(&a, x, &err) : to_f32_values(&a, x, &err);
    nnrt_array_free(&a);
    /* The reader refused NaN and infinities (naming the file, the line
     * or the index) and to_f32 values beyond float32's range. */
    if (rc)
        return fail(c, EXIT_FAIL, "%s: %s", path, err.msg);
    return 0;
}

/* Loads the targets of a data set of d->n samples from `path` (or, as
 * load_samples(), from `pre`). */
static int load_targets(const Ctx *c, const char *path, const char *xpath,
                        NnrtArray *pre, Data *d)
{
    const NnrtModel *m = c->m;
    NnrtArray a;
    NnrtErr err;
    int64_t per, numel;
    char shape[160];
    int rc;

    if (pre) {
        a = *pre;
        memset(pre, 0, sizeof *pre);
    } else if ((rc = read_file(c, path, 0, &a, NULL)) != 0) {
        return rc;
    }
    numel = nnrt_array_numel(&a);
    nnrt__fmt_dims(shape, sizeof shape, a.rank, a.dims);
    if (a.rank < 1 || a.dims[0] != d->n) {
        rc = fail(c, EXIT_FAIL,
                  "%s has %lld samples but %s has %lld %s (shape %s)", xpath,
                  (long long)d->n, path,
                  (long long)(a.rank < 1 ? 0 : a.dims[0]),
                  m->target_kind == NNRT_TARGET_CLASS ? "labels" : "targets",
                  shape);
        goto out;
    }
    per = numel / d->n;
    if (m->target_kind == NNRT_TARGET_CLASS) {
        if (per != 1) {
            rc = fail(c, EXIT_FAIL,
                      "%s: shape %s has %lld values per sample; class labels "
                      "need one integer per sample",
                      path, shape, (long long)per);
            goto out;
        }
        if (m->target_numel > INT_MAX) {
            rc = fail(c, EXIT_FAIL, "too many classes");
            goto out;
        }
        if (to_labels(c, &a, &d->cls, &err)) {
            rc = fail(c, EXIT_FAIL, "%s: %s", path, err.msg);
            goto out;
        }
    } else {
        if (per != m->target_numel) {
            rc = fail(c, EXIT_FAIL,
                      "%s: shape %s has %lld values per sample, the model's "
                      "target has %lld",
                      path, shape, (long long)per,
                      (long long)m->target_numel);
            goto out;
        }
        /* Targets are values: a uint8 regression target is not scaled. */
        if (to_f32_values(&a, &d->y, &err)) {
            rc = fail(c, EXIT_FAIL, "%s: %s", path, err.msg);
            goto out;
        }
    }
    rc = 0;
out:
    nnrt_array_free(&a);
    return rc;
}

/* Loads a data set: files[0..nfiles-1] are the inputs, positionally in
 * declaration order or as NAME=FILE, and ypath (may be NULL) the
 * targets, or, with c->label_spec and no ypath, the target columns of the
 * one input's table.  Every file must have the same number of samples. */
static int load_data(const Ctx *c, const char *const *files, int nfiles,
                     const char *ypath, int scale, Data *d)
{
    const char *path[MAX_INPUTS] = {0};
    int i, j, next = 0, table = c->label_spec && !ypath;
    int64_t n0 = 0;
    NnrtArray tx, ty;

    memset(d, 0, sizeof *d);
    if (nfiles != c->nin)
        return fail(c, EXIT_FAIL,
                    "the model has %d input%s but %d data file%s given; "
                    "give --data once per input, in declaration order, or "
                    "as --data NAME=FILE",
                    c->nin, c->nin == 1 ? "" : "s", nfiles,
                    nfiles == 1 ? " was" : "s were");
    /* NAME=FILE first (only for a NAME the model has: a path may hold
     * '='), then the others fill the remaining inputs in order. */
    for (i = 0; i < nfiles; i++) {
        const char *eq = strchr(files[i], '=');
        if (!eq)
            continue;
        for (j = 0; j < c->nin; j++)
            if (c->in[j].name &&
                strlen(c->in[j].name) == (size_t)(eq - files[i]) &&
                strncmp(c->in[j].name, files[i], (size_t)(eq - files[i])) ==
                    0) {
                if (path[j])
                    return fail(c, EXIT_FAIL,
                                "input '%s' is given two data files",
                                c->in[j].name);
                path[j] = eq + 1;
                break;
            }
    }
    for (i = 0; i < nfiles; i++) {
        const char *eq = strchr(files[i], '=');
        int named = 0;
        for (j = 0; eq && j < c->nin; j++)
            if (path[j] == eq + 1)
                named = 1;
        if (named)
            continue;
        while (next < c->nin && path[next])
            next++;
        path[next++] = files[i];
    }
    if (table) {
        if (c->nin != 1)
            return fail(c, EXIT_FAIL, "--label-column reads one table; the "
                                      "model has %d inputs",
                        c->nin);
        if (read_file(c, path[0], 1, &tx, &ty))
            return EXIT_FAIL;
        if (load_samples(c, path[0], &c->in[0], scale, &tx, &d->n,
                         &d->x[0]) ||
            load_targets(c, path[0], path[0], &ty, d)) {
            nnrt_array_free(&tx);
            nnrt_array_free(&ty);
            goto bad;
        }
        return 0;
    }
    for (i = 0; i < c->nin; i++) {
        int64_t n;
        if (load_samples(c, path[i], &c->in[i], scale, NULL, &n, &d->x[i]))
            goto bad;
        if (i > 0 && n != n0) {
            fail(c, EXIT_FAIL, "%s has %lld samples but %s has %lld; every "
                               "input needs one row per sample",
                 path[0], (long long)n0, path[i], (long long)n);
            goto bad;
        }
        n0 = d->n = n;
    }
    if (ypath && load_targets(c, ypath, path[0], NULL, d))
        goto bad;
    return 0;
bad:
    data_free(d);
    return EXIT_FAIL;
}

/* Copies samples idx[0..n-1] of src into a new data set *dst. */
static int data_gather(const Ctx *c, const Data *src, const int32_t *idx,
                       int64_t n, Data *dst)
{
    const NnrtModel *m = c->m;
    int i;
    int64_t k;
    memset(dst, 0, sizeof *dst);
    dst->n = n;
    for (i = 0; i < c->nin; i++) {
        int64_t per = c->in[i].numel;
        dst->x[i] = malloc((size_t)n * (size_t)per * sizeof(float));
        if (!dst->x[i])
            goto oom;
        for (k = 0; k < n; k++)
            memcpy(dst->x[i] + k * per, src->x[i] + (int64_t)idx[k] * per,
                   (size_t)per * sizeof(float));
    }
    if (src->cls) {
        dst->cls = malloc((size_t)n * sizeof *dst->cls);
        if (!dst->cls)
            goto oom;
        for (k = 0; k < n; k++)
            dst->cls[k] = src->cls[idx[k]];
    }
    if (src->y) {
        int64_t per = m->target_numel;
        dst->y = malloc((size_t)n * (size_t)per * sizeof(float));
        if (!dst->y)
            goto oom;
        for (k = 0; k < n; k++)
            memcpy(dst->y + k * per, src->y + (int64_t)idx[k] * per,
                   (size_t)per * sizeof(float));
    }
    return 0;
oom:
    data_free(dst);
    return fail(c, EXIT_FAIL, "out of memory splitting the data");
}

/* --val-split: a random fraction of *tr (drawn from its own stream of
 * `seed`, so the split does not depend on shuffling) becomes *va; both
 * keep the file order of their samples. */
static int data_split(const Ctx *c, Data *tr, double frac, uint64_t seed,
                      Data *va)
{
    int64_t nva = (int64_t)floor((double)tr->n * frac + 0.5), i, a = 0, b;
    int32_t *perm = malloc((size_t)tr->n * sizeof *perm);
    char *isval = calloc((size_t)tr->n, 1);
    Data keep;
    NnrtRng rng;
    int rc = EXIT_FAIL;

    if (!perm || !isval) {
        fail(c, EXIT_FAIL, "out of memory splitting the data");
        goto done;
    }
    if (nva < 1 || nva >= tr->n) {
        fail(c, EXIT_FAIL,
             "--val-split %g of %lld samples leaves %lld for validation "
             "and %lld for training; both need at least one",
             frac, (long long)tr->n, (long long)nva,
             (long long)(tr->n - nva));
        goto done;
    }
    nnrt_rng_seed(&rng, seed ^ 0x76616c2d73706c74ull); /* "val-splt" */
    for (i = 0; i < tr->n; i++)
        perm[i] = (int32_t)i;
    nnrt_rng_shuffle(&rng, perm, tr->n);
    for (i = 0; i < nva; i++)
        isval[perm[i]] = 1;
    b = tr->n - nva;
    /* perm becomes [training indices..., validation indices...]. */
    for (i = 0; i < tr->n; i++) {
        if (isval[i])
            perm[b++] = (int32_t)i;
        else
            perm[a++] = (int32_t)i;
    }
    if (data_gather(c, tr, perm + a, nva, va))
        goto done;
    if (data_gather(c, tr, perm, a, &keep)) {
        data_free(va);
        goto done;
    }
    data_free(tr);
    *tr = keep;
    rc = 0;
done:
    free(perm);
    free(isval);
    return rc;
}

/* ---- the model, whatever its descriptor's version ---- */

static float model_train_step(const Ctx *c, void *model, int n,
                              const float *const *xs, const void *t)
{
    if (c->m->train_step_n)
        return c->m->train_step_n(model, n, xs, t);
    return c->m->train_step(model, n, xs[0], t);
}

static float model_eval_loss(const Ctx *c, void *model, int n,
                             const float *const *xs, const void *t,
                             float *out)
{
    if (c->m->eval_loss_n)
        return c->m->eval_loss_n(model, n, xs, t, out);
    return c->m->eval_loss(model, n, xs[0], t, out);
}

static void model_forward(const Ctx *c, void *model, int n,
                          const float *const *xs, float *out)
{
    if (c->m->forward_n)
        c->m->forward_n(model, n, xs, out);
    else
        c->m->forward(model, n, xs[0], out);
}

/* The rows [first, first + n) of every input of d. */
static void rows(const Ctx *c, const Data *d, int64_t first,
                 const float **xs)
{
    int i;
    for (i = 0; i < c->nin; i++)
        xs[i] = d->x[i] + first * c->in[i].numel;
}

/* ---- metrics ---- */

typedef struct Metrics {
    double loss_sum;         /* sum of batch loss sums (mean x samples
                                counted for reduction = mean) */
    int64_t n;               /* samples the loss counts */
    int sum;                 /* the model's loss has reduction = sum */
    int64_t correct, counted; /* accuracy: counted samples or elements */
    double abs_sum, sq_sum;  /* regression: |p - t| and (p - t)^2 */
    int64_t elems;
    int64_t *confusion;      /* [K, K] (true, predicted), or NULL */
} Metrics;

static int64_t argmax(const float *v, int64_t n)
{
    int64_t i, best = 0;
    for (i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

/* 1 if class label v is the model's ignore_index: the sample counts for
 * neither the loss nor accuracy nor the confusion matrix. */
static int ignored(const Ctx *c, int32_t v)
{
    return c->m->has_ignore_index && v == c->m->ignore_index;
}

/* Samples of cls[0..nb-1] the loss counts (all of them without
 * ignore_index or class labels). */
static int counted(const Ctx *c, const int32_t *cls, int nb)
{
    int i, k = 0;
    if (!cls || !c->m->has_ignore_index)
        return nb;
    for (i = 0; i < nb; i++)
        k += !ignored(c, cls[i]);
    return k;
}

/* Adds a batch of nb samples: its loss as the model returned it (the
 * mean over the samples counted, or their sum with reduction = sum), and
 * its prediction `pred` ([nb, target_numel], NULL if unknown) against
 * the targets `cls` or `y`.  A batch whose samples are all ignored adds
 * no loss (the model's mean is 0/0 there, as PyTorch's). */
static void metrics_add(const Ctx *c, Metrics *mt, int nb, double loss,
                        const float *pred, const int32_t *cls,
                        const float *y)
{
    int64_t K = c->m->target_numel, i, j;
    int nc = counted(c, cls, nb);
    mt->sum = c->m->loss_reduction_sum;
    if (nc > 0)
        mt->loss_sum += mt->sum ? loss : loss * nc;
    mt->n += nc;
    if (!pred)
        return;
    for (i = 0; i < nb; i++) {
        const float *p = pred + i * K;
        switch (c->metric) {
        case MET_CLASS: {
            int64_t g;
            if (ignored(c, cls[i]))
                break;
            g = argmax(p, K);
            mt->correct += g == cls[i];
            mt->counted++;
            if (mt->confusion)
                mt->confusion[(int64_t)cls[i] * K + g]++;
            break;
        }
        case MET_PROB:
            mt->correct += argmax(p, K) == argmax(y + i * K, K);
            mt->counted++;
            break;
        case MET_BINARY:
            /* logit > 0 is probability > 0.5 */
            for (j = 0; j < K; j++)
                mt->correct += (p[j] > 0) == (y[i * K + j] > 0.5f);
            mt->counted += K;
            break;
        case MET_REGR:
            for (j = 0; j < K; j++) {
                double e = (double)p[j] - (double)y[i * K + j];
                mt->abs_sum += fabs(e);
                mt->sq_sum += e * e;
            }
            mt->elems += K;
            break;
        default:
            break;
        }
    }
}

static double m_loss(const Metrics *mt)
{
    /* What PyTorch's loss over all of these samples would be (weights
     * aside): their sum for reduction = sum, else their mean. */
    if (mt->sum)
        return mt->loss_sum;
    return mt->n ? mt->loss_sum / (double)mt->n : 0.0;
}
static double m_acc(const Metrics *mt)
{
    return mt->counted ? (double)mt->correct / (double)mt->counted : -1;
}
static double m_mae(const Metrics *mt)
{
    return mt->elems ? mt->abs_sum / (double)mt->elems : -1;
}
static double m_rmse(const Metrics *mt)
{
    return mt->elems ? sqrt(mt->sq_sum / (double)mt->elems) : -1;
}

/* Appends "  PREFIXacc 0.9  PREFIXmae ..." (the metrics known) to buf. */
static void metrics_text(const Metrics *mt, const char *prefix, int loss,
                         char *buf, size_t cap)
{
    size_t n = strlen(buf);
    if (loss && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "%s%sloss %.4f",
                              n ? "  " : "", prefix, m_loss(mt));
    if (m_acc(mt) >= 0 && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "%s%sacc %.4f",
                              n ? "  " : "", prefix, m_acc(mt));
    if (m_mae(mt) >= 0 && n < cap)
        snprintf(buf + n, cap - n, "%s%smae %.4f  %srmse %.4f",
                 n ? "  " : "", prefix, m_mae(mt), prefix, m_rmse(mt));
}

/* key=value lines: PREFIXloss=, PREFIXaccuracy=, PREFIXmae=, ... */
static void metrics_print(FILE *f, const Metrics *mt, const char *prefix,
                          const char *sep)
{
    fprintf(f, "%sloss=%.6f", prefix, m_loss(mt));
    if (m_acc(mt) >= 0)
        fprintf(f, "%s%saccuracy=%.4f", sep, prefix, m_acc(mt));
    if (m_mae(mt) >= 0)
        fprintf(f, "%s%smae=%.6f%s%srmse=%.6f", sep, prefix, m_mae(mt), sep,
                prefix, m_rmse(mt));
    fputc('\n', f);
}

/* Evaluates a whole data set in eval mode, in batches of max_batch. */
static int evaluate(const Ctx *c, void *model, const Data *d, Metrics *mt)
{
    const NnrtModel *m = c->m;
    float *out = malloc((size_t)m->max_batch * (size_t)m->output_numel *
                        sizeof *out);
    const float *xs[MAX_INPUTS];
    int64_t i;
    if (!out)
        return fail(c, EXIT_FAIL, "out of memory for evaluation");
    for (i = 0; i < d->n; i += m->max_batch) {
        int nb = (int)(d->n - i < m->max_batch ? d->n - i : m->max_batch);
        const void *t = d->cls ? (const void *)(d->cls + i)
                               : (const void *)(d->y + i * m->target_numel);
        const float *pred;
        float l;
        rows(c, d, i, xs);
        l = model_eval_loss(c, model, nb, xs, t, out);
        pred = c->metric == MET_LOSS ? NULL
               : c->use_pred         ? m->pred(model)
                                     : out;
        metrics_add(c, mt, nb, l, pred, d->cls ? d->cls + i : NULL,
                    d->y ? d->y + i * m->target_numel : NULL);
    }
    free(out);
    return 0;
}

/* ---- weights and checkpoints ---- */

static void *create_model(const Ctx *c, uint64_t seed)
{
    void *model = c->m->create(seed);
    if (!model)
        fail(c, EXIT_FAIL, "out of memory creating the model");
    return model;
}

/* A fresh temporary file name for the model to save into, outside the
 * user's directories; *buf must be unlink()ed by the caller. */
static int temp_name(const Ctx *c, char *buf, size_t cap)
{
    const char *dir = getenv("TMPDIR");
    int fd;
    if (!dir || !*dir)
        dir = "/tmp";
    snprintf(buf, cap, "%s/nnc-weights-XXXXXX", dir);
    fd = mkstemp(buf);
    if (fd < 0)
        return fail(c, EXIT_FAIL, "cannot create a temporary file in %s: %s",
                    dir, strerror(errno));
    close(fd);
    return 0;
}

/* The model's parameters as safetensors in memory: saved by the model to
 * a temporary file and read back, so they are exactly what model->save
 * writes. */
static int snapshot(const Ctx *c, const void *model, NnrtSafetensors *st)
{
    char tmp[512];
    NnrtErr err;
    int rc;
    memset(st, 0, sizeof *st);
    if (temp_name(c, tmp, sizeof tmp))
        return EXIT_FAIL;
    rc = c->m->save(model, tmp, &err);
    if (rc == 0)
        rc = nnrt_st_read(tmp, st, &err);
    unlink(tmp);
    if (rc)
        return fail(c, EXIT_FAIL, "%s", err.msg);
    return 0;
}

/* The name of the first float tensor of t[0..n-1] holding a NaN or an
 * infinity, or NULL; `where` gets nnrt_array_check_finite()'s "NaN at
 * [1, 2]".  The driver's own tensors of a checkpoint are not weights and
 * are skipped.  (Weights files need no check here: the model's loader,
 * nnrt_st_load_params(), refuses non-finite values.) */
static const char *nonfinite_in(const NnrtStTensor *t, int n, char *where,
                                size_t cap)
{
    int i;
    for (i = 0; i < n; i++) {
        NnrtArray a;
        NnrtErr err;
        if (strncmp(t[i].name, "__driver__.", 11) == 0)
            continue; /* best_loss is infinite until there is one */
        memset(&a, 0, sizeof a);
        a.dtype = t[i].dtype;
        a.rank = t[i].rank;
        memcpy(a.dims, t[i].dims, sizeof a.dims);
        a.data = (void *)t[i].data;
        if (nnrt_array_check_finite(&a, NULL, &err) != 0) {
            snprintf(where, cap, "%s", err.msg);
            return t[i].name;
        }
    }
    return NULL;
}

static const char *nonfinite_tensor(const NnrtSafetensors *st, char *where,
                                    size_t cap)
{
    return nonfinite_in(st->tensors, st->ntensors, where, cap);
}

/* Writes tensors t[0..n-1] into a temporary file and loads the model
 * from it: how a subset of a file (--partial, --resume) reaches the
 * model through its own loader. */
static int load_tensors(const Ctx *c, void *model, const NnrtStTensor *t,
                        int n, const char *what)
{
    char tmp[512];
    NnrtErr err;
    int rc;
    if (temp_name(c, tmp, sizeof tmp))
        return EXIT_FAIL;
    rc = nnrt_st_write(tmp, t, n, &err);
    if (rc == 0)
        rc = c->m->load(model, tmp, &err);
    unlink(tmp);
    if (rc) {
        /* err names the temporary file; say which file it came from. */
        const char *reason = strstr(err.msg, ": ");
        return fail(c, EXIT_FAIL, "%s: %s", what,
                    reason ? reason + 2 : err.msg);
    }
    return 0;
}

/* --init W --partial [--strip-prefix P]: the runtime's loader matches
 * the file against the model's parameters (nnrt_st_load_params_opts(),
 * the one place that knows the rules) into a snapshot of the model's
 * initial values, which then reaches the model through its own loader.
 * Its report (what was skipped, what kept its initialisation) goes to
 * stderr, one line each, prefixed with the file. */
static int load_partial(const Ctx *c, void *model, const char *path,
                        int partial, const char *prefix)
{
    const NnrtModel *m = c->m;
    NnrtSafetensors init;
    NnrtParamLoadOpts lo;
    NnrtParamLoadReport rep;
    NnrtErr err;
    void **dst = NULL;
    int i, rc = EXIT_FAIL;

    memset(&lo, 0, sizeof lo);
    memset(&rep, 0, sizeof rep);
    lo.partial = partial;
    lo.strip_prefix = prefix;
    if (snapshot(c, model, &init))
        return EXIT_FAIL;
    dst = calloc((size_t)m->nparams + 1, sizeof *dst);
    if (!dst) {
        fail(c, EXIT_FAIL, "out of memory");
        goto done;
    }
    for (i = 0; i < m->nparams; i++) {
        const NnrtStTensor *t = nnrt_st_find(&init, m->params[i].name);
        if (!t || t->dtype != m->params[i].dtype) {
            fail(c, EXIT_FAIL, "the model saved no %s tensor '%s'",
                 nnrt_dtype_name(m->params[i].dtype), m->params[i].name);
            goto done;
        }
        /* The snapshot's own (aligned, malloc()ed) copy of the values. */
        dst[i] = (void *)t->data;
    }
    if (nnrt_st_load_params_opts(path, m->params, m->nparams, dst, &lo, &rep,
                                 &err) != 0) {
        /* The runtime's message lists the problems and, when every name
         * shares a prefix, suggests --strip-prefix. */
        fail(c, EXIT_FAIL, "%s", err.msg);
        goto done;
    }
    if (rep.text) {
        const char *line = rep.text;
        while (*line) {
            const char *nl = strchr(line, '\n');
            int len = nl ? (int)(nl - line) : (int)strlen(line);
            fprintf(c->errs, "%s: %.*s\n", path, len, line);
            line += len + (nl ? 1 : 0);
        }
    }
    if (partial)
        fprintf(c->errs, "%s: loaded %d of %d parameters\n", path,
                rep.nloaded, m->nparams);
    rc = load_tensors(c, model, init.tensors, init.ntensors, path);
done:
    free(rep.text);
    free(dst);
    nnrt_st_free(&init);
    return rc;
}

/* The driver's own position in a run, saved in checkpoints as
 * __driver__.* tensors beside the weights and the model's state. */
typedef struct RunState {
    int64_t epoch;      /* the epoch to run next (1-based) */
    int64_t epoch_step; /* steps of it already done (a cut epoch) */
    int64_t step;       /* optimizer steps done in the whole run */
    uint64_t rng[4];    /* shuffle RNG before `epoch`'s shuffle */
    double best_loss;   /* lowest validation loss so far (INFINITY: none) */
    int64_t best_epoch, bad_epochs; /* for --save-best and --patience */
    int64_t batch, samples;          /* must match on --resume */
} RunState;

enum { NDRV = 9 };

/* The __driver__ tensors of rs, pointing into it. */
static void driver_tensors(RunState *rs, NnrtStTensor *t)
{
    static const char *const names[NDRV] = {
        "__driver__.epoch", "__driver__.epoch_step", "__driver__.step",
        "__driver__.rng", "__driver__.best_loss", "__driver__.best_epoch",
        "__driver__.bad_epochs", "__driver__.batch", "__driver__.samples"};
    void *data[NDRV];
    int i;
    data[0] = &rs->epoch;
    data[1] = &rs->epoch_step;
    data[2] = &rs->step;
    data[3] = rs->rng;
    data[4] = &rs->best_loss;
    data[5] = &rs->best_epoch;
    data[6] = &rs->bad_epochs;
    data[7] = &rs->batch;
    data[8] = &rs->samples;
    memset(t, 0, NDRV * sizeof *t);
    for (i = 0; i < NDRV; i++) {
        t[i].name = names[i];
        t[i].dtype = i == 4 ? NNRT_F64 : NNRT_I64;
        t[i].rank = 1;
        t[i].dims[0] = i == 3 ? 4 : 1;
        t[i].data = data[i];
        t[i].nbytes = (size_t)t[i].dims[0] * 8;
    }
}

/* Loads the weights of checkpoint st (read from `path`): every tensor
 * that is neither the model's training state nor the driver's. */
static int load_checkpoint_weights(const Ctx *c, void *model,
                                   const NnrtSafetensors *st,
                                   const char *path)
{
    const NnrtModel *m = c->m;
    NnrtStTensor *w = calloc((size_t)st->ntensors + 1, sizeof *w);
    int i, k, nw = 0, rc;
    if (!w)
        return fail(c, EXIT_FAIL, "out of memory reading %s", path);
    for (i = 0; i < st->ntensors; i++) {
        const char *nm = st->tensors[i].name;
        int is_state = strncmp(nm, "__driver__.", 11) == 0;
        for (k = 0; !is_state && k < m->nstate && m->state; k++)
            is_state = strcmp(nm, m->state[k].name) == 0;
        if (!is_state)
            w[nw++] = st->tensors[i];
    }
    rc = load_tensors(c, model, w, nw, path);
    free(w);
    return rc;
}

/* Loads weights from `path`: a weights file, or a checkpoint written by
 * --checkpoint (its weights only). */
static int load_weights(const Ctx *c, void *model, const char *path)
{
    NnrtErr err;
    NnrtSafetensors st;
    int rc;
    if (c->m->load(model, path, &err) == 0)
        return 0;
    if (nnrt_st_read(path, &st, NULL) != 0 ||
        !nnrt_st_find(&st, "__driver__.epoch")) {
        nnrt_st_free(&st);
        return fail(c, EXIT_FAIL, "%s", err.msg);
    }
    rc = load_checkpoint_weights(c, model, &st, path);
    nnrt_st_free(&st);
    return rc;
}

/* Writes weights `w` (a checked snapshot), the model's training state
 * and the driver's to checkpoint `path`, atomically. */
static int write_checkpoint(const Ctx *c, void *model,
                            const NnrtSafetensors *w, RunState *rs,
                            const char *path)
{
    const NnrtModel *m = c->m;
    int n = 0, i, rc;
    char at[512];
    const char *bad;
    NnrtErr err;
    NnrtStTensor *t = calloc((size_t)(w->ntensors + m->nstate + NDRV),
                             sizeof *t);
    if (!t)
        return fail(c, EXIT_FAIL, "out of memory writing %s", path);
    for (i = 0; i < w->ntensors; i++)
        t[n++] = w->tensors[i];
    for (i = 0; i < m->nstate && m->state && m->state_ptr; i++) {
        const NnrtParamDesc *s = &m->state[i];
        t[n].name = s->name;
        t[n].dtype = s->dtype;
        t[n].rank = s->rank;
        memcpy(t[n].dims, s->dims, sizeof t[n].dims);
        t[n].data = m->state_ptr(model, i);
        n++;
    }
    /* The weights were checked; the optimizer's state may still have
     * overflowed (a squared gradient), which no checkpoint may keep. */
    if ((bad = nonfinite_in(t + w->ntensors, n - w->ntensors, at,
                            sizeof at)) != NULL) {
        free(t);
        return fail(c, EXIT_FAIL,
                    "the training state '%s' holds %s after epoch %lld; "
                    "stopped without writing %s",
                    bad, at,
                    (long long)(rs->epoch_step ? rs->epoch : rs->epoch - 1),
                    path);
    }
    driver_tensors(rs, t + n);
    n += NDRV;
    rc = nnrt_st_write(path, t, n, &err);
    free(t);
    if (rc)
        return fail(c, EXIT_FAIL, "%s", err.msg);
    return 0;
}

/* --resume: the weights, the model's state and the driver's position
 * from checkpoint `path`. */
static int read_checkpoint(const Ctx *c, void *model, const char *path,
                           RunState *rs)
{
    const NnrtModel *m = c->m;
    NnrtSafetensors st;
    NnrtErr err;
    NnrtStTensor drv[NDRV];
    RunState got = *rs;
    int i, k, rc = EXIT_FAIL;
    char at[512];
    const char *bad;

    if (nnrt_st_read(path, &st, &err) != 0)
        return fail(c, EXIT_FAIL, "%s", err.msg);
    if ((bad = nonfinite_tensor(&st, at, sizeof at)) != NULL) {
        fail(c, EXIT_FAIL, "%s: tensor '%s' holds %s", path, bad, at);
        goto done;
    }
    driver_tensors(&got, drv);
    for (k = 0; k < NDRV; k++) {
        const NnrtStTensor *f = nnrt_st_find(&st, drv[k].name);
        if (!f || f->dtype != drv[k].dtype || f->rank != 1 ||
            f->dims[0] != drv[k].dims[0]) {
            fail(c, EXIT_FAIL,
                 "%s: no tensor '%s' of %lld %s; not a checkpoint written "
                 "by --checkpoint",
                 path, drv[k].name, (long long)drv[k].dims[0],
                 nnrt_dtype_name(drv[k].dtype));
            goto done;
        }
        memcpy((void *)drv[k].data, f->data, f->nbytes);
    }
    if (got.batch != rs->batch || got.samples != rs->samples) {
        fail(c, EXIT_FAIL,
             "%s was written by a run with batch %lld on %lld training "
             "samples; this run has batch %lld on %lld: resume with the "
             "same data, --batch and --val-split",
             path, (long long)got.batch, (long long)got.samples,
             (long long)rs->batch, (long long)rs->samples);
        goto done;
    }
    if (load_checkpoint_weights(c, model, &st, path))
        goto done;
    for (k = 0; k < m->nstate && m->state && m->state_ptr; k++) {
        const NnrtParamDesc *s = &m->state[k];
        const NnrtStTensor *f = nnrt_st_find(&st, s->name);
        int same = f && f->dtype == s->dtype && f->rank == s->rank;
        for (i = 0; same && i < s->rank; i++)
            same = f->dims[i] == s->dims[i];
        if (!same) {
            char want[160];
            fail(c, EXIT_FAIL,
                 "%s: no training state '%s' (%s %s); the checkpoint was "
                 "written by another program",
                 path, s->name, nnrt_dtype_name(s->dtype),
                 nnrt__fmt_dims(want, sizeof want, s->rank, s->dims));
            goto done;
        }
        memcpy(m->state_ptr(model, k), f->data, f->nbytes);
    }
    *rs = got;
    rc = 0;
done:
    nnrt_st_free(&st);
    return rc;
}

/* ---- commands ---- */

/* The learning rate the next step uses, for the progress and the log. */
static double current_lr(const Ctx *c, const void *model, const Opts *o)
{
    if (c->m->get_lr)
        return c->m->get_lr(model);
    return o->lr > 0 ? o->lr : c->m->lr;
}

/* The --log header: the columns follow the metrics the run has. */
static void log_header(const Ctx *c, FILE *f, int have_val, int have_test)
{
    static const char *const sets[3] = {"train", "val", "test"};
    int s;
    fprintf(f, "epoch,step,lr,seconds,samples_per_sec");
    for (s = 0; s < 3; s++) {
        if ((s == 1 && !have_val) || (s == 2 && !have_test))
            continue;
        fprintf(f, ",%s_loss", sets[s]);
        if (c->metric == MET_CLASS || c->metric == MET_PROB ||
            c->metric == MET_BINARY)
            fprintf(f, ",%s_accuracy", sets[s]);
        if (c->metric == MET_REGR)
            fprintf(f, ",%s_mae,%s_rmse", sets[s], sets[s]);
    }
    fputc('\n', f);
}

static void log_metrics(const Ctx *c, FILE *f, const Metrics *mt)
{
    fprintf(f, ",%.9g", m_loss(mt));
    if (c->metric == MET_CLASS || c->metric == MET_PROB ||
        c->metric == MET_BINARY) {
        if (m_acc(mt) >= 0)
            fprintf(f, ",%.6f", m_acc(mt));
        else
            fputc(',', f);
    }
    if (c->metric == MET_REGR) {
        if (m_mae(mt) >= 0)
            fprintf(f, ",%.9g,%.9g", m_mae(mt), m_rmse(mt));
        else
            fprintf(f, ",,");
    }
}

/* Says which files keep which weights after training stopped early. */
static void say_kept(const Ctx *c, const Opts *o, int64_t saved_epoch,
                     const RunState *rs)
{
    if (o->save)
        fprintf(c->errs, saved_epoch > 0 ? "%s keeps the weights of epoch "
                                           "%lld\n"
                                         : "%s was not written\n",
                o->save, (long long)saved_epoch);
    if (o->checkpoint)
        fprintf(c->errs, saved_epoch > 0 ? "%s keeps the checkpoint of "
                                           "epoch %lld\n"
                                         : "%s was not written\n",
                o->checkpoint, (long long)saved_epoch);
    if (o->save_best)
        fprintf(c->errs, rs->best_epoch > 0 ? "%s keeps the weights of "
                                              "epoch %lld (the best)\n"
                                            : "%s was not written\n",
                o->save_best, (long long)rs->best_epoch);
}

/* Copies samples idx[0..nb-1] of d into the batch buffers: xb[i]
 * [nb, in[i].numel] for each input, cb [nb] (class targets) or yb
 * [nb, target_numel]; the model takes contiguous rows. */
static void gather(const Ctx *c, const Data *d, const int32_t *idx, int nb,
                   float *const *xb, int32_t *cb, float *yb)
{
    int64_t per = c->m->target_numel;
    int i, j;
    for (j = 0; j < nb; j++) {
        int64_t s = idx[j];
        for (i = 0; i < c->nin; i++)
            memcpy(xb[i] + (int64_t)j * c->in[i].numel,
                   d->x[i] + s * c->in[i].numel,
                   (size_t)c->in[i].numel * sizeof(float));
        if (cb)
            cb[j] = d->cls[s];
        else
            memcpy(yb + (int64_t)j * per, d->y + s * per,
                   (size_t)per * sizeof *yb);
    }
}

static int cmd_train(const Ctx *c, const Opts *o)
{
    const NnrtModel *m = c->m;
    Data tr, va, te;
    NnrtRng rng;
    NnrtProgress pg;
    NnrtErr err;
    NnrtSafetensors snap;
    RunState rs;
    Metrics trm, vam, tem;
    void *model = NULL;
    int32_t *perm = NULL;
    float *xb[MAX_INPUTS] = {0}, *yb = NULL;
    int32_t *cb = NULL;
    FILE *logf = NULL;
    int batch, epochs, shuffle, rc = EXIT_FAIL, i, stop = 0;
    uint64_t seed;
    int64_t spe, samples = 0, epoch, saved_epoch = 0, k;
    double train_time = 0, t_run = nnrt_seconds();
    int have_val = o->val_split > 0, have_test = o->ntest > 0;
    int scale = !o->no_scale;
    const char *why_stop = NULL;
    char stopped[160] = "";

    memset(&tr, 0, sizeof tr);
    memset(&va, 0, sizeof va);
    memset(&te, 0, sizeof te);
    memset(&snap, 0, sizeof snap);
    memset(&trm, 0, sizeof trm);
    memset(&vam, 0, sizeof vam);
    memset(&tem, 0, sizeof tem);
    memset(&rs, 0, sizeof rs);
    batch = o->batch ? (int)o->batch : default_batch(m);
    shuffle = m->train_shuffle && !o->no_shuffle;
    seed = o->have_seed ? o->seed : m->train_seed;

    if (load_data(c, o->data, o->ndata, o->labels, scale, &tr))
        return EXIT_FAIL;
    if (have_test &&
        load_data(c, o->test_data, o->ntest, o->test_labels, scale, &te))
        goto done;
    if (have_val && data_split(c, &tr, o->val_split, seed, &va))
        goto done;
    model = create_model(c, seed);
    if (!model)
        goto done;
    if (o->init && (o->partial || o->strip_prefix)) {
        if (load_partial(c, model, o->init, o->partial, o->strip_prefix))
            goto done;
    } else if (o->init && load_weights(c, model, o->init)) {
        goto done;
    }
    if (o->lr > 0 && m->set_lr)
        m->set_lr(model, o->lr);

    perm = malloc((size_t)tr.n * sizeof *perm);
    k = perm != NULL;
    for (i = 0; i < c->nin; i++) {
        xb[i] = malloc((size_t)batch * (size_t)c->in[i].numel * sizeof(float));
        k = k && xb[i];
    }
    if (m->target_kind == NNRT_TARGET_CLASS)
        cb = malloc((size_t)batch * sizeof *cb);
    else
        yb = malloc((size_t)batch * (size_t)m->target_numel * sizeof *yb);
    if (!k || (!cb && !yb)) {
        fail(c, EXIT_FAIL, "out of memory for batches");
        goto done;
    }
    nnrt_rng_seed(&rng, seed);
    spe = (tr.n + batch - 1) / batch;
    rs.epoch = 1;
    rs.best_loss = INFINITY;
    rs.batch = batch;
    rs.samples = tr.n;
    if (o->resume) {
        if (read_checkpoint(c, model, o->resume, &rs))
            goto done;
        memcpy(rng.s, rs.rng, sizeof rng.s);
        if (!m->ninputs)
            warn(c, "this program is from an older nnc and exports no "
                    "optimizer state; --resume restores the weights and "
                    "the position in the run only");
        /* --lr was applied before: the checkpoint's learning-rate state
         * (the schedule's position) replaced it, as it should. */
        saved_epoch = rs.epoch - 1;
    }
    /* --steps counts the steps of the whole run, --epochs its epochs; a
     * resumed run continues towards the same totals. */
    if (o->steps && o->steps / spe + (o->steps % spe != 0) > INT_MAX) {
        fail(c, EXIT_FAIL, "--steps %ld is more than %d epochs of %lld "
                           "steps", o->steps, INT_MAX, (long long)spe);
        goto done;
    }
    epochs = o->steps ? (int)(o->steps / spe + (o->steps % spe != 0))
             : o->epochs ? (int)o->epochs
                         : default_epochs(m);
    if (o->steps && rs.step >= o->steps) {
        fail(c, EXIT_FAIL, "%s has already run %lld steps of --steps %ld",
             o->resume, (long long)rs.step, o->steps);
        goto done;
    }
    if (o->log) {
        logf = fopen(o->log, rs.epoch > 1 || rs.epoch_step ? "a" : "w");
        if (!logf) {
            fail(c, EXIT_FAIL, "%s: cannot open for writing: %s", o->log,
                 strerror(errno));
            goto done;
        }
        if (!(rs.epoch > 1 || rs.epoch_step))
            log_header(c, logf, have_val, have_test);
    }

    for (epoch = rs.epoch; epoch <= epochs && !stop; epoch++) {
        int64_t step, skip = epoch == rs.epoch ? rs.epoch_step : 0;
        char extra[384] = "";
        double t0, vloss;
        NnrtRng at_start = rng;
        const Data *val = have_val ? &va : have_test ? &te : NULL;

        memset(&trm, 0, sizeof trm);
        for (k = 0; k < tr.n; k++)
            perm[k] = (int32_t)k;
        if (shuffle)
            nnrt_rng_shuffle(&rng, perm, tr.n);
        nnrt_progress_begin(&pg, c->out, (int)epoch, epochs, spe - skip,
                            o->quiet);
        nnrt_progress_plan(&pg, t_run,
                           o->steps ? o->steps - rs.step - (spe - skip)
                                    : (int64_t)(epochs - epoch) * spe,
                           current_lr(c, model, o));
        t0 = nnrt_seconds();
        for (step = skip; step < spe; step++) {
            int64_t first = step * batch;
            int nb = (int)(tr.n - first < batch ? tr.n - first : batch);
            const void *target;
            const float *pred = NULL;
            float loss;
            int64_t correct = -1, before = trm.correct;
            gather(c, &tr, perm + first, nb, xb, cb, yb);
            target = cb ? (const void *)cb : (const void *)yb;
            loss = model_train_step(c, model, nb, (const float *const *)xb,
                                    target);
            rs.step++;
            /* A mean over no sample (every label ignored) is NaN, as in
             * PyTorch, and harmless: the step changed nothing. */
            if (!isfinite(loss) &&
                !(isnan(loss) && cb && counted(c, cb, nb) == 0)) {
                if (pg.tty && !pg.quiet)
                    fputc('\n', c->out);
                fail(c, EXIT_FAIL,
                     "loss is %s at epoch %lld, step %lld (step %lld "
                     "overall); stopped without saving these weights",
                     isnan(loss) ? "NaN" : "infinite", (long long)epoch,
                     (long long)step + 1, (long long)rs.step);
                say_kept(c, o, saved_epoch, &rs);
                goto done;
            }
            if (c->metric != MET_LOSS)
                pred = m->pred ? m->pred(model)
                       : m->train_logits ? m->train_logits(model)
                                         : NULL;
            {
                int64_t before_n = trm.n, before_c = trm.counted;
                double before_l = trm.loss_sum;
                metrics_add(c, &trm, nb, loss, pred, cb, yb);
                if (pred && c->metric == MET_CLASS)
                    correct = trm.correct - before;
                pg.loss_is_sum = m->loss_reduction_sum;
                nnrt_progress_step(&pg, nb, trm.loss_sum - before_l,
                                   trm.n - before_n, correct,
                                   correct >= 0 ? trm.counted - before_c
                                                : 0);
            }
            if (m->get_lr)
                pg.lr = m->get_lr(model);
            samples += nb;
            if (o->steps && rs.step >= o->steps) {
                stop = step + 1 < spe;
                if (stop)
                    snprintf(stopped, sizeof stopped,
                             "stopped after %lld steps (%lld of this "
                             "epoch's %lld)",
                             (long long)rs.step, (long long)(step + 1),
                             (long long)spe);
                step++;
                break;
            }
        }
        train_time += nnrt_seconds() - t0;
        if (c->metric != MET_CLASS)
            metrics_text(&trm, "", 0, extra, sizeof extra);
        if (have_val) {
            memset(&vam, 0, sizeof vam);
            if (evaluate(c, model, &va, &vam))
                goto done;
            metrics_text(&vam, "val_", 1, extra, sizeof extra);
        }
        if (have_test) {
            memset(&tem, 0, sizeof tem);
            if (evaluate(c, model, &te, &tem))
                goto done;
            /* "test_loss 0.4  test_acc 0.8", as before version 2 */
            metrics_text(&tem, "test_", 1, extra, sizeof extra);
        }
        vloss = val == &va ? m_loss(&vam) : val ? m_loss(&tem) : m_loss(&trm);
        if (!stop) {
            /* The schedule steps on whole epochs only. */
            if (m->epoch_end_loss)
                m->epoch_end_loss(model, vloss);
            else if (m->epoch_end)
                m->epoch_end(model);
        }
        if (stopped[0]) {
            size_t n = strlen(extra);
            snprintf(extra + n, sizeof extra - n, "%s%s", n ? "  " : "",
                     stopped);
        }
        nnrt_progress_end(&pg, extra);

        /* Where the next run would continue. */
        if (stop) {
            rs.epoch = epoch;
            rs.epoch_step = step;
            memcpy(rs.rng, at_start.s, sizeof rs.rng);
        } else {
            rs.epoch = epoch + 1;
            rs.epoch_step = 0;
            memcpy(rs.rng, rng.s, sizeof rs.rng);
        }
        if (logf) {
            fprintf(logf, "%lld,%lld,%.9g,%.3f,%.1f", (long long)epoch,
                    (long long)rs.step, pg.lr, nnrt_seconds() - t_run,
                    nnrt_progress_rate(&pg));
            log_metrics(c, logf, &trm);
            if (have_val)
                log_metrics(c, logf, &vam);
            if (have_test)
                log_metrics(c, logf, &tem);
            fputc('\n', logf);
            fflush(logf);
        }

        /* Checkpoints only from finite weights (issue 16): the loss of
         * a step is computed before its update, so check the values. */
        if (o->save || o->save_best || o->checkpoint) {
            char at[512];
            const char *bad;
            nnrt_st_free(&snap);
            if (snapshot(c, model, &snap))
                goto done;
            if ((bad = nonfinite_tensor(&snap, at, sizeof at)) != NULL) {
                fail(c, EXIT_FAIL,
                     "the weights are not finite after epoch %lld (step "
                     "%lld overall): '%s' holds %s; stopped without "
                     "saving them (try a smaller --lr)",
                     (long long)epoch, (long long)rs.step, bad, at);
                say_kept(c, o, saved_epoch, &rs);
                goto done;
            }
        }
        /* An epoch cut short by --steps ends the run: its weights may be
         * the best, but it does not count towards --patience. */
        if (val) {
            if (vloss < rs.best_loss) {
                rs.best_loss = vloss;
                rs.best_epoch = epoch;
                rs.bad_epochs = 0;
                if (o->save_best &&
                    nnrt_st_write(o->save_best, snap.tensors, snap.ntensors,
                                  &err) != 0) {
                    fail(c, EXIT_FAIL, "%s", err.msg);
                    goto done;
                }
            } else if (!stop) {
                rs.bad_epochs++;
            }
            if (o->patience > 0 && rs.bad_epochs >= o->patience &&
                epoch < epochs && !stop) {
                why_stop = "patience";
                stop = 1;
            }
        }
        if (o->save && nnrt_st_write(o->save, snap.tensors, snap.ntensors,
                                     &err) != 0) {
            fail(c, EXIT_FAIL, "%s", err.msg);
            goto done;
        }
        if (o->checkpoint &&
            write_checkpoint(c, model, &snap, &rs, o->checkpoint))
            goto done;
        saved_epoch = epoch;
    }
    if (why_stop && !o->quiet)
        fprintf(c->out,
                "stopped early: the validation loss has not improved for "
                "%ld epochs (best %.6f at epoch %lld)\n",
                o->patience, rs.best_loss, (long long)rs.best_epoch);
    metrics_print(c->out, &trm, "train_", "\n");
    if (have_val)
        metrics_print(c->out, &vam, "val_", "\n");
    if (have_test)
        metrics_print(c->out, &tem, "test_", "\n");
    if (rs.best_epoch > 0)
        fprintf(c->out, "best_epoch=%lld\nbest_val_loss=%.6f\n",
                (long long)rs.best_epoch, rs.best_loss);
    if (why_stop)
        fprintf(c->out, "stopped_early_at_epoch=%lld\n",
                (long long)rs.epoch - 1);
    fprintf(c->out, "steps=%lld\n", (long long)rs.step);
    fprintf(c->out, "samples_per_sec=%.1f\n",
            train_time > 0 ? (double)samples / train_time : 0.0);
    rc = EXIT_OK;
done:
    if (model)
        m->destroy(model);
    if (logf)
        fclose(logf);
    nnrt_st_free(&snap);
    free(perm);
    for (i = 0; i < MAX_INPUTS; i++)
        free(xb[i]);
    free(yb);
    free(cb);
    data_free(&tr);
    data_free(&va);
    data_free(&te);
    return rc;
}

/* The confusion matrix and per-class precision and recall. */
static void print_confusion(const Ctx *c, const Metrics *mt)
{
    int64_t K = c->m->target_numel, i, j;
    FILE *f = c->out;
    fprintf(f, "confusion matrix (rows: true class, columns: predicted "
               "class)\n%6s", "");
    for (j = 0; j < K; j++)
        fprintf(f, " %7lld", (long long)j);
    fputc('\n', f);
    for (i = 0; i < K; i++) {
        fprintf(f, "%6lld", (long long)i);
        for (j = 0; j < K; j++)
            fprintf(f, " %7lld", (long long)mt->confusion[i * K + j]);
        fputc('\n', f);
    }
    for (i = 0; i < K; i++) {
        int64_t tp = mt->confusion[i * K + i], predicted = 0, actual = 0;
        for (j = 0; j < K; j++) {
            predicted += mt->confusion[j * K + i];
            actual += mt->confusion[i * K + j];
        }
        /* An empty column or row has no precision or recall: 0, as
         * sklearn's zero_division default reports it. */
        fprintf(f, "class=%lld precision=%.4f recall=%.4f support=%lld\n",
                (long long)i, predicted ? (double)tp / (double)predicted : 0.0,
                actual ? (double)tp / (double)actual : 0.0, (long long)actual);
    }
}

static int cmd_eval(const Ctx *c, const Opts *o)
{
    Data d;
    void *model;
    Metrics mt;
    int rc = EXIT_FAIL;
    memset(&mt, 0, sizeof mt);
    if (o->confusion && c->metric != MET_CLASS)
        return bad_usage(c, "--confusion needs class targets and a "
                            "prediction of one score per class");
    if (load_data(c, o->data, o->ndata, o->labels, !o->no_scale, &d))
        return EXIT_FAIL;
    if (o->confusion) {
        mt.confusion = calloc((size_t)(c->m->target_numel *
                                       c->m->target_numel),
                              sizeof *mt.confusion);
        if (!mt.confusion) {
            data_free(&d);
            return fail(c, EXIT_FAIL, "out of memory");
        }
    }
    model = create_model(c, c->m->train_seed);
    if (model && load_weights(c, model, o->weights) == 0 &&
        evaluate(c, model, &d, &mt) == 0) {
        if (!isfinite(m_loss(&mt))) {
            fail(c, EXIT_FAIL,
                 "the loss over %s is %s with the weights of %s; the "
                 "model overflows on this data",
                 o->data[0], isnan(m_loss(&mt)) ? "NaN" : "infinite",
                 o->weights);
        } else {
            metrics_print(c->out, &mt, "", " ");
            if (o->confusion)
                print_confusion(c, &mt);
            rc = EXIT_OK;
        }
    }
    if (model)
        c->m->destroy(model);
    free(mt.confusion);
    data_free(&d);
    return rc;
}

/* 1 if path ends with ext, ignoring case. */
static int has_ext(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext), i;
    if (n <= e)
        return 0;
    for (i = 0; i < e; i++) {
        char a = path[n - e + i], b = ext[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (a != b)
            return 0;
    }
    return 1;
}

static int cmd_predict(const Ctx *c, const Opts *o)
{
    const NnrtModel *m = c->m;
    Data d;
    void *model;
    float *out = NULL;
    const float *xs[MAX_INPUTS];
    int rc = EXIT_FAIL, k, csv = has_ext(o->output, ".csv");
    int64_t dims[NNRT_MAX_RANK], i;
    NnrtErr err;

    /* The name says the format; a device or a pipe (/dev/stdout, a
     * FIFO) has no extension and gets .npy. */
    if (!csv && !has_ext(o->output, ".npy")) {
        struct stat sb;
        if (stat(o->output, &sb) != 0 ||
            !(S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode)))
            return bad_usage(c, "--output %s: the name must end in .npy "
                                "(float32 array) or .csv (one row per "
                                "sample)",
                             o->output);
    }
    if (m->output_rank + 1 > NNRT_MAX_RANK)
        return fail(c, EXIT_FAIL, "output of rank %d is too large to save",
                    m->output_rank);
    if (load_data(c, o->data, o->ndata, NULL, !o->no_scale, &d))
        return EXIT_FAIL;
    model = create_model(c, m->train_seed);
    if (!model || load_weights(c, model, o->weights))
        goto done;
    out = malloc((size_t)d.n * (size_t)m->output_numel * sizeof *out);
    if (!out) {
        fail(c, EXIT_FAIL, "out of memory for %lld outputs", (long long)d.n);
        goto done;
    }
    for (i = 0; i < d.n; i += m->max_batch) {
        int nb = (int)(d.n - i < m->max_batch ? d.n - i : m->max_batch);
        rows(c, &d, i, xs);
        model_forward(c, model, nb, xs, out + i * m->output_numel);
    }
    dims[0] = d.n;
    for (k = 0; k < m->output_rank; k++)
        dims[k + 1] = m->output_dims[k];
    /* CSV: one sample per row, its output flattened row-major. */
    if ((csv ? nnrt_save_csv(o->output, out, d.n, m->output_numel, &err)
             : nnrt_save_npy(o->output, out, m->output_rank + 1, dims,
                             &err)) != 0) {
        fail(c, EXIT_FAIL, "%s", err.msg);
        goto done;
    }
    rc = EXIT_OK;
done:
    if (model)
        m->destroy(model);
    free(out);
    data_free(&d);
    return rc;
}

/* The scale and zero point of TFLite's asymmetric int8 for values in
 * [lo, hi] (docs/quantization.md): the range widened to hold 0, scale
 * (hi - lo) / 255, zero point -128 - lo / scale rounded half away from
 * zero and clamped to [-128, 127]; an all-zero range gets scale 1. */
static void int8_params(float lo, float hi, float *scale, int32_t *zp)
{
    double l = lo < 0 ? lo : 0, h = hi > 0 ? hi : 0, s, z;
    s = (h - l) / 255.0;
    if (!(s > 0))
        s = 1;
    *scale = (float)s;
    z = -128.0 - l / (double)*scale;
    z = z < 0 ? -floor(-z + 0.5) : floor(z + 0.5);
    *zp = z < -128 ? -128 : z > 127 ? 127 : (int32_t)z;
}

/* PROG calibrate: the float model over --data (the first --samples),
 * each value's range, written with the weights as NAME.scale (F32[1])
 * and NAME.zero_point (I32[1]) for nnc --quantize int8. */
static int cmd_calibrate(const Ctx *c, const Opts *o)
{
    const NnrtModel *m = c->m;
    Data d;
    void *model = NULL;
    const float *xs[MAX_INPUTS];
    float *lo = NULL, *hi = NULL, *scale = NULL;
    int32_t *zp = NULL;
    NnrtSafetensors st;
    NnrtStTensor *t = NULL;
    char **names = NULL;
    int rc = EXIT_FAIL, k, nt = 0;
    int64_t i, n;
    NnrtErr err;

    memset(&st, 0, sizeof st);
    if (!m->calibrate_n || m->nranges <= 0)
        return fail(c, EXIT_FAIL, "this program has no calibration entry "
                                  "point (built by an older nnc, or the "
                                  "model has no output); rebuild it with "
                                  "nnc --exe");
    if (load_data(c, o->data, o->ndata, NULL, !o->no_scale, &d))
        return EXIT_FAIL;
    model = create_model(c, m->train_seed);
    if (!model || load_weights(c, model, o->weights))
        goto done;
    n = o->samples > 0 && o->samples < d.n ? o->samples : d.n;
    lo = malloc((size_t)m->nranges * sizeof *lo);
    hi = malloc((size_t)m->nranges * sizeof *hi);
    scale = malloc((size_t)m->nranges * sizeof *scale);
    zp = malloc((size_t)m->nranges * sizeof *zp);
    names = calloc((size_t)m->nranges * 2, sizeof *names);
    if (!lo || !hi || !scale || !zp || !names) {
        fail(c, EXIT_FAIL, "out of memory");
        goto done;
    }
    for (k = 0; k < m->nranges; k++) {
        lo[k] = INFINITY;
        hi[k] = -INFINITY;
    }
    for (i = 0; i < n; i += m->max_batch) {
        int nb = (int)(n - i < m->max_batch ? n - i : m->max_batch);
        rows(c, &d, i, xs);
        m->calibrate_n(model, nb, xs, lo, hi);
    }
    for (k = 0; k < m->nranges; k++)
        if (!isfinite(lo[k]) || !isfinite(hi[k])) {
            fail(c, EXIT_FAIL, "value '%s' is not finite on the calibration "
                               "data (range %g to %g)",
                 m->range_names[k], (double)lo[k], (double)hi[k]);
            goto done;
        }
    /* the weights as the model saves them, then two tensors per value */
    if (snapshot(c, model, &st))
        goto done;
    t = calloc((size_t)(st.ntensors + 2 * m->nranges), sizeof *t);
    if (!t) {
        fail(c, EXIT_FAIL, "out of memory");
        goto done;
    }
    for (k = 0; k < st.ntensors; k++)
        t[nt++] = st.tensors[k];
    for (k = 0; k < m->nranges; k++) {
        size_t len = strlen(m->range_names[k]) + 16;
        int8_params(lo[k], hi[k], &scale[k], &zp[k]);
        names[2 * k] = malloc(len);
        names[2 * k + 1] = malloc(len);
        if (!names[2 * k] || !names[2 * k + 1]) {
            fail(c, EXIT_FAIL, "out of memory");
            goto done;
        }
        snprintf(names[2 * k], len, "%s.scale", m->range_names[k]);
        snprintf(names[2 * k + 1], len, "%s.zero_point", m->range_names[k]);
        memset(&t[nt], 0, 2 * sizeof *t);
        t[nt].name = names[2 * k];
        t[nt].dtype = NNRT_F32;
        t[nt].rank = 1;
        t[nt].dims[0] = 1;
        t[nt].data = &scale[k];
        t[nt + 1].name = names[2 * k + 1];
        t[nt + 1].dtype = NNRT_I32;
        t[nt + 1].rank = 1;
        t[nt + 1].dims[0] = 1;
        t[nt + 1].data = &zp[k];
        nt += 2;
        if (!c->quiet)
            fprintf(c->out, "range %s: [%g, %g] scale=%.9g zero_point=%d\n",
                    m->range_names[k], (double)lo[k], (double)hi[k],
                    (double)scale[k], (int)zp[k]);
    }
    if (nnrt_st_write(o->output, t, nt, &err) != 0) {
        fail(c, EXIT_FAIL, "%s", err.msg);
        goto done;
    }
    fprintf(c->out, "calibrated=%d samples=%lld output=%s\n", m->nranges,
            (long long)n, o->output);
    rc = EXIT_OK;
done:
    if (model)
        m->destroy(model);
    for (k = 0; names && k < 2 * m->nranges; k++)
        free(names[k]);
    free(names);
    free(t);
    nnrt_st_free(&st);
    free(lo);
    free(hi);
    free(scale);
    free(zp);
    data_free(&d);
    return rc;
}

static int cmd_info(const Ctx *c)
{
    const NnrtModel *m = c->m;
    char dims[160];
    int i;
    int64_t total = 0, trainable = 0;
    size_t bytes = 0, w = 4;
    FILE *f = c->out;

    fprintf(f, "model %s", m->name);
    if (m->source)
        fprintf(f, " (compiled from %s)", m->source);
    fputc('\n', f);
    for (i = 0; i < c->nin; i++) {
        nnrt__fmt_dims(dims, sizeof dims, c->in[i].rank, c->in[i].dims);
        if (c->nin > 1 || c->in[i].name)
            fprintf(f, "input    %s: f32 %s, %lld values per sample\n",
                    c->in[i].name ? c->in[i].name : "?", dims,
                    (long long)c->in[i].numel);
        else
            fprintf(f, "input    f32 %s, %lld values per sample\n", dims,
                    (long long)c->in[i].numel);
    }
    if (m->target_kind == NNRT_TARGET_CLASS)
        fprintf(f, "target   class[%lld] (int32 labels)\n",
                (long long)m->target_numel);
    else if (m->target_kind == NNRT_TARGET_F32)
        fprintf(f, "target   f32, %lld values per sample\n",
                (long long)m->target_numel);
    else
        fprintf(f, "target   none (inference only)\n");
    fprintf(f, "output   f32 %s, %lld values per sample\n",
            nnrt__fmt_dims(dims, sizeof dims, m->output_rank, m->output_dims),
            (long long)m->output_numel);
    for (i = 0; i < m->nparams; i++)
        if (strlen(m->params[i].name) > w)
            w = strlen(m->params[i].name);
    fprintf(f, "parameters:\n");
    for (i = 0; i < m->nparams; i++) {
        const NnrtParamDesc *p = &m->params[i];
        int64_t n = nnrt_param_numel(p);
        fprintf(f, "  %-*s  %-3s %-20s %12lld%s\n", (int)w, p->name,
                nnrt_dtype_name(p->dtype),
                nnrt__fmt_dims(dims, sizeof dims, p->rank, p->dims),
                (long long)n, p->trainable ? "" : "  (buffer)");
        total += n;
        if (p->trainable)
            trainable += n;
        bytes += (size_t)n * nnrt_dtype_size(p->dtype);
    }
    fprintf(f, "total parameters: %lld (%lld trainable), %zu bytes\n",
            (long long)total, (long long)trainable, bytes);
    fprintf(f, "arena bytes: %zu\n", m->arena_bytes);
    fprintf(f, "forward FLOPs per sample: %.0f\n", m->flops_per_sample);
    fprintf(f, "max batch: %d\n", m->max_batch);
    if (m->target_kind != NNRT_TARGET_NONE)
        fprintf(f,
                "train defaults: batch %d, epochs %d, shuffle %s, seed "
                "%llu, lr %g\n",
                m->train_batch, m->train_epochs,
                m->train_shuffle ? "true" : "false",
                (unsigned long long)m->train_seed, m->lr);
    return EXIT_OK;
}

/* Fills c->in and the metric from the descriptor, whatever its
 * version. */
static int describe(Ctx *c)
{
    const NnrtModel *m = c->m;
    int i, kind = m->loss_kind;
    if (m->ninputs >= 1 && m->inputs) {
        if (m->ninputs > MAX_INPUTS)
            return fail(c, EXIT_FAIL, "the model has %d inputs; this "
                                      "program handles at most %d",
                        m->ninputs, MAX_INPUTS);
        c->nin = m->ninputs;
        for (i = 0; i < c->nin; i++) {
            c->in[i].name = m->inputs[i].name;
            c->in[i].rank = m->inputs[i].rank;
            c->in[i].dims = m->inputs[i].dims;
            c->in[i].numel = m->inputs[i].numel;
        }
    } else {
        c->nin = 1;
        c->in[0].name = NULL;
        c->in[0].rank = m->input_rank;
        c->in[0].dims = m->input_dims;
        c->in[0].numel = m->input_numel;
    }
    c->metric = MET_LOSS;
    c->use_pred = m->pred != NULL;
    if (m->target_kind == NNRT_TARGET_CLASS &&
        (kind == NNRT_LOSS_CROSS_ENTROPY || kind == NNRT_LOSS_NLL ||
         kind == NNRT_LOSS_NONE)) {
        /* Without pred() (older code): argmax of the output (softmax
         * keeps the order of the logits) when it has one score per
         * class, as before version 2. */
        if (c->use_pred)
            c->metric = MET_CLASS;
        else if (m->output_numel == m->target_numel)
            c->metric = MET_CLASS;
    } else if (kind == NNRT_LOSS_CROSS_ENTROPY && c->use_pred)
        c->metric = MET_PROB;
    else if (kind == NNRT_LOSS_BCE && c->use_pred)
        c->metric = MET_BINARY;
    else if ((kind == NNRT_LOSS_MSE || kind == NNRT_LOSS_L1 ||
              kind == NNRT_LOSS_HUBER) &&
             c->use_pred)
        c->metric = MET_REGR;
    return 0;
}

int nnrt_main_io(const NnrtModel *model, int argc, char **argv, FILE *out,
                 FILE *errs)
{
    Ctx c;
    Opts o;
    int rc, trains;
    const char *slash;

    memset(&c, 0, sizeof c);
    c.m = model;
    c.out = out ? out : stdout;
    c.errs = errs ? errs : stderr;
    c.prog = argc > 0 && argv && argv[0] ? argv[0] : "PROG";
    slash = strrchr(c.prog, '/');
    if (slash && slash[1])
        c.prog = slash + 1;
    if (!model)
        return EXIT_USAGE;
    if (describe(&c))
        return EXIT_FAIL;
    if (argc < 2 || !argv || !argv[1])
        return bad_usage(&c, "no command given");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        if (argc > 2 && argv[2] && cmd_bit(argv[2])) {
            usage_cmd(&c, argv[2], c.out);
        } else {
            /* Everything: the synopsis, then each command's options. */
            usage(&c, c.out);
            fputc('\n', c.out);
            usage_cmd(&c, "train", c.out);
            fputc('\n', c.out);
            usage_cmd(&c, "eval", c.out);
            fputc('\n', c.out);
            usage_cmd(&c, "predict", c.out);
            fputc('\n', c.out);
            usage_cmd(&c, "calibrate", c.out);
        }
        return EXIT_OK;
    }
    if (strcmp(argv[1], "info") == 0) {
        if (argc > 2 && argv[2] &&
            (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
            fprintf(c.out, "usage: %s info\nprints the model's inputs, "
                           "outputs, parameters, arena bytes and FLOPs\n",
                    c.prog);
            return EXIT_OK;
        }
        if (argc > 2)
            return bad_usage(&c, "'info' takes no arguments");
        return cmd_info(&c);
    }
    if (!cmd_bit(argv[1]))
        return bad_usage(&c, "unknown command '%s'", argv[1]);
    if ((rc = parse_args(&c, argc, argv, &o)) != 0)
        return rc;
    if (o.help) {
        usage_cmd(&c, o.cmd, c.out);
        return EXIT_OK;
    }

    trains = strcmp(o.cmd, "predict") != 0 && strcmp(o.cmd, "calibrate") != 0;
    if (trains && (model->target_kind == NNRT_TARGET_NONE ||
                   (!model->train_step && !model->train_step_n) ||
                   (!model->eval_loss && !model->eval_loss_n)))
        return bad_usage(&c, "this model has no loss, so it cannot '%s'; "
                             "it supports predict and info",
                         o.cmd);
    if (c.nin > 1 && (!model->forward_n ||
                      (trains && (!model->train_step_n ||
                                  !model->eval_loss_n))))
        return fail(&c, EXIT_FAIL, "the model has %d inputs but the program "
                                   "has no entry point for several inputs",
                    c.nin);
    if (!o.ndata)
        return bad_usage(&c, "'%s' needs --data", o.cmd);
    if (o.labels && o.label_column)
        return bad_usage(&c, "--labels and --label-column do not go "
                             "together");
    if (trains && !o.labels && !o.label_column)
        return bad_usage(&c, "'%s' needs --labels (or --label-column)",
                         o.cmd);
    if (strcmp(o.cmd, "train") != 0 && !o.weights)
        return bad_usage(&c, "'%s' needs --weights", o.cmd);
    if ((strcmp(o.cmd, "predict") == 0 || strcmp(o.cmd, "calibrate") == 0) &&
        !o.output)
        return bad_usage(&c, "'%s' needs --output", o.cmd);
    if (!o.ntest != !o.test_labels && !(o.ntest && o.label_column))
        return bad_usage(&c, "--test-data and --test-labels go together");
    c.label_spec = o.label_column;
    if (o.label_column &&
        parse_columns(o.label_column, &c.label_col, &c.label_stop) < 0)
        return bad_usage(&c, "--label-column wants a column N or a range "
                             "A:B (columns A to B-1; negative values count "
                             "from the end), got '%s'",
                         o.label_column);
    if (o.sep) {
        if (strcmp(o.sep, "tab") == 0 || strcmp(o.sep, "\\t") == 0)
            c.sep = '\t';
        else if (strlen(o.sep) == 1 && o.sep[0] != '"' && o.sep[0] != '\n' &&
                 o.sep[0] != '\r')
            c.sep = o.sep[0];
        else
            return bad_usage(&c, "--sep wants one character (or 'tab'), "
                                 "not a quote or a line end, got '%s'",
                             o.sep);
    }
    c.quiet = o.quiet;
    if ((o.partial || o.strip_prefix) && !o.init)
        return bad_usage(&c, "--partial and --strip-prefix go with --init");
    if (o.init && o.resume)
        return bad_usage(&c, "--init and --resume do not go together (a "
                             "checkpoint holds the weights)");
    if ((o.save_best || o.patience > 0) && !o.val_split && !o.ntest)
        return bad_usage(&c, "--save-best and --patience need validation "
                             "data: --val-split F or --test-data");

    if (strcmp(o.cmd, "train") == 0)
        return cmd_train(&c, &o);
    if (strcmp(o.cmd, "eval") == 0)
        return cmd_eval(&c, &o);
    if (strcmp(o.cmd, "calibrate") == 0)
        return cmd_calibrate(&c, &o);
    return cmd_predict(&c, &o);
}

/* OpenMP, when the program was linked with it: a weak reference is NULL
 * in a program without it (GCC and Clang; elsewhere the thread settings
 * below are skipped). */
#if defined(__GNUC__) && !defined(NNRT_NO_WEAK)
extern int omp_get_max_threads(void) __attribute__((weak));
#define HAVE_OMP() (omp_get_max_threads != NULL)
#else
#define HAVE_OMP() 0
#endif

/* Threads that behave on a shared machine (issue 15).  OpenMP threads
 * spin for a while at the end of each parallel region (libgomp: up to
 * 300,000 spins); when other processes want the cores, that spinning
 * costs more than the work (1,877 samples/s became 282 with two threads
 * on a busy 2-core machine).  So unless the user chose a policy, the
 * program runs with OMP_WAIT_POLICY=passive.  libgomp reads its
 * environment once, before main(), so the program sets the variable and
 * executes itself again (Linux: /proc/self/exe); if that fails it goes
 * on as it is.  Also warns when OMP_NUM_THREADS, or when it is unset the
 * --threads the model was built with, asks for more threads than there
 * are cores. */
static void threads_setup(const NnrtModel *m, char **argv)
{
    const char *n;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (!HAVE_OMP())
        return;
    if (!getenv("OMP_WAIT_POLICY") && argv && argv[0] &&
        access("/proc/self/exe", X_OK) == 0 &&
        setenv("OMP_WAIT_POLICY", "passive", 1) == 0) {
        execv("/proc/self/exe", argv);
        /* Still here: run with the policy libgomp already read. */
    }
    n = getenv("OMP_NUM_THREADS");
    if (n && cores > 0 && strtol(n, NULL, 10) > cores)
        fprintf(stderr,
                "nnc model %s: warning: OMP_NUM_THREADS=%s asks for more "
                "threads than the %ld cores available; they will slow each "
                "other down\n",
                m && m->name ? m->name : "?", n, cores);
    if (m && cores > 0 && m->threads > cores)
        fprintf(stderr,
                "nnc model %s: warning: built with --threads %d, more than "
                "the %ld cores available; they will slow each other down "
                "(rebuild with nnc --threads %ld)\n",
                m->name ? m->name : "?", m->threads, cores, cores);
}

int nnrt_main(const NnrtModel *model, int argc, char **argv)
{
    threads_setup(model, argv);
    return nnrt_main_io(model, argc, argv, stdout, stderr);
}
