/*
 * lower.c: one pass from the annotated AST to the IR.
 *
 * Assumes sema ran (errors or not): resolved calls carry op, args, tensors
 * and a parameter prefix.  Guarantees a topologically ordered IR in which
 * each value is computed once, however often its name is used.
 */
#include "lower.h"

#include <string.h>

typedef struct {
    Ir *ir;
    Arena *arena;
} Lower;

/* The parameters a layer owns, in PyTorch's state_dict order. */
static int layer_params(Op op, const Value *args, ParamRole *roles)
{
    int n = 0;
    switch (op) {
    case OP_DENSE:
    case OP_CONV2D:
        roles[n++] = PR_WEIGHT;
        if (op_num(op, args, "bias") != 0)
            roles[n++] = PR_BIAS;
        break;
    case OP_BATCHNORM:
        roles[n++] = PR_WEIGHT;
        roles[n++] = PR_BIAS;
        roles[n++] = PR_RUNNING_MEAN;
        roles[n++] = PR_RUNNING_VAR;
        roles[n++] = PR_NUM_BATCHES_TRACKED;
        break;
    case OP_LAYERNORM:
        roles[n++] = PR_WEIGHT;
        roles[n++] = PR_BIAS;
        break;
    case OP_PRELU:
        roles[n++] = PR_WEIGHT;
        break;
    default:
        diag_internal("lower", "%s is not a layer with parameters", op_info[op].name);
    }
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
