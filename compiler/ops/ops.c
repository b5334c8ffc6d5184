/*
 * ops.c: ops.def expanded into op_info[], plus the small helpers every phase
 * uses to read an operator's arguments.
 */
#include "ops.h"

#include "ops_impl.h"

#include <math.h>
#include <string.h>

#define ARG(n, t, d, r) {#n, AT_##t, d, R_##r, NULL},
#define ENUM(n, d, c) {#n, AT_ENUM, d, R_NONE, c},
#define OP(id, name, kind, nin, shape, args) \
    static const ArgSpec args_##id[] = {args {NULL, AT_INT, NULL, R_NONE, NULL}};
#include "ops.def"
#undef OP

#define OP(id, name, kind, nin, shape, args) \
    {name, K_##kind, nin, args_##id, (int)(sizeof args_##id / sizeof args_##id[0]) - 1},
const OpInfo op_info[OP_COUNT] = {
#include "ops.def"
};
#undef OP
#undef ARG
#undef ENUM

int op_elementwise(Op op)
{
    return (unsigned)op < OP_COUNT && op_impl[op]->elementwise;
}

Op op_lookup(const char *name, unsigned mask)
{
    for (int i = 0; i < OP_COUNT; i++)
        if ((mask & KINDS(op_info[i].kind)) && strcmp(op_info[i].name, name) == 0)
            return (Op)i;
    return OP_COUNT;
}

const char *op_suggest(const char *name, unsigned mask)
{
    const char *best = NULL;
    int bestd = strlen(name) <= 3 ? 1 : 2;
    for (int i = 0; i < OP_COUNT; i++) {
        if (!(mask & KINDS(op_info[i].kind)))
            continue;
        int dist = diag_edit_distance(name, op_info[i].name, bestd);
        if (dist <= bestd && (!best || dist < bestd)) {
            best = op_info[i].name;
            bestd = dist;
        }
    }
    return best;
}

const char *op_kind_name(OpKind k)
{
    static const char *const names[] = {
        "layer", "function", "loss", "optimizer", "initialiser", "schedule",
        "train block", "compiler-internal operation",
    };
    return names[k];
}

int op_arg_index(Op op, const char *name)
{
    const OpInfo *oi = &op_info[op];
    for (int i = 0; i < oi->nargs; i++)
        if (strcmp(oi->args[i].name, name) == 0)
            return i;
    return -1;
}

const Value *op_arg(Op op, const Value *args, const char *name)
{
    int i = op_arg_index(op, name);
    if (i < 0 || !args)
        diag_internal("ops", "%s has no argument '%s'", op_info[op].name, name);
    return &args[i];
}

double op_num(Op op, const Value *args, const char *name)
{
    return op_arg(op, args, name)->num;
}

void value_pair(const Value *v, int64_t out[2])
{
    if (v->kind == V_LIST && v->n == 2) {
        out[0] = (int64_t)v->list[0];
        out[1] = (int64_t)v->list[1];
    } else if (v->kind == V_NUM) {
        out[0] = out[1] = (int64_t)v->num;
    } else {
        out[0] = out[1] = -1;
    }
}

int range_ok(Range r, double x)
{
    switch (r) {
    case R_NONE:
    case R_ANY: return isfinite(x);
    case R_POS: return isfinite(x) && x > 0;
    case R_NONNEG: return isfinite(x) && x >= 0;
    case R_UNIT: return x >= 0 && x <= 1;
    case R_UNIT_OPEN: return x >= 0 && x < 1;
    case R_COUNT: return x >= 1 && x <= 16777216.0;
    case R_SIZE: return x >= 0 && x <= 16777216.0;
    case R_SEED: return x >= 0 && x <= 9007199254740992.0;
    }
    return 0;
}

const char *range_text(Range r)
{
    switch (r) {
    case R_NONE:
    case R_ANY: return "a finite number";
    case R_POS: return "greater than 0";
    case R_NONNEG: return "at least 0";
    case R_UNIT: return "between 0 and 1";
    case R_UNIT_OPEN: return "at least 0 and less than 1";
    case R_COUNT: return "between 1 and 16777216";
    case R_SIZE: return "between 0 and 16777216";
    case R_SEED: return "between 0 and 2^53";
    }
    return "";
}

static void num_print(FILE *f, double x)
{
    if (fabs(x) < 1e15 && x == (double)(int64_t)x)
        fprintf(f, "%lld", (long long)x);
    else
        fprintf(f, "%.9g", x);
}

void value_print(FILE *f, const Value *v)
{
    switch (v->kind) {
    case V_NONE: fputs("?", f); break;
    case V_NUM: num_print(f, v->num); break;
    case V_BOOL: fputs(v->num != 0 ? "true" : "false", f); break;
    case V_IDENT: fputs(v->ident, f); break;
    case V_LIST:
        fputc('[', f);
        for (int i = 0; i < v->n; i++) {
            if (i)
                fputs(", ", f);
            num_print(f, v->list[i]);
        }
        fputc(']', f);
        break;
    case V_CALL: {
        const OpInfo *oi = &op_info[v->op];
        fputs(oi->name, f);
        if (oi->nargs == 0)
            break;
        fputc('(', f);
        for (int i = 0; i < oi->nargs; i++) {
            if (i)
                fputs(", ", f);
            fprintf(f, "%s=", oi->args[i].name);
            value_print(f, &v->args[i]);
        }
        fputc(')', f);
        break;
    }
    }
}
