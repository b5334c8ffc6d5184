/*
 * params.c: a model's parameters to and from a safetensors file.
 *
 * The generated NAME_load()/NAME_save() are thin wrappers over these two
 * functions and the model's NnrtParamDesc table.  Loading is all or
 * nothing: the whole file is checked against the table (missing, extra,
 * mis-shaped, mistyped tensors) before a single parameter is overwritten,
 * so a failed load leaves a model usable.
 */
#include "nnrt_impl.h"

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

typedef struct Named {
    const char *name;
    int idx;
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

int nnrt_st_load_params(const char *path, const NnrtParamDesc *params, int n,
                        void *const *dst, NnrtErr *err)
{
    NnrtSafetensors st;
    Named *sorted;
    int i, count = 0, rc;
    char want[160], got[160];

    rc = nnrt_st_read(path, &st, err);
    if (rc)
        return rc;
    sorted = malloc((n > 0 ? (size_t)n : 1) * sizeof *sorted);
    if (!sorted) {
        nnrt_st_free(&st);
        return nnrt__fail(err, NN_ENOMEM, path, "out of memory");
    }
    for (i = 0; i < n; i++) {
        const NnrtParamDesc *p = &params[i];
        const NnrtStTensor *t = nnrt_st_find(&st, p->name);
        sorted[i].name = p->name;
        sorted[i].idx = i;
        nnrt__fmt_dims(want, sizeof want, p->rank, p->dims);
        /* The first problem becomes the message, later ones are only
         * counted ("and 3 more problems"). */
        if (!t) {
            if (count++ == 0)
                nnrt__fail(err, NN_EMISMATCH, path,
                           "missing tensor '%s' (the model expects %s %s)",
                           p->name, nnrt_dtype_name(p->dtype), want);
        } else if (!same_shape(p, t)) {
            if (count++ == 0)
                nnrt__fail(err, NN_EMISMATCH, path,
                           "tensor '%s' has shape %s in the file, the model "
                           "expects %s",
                           p->name,
                           nnrt__fmt_dims(got, sizeof got, t->rank, t->dims),
                           want);
        } else if (t->dtype != p->dtype &&
                   !(p->dtype == NNRT_F32 && t->dtype == NNRT_F64)) {
            if (count++ == 0)
                nnrt__fail(err, NN_EMISMATCH, path,
                           "tensor '%s' is %s in the file, the model "
                           "expects %s",
                           p->name, nnrt_dtype_name(t->dtype),
                           nnrt_dtype_name(p->dtype));
        }
    }
    /* Tensors the model does not have: a file for another model, or a
     * layer renamed; loading it silently would hide the mistake. */
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_named);
    for (i = 0; i < st.ntensors; i++) {
        Named key;
        key.name = st.tensors[i].name;
        key.idx = 0;
        if (!bsearch(&key, sorted, (size_t)n, sizeof *sorted, cmp_named) &&
            count++ == 0)
            nnrt__fail(err, NN_EMISMATCH, path,
                       "tensor '%s' in the file is not a parameter of this "
                       "model",
                       st.tensors[i].name);
    }
    free(sorted);
    if (count > 0) {
        if (count > 1)
            nnrt__append(err, " (and %d more problem%s)", count - 1,
                         count > 2 ? "s" : "");
        nnrt_st_free(&st);
        return NN_EMISMATCH;
    }
    for (i = 0; i < n; i++) {
        const NnrtStTensor *t = nnrt_st_find(&st, params[i].name);
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
    nnrt_st_free(&st);
    return 0;
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
