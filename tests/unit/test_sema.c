/*
 * test_sema.c: semantic analysis (spec sections 3, 4 and 5): name binding,
 * argument binding with PyTorch's defaults, range checks, "did you mean"
 * hints, statement rules, and parameter naming as spec section 4 says,
 * checked through the OP_PARAM nodes of the IR after compile_front.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Compile
 *     model m { input x : f32[4]  input img : f32[3, 8, 8]
 *               target t : f32[4]  target y : class[4]  BODY }
 * and expect it to be rejected. */
static void expect_rejected(TestCompile *t, const char *body)
{
    tc_compilef(t, "model m {\n  input x : f32[4]\n  input img : f32[3, 8, 8]\n"
                   "  target t : f32[4]\n  target y : class[4]\n%s\n}\n", body);
    ck_assert_msg(t->rc == 1, "accepted, but should not be:\n%s", body);
}

/* ---- name binding ------------------------------------------------------------ */

START_TEST(test_each_name_bound_once)
{
    TestCompile t;
    tc_compile(&t, "model m {\n"
                   "  input x : f32[4]\n"
                   "  h = x -> relu\n"
                   "  h = x -> tanh\n"
                   "  x = h\n"
                   "  output o = h\n"
                   "}\n");
    ck_assert_int_eq(t.rc, 1);
    ck_assert_has(t.diags, "t.nn:4:3: error: `h` is already defined\n");
    ck_assert_has(t.diags, "t.nn:3:3: note: first defined here\n");
    ck_assert_has(t.diags, "t.nn:5:3: error: `x` is already defined\n");
    ck_assert_has(t.diags, "t.nn:2:9: note: first defined here\n");
    ck_assert_int_eq(t.c.diag.nerrors, 2);
    tc_free(&t);

    /* An input and a target cannot share a name either. */
    tc_compile(&t, "model m {\n  input x : f32[4]\n  target x : f32[4]\n  output x\n}\n");
    ck_assert_has(t.diags, "t.nn:3:10: error: `x` is already defined");
    tc_free(&t);
}
END_TEST

START_TEST(test_defined_before_use)
{
    TestCompile t;
    tc_compile(&t, "model m {\n"
                   "  input x : f32[4]\n"
                   "  b = c -> relu\n"
                   "  c = x -> relu\n"
                   "  output o = b + c\n"
                   "}\n");
    ck_assert_int_eq(t.rc, 1);
    ck_assert_has(t.diags, "t.nn:3:7: error: `c` is used before it is defined\n");
    ck_assert_has(t.diags, "t.nn:4:3: note: `c` is defined here\n");
    tc_free(&t);

    /* A value cannot refer to itself. */
    tc_compile(&t, "model m {\n  input x : f32[4]\n  h = h -> relu\n  output h\n}\n");
    ck_assert_int_eq(t.rc, 1);
    ck_assert_has(t.diags, "t.nn:3:7: error:");
    tc_free(&t);
}
END_TEST

START_TEST(test_binding_annotations)
{
    TestCompile t;
    ck_assert_int_eq(tc_sema(&t, "model m {\n"
                                 "  input x : f32[4]\n"
                                 "  target y : class[3]\n"
                                 "  h = x -> fc: dense(3)\n"
                                 "  loss cross_entropy(h, y)\n"
                                 "  optimizer sgd(lr = 0.1)\n"
                                 "}\n"),
                     0);
    Module *m = t.c.module;
    Ast *pipe = m->stmts[2]->expr;
    ck_assert_ptr_eq(pipe->lhs->binding, m->stmts[0]);
    Ast *fc = pipe->list.items[0];
    ck_assert_int_eq(fc->op, OP_DENSE);
    ck_assert_int_eq(fc->ntensors, 1);
    ck_assert_ptr_eq(fc->tensors[0], pipe->lhs);
    ck_assert_str_eq(fc->prefix, "fc");
    ck_assert_ptr_eq(m->loss, m->stmts[3]);
    ck_assert_ptr_eq(m->optimizer, m->stmts[4]);
    ck_assert_ptr_null(m->output);
    Ast *ce = m->loss->expr;
    ck_assert_int_eq(ce->op, OP_CROSS_ENTROPY);
    ck_assert_int_eq(ce->ntensors, 2);
    ck_assert_ptr_eq(ce->tensors[0]->binding, m->stmts[2]);
    ck_assert_ptr_eq(ce->tensors[1]->binding, m->stmts[1]);
    ck_assert_int_eq(m->stmts[0]->used, 1);
    tc_free(&t);
}
END_TEST

START_TEST(test_targets_only_in_loss)
{
    TestCompile t;
    expect_rejected(&t, "  output o = y -> relu");
    ck_assert_has(t.diags, "t.nn:6:14: error: target `y` can only be used as the target of the loss");
    tc_free(&t);

    expect_rejected(&t, "  loss mse(x, x)\n  optimizer sgd(lr = 0.1)");
    ck_assert_has(t.diags, "t.nn:6:15: error: the second operand of mse must be a `target`");
    tc_free(&t);

    expect_rejected(&t, "  loss mse(t, t)\n  optimizer sgd(lr = 0.1)");
    ck_assert_has(t.diags, "t.nn:6:12: error: ");
    ck_assert_has(t.diags, "target `t`");
    tc_free(&t);
}
END_TEST

/* ---- argument binding ----------------------------------------------------------- */

