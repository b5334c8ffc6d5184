/*
 * params.c: a model's parameters to and from a safetensors file.
 *
 * The generated NAME_load()/NAME_save() are thin wrappers over these two
 * functions and the model's NnrtParamDesc table.  Loading is all or
 * nothing: the whole file is checked against the table (missing, extra,
 * mis-shaped, mistyped tensors, NaN or Inf values) before a single
 * parameter is overwritten, so a failed load leaves a model usable, and
 * every problem is listed, not only the first.  A partial load (issue 15:
 * the encoder of an autoencoder, a fine-tuned head) loads what matches by
 * name, shape and dtype and reports the rest; a prefix such as "module."
 * (torch.nn.DataParallel's) can be stripped from the file's names.
 */
#include "nnrt_impl.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t nnrt_param_numel(const NnrtParamDesc *p)
{
    int64_t n = 1;
    int i;
    for (i = 0; i < p->rank; i++)
        n *= p->dims[i];
    return n;
}

/* A list of message lines, each escaped (made by nnrt__fail with no
 * path), at most MAX_LINES kept; `count` counts them all. */
#define MAX_LINES 1000

typedef struct Lines {
    char **v;
    int n, cap, count;
} Lines;

static void lines_add(Lines *l, const char *fmt, ...) NNRT_PRINTF(2, 3);

static void lines_add(Lines *l, const char *fmt, ...)
{
    NnrtErr e;
    char raw[1024];
    va_list ap;
    char *s;
    l->count++;
    if (l->n >= MAX_LINES)
        return;
    if (l->n == l->cap) {
        int c = l->cap ? l->cap * 2 : 16;
        char **p = realloc(l->v, (size_t)c * sizeof *p);
        if (!p)
            return; /* the count still tells there was a problem */
        l->v = p;
        l->cap = c;
    }
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    nnrt__fail(&e, 0, NULL, "%s", raw);
    s = strdup(e.msg);
    if (s)
        l->v[l->n++] = s;
}

static void lines_free(Lines *l)
{
    int i;
    for (i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* The lines joined, each followed by '\n'; NULL if none or OOM. */
static char *lines_join(const Lines *l)
{
    size_t len = 1;
    int i;
    char *t, *p;
    if (l->n == 0)
        return NULL;
    for (i = 0; i < l->n; i++)
        len += strlen(l->v[i]) + 1;
    if (l->count > l->n)
        len += 64;
    t = p = malloc(len);
    if (!t)
        return NULL;
    for (i = 0; i < l->n; i++) {
        size_t k = strlen(l->v[i]);
        memcpy(p, l->v[i], k);
        p[k] = '\n';
        p += k + 1;
    }
    if (l->count > l->n)
        p += sprintf(p, "(and %d more)\n", l->count - l->n);
    *p = '\0';
    return t;
}

/* err = "PATH: N problems:" and one indented line per problem, as many as
 * fit in NnrtErr with room kept for "(and K more)". */
static void problems_msg(NnrtErr *err, const char *path, const Lines *l)
{
    size_t n, room = sizeof err->msg - 1;
    int i;
    if (!err)
        return;
    if (l->count == 1 && l->n == 1) {
        nnrt__fail(err, 0, path, "%s", l->v[0]);
        return;
    }
    nnrt__fail(err, 0, path, "%d problems:", l->count);
    n = strlen(err->msg);
    for (i = 0; i < l->n; i++) {
        size_t k = strlen(l->v[i]);
        int more = l->count - i - 1;
        /* keep room for the "(and K more)" line unless this is the last */
        size_t tail = more > 0 ? 24 : 0;
        if (n + 3 + k + tail > room)
            break;
        memcpy(err->msg + n, "\n  ", 3);
        memcpy(err->msg + n + 3, l->v[i], k);
        n += 3 + k;
        err->msg[n] = '\0';
    }
    if (i < l->count)
        snprintf(err->msg + n, sizeof err->msg - n, "\n  (and %d more)",
                 l->count - i);
}

typedef struct Named {
    const char *name; /* the file's name with the prefix stripped */
    int idx;          /* tensor index in the file */
} Named;

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const Named *)a)->name, ((const Named *)b)->name);
}

static int same_shape(const NnrtParamDesc *p, const NnrtStTensor *t)
{
    int i;
    if (p->rank != t->rank)
        return 0;
    for (i = 0; i < p->rank; i++)
        if (p->dims[i] != t->dims[i])
            return 0;
    return 1;
}

/* Index of the first non-finite element of float tensor t, or -1; for
 * F64 going to F32, also a finite value past float32's range. */
