/*
 * lower.c: one pass from the annotated AST to the IR, and lower_1d(), which
 * turns the 1-D operators into the 2-D ones once their shapes are checked.
 *
 * Assumes sema ran (errors or not): resolved calls carry op, args, tensors
 * and a parameter prefix.  Guarantees a topologically ordered IR in which
 * each value is computed once, however often its name is used.
 */
#include "lower.h"

#include "ops_impl.h"

#include <string.h>

typedef struct {
    Ir *ir;
    Arena *arena;
} Lower;

/* The parameters a layer owns, in PyTorch's state_dict order. */
static int layer_params(Op op, const Value *args, ParamRole *roles)
{
    const OpImpl *r = op_impl[op];
    int n = 0;
    if (r->nparams == 0)
        diag_internal("lower", "%s is not a layer with parameters", op_info[op].name);
    for (int k = 0; k < r->nparams; k++)
        if (r->params[k] != PR_BIAS || !r->bias_arg || op_num(op, args, "bias") != 0)
            roles[n++] = r->params[k];
    return n;
}

static const char *const role_names[] = {
    "weight", "bias", "running_mean", "running_var", "num_batches_tracked",
};

static int poison(Lower *L, Span sp)
{
    int id = ir_add(L->ir, OP_RELU, NULL, 0, NULL, sp);
    L->ir->nodes[id].poison = 1;
    return id;
}

static int lower_expr(Lower *L, Ast *e);

static int lower_call(Lower *L, Ast *e)
{
    if (e->bad || e->op == OP_COUNT)
        return poison(L, e->span);
    int in[64 + 8], nin = 0, *inp = in;
    int nt = e->ntensors;
    if (nt > 64)
        inp = arena_alloc(L->arena, (size_t)(nt + 8) * sizeof *inp);
    int bad = 0;
    for (int i = 0; i < nt; i++) {
        inp[nin++] = lower_expr(L, e->tensors[i]);
        bad |= L->ir->nodes[inp[nin - 1]].poison;
    }
    if (bad)
        return poison(L, e->span);

    int first_param = L->ir->n;
    int nparams = 0;
    ParamRole roles[8];
    if (op_info[e->op].kind == K_LAYER) {
        nparams = layer_params(e->op, e->args, roles);
        for (int i = 0; i < nparams; i++) {
            int id = ir_add(L->ir, OP_PARAM, NULL, 0, NULL, e->span);
            IrNode *p = &L->ir->nodes[id];
            p->role = roles[i];
            p->param = arena_printf(L->arena, "%s.%s", e->prefix, role_names[roles[i]]);
            p->name = p->param;
            p->trainable = roles[i] == PR_WEIGHT || roles[i] == PR_BIAS;
            p->dtype = roles[i] == PR_NUM_BATCHES_TRACKED ? DT_I64 : DT_F32;
            inp[nin++] = id;
        }
    }
    int id = ir_add(L->ir, e->op, inp, nin, e->args, e->span);
    for (int i = 0; i < nparams; i++)
        L->ir->nodes[first_param + i].layer = id;
    L->ir->nodes[id].name = e->value_name;
    return id;
}

static int lower_expr(Lower *L, Ast *e)
{
    if (e->ir_id >= 0)
        return e->ir_id;
    int id;
    switch (e->kind) {
    case AST_NAME:
        id = e->binding && e->binding->ir_id >= 0 ? e->binding->ir_id : poison(L, e->span);
        break;
    case AST_CALL:
        id = lower_call(L, e);
        break;
    case AST_PIPE:
        id = lower_expr(L, e->lhs);
        for (int i = 0; i < e->list.n; i++)
            id = lower_expr(L, e->list.items[i]);
        break;
    case AST_ADD:
    case AST_MUL: {
        int in[2];
        in[0] = lower_expr(L, e->lhs);
        in[1] = lower_expr(L, e->rhs);
        if (L->ir->nodes[in[0]].poison || L->ir->nodes[in[1]].poison)
            id = poison(L, e->span);
        else
            id = ir_add(L->ir, e->kind == AST_ADD ? OP_ADD : OP_MUL, in, 2, NULL, e->span);
        break;
    }
    default:
        id = poison(L, e->span);
        break;
    }
    e->ir_id = id;
    return id;
}

static int lower_decl(Lower *L, Stmt *s)
{
    int id = ir_add(L->ir, s->kind == ST_INPUT ? OP_INPUT : OP_TARGET, NULL, 0, NULL, s->name_span);
    IrNode *n = &L->ir->nodes[id];
    n->name = s->name;
    n->dtype = strcmp(s->type_name, "class") == 0 ? DT_CLASS : DT_F32;
    n->shape.rank = s->dims->list.n;
    n->shape_known = 1;
    for (int i = 0; i < n->shape.rank && i < IR_MAX_RANK; i++) {
        /* sema has reported any dimension outside 1..2^24 (s->bad) */
        double d = s->dims->list.items[i]->num;
        n->shape.d[i] = d >= 1 && d <= 16777216.0 ? (int64_t)d : 1;
        if (!(d >= 1 && d <= 16777216.0))
            n->poison = 1;
    }
    if (n->shape.rank > IR_MAX_RANK || n->shape.rank == 0 || s->bad)
        n->poison = 1;
    return id;
}