/* The resolved arguments of the (only) stage of `output o = x -> l: EXPR`. */
static const Value *stage_args(TestCompile *t, const char *input, const char *stage, Op *op)
{
    char src[512];
    snprintf(src, sizeof src, "model m {\n  input x : %s\n  output o = x -> %s\n}\n", input, stage);
    ck_assert_msg(tc_sema(t, src) == 0, "%s\n%s", stage, t->diags);
    Ast *call = t->c.module->stmts[1]->expr->list.items[0];
    *op = call->op;
    ck_assert_ptr_nonnull(call->args);
    return call->args;
}

static double num_arg(Op op, const Value *args, const char *name)
{
    const Value *v = op_arg(op, args, name);
    ck_assert_msg(v->kind == V_NUM, "%s of %s is not a number", name, op_info[op].name);
    return v->num;
}

START_TEST(test_positional_then_keyword)
{
    TestCompile t;
    Op op;
    const Value *a = stage_args(&t, "f32[3, 9, 9]", "conv: conv2d(6, 5, 2, padding = 1, groups = 3)", &op);
    ck_assert_int_eq(op, OP_CONV2D);
    ck_assert_double_eq(num_arg(op, a, "filters"), 6);
    ck_assert_double_eq(num_arg(op, a, "kernel"), 5);
    ck_assert_double_eq(num_arg(op, a, "stride"), 2);
    ck_assert_double_eq(num_arg(op, a, "padding"), 1);
    ck_assert_double_eq(num_arg(op, a, "dilation"), 1);
    ck_assert_double_eq(num_arg(op, a, "groups"), 3);
    ck_assert_int_eq(op_arg(op, a, "kernel")->is_default, 0);
    ck_assert_int_eq(op_arg(op, a, "dilation")->is_default, 1);
    tc_free(&t);

    /* Keywords in any order. */
    a = stage_args(&t, "f32[3, 9, 9]", "conv: conv2d(kernel = [3, 5], filters = 4)", &op);
    ck_assert_double_eq(num_arg(op, a, "filters"), 4);
    const Value *k = op_arg(op, a, "kernel");
    ck_assert_int_eq(k->kind, V_LIST);
    ck_assert_int_eq(k->n, 2);
    ck_assert_double_eq(k->list[0], 3);
    ck_assert_double_eq(k->list[1], 5);
    tc_free(&t);

    /* Direct call: tensors first, then the arguments. */
    ck_assert_int_eq(tc_sema(&t, "model m {\n  input a : f32[4]\n  input b : f32[4]\n"
                                 "  v = dense(a, 10, bias = false)\n"
                                 "  c = concat(v, a, b, axis = -1)\n  output c\n}\n"),
                     0);
    Ast *v = t.c.module->stmts[2]->expr;
    ck_assert_int_eq(v->ntensors, 1);
    ck_assert_double_eq(op_num(OP_DENSE, v->args, "units"), 10);
    ck_assert_double_eq(op_num(OP_DENSE, v->args, "bias"), 0);
    Ast *c = t.c.module->stmts[3]->expr;
    ck_assert_int_eq(c->op, OP_CONCAT);
    ck_assert_int_eq(c->ntensors, 3);
    ck_assert_double_eq(op_num(OP_CONCAT, c->args, "axis"), -1);
    tc_free(&t);
}
END_TEST

/* Pools: stride defaults to the kernel, whatever form the kernel takes. */
START_TEST(test_pool_stride_defaults_to_kernel)
{
    TestCompile t;
    Op op;
    const Value *a = stage_args(&t, "f32[1, 9, 9]", "maxpool(3)", &op);
    ck_assert_double_eq(num_arg(op, a, "stride"), 3);
    ck_assert_int_eq(op_arg(op, a, "stride")->is_default, 1);
    ck_assert_double_eq(num_arg(op, a, "padding"), 0);
    tc_free(&t);

    a = stage_args(&t, "f32[1, 9, 9]", "avgpool([2, 3], padding = 1)", &op);
    const Value *s = op_arg(op, a, "stride");
    ck_assert_int_eq(s->kind, V_LIST);
    ck_assert_double_eq(s->list[0], 2);
    ck_assert_double_eq(s->list[1], 3);
    tc_free(&t);

    a = stage_args(&t, "f32[1, 9, 9]", "maxpool(kernel = 3, stride = 1)", &op);
    ck_assert_double_eq(num_arg(op, a, "stride"), 1);
    ck_assert_int_eq(op_arg(op, a, "stride")->is_default, 0);
    tc_free(&t);

    a = stage_args(&t, "f32[1, 9, 9]", "lppool(kernel = 4)", &op);
    ck_assert_int_eq(op, OP_LPPOOL);
    ck_assert_double_eq(num_arg(op, a, "p"), 2);
    ck_assert_double_eq(num_arg(op, a, "stride"), 4);
    tc_free(&t);

    a = stage_args(&t, "f32[1, 9, 9]", "lppool(1, 2)", &op); /* p, then kernel */
    ck_assert_double_eq(num_arg(op, a, "p"), 1);
    ck_assert_double_eq(num_arg(op, a, "kernel"), 2);
    ck_assert_double_eq(num_arg(op, a, "stride"), 2);
    tc_free(&t);
}
END_TEST

/* Defaults are PyTorch's (torch 1.13), as spec sections 5-7 list them. */
typedef struct {
    const char *stage;  /* a stage applied to x : f32[4, 6, 6] */
    const char *arg;
    double want;
} DefaultCase;

