/*
 * ir.c: building and verifying the IR.
 */
#include "ir.h"

#include "ops_impl.h"

#include <stdlib.h>
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
    n.inlined_into = -1;
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
        if (n->inlined_into >= 0) {
            int k = n->inlined_into, read = 0;
            if (k <= i || k >= ir->n)
                diag_internal(pass, "node %%%d is inlined into %%%d, which does not follow it", i, k);
            for (int j = 0; j < ir->nodes[k].nin; j++)
                read |= ir_inlined_input(ir, k, ir->nodes[k].in[j]) == i;
            if (!read || n->fused_into >= 0)
                diag_internal(pass, "node %%%d is inlined into %%%d, which does not read it", i, k);
        }
    }
    if (ir->output >= ir->n || ir->loss >= ir->n)
        diag_internal(pass, "output or loss refers to a missing node");
    if (ir->loss >= 0 && !ir->nodes[ir->loss].poison && op_info[ir->nodes[ir->loss].op].kind != K_LOSS)
        diag_internal(pass, "the loss node is a %s", op_info[ir->nodes[ir->loss].op].name);
}

int *ir_readers(const Ir *ir)
{
    int *readers = calloc((size_t)(ir->n > 0 ? ir->n : 1), sizeof *readers);
    if (!readers)
        diag_internal("ir", "out of memory");
    for (int i = 0; i < ir->n; i++) {
        const IrNode *n = &ir->nodes[i];
        if (n->fused_into >= 0)
            continue;
        for (int j = 0; j < n->nin; j++)
            readers[n->in[j]]++;
    }
    return readers;
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

int ir_elementwise(const Ir *ir, int id)
{
    const IrNode *n = &ir->nodes[id];
    if (n->poison)
        return 0;
    if (n->op == OP_ADD)
        return 1; /* forward, or the backward pass's accumulation */
    return op_elementwise(n->op == OP_GRAD ? ir->nodes[n->fwd].op : n->op);
}

int ir_view_of(const Ir *ir, int id)
{
    const IrNode *n = &ir->nodes[id];
    if (n->fused_into >= 0)
        return n->fused_into;
    if (n->nin < 1)
        return -1;
    OpView v = op_impl[n->op == OP_GRAD ? ir->nodes[n->fwd].op : n->op]->view;
    if (v == OV_ALWAYS)
        return n->in[0];
    /* Dropout is the identity in inference: no copy, no buffer, no mask. */
    if (v == OV_INFERENCE && n->op != OP_GRAD && ir->inference)
        return n->in[0];
    return -1;
}

int ir_kernel_of(const Ir *ir, int id)
{
    while (ir->nodes[id].inlined_into >= 0)
        id = ir->nodes[id].inlined_into;
    return id;
}

int ir_inlined_input(const Ir *ir, int id, int x)
{
    for (int s = x; s >= 0; s = ir_view_of(ir, s))
        if (ir->nodes[s].inlined_into == id)
            return s;
    return -1;
}

/* A growing list of node ids. */
typedef struct {
    int *id;
    int n, cap;
} IdList;

static int listed(const IdList *l, int id)
{
    for (int k = 0; k < l->n; k++)
        if (l->id[k] == id)
            return 1;
    return 0;
}

static void push(IdList *l, int id)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        int *p = realloc(l->id, (size_t)l->cap * sizeof *p);
        if (!p)
            diag_internal("ir", "out of memory");
        l->id = p;
    }
    l->id[l->n++] = id;
}

/* Copy at most max of l into out, release l, return its length. */
static int give(IdList *l, int *out, int max)
{
    for (int k = 0; k < l->n && k < max; k++)
        out[k] = l->id[k];
    free(l->id);
    return l->n;
}

/* Node id's operands appended to l: recursion as deep as the chain of
 * nodes inlined into one another (fuse_elementwise bounds it). */
static void operands_of(const Ir *ir, int id, IdList *l)
{
    const IrNode *n = &ir->nodes[id];
    for (int j = 0; j < n->nin; j++) {
        int m = ir_inlined_input(ir, id, n->in[j]);
        if (m >= 0)
            operands_of(ir, m, l);
        else if (!listed(l, n->in[j]))
            push(l, n->in[j]);
    }
}

int ir_operands(const Ir *ir, int id, int *ops, int max)
{
    IdList l = {NULL, 0, 0};
    operands_of(ir, id, &l);
    return give(&l, ops, max);
}

static void inlined_of(const Ir *ir, int id, IdList *l)
{
    const IrNode *n = &ir->nodes[id];
    for (int j = 0; j < n->nin; j++) {
        int m = ir_inlined_input(ir, id, n->in[j]);
        if (m >= 0 && !listed(l, m)) {
            push(l, m);
            inlined_of(ir, m, l);
        }
    }
}

int ir_kernel_nodes(const Ir *ir, int id, int *nodes, int max)
{
    IdList l = {NULL, 0, 0};
    inlined_of(ir, id, &l);
    push(&l, id);
    /* ascending ids: short lists, insertion sort */
    for (int k = 1; k < l.n; k++)
        for (int j = k; j > 0 && l.id[j - 1] > l.id[j]; j--) {
            int t = l.id[j];
            l.id[j] = l.id[j - 1];
            l.id[j - 1] = t;
        }
    return give(&l, nodes, max);
}