static int64_t first_nonfinite(const NnrtStTensor *t, int to_f32,
                               double *v)
{
    size_t k, m;
    if (t->dtype == NNRT_F32) {
        const float *s = t->data;
        m = t->nbytes / sizeof *s;
        for (k = 0; k < m; k++)
            if (!isfinite(s[k])) {
                *v = s[k];
                return (int64_t)k;
            }
    } else if (t->dtype == NNRT_F64) {
        const double *s = t->data;
        m = t->nbytes / sizeof *s;
        for (k = 0; k < m; k++)
            if (!isfinite(s[k]) || (to_f32 && fabs(s[k]) > FLT_MAX &&
                                    !isfinite((float)s[k]))) {
                *v = s[k];
                return (int64_t)k;
            }
    }
    return -1;
}

/* If every name in the file starts with the same "word." and stripping
 * it would match a parameter, that prefix (in buf); else NULL. */
static const char *common_prefix(const NnrtSafetensors *st,
                                 const NnrtParamDesc *params, int n,
                                 char *buf, size_t cap)
{
    const char *dot;
    size_t k;
    int i, j;
    if (st->ntensors == 0 || !(dot = strchr(st->tensors[0].name, '.')))
        return NULL;
    k = (size_t)(dot - st->tensors[0].name) + 1;
    if (k >= cap)
        return NULL;
    for (i = 0; i < st->ntensors; i++)
        if (strncmp(st->tensors[i].name, st->tensors[0].name, k) != 0)
            return NULL;
    for (j = 0; j < n; j++)
        for (i = 0; i < st->ntensors; i++)
            if (strcmp(st->tensors[i].name + k, params[j].name) == 0) {
                memcpy(buf, st->tensors[0].name, k);
                buf[k] = '\0';
                return buf;
            }
    return NULL;
}

int nnrt_st_load_params(const char *path, const NnrtParamDesc *params, int n,
                        void *const *dst, NnrtErr *err)
{
    return nnrt_st_load_params_opts(path, params, n, dst, NULL, NULL, err);
}