static const DefaultCase defaults[] = {
    {"leaky_relu", "negative_slope", 0.01},
    {"rrelu", "lower", 0.125},
    {"rrelu", "upper", 0.3333333},
    {"elu", "alpha", 1},
    {"celu", "alpha", 1},
    {"hardtanh", "min_val", -1},
    {"hardtanh", "max_val", 1},
    {"softplus", "beta", 1},
    {"softplus", "threshold", 20},
    {"hardshrink", "lambd", 0.5},
    {"softshrink", "lambd", 0.5},
    {"glu", "dim", -1},
    {"softmax", "dim", -1},
    {"log_softmax", "dim", -1},
    {"dropout", "p", 0.5},
    {"bn: batchnorm", "momentum", 0.1},
    {"bn: batchnorm", "eps", 1e-5},
    {"ln: layernorm", "eps", 1e-5},
    {"pr: prelu", "num_parameters", 1},
    {"pr: prelu", "init", 0.25},
    {"c: conv2d(2, 3)", "stride", 1},
    {"c: conv2d(2, 3)", "padding", 0},
    {"c: conv2d(2, 3)", "dilation", 1},
    {"c: conv2d(2, 3)", "groups", 1},
    {"c: conv2d(2, 3)", "bias", 1},
    {"fc: dense(2)", "bias", 1},
    {"maxpool(2)", "padding", 0},
    {"avgpool(2)", "padding", 0},
    {"lppool(kernel = 2)", "p", 2},
};

START_TEST(test_layer_defaults)
{
    const DefaultCase *dc = &defaults[_i];
    TestCompile t;
    Op op;
    const Value *a = stage_args(&t, "f32[4, 6, 6]", dc->stage, &op);
    const Value *v = op_arg(op, a, dc->arg);
    ck_assert_msg(v->is_default, "%s: %s is not marked as a default", dc->stage, dc->arg);
    ck_assert_msg(v->kind == V_NUM || v->kind == V_BOOL, "%s: %s", dc->stage, dc->arg);
    /* The spec prints rrelu's upper as 0.3333333, PyTorch's 1/3. */
    ck_assert_msg(fabs(v->num - dc->want) <= 1e-7 * (1 + fabs(dc->want)), "%s: default %s is %.9g, spec says %.9g",
                  dc->stage, dc->arg, v->num, dc->want);
    tc_free(&t);
}
END_TEST

START_TEST(test_enum_and_init_defaults)
{
    TestCompile t;
    Op op;
    const Value *a = stage_args(&t, "f32[4]", "gelu", &op);
    ck_assert_int_eq(op_arg(op, a, "approximate")->kind, V_IDENT);
    ck_assert_str_eq(op_arg(op, a, "approximate")->ident, "none");
    tc_free(&t);
    a = stage_args(&t, "f32[4]", "gelu(approximate = tanh)", &op);
    ck_assert_str_eq(op_arg(op, a, "approximate")->ident, "tanh");
    tc_free(&t);

    a = stage_args(&t, "f32[4]", "fc: dense(3)", &op);
    ck_assert_int_eq(op_arg(op, a, "init")->kind, V_CALL);
    ck_assert_int_eq(op_arg(op, a, "init")->op, OP_INIT_DEFAULT);
    ck_assert_int_eq(op_arg(op, a, "bias_init")->op, OP_INIT_DEFAULT);
    tc_free(&t);

    a = stage_args(&t, "f32[4]", "fc: dense(3, init = normal(0.02), bias_init = zeros)", &op);
    const Value *init = op_arg(op, a, "init");
    ck_assert_int_eq(init->op, OP_INIT_NORMAL);
    ck_assert_double_eq(op_num(OP_INIT_NORMAL, init->args, "std"), 0.02);
    ck_assert_int_eq(op_arg(op, a, "bias_init")->op, OP_INIT_ZEROS);
    tc_free(&t);

    a = stage_args(&t, "f32[4]", "fc: dense(3, init = uniform(a = 0.1))", &op);
    ck_assert_double_eq(op_num(OP_INIT_UNIFORM, op_arg(op, a, "init")->args, "a"), 0.1);
    tc_free(&t);

    a = stage_args(&t, "f32[1, 4, 4]", "c: conv2d(2, 3, init = he_uniform, padding = same)", &op);
    ck_assert_int_eq(op_arg(op, a, "init")->op, OP_INIT_HE_UNIFORM);
    ck_assert_int_eq(op_arg(op, a, "padding")->kind, V_IDENT);
    ck_assert_str_eq(op_arg(op, a, "padding")->ident, "same");
    tc_free(&t);
}
END_TEST

typedef struct {
    const char *opt;
    const char *arg;
    double want;
} OptCase;

static const OptCase opt_defaults[] = {
    {"sgd(lr = 0.1)", "momentum", 0},
    {"sgd(lr = 0.1)", "dampening", 0},
    {"sgd(lr = 0.1)", "nesterov", 0},
    {"sgd(lr = 0.1)", "weight_decay", 0},
    {"adagrad", "lr", 0.01},
    {"adagrad", "lr_decay", 0},
    {"adagrad", "weight_decay", 0},
    {"adagrad", "eps", 1e-10},
    {"rmsprop", "lr", 0.01},
    {"rmsprop", "alpha", 0.99},
    {"rmsprop", "eps", 1e-8},
    {"rmsprop", "weight_decay", 0},
    {"rmsprop", "momentum", 0},
    {"rmsprop", "centered", 0},
    {"adadelta", "lr", 1.0},
    {"adadelta", "rho", 0.9},
    {"adadelta", "eps", 1e-6},
    {"adadelta", "weight_decay", 0},
    {"adam()", "lr", 0.001},
    {"adam()", "beta1", 0.9},
    {"adam()", "beta2", 0.999},
    {"adam()", "eps", 1e-8},
    {"adam()", "weight_decay", 0},
    {"adam()", "amsgrad", 0},
    {"adamw", "lr", 0.001},
    {"adamw", "beta1", 0.9},
    {"adamw", "beta2", 0.999},
    {"adamw", "eps", 1e-8},
    {"adamw", "weight_decay", 0.01},
};

