/*
 * ir.c: building and verifying the IR.
 */
#include "ir.h"

#include <string.h>

Ir *ir_new(Arena *a, const char *model)
{
    Ir *ir = arena_alloc(a, sizeof *ir);
    ir->arena = a;
    ir->model = model;
    ir->output = -1;
    ir->loss = -1;
    return ir;
}

int ir_add(Ir *ir, Op op, const int *in, int nin, const Value *args, Span sp)
{
    IrNode n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.nin = nin;
    if (nin > 0) {
        n.in = arena_alloc(ir->arena, (size_t)nin * sizeof *n.in);
        memcpy(n.in, in, (size_t)nin * sizeof *in);
    }
    n.args = args;
    n.span = sp;
    n.layer = -1;
    n.fwd = -1;
    n.epilogue = OP_COUNT;
    n.fused_into = -1;
    ARENA_PUSH(ir->arena, ir->nodes, ir->n, ir->cap, n);
    return ir->n - 1;
}

int64_t shape_numel(const Shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        if (s->d[i] <= 0 || n > INT32_MAX / s->d[i])
            return -1;
        n *= s->d[i];
    }
    return n;
}

const char *shape_str(const Shape *s, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < s->rank && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)s->d[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

int64_t ir_layer_params(const Ir *ir, int id, int trainable_only)
{
    int64_t total = 0;
    const IrNode *n = &ir->nodes[id];
    for (int i = 0; i < n->nin; i++) {
        const IrNode *p = &ir->nodes[n->in[i]];
        if (p->op == OP_PARAM && p->layer == id && p->shape_known && (p->trainable || !trainable_only))
            total += shape_numel(&p->shape);
    }
    return total;
}

void ir_verify(const Ir *ir, const char *pass, int need_shapes)
{
    for (int i = 0; i < ir->n; i++) {
        const IrNode *n = &ir->nodes[i];
        if ((unsigned)n->op >= OP_COUNT)
            diag_internal(pass, "node %%%d has no valid op", i);
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] < 0 || n->in[j] >= i)
                diag_internal(pass, "node %%%d (%s) uses %%%d, which does not precede it", i,
                              op_info[n->op].name, n->in[j]);
        if (n->poison)
            continue;
        const OpInfo *oi = &op_info[n->op];
        if (oi->kind == K_FUNC || oi->kind == K_LAYER || oi->kind == K_LOSS) {
            int want = oi->ntensors;
            int tensors = 0;
            for (int j = 0; j < n->nin; j++)
                tensors += ir->nodes[n->in[j]].op != OP_PARAM || ir->nodes[n->in[j]].layer != i;
            if ((want >= 0 && tensors != want) || (want < 0 && tensors < 2))
                diag_internal(pass, "node %%%d (%s) has %d tensor operands", i, oi->name, tensors);
            if (oi->nargs > 0 && !n->args)
                diag_internal(pass, "node %%%d (%s) has no arguments", i, oi->name);
        }
        if (n->op == OP_GRAD && (n->fwd < 0 || n->fwd >= ir->n || n->nin < 1))
            diag_internal(pass, "gradient %%%d has no forward node or no dy", i);
        if (n->op == OP_PARAM && (n->layer < 0 || n->layer <= i || !n->param))
            diag_internal(pass, "parameter %%%d has no owning layer after it", i);
        if (need_shapes && !n->shape_known)
            diag_internal(pass, "node %%%d (%s) has no shape", i, oi->name);
    }
    if (ir->output >= ir->n || ir->loss >= ir->n)
        diag_internal(pass, "output or loss refers to a missing node");
    if (ir->loss >= 0 && !ir->nodes[ir->loss].poison && op_info[ir->nodes[ir->loss].op].kind != K_LOSS)
        diag_internal(pass, "the loss node is a %s", op_info[ir->nodes[ir->loss].op].name);
}

void ir_mark_needed(const Ir *ir, int id, unsigned char *set)
{
    if (id < 0)
        return;
    set[id] = 1;
    /* inputs precede their readers: one backward sweep reaches them all */
    for (int i = id; i >= 0; i--)
        if (set[i])
            for (int j = 0; j < ir->nodes[i].nin; j++)
                set[ir->nodes[i].in[j]] = 1;
}