int nnrt_st_load_params_opts(const char *path, const NnrtParamDesc *params,
                             int n, void *const *dst,
                             const NnrtParamLoadOpts *opts,
                             NnrtParamLoadReport *report, NnrtErr *err)
{
    static const NnrtParamLoadOpts none = {0, NULL, 0};
    NnrtSafetensors st;
    Named *byname = NULL;
    int *from = NULL;  /* from[i]: file tensor loaded into params[i], -1 */
    char *state = NULL; /* per file tensor: 0 unused, 1 used, 2 reported */
    Lines problems = {NULL, 0, 0, 0}, notes = {NULL, 0, 0, 0};
    size_t plen;
    int i, rc, partial, nloaded = 0;
    char want[160], got[160], pre[64];

    if (!opts)
        opts = &none;
    if (report)
        memset(report, 0, sizeof *report);
    partial = opts->partial;
    plen = opts->strip_prefix ? strlen(opts->strip_prefix) : 0;
    rc = nnrt_st_read(path, &st, err);
    if (rc)
        return rc;
    byname = malloc((st.ntensors > 0 ? (size_t)st.ntensors : 1) *
                    sizeof *byname);
    from = malloc((n > 0 ? (size_t)n : 1) * sizeof *from);
    state = calloc(st.ntensors > 0 ? (size_t)st.ntensors : 1, 1);
    if (!byname || !from || !state) {
        rc = nnrt__fail(err, NN_ENOMEM, path, "out of memory");
        goto out;
    }
    /* The file's names as the model sees them (prefix stripped), sorted
     * for lookup; two that become equal cannot both be meant. */
    for (i = 0; i < st.ntensors; i++) {
        const char *nm = st.tensors[i].name;
        if (plen && strncmp(nm, opts->strip_prefix, plen) == 0)
            nm += plen;
        byname[i].name = nm;
        byname[i].idx = i;
    }
    qsort(byname, (size_t)st.ntensors, sizeof *byname, cmp_named);
    for (i = 1; i < st.ntensors; i++)
        if (strcmp(byname[i].name, byname[i - 1].name) == 0)
            lines_add(&problems,
                      "tensors '%s' and '%s' both become '%s' after "
                      "stripping '%s'",
                      st.tensors[byname[i - 1].idx].name,
                      st.tensors[byname[i].idx].name, byname[i].name,
                      opts->strip_prefix);

    for (i = 0; i < n; i++) {
        const NnrtParamDesc *p = &params[i];
        Named key, *hit;
        const NnrtStTensor *t;
        int64_t bad;
        double v;
        from[i] = -1;
        key.name = p->name;
        key.idx = 0;
        hit = st.ntensors > 0 ? bsearch(&key, byname, (size_t)st.ntensors,
                                        sizeof *byname, cmp_named)
                              : NULL;
        nnrt__fmt_dims(want, sizeof want, p->rank, p->dims);
        if (!hit) {
            if (partial)
                lines_add(&notes, "kept initialisation: '%s' (not in the "
                                  "file)",
                          p->name);
            else
                lines_add(&problems,
                          "missing tensor '%s' (the model expects %s %s)",
                          p->name, nnrt_dtype_name(p->dtype), want);
            continue;
        }
        t = &st.tensors[hit->idx];
        if (!same_shape(p, t)) {
            state[hit->idx] = 2;
            nnrt__fmt_dims(got, sizeof got, t->rank, t->dims);
            if (partial) {
                lines_add(&notes, "skipped '%s': shape %s in the file, the "
                                  "model expects %s",
                          t->name, got, want);
                lines_add(&notes, "kept initialisation: '%s' (shape differs)",
                          p->name);
            } else {
                lines_add(&problems,
                          "tensor '%s' has shape %s in the file, the model "
                          "expects %s",
                          t->name, got, want);
            }
            continue;
        }
        if (t->dtype != p->dtype &&
            !(p->dtype == NNRT_F32 && t->dtype == NNRT_F64)) {
            state[hit->idx] = 2;
            if (partial) {
                lines_add(&notes, "skipped '%s': %s in the file, the model "
                                  "expects %s",
                          t->name, nnrt_dtype_name(t->dtype),
                          nnrt_dtype_name(p->dtype));
                lines_add(&notes, "kept initialisation: '%s' (dtype "
                                  "differs)",
                          p->name);
            } else {
                lines_add(&problems,
                          "tensor '%s' is %s in the file, the model "
                          "expects %s",
                          t->name, nnrt_dtype_name(t->dtype),
                          nnrt_dtype_name(p->dtype));
            }
            continue;
        }
        state[hit->idx] = 1;
        /* A NaN or Inf weight poisons every output: name it here rather
         * than let training report a NaN loss without saying why. */
        if (!opts->allow_nonfinite &&
            (bad = first_nonfinite(t, p->dtype == NNRT_F32, &v)) >= 0) {
            if (isfinite(v))
                lines_add(&problems,
                          "tensor '%s' holds %g at index %lld, outside "
                          "float32's range",
                          t->name, v, (long long)bad);
            else
                lines_add(&problems, "tensor '%s' holds %s at index %lld",
                          t->name,
                          isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf",
                          (long long)bad);
            continue;
        }
        from[i] = hit->idx;
        nloaded++;
    }
    /* Tensors the model does not have: a file for another model, or a
     * layer renamed; loading it silently would hide the mistake. */
    for (i = 0; i < st.ntensors; i++) {
        if (state[i])
            continue;
        if (partial)
            lines_add(&notes, "skipped '%s': not a parameter of this model",
                      st.tensors[i].name);
        else
            lines_add(&problems,
                      "tensor '%s' in the file is not a parameter of this "
                      "model",
                      st.tensors[i].name);
    }
    if (partial && nloaded == 0 && n > 0 && problems.count == 0)
        lines_add(&problems,
                  "no tensor of the file matches a parameter of the model "
                  "by name, shape and dtype");
    if (problems.count > 0 && nloaded < n &&
        common_prefix(&st, params, n, pre, sizeof pre) &&
        !(plen && strcmp(pre, opts->strip_prefix) == 0))
        lines_add(&problems,
                  "hint: every name in the file starts with '%s'; "
                  "--strip-prefix %s removes it",
                  pre, pre);
    if (problems.count > 0) {
        problems_msg(err, path, &problems);
        if (report)
            report->text = lines_join(&problems);
        rc = NN_EMISMATCH;
        goto out;
    }
    for (i = 0; i < n; i++) {
        const NnrtStTensor *t;
        if (from[i] < 0)
            continue;
        t = &st.tensors[from[i]];
        if (t->dtype == params[i].dtype) {
            memcpy(dst[i], t->data, t->nbytes);
        } else { /* F64 stored, F32 wanted */
            const double *s = t->data;
            float *d = dst[i];
            size_t k, m = t->nbytes / sizeof *s;
            for (k = 0; k < m; k++)
                d[k] = (float)s[k];
        }
    }
    if (report) {
        int k;
        report->nloaded = nloaded;
        report->nkept = n - nloaded;
        for (k = 0; k < st.ntensors; k++)
            report->nskipped += state[k] != 1;
        report->text = lines_join(&notes);
    }
    rc = 0;
out:
    lines_free(&problems);
    lines_free(&notes);
    free(byname);
    free(from);
    free(state);
    nnrt_st_free(&st);
    return rc;
}

int nnrt_st_save_params(const char *path, const NnrtParamDesc *params, int n,
                        const void *const *src, NnrtErr *err)
{
    NnrtStTensor *t;
    int i, rc;
    if (n < 0)
        return nnrt__fail(err, NN_EMISMATCH, path, "bad parameter count %d",
                          n);
    t = calloc(n > 0 ? (size_t)n : 1, sizeof *t);
    if (!t)
        return nnrt__fail(err, NN_ENOMEM, path, "out of memory");
    for (i = 0; i < n; i++) {
        t[i].name = params[i].name;
        t[i].dtype = params[i].dtype;
        t[i].rank = params[i].rank;
        memcpy(t[i].dims, params[i].dims, sizeof t[i].dims);
        t[i].data = src[i];
    }
    rc = nnrt_st_write(path, t, n, err);
    free(t);
    return rc;
}