START_TEST(test_optimizer_defaults)
{
    const OptCase *oc = &opt_defaults[_i];
    TestCompile t;
    tc_compilef(&t, "model m {\n  input x : f32[2]\n  target t : f32[2]\n  loss mse(x, t)\n  optimizer %s\n}\n",
                oc->opt);
    ck_assert_msg(t.rc == 0, "%s", t.diags);
    const Value *o = t.c.ir->optimizer;
    ck_assert_ptr_nonnull(o);
    const Value *v = op_arg(o->op, o->args, oc->arg);
    ck_assert(v->is_default);
    ck_assert_msg(v->num == oc->want, "%s: default %s is %g, spec says %g", oc->opt, oc->arg, v->num, oc->want);
    tc_free(&t);
}
END_TEST

START_TEST(test_loss_and_schedule_defaults)
{
    TestCompile t;
    tc_compile(&t, "model m {\n  input x : f32[2]\n  target t : f32[2]\n  loss huber(x, t)\n  optimizer sgd(lr = 1)\n"
                   "  train { lr_schedule = step(10) }\n}\n");
    ck_assert_msg(t.rc == 0, "%s", t.diags);
    const IrNode *loss = &t.c.ir->nodes[t.c.ir->loss];
    ck_assert_int_eq(loss->op, OP_HUBER);
    ck_assert_double_eq(op_num(OP_HUBER, loss->args, "delta"), 1.0);
    const Value *sched = op_arg(OP_TRAIN, t.c.ir->train, "lr_schedule");
    ck_assert_int_eq(sched->op, OP_SCHED_STEP);
    ck_assert_double_eq(op_num(OP_SCHED_STEP, sched->args, "step_size"), 10);
    ck_assert_double_eq(op_num(OP_SCHED_STEP, sched->args, "gamma"), 0.1);
    /* --batch defaults to the train block's batch, else 32 (spec 9). */
    ck_assert_double_eq(op_num(OP_TRAIN, t.c.ir->train, "batch"), 32);
    tc_free(&t);

    tc_compile(&t, "model m {\n  input x : f32[2]\n  target y : class[2]\n  loss cross_entropy(x, y)\n"
                   "  optimizer adam\n  train { batch = 8 epochs = 2, lr_schedule = cosine(t_max = 5) }\n}\n");
    ck_assert_msg(t.rc == 0, "%s", t.diags);
    loss = &t.c.ir->nodes[t.c.ir->loss];
    ck_assert_double_eq(op_num(OP_CROSS_ENTROPY, loss->args, "label_smoothing"), 0);
    sched = op_arg(OP_TRAIN, t.c.ir->train, "lr_schedule");
    ck_assert_int_eq(sched->op, OP_SCHED_COSINE);
    ck_assert_double_eq(op_num(OP_SCHED_COSINE, sched->args, "t_max"), 5);
    ck_assert_double_eq(op_num(OP_SCHED_COSINE, sched->args, "eta_min"), 0);
    ck_assert_double_eq(op_num(OP_TRAIN, t.c.ir->train, "batch"), 8);
    ck_assert_double_eq(op_num(OP_TRAIN, t.c.ir->train, "epochs"), 2);
    tc_free(&t);

    /* A model without a train block still has its defaults. */
    tc_compile(&t, "model m {\n  input x : f32[2]\n  target t : f32[2]\n  loss l1(x, t)\n  optimizer adam\n}\n");
    ck_assert_msg(t.rc == 0, "%s", t.diags);
    ck_assert_double_eq(op_num(OP_TRAIN, t.c.ir->train, "batch"), 32);
    ck_assert_int_eq(op_arg(OP_TRAIN, t.c.ir->train, "lr_schedule")->op, OP_SCHED_CONSTANT);
    tc_free(&t);
}
END_TEST

/* Optimizer arguments bind like any call's: positional, then keyword. */
START_TEST(test_optimizer_positional)
{
    TestCompile t;
    tc_compile(&t, "model m {\n  input x : f32[2]\n  target t : f32[2]\n  loss mse(x, t)\n"
                   "  optimizer sgd(0.1, 0.9, nesterov = true)\n}\n");
    ck_assert_msg(t.rc == 0, "%s", t.diags);
    const Value *o = t.c.ir->optimizer;
    ck_assert_int_eq(o->op, OP_OPT_SGD);
    ck_assert_double_eq(op_num(OP_OPT_SGD, o->args, "lr"), 0.1);
    ck_assert_double_eq(op_num(OP_OPT_SGD, o->args, "momentum"), 0.9);
    ck_assert_double_eq(op_num(OP_OPT_SGD, o->args, "nesterov"), 1);
    ck_assert_double_eq(op_num(OP_OPT_SGD, o->args, "dampening"), 0);
    tc_free(&t);
}
END_TEST