Ir *lower_module(Arena *a, Module *m)
{
    Lower L;
    L.arena = a;
    L.ir = ir_new(a, m->name);
    L.ir->train = m->train_args;
    if (m->optimizer && m->optimizer->expr->kind == AST_CALL && m->optimizer->expr->op != OP_COUNT) {
        Value *v = arena_alloc(a, sizeof *v);
        v->kind = V_CALL;
        v->op = m->optimizer->expr->op;
        v->args = m->optimizer->expr->args;
        v->span = m->optimizer->expr->span;
        L.ir->optimizer = v;
    }
    for (int i = 0; i < m->n; i++) {
        Stmt *s = m->stmts[i];
        switch (s->kind) {
        case ST_INPUT:
        case ST_TARGET:
            s->ir_id = lower_decl(&L, s);
            break;
        case ST_LET:
        case ST_OUTPUT:
            s->ir_id = lower_expr(&L, s->expr);
            if (s->name && s->expr->kind != AST_NAME)
                L.ir->nodes[s->ir_id].name = s->name;
            if (s == m->output)
                L.ir->output = s->ir_id;
            break;
        case ST_LOSS:
            if (s->expr->kind == AST_CALL && s == m->loss) {
                L.ir->loss_span = s->span;
                L.ir->loss = lower_expr(&L, s->expr);
                L.ir->nodes[L.ir->loss].name = "loss";
            }
            break;
        case ST_OPTIMIZER:
        case ST_TRAIN:
            break;
        }
    }
    /* Inference returns the prediction the loss is computed from, unless
     * the model says otherwise (spec section 3). */
    if (L.ir->output < 0 && L.ir->loss >= 0 && !L.ir->nodes[L.ir->loss].poison)
        L.ir->output = L.ir->nodes[L.ir->loss].in[0];
    return L.ir;
}

/* ---- the 1-D operators as 2-D ones (lower_1d) ---------------------------- */

Op lower_1d_op(Op op)
{
    return op_impl[op]->is_1d ? op_impl[op]->as_2d : op;
}

/* The arguments of op2 (the 2-D operator) from those of op1 (the 1-D one,
 * whose argument names are a subset): an integer n of a pair argument
 * becomes [1, n], a padding [0, n] (`same` stays `same`); the rest are
 * copied. */
static const Value *args_2d(Arena *a, Op op2, Op op1, const Value *args1)
{
    const OpInfo *oi = &op_info[op2];
    Value *v = arena_alloc(a, (size_t)oi->nargs * sizeof *v);
    for (int i = 0; i < oi->nargs; i++) {
        const ArgSpec *as = &oi->args[i];
        int j = op_arg_index(op1, as->name);
        if (j < 0)
            diag_internal("lower_1d", "%s has no argument %s of %s", op_info[op1].name, as->name, oi->name);
        v[i] = args1[j];
        if ((as->type == AT_INT2 || as->type == AT_PAD) && v[i].kind == V_NUM) {
            v[i].kind = V_LIST;
            v[i].n = 2;
            v[i].list = arena_alloc(a, 2 * sizeof *v[i].list);
            v[i].list[0] = strcmp(as->name, "padding") == 0 ? 0 : 1;
            v[i].list[1] = args1[j].num;
        }
    }
    return v;
}

typedef struct {
    Ir *from, *to;
    int *map;  /* old id -> new id of the same value, or -1 until asked (get()) */
    int *map3; /* old id -> new id of the value as [C, 1, L], or -1 */
} Lower1d;

/* A reshape of new node x to shape s: a view, no copy (ir_view_of). */
static int view(Ir *to, int x, const Shape *s, Span sp, const char *name)
{
    Value *v = arena_alloc(to->arena, sizeof *v);
    v->kind = V_LIST;
    v->n = s->rank;
    v->list = arena_alloc(to->arena, (size_t)s->rank * sizeof *v->list);
    for (int i = 0; i < s->rank; i++)
        v->list[i] = (double)s->d[i];
    v->span = sp;
    int id = ir_add(to, OP_RESHAPE, &x, 1, v, sp);
    IrNode *n = &to->nodes[id];
    n->shape = *s;
    n->shape_known = 1;
    n->dtype = DT_F32;
    n->batched = 1;
    n->name = name;
    return id;
}

/* The new id of old node i's value in its own shape, made (a view of its
 * [C, 1, L] form) on first use. */