/* `step` is the unit-step function in a pipeline and a schedule in train. */
START_TEST(test_step_function_and_schedule)
{
    TestCompile t;
    tc_compile(&t, "model m {\n  input x : f32[2]\n  target t : f32[2]\n  h = x -> step\n  loss mse(h, t)\n"
                   "  optimizer sgd(lr = 1)\n  train { lr_schedule = step(3, gamma = 0.5) }\n}\n");
    ck_assert_msg(t.rc == 0, "%s", t.diags);
    ck_assert_int_eq(tc_node(&t, "h")->op, OP_STEP);
    const Value *sched = op_arg(OP_TRAIN, t.c.ir->train, "lr_schedule");
    ck_assert_int_eq(sched->op, OP_SCHED_STEP);
    ck_assert_double_eq(op_num(OP_SCHED_STEP, sched->args, "gamma"), 0.5);
    tc_free(&t);
}
END_TEST

/* ---- errors: arguments, ranges, hints ----------------------------------------------- */

typedef struct {
    const char *body;   /* statements added to the model of expect_rejected */
    const char *want;   /* a substring of the diagnostics */
} ErrCase;

static const ErrCase arg_errors[] = {
    /* binding */
    {"  output o = x -> fc: dense(units = 3, 4)", "t.nn:6:40: error: positional argument after keyword arguments"},
    {"  output o = x -> fc: dense(10, units = 5)", "argument `units` of dense is given twice"},
    {"  output o = x -> relu(3)", "t.nn:6:24: error: too many arguments to relu"},
    {"  output o = x -> fc: dense", "t.nn:6:23: error: dense needs `units`"},
    {"  output o = x -> threshold(0.5)", "threshold needs `value`"},
    {"  output o = x -> normalize(std = 2)", "normalize needs `mean`"},
    {"  output o = img -> c: conv2d(4, kernal = 3)", "conv2d has no argument `kernal`\n"},
    {"  output o = img -> c: conv2d(4, kernal = 3)", "hint: did you mean `kernel`?"},
    {"  output o = img -> c: conv2d(4, 3, colour = 3)", "hint: conv2d takes conv2d(filters, kernel, stride = 1, "},
    {"  output o = add(x)", "add takes 2 tensor operands, got 1"},
    {"  output o = concat(x, axis = 0)", "concat takes two or more tensors, got 1"},
    {"  output o = relu", "hint: `relu` is a function: apply it with `x -> relu`"},
    {"  output o = x + 1", "expected a tensor, found a number"},
    /* types */
    {"  output o = x -> fc: dense(2.5)", "t.nn:6:29: error: `units` of dense must be an integer, got 2.5"},
    {"  output o = x -> fc: dense(x)", "dense takes 1 tensor operand, got 2"},
    {"  output o = x -> fc: dense(3, bias = 1)", "`bias` of dense must be true or false, found a number"},
    {"  output o = x -> gelu(approximate = fast)", "`approximate` of gelu must be `none` or `tanh`, found `fast`"},
    {"  output o = img -> c: conv2d(4, kernel = [3, 3, 3])", "`kernel` of conv2d takes one integer or a list of two, [h, w]; got a list of 3"},
    {"  output o = img -> c: conv2d(4, 3, padding = valid)", "`padding` of conv2d must be an integer, [h, w] or `same`"},
    {"  output o = x -> reshape([-1, -1])", "only one dimension of reshape may be -1"},
    {"  output o = x -> reshape([0, 4])", "a dimension must be between 1 and 16777216"},
    {"  output o = x -> reshape(4)", "`shape` of reshape must be a list of dimensions"},
    {"  output o = x -> fc: dense(3, init = 0.5)", "expected an initialiser such as he_normal, found a number"},
    {"  output o = x -> fc: dense(3, init = normal)", "normal needs `std`"},
    {"  output o = x -> softmax(dim = 1e999)", "`dim` of softmax must be a finite number, got 1e999"},
    /* ranges */
    {"  output o = x -> fc: dense(0)", "t.nn:6:29: error: `units` of dense must be between 1 and 16777216, got 0"},
    {"  output o = x -> fc: dense(16777217)", "`units` of dense must be between 1 and 16777216"},
    {"  output o = x -> dropout(p = 1.5)", "`p` of dropout must be between 0 and 1, got 1.5"},
    {"  output o = x -> dropout(-0.1)", "`p` of dropout must be between 0 and 1, got -0.1"},
    {"  output o = img -> c: conv2d(4, kernel = 0)", "`kernel` of conv2d must be between 1 and 16777216, got 0"},
    {"  output o = img -> c: conv2d(4, 3, padding = -1)", "`padding` of conv2d must be between 0 and 16777216, got -1"},
    {"  output o = img -> c: conv2d(4, 3, stride = [1, 0])", "`stride` of conv2d must be between 1 and 16777216, got 0"},
    {"  output o = img -> c: conv2d(4, 3, dilation = 0)", "`dilation` of conv2d must be between 1 and 16777216, got 0"},
    {"  output o = img -> c: conv2d(4, 3, groups = 0)", "`groups` of conv2d must be between 1 and 16777216, got 0"},
    {"  output o = img -> c: conv2d(4, 3, stride = 2, padding = same)", "padding = same needs stride 1"},
    {"  output o = img -> maxpool(0)", "`kernel` of maxpool must be between 1 and 16777216, got 0"},
    {"  output o = img -> bn: batchnorm(momentum = 2)", "`momentum` of batchnorm must be between 0 and 1, got 2"},
    {"  output o = img -> bn: batchnorm(eps = 0)", "`eps` of batchnorm must be greater than 0, got 0"},
    {"  output o = x -> hardtanh(min_val = 1, max_val = -1)", "hardtanh needs min_val < max_val"},
    {"  output o = x -> rrelu(lower = 0.5, upper = 0.25)", "rrelu needs lower <= upper"},
    {"  output o = x -> normalize(0.5, 0)", "normalize's std must not be 0"},
    {"  output o = x -> softmax(dim = 100)", "`dim` of softmax is out of range"},
    {"  loss cross_entropy(x, y, label_smoothing = 1.5)\n  optimizer adam",
     "`label_smoothing` of cross_entropy must be between 0 and 1, got 1.5"},
    {"  loss huber(x, t, delta = 0)\n  optimizer adam", "`delta` of huber must be greater than 0, got 0"},
    {"  loss mse(x, t)\n  optimizer sgd(lr = -1)", "`lr` of sgd must be at least 0, got -1"},
    {"  loss mse(x, t)\n  optimizer sgd", "sgd needs `lr`"},
    {"  loss mse(x, t)\n  optimizer adam(beta1 = 1)", "`beta1` of adam must be at least 0 and less than 1, got 1"},
    {"  loss mse(x, t)\n  optimizer sgd(lr = 0.1, nesterov = true)", "nesterov momentum needs momentum > 0 and dampening = 0"},
    {"  loss mse(x, t)\n  optimizer adam\n  train { batch = 0 }", "`batch` of train must be between 1 and 16777216, got 0"},
    {"  loss mse(x, t)\n  optimizer adam\n  train { seed = -1 }", "`seed` of train must be between 0 and 2^53, got -1"},
    {"  loss mse(x, t)\n  optimizer adam\n  train { bacth = 8 }", "hint: did you mean `batch`?"},
    {"  loss mse(x, t)\n  optimizer adam\n  train { lr_schedule = cosin(5) }", "hint: did you mean `cosine`?"},
    {"  loss mse(x, t)\n  optimizer adam\n  train { lr_schedule = exponential }", "exponential needs `gamma`"},
    {"  loss mse(x, t)\n  optimizer adam\n  train { lr_schedule = cosine }", "cosine needs `t_max`"},
    {"  loss mse(x, t)\n  optimizer adam\n  train { shuffle = 1 }", "`shuffle` of train must be true or false"},
    {"  loss mse(x, t)\n  optimizer adam\n  train { batch = 1, batch = 2 }", "argument `batch` of train is given twice"},
    {"  loss mse(x, t, t)\n  optimizer adam", "mse takes 2 tensor operands, got 3"},
    /* did you mean */
    {"  output o = x -> dens(3)", "t.nn:6:19: error: unknown layer or function `dens`\n"},
    {"  output o = x -> dens(3)", "hint: did you mean `dense`?"},
    {"  output o = x -> rellu", "hint: did you mean `relu`?"},
    {"  output o = x -> softmx", "hint: did you mean `softmax`?"},
    {"  output o = x -> fc: dense(3, init = he_norml)", "unknown initialiser `he_norml`"},
    {"  output o = x -> fc: dense(3, init = he_norml)", "hint: did you mean `he_normal`?"},
    {"  loss cross_entropi(x, y)\n  optimizer adam", "unknown loss `cross_entropi`"},
    {"  loss cross_entropi(x, y)\n  optimizer adam", "hint: did you mean `cross_entropy`?"},
    {"  loss mse(x, t)\n  optimizer adma", "unknown optimizer `adma`"},
    {"  loss mse(x, t)\n  optimizer adma", "hint: did you mean `adam`?"},
    {"  h = x -> relu\n  output o = hh -> relu", "t.nn:7:14: error: unknown name `hh`\n"},
    {"  h = x -> relu\n  output o = hh -> relu", "hint: did you mean `h`?"},
    {"  hidden = x -> relu\n  output o = hiden -> relu", "hint: did you mean `hidden`?"},
    /* wrong kind of name */
    {"  output o = x -> sgd", "`sgd` is an optimizer, not a layer or function"},
    {"  output o = x -> mse", "`mse` is a loss, not a layer or function"},
    {"  loss relu(x, t)\n  optimizer adam", "`relu` is a function, not a loss"},
    {"  loss mse(x, t)\n  optimizer dense(3)", "`dense` is a layer, not an optimizer"},
    {"  output o = x -> he_normal", "`he_normal` is an initialiser, not a layer or function"},
};