static int get(Lower1d *L, int i)
{
    if (L->map[i] < 0) {
        const IrNode *o = &L->from->nodes[i];
        L->map[i] = view(L->to, L->map3[i], &o->shape, o->span, o->name);
    }
    return L->map[i];
}

/* The new id of old node i's value as [C, 1, L] (i is [C, L]). */
static int get3(Lower1d *L, int i)
{
    if (L->map3[i] < 0) {
        const IrNode *o = &L->from->nodes[i];
        Shape s = {3, {o->shape.d[0], 1, o->shape.d[1]}};
        L->map3[i] = view(L->to, get(L, i), &s, o->span, NULL);
    }
    return L->map3[i];
}

/* Copy old node i with op and inputs in, shape s. */
static int copy(Lower1d *L, int i, Op op, const int *in, const Value *args, const Shape *s)
{
    const IrNode *o = &L->from->nodes[i];
    int id = ir_add(L->to, op, in, o->nin, args, o->span);
    IrNode *n = &L->to->nodes[id];
    int *ins = n->in;
    *n = *o;
    n->op = op;
    n->in = ins;
    n->args = args;
    n->shape = *s;
    return id;
}

/* Does node n of ir need lower_1d? */
static int is_1d(const Ir *ir, const IrNode *n)
{
    if (n->poison)
        return 0;
    return lower_1d_op(n->op) != n->op || (n->op == OP_GLOBAL_AVGPOOL && ir->nodes[n->in[0]].shape.rank == 2);
}

int lower_1d(Ir *ir)
{
    int any = 0;
    for (int i = 0; i < ir->n && !any; i++)
        any = is_1d(ir, &ir->nodes[i]);
    if (!any)
        return 0; /* the IR stays as it is, node for node */
    Lower1d L;
    L.from = ir;
    L.to = ir_new(ir->arena, ir->model);
    L.map = arena_alloc(ir->arena, (size_t)(ir->n + 1) * sizeof *L.map);
    L.map3 = arena_alloc(ir->arena, (size_t)(ir->n + 1) * sizeof *L.map3);
    int *node_of = arena_alloc(ir->arena, (size_t)(ir->n + 1) * sizeof *node_of); /* a layer's own node */
    int made = 0, in[64 + 8], *inp = in;
    for (int i = 0; i < ir->n; i++)
        L.map[i] = L.map3[i] = -1;
    for (int i = 0; i < ir->n; i++) {
        const IrNode *o = &ir->nodes[i];
        if (o->nin > 64)
            inp = arena_alloc(ir->arena, (size_t)o->nin * sizeof *inp);
        /* A unary element-wise function of a value computed as [C, 1, L]
         * runs on that form too, so that the 2-D fusions (an activation in
         * the conv2d kernel, conv2d + activation + maxpool) still see it. */
        int lift = !o->poison && o->nin == 1 && L.map3[o->in[0]] >= 0 && op_info[o->op].kind == K_FUNC &&
                   op_elementwise(o->op);
        if (is_1d(ir, o)) {
            /* the 2-D operator on [C, 1, L]; global_avgpool's [C, L] -> [C]
             * is its 2-D kernel's [C, 1, L] -> [C] */
            Op op2 = lower_1d_op(o->op);
            inp[0] = get3(&L, o->in[0]);
            for (int j = 1; j < o->nin; j++)
                inp[j] = get(&L, o->in[j]);
            if (op2 == o->op) {
                L.map[i] = node_of[i] = copy(&L, i, o->op, inp, o->args, &o->shape);
            } else {
                Shape s = {3, {o->shape.d[0], 1, o->shape.d[1]}};
                L.map3[i] = node_of[i] = copy(&L, i, op2, inp, args_2d(ir->arena, op2, o->op, o->args), &s);
            }
            made++;
        } else if (lift) {
            inp[0] = L.map3[o->in[0]];
            L.map3[i] = node_of[i] = copy(&L, i, o->op, inp, o->args, &L.to->nodes[inp[0]].shape);
        } else {
            for (int j = 0; j < o->nin; j++)
                inp[j] = get(&L, o->in[j]);
            L.map[i] = node_of[i] = copy(&L, i, o->op, inp, o->args, &o->shape);
        }
    }
    /* parameters belong to the layer's node; the output and the loss are
     * values in their own shapes */
    for (int i = 0; i < L.to->n; i++)
        if (L.to->nodes[i].op == OP_PARAM)
            L.to->nodes[i].layer = node_of[L.to->nodes[i].layer];
    int output = ir->output >= 0 ? get(&L, ir->output) : -1;
    int loss = ir->loss >= 0 ? get(&L, ir->loss) : -1;
    ir->nodes = L.to->nodes;
    ir->n = L.to->n;
    ir->cap = L.to->cap;
    ir->output = output;
    ir->loss = loss;
    ir->nforward = ir->n;
    return made;
}