START_TEST(test_argument_errors)
{
    const ErrCase *ec = &arg_errors[_i];
    TestCompile t;
    expect_rejected(&t, ec->body);
    ck_assert_msg(strstr(t.diags, ec->want) != NULL, "case:\n%s\nexpected \"%s\" in:\n%s", ec->body, ec->want,
                  t.diags);
    tc_free(&t);
}
END_TEST

/* Statement-level rules of spec section 3. */
static const ErrCase stmt_errors[] = {
    {"  loss mse(x, t)", "a model with a loss needs an optimizer"},
    {"  output o = x\n  optimizer adam", "an optimizer needs a loss to minimise"},
    {"  output o = x\n  train { batch = 4 }", "a train block needs a loss"},
    {"  loss mse(x, t)\n  loss l1(x, t)\n  optimizer adam", "t.nn:7:3: error: a model has one `loss` statement; this is the second"},
    {"  loss mse(x, t)\n  optimizer adam\n  optimizer sgd(lr = 1)", "a model has one `optimizer` statement; this is the second"},
    {"  output o = x\n  output p = x -> relu", "a model has one `output` statement; this is the second"},
    {"  loss mse(x, t)\n  optimizer adam\n  train { }\n  train { }", "a model has one `train` statement; this is the second"},
    {"  h = x -> relu", "model `m` computes nothing: add an `output` or a `loss`"},
    {"  input z : f64[3]\n  output o = z", "t.nn:6:13: error: unknown type `f64`"},
    {"  input z : class[3]\n  output o = z", "class[K] is a target type; an input is f32[...]"},
    {"  target z : class[3, 2]\n  output o = x", "class[K] takes one number, the count of classes"},
    {"  input z : f32[0]\n  output o = z", "a dimension must be an integer between 1 and 16777216"},
    {"  input z : f32[2.5]\n  output o = z", "a dimension must be an integer between 1 and 16777216"},
    {"  input z : f32[]\n  output o = z", "a shape needs at least one dimension"},
    {"  input z : f32[1, 1, 1, 1, 1, 1, 1]\n  output o = z", "at most 6 dimensions per sample, got 7"},
    {"  loss mse(x, t)\n  optimizer fc: sgd(lr = 1)", "an optimizer takes no label"},
};

START_TEST(test_statement_errors)
{
    const ErrCase *ec = &stmt_errors[_i];
    TestCompile t;
    expect_rejected(&t, ec->body);
    ck_assert_msg(strstr(t.diags, ec->want) != NULL, "case:\n%s\nexpected \"%s\" in:\n%s", ec->body, ec->want,
                  t.diags);
    tc_free(&t);
}
END_TEST

START_TEST(test_no_input)
{
    TestCompile t;
    tc_compile(&t, "model empty {\n}\n");
    ck_assert_int_eq(t.rc, 1);
    ck_assert_has(t.diags, "t.nn:1:7: error: model `empty` has no input\n");
    ck_assert_has(t.diags, "hint: declare one, as in `input x : f32[784]`");
    tc_free(&t);
}
END_TEST

/* Unused values are warnings, not errors. */
START_TEST(test_unused_warnings)
{
    TestCompile t;
    tc_compile(&t, "model m {\n  input x : f32[4]\n  input z : f32[4]\n  h = x -> relu\n  output o = x -> tanh\n}\n");
    ck_assert_msg(t.rc == 0, "%s", t.diags);
    ck_assert_int_eq(t.c.diag.nwarnings, 2);
    ck_assert_has(t.diags, "t.nn:3:9: warning: input `z` is never used\n");
    ck_assert_has(t.diags, "t.nn:4:3: warning: `h` is computed but never used\n");
    tc_free(&t);
}
END_TEST

/* ---- parameter names (spec section 4) ------------------------------------------------ */

START_TEST(test_names_labels)
{
    TestCompile t;
    tc_compile(&t, "model m {\n  input x : f32[784]\n"
                   "  output o = x -> fc1: dense(256) -> relu -> fc2: dense(10)\n}\n");
    ck_assert_msg(t.rc == 0, "%s", t.diags);
    ck_assert_str_eq(tc_params(&t), "fc1.weight fc1.bias fc2.weight fc2.bias");
    ck_assert_str_eq(tc_shape(&t, tc_param(&t, "fc1.weight")), "[256, 784]");
    ck_assert_str_eq(tc_shape(&t, tc_param(&t, "fc2.bias")), "[10]");
    tc_free(&t);
}
END_TEST

/* Stage i of v = a -> s0 -> s1 ... is v.i, counting parameterless stages
 * and labelled ones; the head is not a stage. */
START_TEST(test_names_stage_index)
{
    TestCompile t;
    tc_compile(&t, "model m {\n  input x : f32[4]\n"
                   "  output b = x -> dense(3) -> act: relu -> dense(2) -> fc: dense(2) -> dense(1)\n}\n");
    ck_assert_msg(t.rc == 0, "%s", t.diags);
    ck_assert_str_eq(tc_params(&t), "b.0.weight b.0.bias b.2.weight b.2.bias fc.weight fc.bias b.4.weight b.4.bias");
    tc_free(&t);

    /* The first example of the spec: logits.0, logits.2, logits.4. */
    tc_compile(&t, "model fashion_mlp {\n  input x : f32[784]\n  target y : class[10]\n"
                   "  logits = x -> dense(256) -> relu\n             -> dense(128) -> relu\n             -> dense(10)\n"
                   "  output probs = logits -> softmax\n"
                   "  loss cross_entropy(logits, y)\n  optimizer sgd(lr = 0.05, momentum = 0.9)\n}\n");
    ck_assert_msg(t.rc == 0, "%s", t.diags);
    ck_assert_str_eq(tc_params(&t), "logits.0.weight logits.0.bias logits.2.weight logits.2.bias "
                                    "logits.4.weight logits.4.bias");
    tc_free(&t);

    /* (h + r) is the head: relu is stage 0, dense stage 1. */
    tc_compile(&t, "model m {\n  input x : f32[8]\n  h = x -> relu\n  r = x -> tanh\n"
                   "  output logits = (h + r) -> relu -> dense(10)\n}\n");
    ck_assert_msg(t.rc == 0, "%s", t.diags);
    ck_assert_str_eq(tc_params(&t), "logits.1.weight logits.1.bias");
    tc_free(&t);

    /* global_avgpool is one stage. */
    tc_compile(&t, "model m {\n  input x : f32[3, 8, 8]\n"
                   "  output v = x -> conv2d(4, kernel = 3) -> global_avgpool -> dense(10)\n}\n");
    ck_assert_msg(t.rc == 0, "%s", t.diags);
    ck_assert_str_eq(tc_params(&t), "v.0.weight v.0.bias v.2.weight v.2.bias");
    tc_free(&t);
}
END_TEST

START_TEST(test_names_direct_call)
{
    TestCompile t;
    tc_compile(&t, "model m {\n  input x : f32[4]\n  target y : class[10]\n"
                   "  v = dense(x, 10)\n  w = fc: dense(x, 10)\n  output probs = prelu(v + w)\n"
                   "  loss cross_entropy(v, y)\n  optimizer adam\n}\n");
    ck_assert_msg(t.rc == 0, "%s", t.diags);
    ck_assert_str_eq(tc_params(&t), "v.weight v.bias fc.weight fc.bias probs.weight");
    ck_assert_str_eq(tc_shape(&t, tc_param(&t, "v.weight")), "[10, 4]");
    tc_free(&t);
}
END_TEST

START_TEST(test_names_bias_false_and_norm_buffers)
{
    TestCompile t;
    tc_compile(&t, "model m {\n  input x : f32[3, 8, 8]\n"
                   "  output f = x -> conv2d(4, 3, bias = false) -> batchnorm -> flatten -> ln: layernorm -> prelu\n}\n");
    ck_assert_msg(t.rc == 0, "%s", t.diags);
    ck_assert_str_eq(tc_params(&t), "f.0.weight f.1.weight f.1.bias f.1.running_mean f.1.running_var "
                                    "f.1.num_batches_tracked ln.weight ln.bias f.4.weight");
    const IrNode *nbt = tc_param(&t, "f.1.num_batches_tracked");
    ck_assert_int_eq(nbt->dtype, DT_I64);
    ck_assert_int_eq(nbt->trainable, 0);
    ck_assert_int_eq(nbt->role, PR_NUM_BATCHES_TRACKED);
    ck_assert_int_eq(tc_param(&t, "f.1.running_mean")->trainable, 0);
    ck_assert_int_eq(tc_param(&t, "f.1.running_var")->trainable, 0);
    ck_assert_int_eq(tc_param(&t, "f.1.running_var")->dtype, DT_F32);
    ck_assert_int_eq(tc_param(&t, "f.1.weight")->trainable, 1);
    ck_assert_int_eq(tc_param(&t, "ln.bias")->trainable, 1);
    tc_free(&t);
}
END_TEST

START_TEST(test_names_duplicates_rejected)
{
    TestCompile t;
    tc_compile(&t, "model m {\n  input x : f32[4]\n  a = x -> fc: dense(3)\n  output b = a -> fc: dense(3)\n}\n");
    ck_assert_int_eq(t.rc, 1);
    ck_assert_has(t.diags, "t.nn:4:19: error: two layers are named `fc`: their parameters would clash\n");
    ck_assert_has(t.diags, "t.nn:3:12: note: the other `fc` is here\n");
    tc_free(&t);

    /* A label against a direct call's name. */
    tc_compile(&t, "model m {\n  input x : f32[4]\n  a = x -> v: dense(3)\n  output v = dense(a, 3)\n}\n");
    ck_assert_int_eq(t.rc, 1);
    ck_assert_has(t.diags, "two layers are named `v`");
    tc_free(&t);

    /* Labels within one pipeline, on any kind of layer. */
    tc_compile(&t, "model m {\n  input x : f32[4]\n  output o = x -> n: batchnorm -> n: layernorm\n}\n");
    ck_assert_int_eq(t.rc, 1);
    ck_assert_has(t.diags, "two layers are named `n`");
    tc_free(&t);

    /* A parameterless stage's label names no parameters, so no clash. */
    tc_compile(&t, "model m {\n  input x : f32[4]\n  output o = x -> n: relu -> n: tanh\n}\n");
    ck_assert_msg(t.rc == 0, "%s", t.diags);
    tc_free(&t);
}
END_TEST

Suite *sema_suite(void)
{
    Suite *s = suite_create("sema");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, test_each_name_bound_once);
    tcase_add_test(tc, test_defined_before_use);
    tcase_add_test(tc, test_binding_annotations);
    tcase_add_test(tc, test_targets_only_in_loss);
    tcase_add_test(tc, test_no_input);
    tcase_add_test(tc, test_unused_warnings);
    suite_add_tcase(s, tc);

    tc = tcase_create("arguments");
    tcase_add_test(tc, test_positional_then_keyword);
    tcase_add_test(tc, test_pool_stride_defaults_to_kernel);
    tcase_add_loop_test(tc, test_layer_defaults, 0, (int)(sizeof defaults / sizeof defaults[0]));
    tcase_add_test(tc, test_enum_and_init_defaults);
    tcase_add_loop_test(tc, test_optimizer_defaults, 0, (int)(sizeof opt_defaults / sizeof opt_defaults[0]));
    tcase_add_test(tc, test_loss_and_schedule_defaults);
    tcase_add_test(tc, test_step_function_and_schedule);
    tcase_add_test(tc, test_optimizer_positional);
    tcase_add_loop_test(tc, test_argument_errors, 0, (int)(sizeof arg_errors / sizeof arg_errors[0]));
    tcase_add_loop_test(tc, test_statement_errors, 0, (int)(sizeof stmt_errors / sizeof stmt_errors[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("parameter_names");
    tcase_add_test(tc, test_names_labels);
    tcase_add_test(tc, test_names_stage_index);
    tcase_add_test(tc, test_names_direct_call);
    tcase_add_test(tc, test_names_bias_false_and_norm_buffers);
    tcase_add_test(tc, test_names_duplicates_rejected);
    suite_add_tcase(s, tc);
    return s;
}
