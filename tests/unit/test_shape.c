/*
 * test_shape.c: shape inference for every operator of spec section 5, and
 * parameter shapes and counts.
 *
 * Expected shapes are PyTorch's (torch 1.13.1): each row was computed once
 * with the nn module of the same name on a batch of two, e.g.
 *     nn.Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2))(torch.zeros(2, 3, 32, 32)).shape[1:]
 * and hard-coded here, so the tests need no Python.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    const char *decls;  /* inputs */
    const char *expr;   /* the value named out */
    const char *want;   /* its per-sample shape */
} ShapeCase;

static const ShapeCase shapes[] = {
    /* conv2d: nn.Conv2d */
    {"input x : f32[3, 32, 32]", "x -> c: conv2d(8, kernel = 3)", "[8, 30, 30]"},
    {"input x : f32[3, 32, 32]", "x -> c: conv2d(8, kernel = [3, 5])", "[8, 30, 28]"},
    {"input x : f32[3, 32, 32]", "x -> c: conv2d(8, kernel = 3, stride = 2)", "[8, 15, 15]"},
    {"input x : f32[3, 32, 32]", "x -> c: conv2d(8, [3, 5], stride = [2, 1], padding = [1, 2])", "[8, 16, 32]"},
    {"input x : f32[3, 32, 32]", "x -> c: conv2d(8, 3, padding = same)", "[8, 32, 32]"},
    {"input x : f32[3, 17, 17]", "x -> c: conv2d(8, 4, padding = same)", "[8, 17, 17]"},
    {"input x : f32[3, 11, 12]", "x -> c: conv2d(8, [2, 4], padding = same, dilation = 2)", "[8, 11, 12]"},
    {"input x : f32[3, 32, 32]", "x -> c: conv2d(8, 3, dilation = 2)", "[8, 28, 28]"},
    {"input x : f32[4, 10, 10]", "x -> c: conv2d(8, 3, groups = 4)", "[8, 8, 8]"},
    {"input x : f32[3, 7, 9]", "x -> c: conv2d(5, [3, 2], stride = [2, 3], padding = [1, 0], dilation = [1, 2])",
     "[5, 4, 3]"},
    {"input x : f32[1, 28, 28]", "x -> c: conv2d(6, kernel = 5, padding = 2)", "[6, 28, 28]"},
    {"input x : f32[2, 13, 8]", "x -> c: conv2d(4, [4, 2], stride = 3, padding = 1)", "[4, 4, 3]"},
    {"input x : f32[3, 5, 5]", "x -> c: conv2d(2, 5)", "[2, 1, 1]"},
    {"input x : f32[1, 2, 2]", "x -> c: conv2d(2, 1, padding = 3)", "[2, 8, 8]"},
    /* maxpool, avgpool, lppool: nn.MaxPool2d, nn.AvgPool2d, nn.LPPool2d */
    {"input x : f32[6, 28, 28]", "x -> maxpool(2)", "[6, 14, 14]"},
    {"input x : f32[1, 10, 10]", "x -> maxpool(3)", "[1, 3, 3]"},
    {"input x : f32[2, 9, 9]", "x -> maxpool(kernel = 3, stride = 2, padding = 1)", "[2, 5, 5]"},
    {"input x : f32[1, 8, 9]", "x -> maxpool([2, 3])", "[1, 4, 3]"},
    {"input x : f32[1, 8, 9]", "x -> maxpool([2, 3], padding = [1, 0])", "[1, 5, 3]"},
    {"input x : f32[1, 9, 9]", "x -> maxpool(2, padding = 1)", "[1, 5, 5]"},
    {"input x : f32[1, 7, 7]", "x -> maxpool(2, stride = 3)", "[1, 2, 2]"},
    {"input x : f32[2, 4, 4]", "x -> avgpool([3, 1], stride = [1, 1], padding = [1, 0])", "[2, 4, 4]"},
    {"input x : f32[1, 5, 7]", "x -> lppool(kernel = [2, 3], stride = [1, 2])", "[1, 4, 3]"},
    {"input x : f32[1, 5, 5]", "x -> avgpool(3, stride = 1)", "[1, 3, 3]"},
    {"input x : f32[1, 5, 5]", "x -> avgpool(2, padding = 1)", "[1, 3, 3]"},
    {"input x : f32[1, 7, 7]", "x -> lppool(kernel = 2)", "[1, 3, 3]"},
    {"input x : f32[1, 7, 7]", "x -> lppool(3, [2, 3])", "[1, 3, 2]"},
    {"input x : f32[2, 6, 5]", "x -> lppool(kernel = 3, stride = 1)", "[2, 4, 3]"},
    /* global_avgpool: nn.AdaptiveAvgPool2d(1) + nn.Flatten() */
    {"input x : f32[7, 5, 3]", "x -> global_avgpool", "[7]"},
    /* glu: nn.GLU(dim) */
    {"input x : f32[10]", "x -> glu", "[5]"},
    {"input x : f32[4, 6]", "x -> glu(dim = 0)", "[2, 6]"},
    {"input x : f32[4, 6]", "x -> glu(1)", "[4, 3]"},
    {"input x : f32[4, 6]", "x -> glu(dim = -2)", "[2, 6]"},
    {"input x : f32[6, 4, 4]", "x -> glu(0)", "[3, 4, 4]"},
    /* concat: torch.cat on per-sample axes */
    {"input a : f32[3]\ninput b : f32[5]", "concat(a, b)", "[8]"},
    {"input a : f32[2, 3]\ninput b : f32[2, 4]", "concat(a, b, axis = 1)", "[2, 7]"},
    {"input a : f32[2, 3]\ninput b : f32[2, 4]", "concat(a, b, axis = -1)", "[2, 7]"},
    {"input a : f32[2, 3]\ninput b : f32[2, 4]", "a -> concat(b, axis = 1)", "[2, 7]"},
    {"input a : f32[2, 3, 4]\ninput b : f32[5, 3, 4]\ninput c : f32[1, 3, 4]", "concat(a, b, c, axis = 0)", "[8, 3, 4]"},
    {"input a : f32[2, 3, 4]\ninput b : f32[5, 3, 4]", "concat(a, b, axis = -3)", "[7, 3, 4]"},
    {"input a : f32[2, 3, 4]\ninput b : f32[2, 3, 1]", "concat(a, b, a, axis = 2)", "[2, 3, 9]"},
    /* reshape and flatten */
    {"input x : f32[28]", "x -> reshape([-1, 7])", "[4, 7]"},
    {"input x : f32[16, 5, 5]", "x -> reshape([16, -1])", "[16, 25]"},
    {"input x : f32[784]", "x -> reshape([1, 28, 28])", "[1, 28, 28]"},
    {"input x : f32[2, 3]", "x -> reshape([6])", "[6]"},
    {"input x : f32[2, 3]", "x -> reshape([-1])", "[6]"},
    {"input x : f32[16, 5, 5]", "x -> flatten", "[400]"},
    {"input x : f32[7]", "x -> flatten", "[7]"},
    /* layers */
    {"input x : f32[12]", "x -> fc: dense(5)", "[5]"},
    {"input x : f32[10]", "x -> bn: batchnorm", "[10]"},
    {"input x : f32[4, 9]", "x -> bn: batchnorm", "[4, 9]"},
    {"input x : f32[3, 8, 8]", "x -> bn: batchnorm", "[3, 8, 8]"},
    {"input x : f32[5, 7]", "x -> ln: layernorm", "[5, 7]"},
    {"input x : f32[3, 4, 5]", "x -> ln: layernorm", "[3, 4, 5]"},
    {"input x : f32[4, 9]", "x -> p: prelu(4)", "[4, 9]"},
    {"input x : f32[3, 4, 4]", "x -> p: prelu", "[3, 4, 4]"},
    {"input x : f32[3, 4, 4]", "x -> p: prelu(num_parameters = 3)", "[3, 4, 4]"},
    {"input x : f32[6]", "x -> p: prelu(6)", "[6]"},
    /* element-wise */
    {"input a : f32[2, 3]\ninput b : f32[2, 3]", "a + b", "[2, 3]"},
    {"input a : f32[2, 3]\ninput b : f32[2, 3]", "a * b", "[2, 3]"},
    {"input a : f32[2, 3]\ninput b : f32[2, 3]", "add(a, b)", "[2, 3]"},
    {"input a : f32[2, 3]\ninput b : f32[2, 3]", "a -> mul(b)", "[2, 3]"},
    {"input a : f32[2, 3]\ninput b : f32[2, 3]", "a * b + a -> relu", "[2, 3]"},
    /* functions that keep the shape */
    {"input x : f32[2, 3]", "x -> softmax(dim = 0)", "[2, 3]"},
    {"input x : f32[2, 3]", "x -> log_softmax", "[2, 3]"},
    {"input x : f32[3, 4, 4]", "x -> normalize(0.5, 0.25)", "[3, 4, 4]"},
    {"input x : f32[3, 4, 4]", "x -> normalize([0.1, 0.2, 0.3], [1, 2, 3])", "[3, 4, 4]"},
    {"input x : f32[3, 4, 4]", "x -> dropout(0.2)", "[3, 4, 4]"},
    {"input x : f32[3, 4, 4]", "x -> threshold(0.1, 20)", "[3, 4, 4]"},
};

START_TEST(test_shapes)
{
    const ShapeCase *sc = &shapes[_i];
    TestCompile t;
    const char *got = shape_of(&t, sc->decls, sc->expr);
    ck_assert_msg(strcmp(got, sc->want) == 0, "%s with %s: got %s, PyTorch gives %s", sc->expr, sc->decls, got,
                  sc->want);
    tc_free(&t);
}
END_TEST

/* Every activation of spec section 5 keeps the shape. */
START_TEST(test_activations_keep_shape)
{
    static const char *const acts[] = {
        "relu", "leaky_relu", "relu6", "rrelu", "elu", "selu", "celu", "gelu", "gelu(approximate = tanh)",
        "sigmoid", "hardsigmoid", "logsigmoid", "tanh", "hardtanh", "tanhshrink", "silu", "mish",
        "softplus", "softsign", "hardshrink", "softshrink", "threshold(0, 1)", "hardswish", "step",
        "softmax", "log_softmax", "dropout", "leaky_relu(0.2)", "elu(alpha = 0.5)", "hardtanh(0, 6)",
    };
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        TestCompile t;
        char expr[64];
        snprintf(expr, sizeof expr, "x -> %s", acts[i]);
        const char *got = shape_of(&t, "input x : f32[2, 3, 5]", expr);
        ck_assert_msg(strcmp(got, "[2, 3, 5]") == 0, "%s: %s", acts[i], got);
        ck_assert_int_eq(t.c.ir->nodes[t.c.ir->output].dtype, DT_F32);
        tc_free(&t);
    }
}
END_TEST

static const ShapeCase shape_errors[] = {
    {"input x : f32[16, 5, 5]", "x -> fc: dense(10)", "dense expects a rank-1 input, got [16, 5, 5]; insert flatten"},
    {"input x : f32[4]", "x -> c: conv2d(2, 3)", "conv2d expects a [C, H, W] input, got [4]"},
    {"input x : f32[1, 4, 4]", "x -> c: conv2d(2, 5)", "does not fit the input [1, 4, 4]"},
    {"input x : f32[1, 4, 9]", "x -> c: conv2d(2, 3, dilation = [2, 1])", "does not fit the input [1, 4, 9]"},
    {"input x : f32[3, 8, 8]", "x -> c: conv2d(4, 3, groups = 2)",
     "groups = 2 must divide both the input channels (3) and filters (4)"},
    {"input x : f32[4, 8, 8]", "x -> c: conv2d(6, 3, groups = 4)",
     "groups = 4 must divide both the input channels (4) and filters (6)"},
    {"input x : f32[1, 9, 9]", "x -> maxpool(3, padding = 2)", "maxpool: padding 2 is more than half the kernel 3"},
    {"input x : f32[1, 9, 9]", "x -> avgpool(2, padding = 2)", "avgpool: padding 2 is more than half the kernel 2"},
    {"input x : f32[1, 2, 2]", "x -> maxpool(3)", "maxpool: a 3x3 window does not fit the input [1, 2, 2]"},
    {"input x : f32[1, 2, 9]", "x -> lppool(kernel = [3, 1])", "lppool: a 3x1 window does not fit the input [1, 2, 9]"},
    {"input x : f32[8]", "x -> maxpool(2)", "maxpool expects a [C, H, W] input, got [8]"},
    {"input x : f32[4]", "x -> global_avgpool", "global_avgpool expects a [C, L] or [C, H, W] input, got [4]"},
    {"input x : f32[5]", "x -> glu", "glu halves dimension 0 of [5], which is odd"},
    {"input x : f32[4, 6]", "x -> glu(dim = 2)", "glu: dim = 2 is out of range for a rank-2 input [4, 6]"},
    {"input x : f32[4, 6]", "x -> softmax(dim = -3)", "softmax: dim = -3 is out of range for a rank-2 input [4, 6]"},
    {"input a : f32[2, 3]\ninput b : f32[3, 4]", "concat(a, b, axis = 1)",
     "concat on axis 1: shapes [2, 3] and [3, 4] differ in another dimension"},
    {"input a : f32[2, 3]\ninput b : f32[2, 3, 1]", "concat(a, b, axis = 0)", "concat on axis 0: shapes [2, 3] and [2, 3, 1]"},
    {"input a : f32[2, 3]\ninput b : f32[2, 3]", "concat(a, b, axis = 2)", "concat: axis = 2 is out of range for a rank-2 input"},
    {"input x : f32[28]", "x -> reshape([5, -1])", "reshape: [28] has 28 elements; they cannot be shaped as [5, -1]"},
    {"input x : f32[28]", "x -> reshape([4, 8])", "reshape: [28] has 28 elements; they cannot be shaped as [4, 8]"},
    {"input x : f32[1, 2, 3, 4]", "x -> bn: batchnorm", "batchnorm expects a [C], [C, L] or [C, H, W] input, got [1, 2, 3, 4]"},
    {"input x : f32[3, 4, 4]", "x -> p: prelu(num_parameters = 5)", "prelu: num_parameters must be 1 or the channel count 3"},
    {"input a : f32[2, 3]\ninput b : f32[3, 2]", "a + b", "cannot add values of shapes [2, 3] and [3, 2]"},
    {"input a : f32[6]\ninput b : f32[2, 3]", "a * b", "cannot multiply values of shapes [6] and [2, 3]"},
    {"input a : f32[6]\ninput b : f32[5]", "add(a, b)", "cannot add values of shapes [6] and [5]"},
    {"input x : f32[3, 4, 4]", "x -> normalize([0.1, 0.2], 1)", "normalize: mean has 2 values; the input [3, 4, 4] has 3 channels"},
};

START_TEST(test_shape_errors)
{
    const ShapeCase *sc = &shape_errors[_i];
    TestCompile t;
    const char *got = shape_of(&t, sc->decls, sc->expr);
    ck_assert_msg(strncmp(got, "error: ", 7) == 0, "%s with %s: accepted as %s", sc->expr, sc->decls, got);
    ck_assert_msg(strstr(t.diags, sc->want) != NULL, "%s: expected \"%s\" in:\n%s", sc->expr, sc->want, t.diags);
    ck_assert_int_eq(t.c.diag.nerrors, 1); /* one mistake, one message */
    tc_free(&t);
}
END_TEST

/* The error points at the offending stage, as file:line:col. */
START_TEST(test_shape_error_location)
{
    TestCompile t;
    tc_compile(&t, "model m {\n  input x : f32[16, 5, 5]\n  output y = x -> relu\n             -> fc: dense(10)\n}\n");
    ck_assert_int_eq(t.rc, 1);
    ck_assert_has(t.diags, "t.nn:4:17: error: dense expects a rank-1 input, got [16, 5, 5]; insert flatten\n"
                           "    4 |              -> fc: dense(10)\n"
                           "      |                 ^~~~~~~~~~~~~\n");
    tc_free(&t);
}
END_TEST

/* ---- losses against targets ------------------------------------------------------ */

static const ShapeCase losses[] = {
    {"input x : f32[3]\ntarget t : f32[3]", "mse(x, t)", NULL},
    {"input x : f32[2, 3]\ntarget t : f32[2, 3]", "l1(x, t)", NULL},
    {"input x : f32[3]\ntarget t : f32[3]", "huber(x, t, delta = 0.5)", NULL},
    {"input x : f32[1]\ntarget t : f32[1]", "binary_cross_entropy(x, t)", NULL},
    {"input x : f32[10]\ntarget t : class[10]", "cross_entropy(x, t)", NULL},
    {"input x : f32[10]\ntarget t : f32[10]", "cross_entropy(x, t, label_smoothing = 0.1)", NULL},
    {"input x : f32[10]\ntarget t : class[10]", "nll(x -> log_softmax, t)", NULL},
    {"input x : f32[10]\ntarget t : class[10]", "x -> log_softmax -> nll(t)", NULL},
};

START_TEST(test_losses)
{
    const ShapeCase *lc = &losses[_i];
    TestCompile t;
    tc_compilef(&t, "model m {\n%s\nloss %s\noptimizer adam\n}\n", lc->decls, lc->expr);
    ck_assert_msg(t.rc == 0, "%s: %s", lc->expr, t.diags);
    ck_assert_int_ge(t.c.ir->loss, 0);
    const IrNode *loss = &t.c.ir->nodes[t.c.ir->loss];
    ck_assert_int_eq(op_info[loss->op].kind, K_LOSS);
    ck_assert_str_eq(tc_shape(&t, loss), "[]");
    tc_free(&t);
}
END_TEST

static const ShapeCase loss_errors[] = {
    {"input x : f32[3]\ntarget t : f32[4]", "mse(x, t)", "mse: the prediction is [3] but the target `t` is [4]"},
    {"input x : f32[3]\ntarget t : class[3]", "l1(x, t)", "l1 needs an f32 target shaped like the prediction [3]; `t` is class[3]"},
    {"input x : f32[2]\ntarget t : class[2]", "binary_cross_entropy(x, t)", "binary_cross_entropy needs an f32 target"},
    {"input x : f32[10]\ntarget t : class[5]", "cross_entropy(x, t)", "cross_entropy: the logits are [10] but the target `t` is class[5]"},
    {"input x : f32[10]\ntarget t : f32[5]", "cross_entropy(x, t)", "cross_entropy: the logits are [10] but the target `t` is f32[5]"},
    {"input x : f32[2, 5]\ntarget t : class[5]", "cross_entropy(x, t)", "cross_entropy expects rank-1 logits [K], got [2, 5]"},
    {"input x : f32[10]\ntarget t : f32[10]", "nll(x, t)", "nll needs a class[10] target; `t` is f32[10]"},
};

START_TEST(test_loss_errors)
{
    const ShapeCase *lc = &loss_errors[_i];
    TestCompile t;
    tc_compilef(&t, "model m {\n%s\nloss %s\noptimizer adam\n}\n", lc->decls, lc->expr);
    ck_assert_int_eq(t.rc, 1);
    ck_assert_msg(strstr(t.diags, lc->want) != NULL, "%s: expected \"%s\" in:\n%s", lc->expr, lc->want, t.diags);
    tc_free(&t);
}
END_TEST

/* ---- parameter shapes (PyTorch layouts) ---------------------------------------------- */

START_TEST(test_param_shapes)
{
    TestCompile t;
    shape_of(&t, "input x : f32[12]", "x -> fc: dense(5)");
    ck_assert_str_eq(tc_shape(&t, tc_param(&t, "fc.weight")), "[5, 12]");
    ck_assert_str_eq(tc_shape(&t, tc_param(&t, "fc.bias")), "[5]");
    tc_free(&t);

    shape_of(&t, "input x : f32[3, 32, 32]", "x -> c: conv2d(8, [3, 5])");
    ck_assert_str_eq(tc_shape(&t, tc_param(&t, "c.weight")), "[8, 3, 3, 5]");
    ck_assert_str_eq(tc_shape(&t, tc_param(&t, "c.bias")), "[8]");
    tc_free(&t);

    /* [out_channels, in_channels / groups, kh, kw] */
    shape_of(&t, "input x : f32[4, 10, 10]", "x -> c: conv2d(8, 3, groups = 4, bias = false)");
    ck_assert_str_eq(tc_params(&t), "c.weight");
    ck_assert_str_eq(tc_shape(&t, tc_param(&t, "c.weight")), "[8, 1, 3, 3]");
    tc_free(&t);

    static const char *const bn_inputs[] = {"input x : f32[10]", "input x : f32[10, 9]", "input x : f32[10, 8, 8]"};
    for (int i = 0; i < 3; i++) {
        shape_of(&t, bn_inputs[i], "x -> bn: batchnorm");
        ck_assert_str_eq(tc_params(&t), "bn.weight bn.bias bn.running_mean bn.running_var bn.num_batches_tracked");
        ck_assert_str_eq(tc_shape(&t, tc_param(&t, "bn.weight")), "[10]");
        ck_assert_str_eq(tc_shape(&t, tc_param(&t, "bn.bias")), "[10]");
        ck_assert_str_eq(tc_shape(&t, tc_param(&t, "bn.running_mean")), "[10]");
        ck_assert_str_eq(tc_shape(&t, tc_param(&t, "bn.running_var")), "[10]");
        ck_assert_str_eq(tc_shape(&t, tc_param(&t, "bn.num_batches_tracked")), "i64[]");
        ck_assert_int_eq(tc_param_count(&t, 1), 20);
        ck_assert_int_eq(tc_param_count(&t, 0), 41);
        tc_free(&t);
    }

    shape_of(&t, "input x : f32[5, 7]", "x -> ln: layernorm");
    ck_assert_str_eq(tc_params(&t), "ln.weight ln.bias");
    ck_assert_str_eq(tc_shape(&t, tc_param(&t, "ln.weight")), "[7]");
    ck_assert_str_eq(tc_shape(&t, tc_param(&t, "ln.bias")), "[7]");
    tc_free(&t);
    /* nn.LayerNorm(last_dim), whatever the rank */
    shape_of(&t, "input x : f32[3, 4, 5]", "x -> ln: layernorm");
    ck_assert_str_eq(tc_shape(&t, tc_param(&t, "ln.weight")), "[5]");
    tc_free(&t);

    shape_of(&t, "input x : f32[3, 4, 4]", "x -> p: prelu");
    ck_assert_str_eq(tc_shape(&t, tc_param(&t, "p.weight")), "[1]");
    tc_free(&t);
    shape_of(&t, "input x : f32[3, 4, 4]", "x -> p: prelu(3)");
    ck_assert_str_eq(tc_shape(&t, tc_param(&t, "p.weight")), "[3]");
    tc_free(&t);
}
END_TEST

/* ---- whole models: names, shapes and counts as PyTorch's state_dict ------------------- */

typedef struct {
    const char *path;       /* an example file, or NULL */
    const char *src;        /* else this source */
    const char *params;     /* state_dict keys, in order */
    int64_t trainable;      /* sum(p.numel() for p in m.parameters()) */
    int64_t buffers;        /* sum(b.numel() for b in m.buffers()) */
} ModelCase;

static const ModelCase models[] = {
    {"examples/fashion_lenet.nn", NULL,
     "logits.0.weight logits.0.bias logits.3.weight logits.3.bias logits.7.weight logits.7.bias "
     "logits.9.weight logits.9.bias logits.11.weight logits.11.bias",
     61706, 0},
    {"examples/fashion_mlp.nn", NULL,
     "logits.0.weight logits.0.bias logits.2.weight logits.2.bias logits.4.weight logits.4.bias", 235146, 0},
    {"examples/fashion_resmlp.nn", NULL,
     "h.0.weight h.0.bias r.0.weight r.0.bias r.2.weight r.2.bias logits.1.weight logits.1.bias", 335114, 0},
    {NULL,
     "model cnn {\n"
     "    input  x : f32[3, 32, 32]\n"
     "    target y : class[10]\n"
     "    features = x -> conv2d(16, kernel = 3, padding = 1, bias = false) -> batchnorm -> relu -> maxpool(2)\n"
     "                 -> conv2d(32, kernel = [3, 5], padding = same, groups = 4) -> prelu(num_parameters = 32)\n"
     "                 -> avgpool(2) -> dropout(0.25)\n"
     "    pooled   = features -> global_avgpool\n"
     "    logits   = pooled -> ln: layernorm -> dense(64) -> gelu -> head: dense(10, bias = false)\n"
     "    loss      cross_entropy(logits, y)\n"
     "    optimizer sgd(lr = 0.1)\n"
     "}\n",
     "features.0.weight features.1.weight features.1.bias features.1.running_mean features.1.running_var "
     "features.1.num_batches_tracked features.4.weight features.4.bias features.5.weight ln.weight ln.bias "
     "logits.1.weight logits.1.bias head.weight",
     5264, 33},
    {NULL,
     "model branches {\n"
     "    input  a : f32[20]\n"
     "    input  b : f32[12]\n"
     "    target t : f32[4]\n"
     "    ha  = dense(a, 16)\n"
     "    hb  = b -> dense(16) -> tanh\n"
     "    cat = concat(ha, hb, axis = 0)\n"
     "    y   = cat -> fc: dense(8, init = he_normal) -> relu -> dense(4)\n"
     "    z   = (ha * hb) -> dense(4)\n"
     "    output out = y + z\n"
     "    loss  mse(out, t)\n"
     "    optimizer adam\n"
     "}\n",
     "ha.weight ha.bias hb.0.weight hb.0.bias fc.weight fc.bias y.2.weight y.2.bias z.0.weight z.0.bias", 912, 0},
    {NULL,
     "model norms {\n"
     "    input x : f32[1, 8, 8]\n"
     "    output h = x -> conv2d(4, kernel = 3) -> batchnorm -> relu -> flatten -> batchnorm\n"
     "                 -> dense(10) -> layernorm -> prelu\n"
     "}\n",
     "h.0.weight h.0.bias h.1.weight h.1.bias h.1.running_mean h.1.running_var h.1.num_batches_tracked "
     "h.4.weight h.4.bias h.4.running_mean h.4.running_var h.4.num_batches_tracked h.5.weight h.5.bias "
     "h.6.weight h.6.bias h.7.weight",
     1807, 298},
};

START_TEST(test_model_parameters)
{
    const ModelCase *mc = &models[_i];
    TestCompile t;
    if (mc->path) {
        char *src = tu_read(mc->path, NULL);
        ck_assert_msg(src != NULL, "cannot read %s", mc->path);
        tc_compile(&t, src);
        free(src);
    } else {
        tc_compile(&t, mc->src);
    }
    ck_assert_msg(t.rc == 0, "%s", t.diags);
    ck_assert_str_eq(tc_params(&t), mc->params);
    ck_assert_int_eq(tc_param_count(&t, 1), mc->trainable);
    ck_assert_int_eq(tc_param_count(&t, 0) - tc_param_count(&t, 1), mc->buffers);
    tc_free(&t);
}
END_TEST

/* Shapes inside the cnn model, from the PyTorch forward pass. */
START_TEST(test_cnn_shapes)
{
    TestCompile t;
    tc_compile(&t, models[3].src);
    ck_assert_msg(t.rc == 0, "%s", t.diags);
    ck_assert_str_eq(tc_shape(&t, tc_node(&t, "features.0")), "[16, 32, 32]");
    ck_assert_str_eq(tc_shape(&t, tc_node(&t, "features.3")), "[16, 16, 16]");
    ck_assert_str_eq(tc_shape(&t, tc_node(&t, "features.4")), "[32, 16, 16]");
    ck_assert_str_eq(tc_shape(&t, tc_node(&t, "features")), "[32, 8, 8]");
    ck_assert_str_eq(tc_shape(&t, tc_node(&t, "pooled")), "[32]");
    ck_assert_str_eq(tc_shape(&t, tc_node(&t, "logits")), "[10]");
    ck_assert_str_eq(tc_shape(&t, tc_param(&t, "features.4.weight")), "[32, 4, 3, 5]");
    ck_assert_str_eq(tc_shape(&t, tc_param(&t, "features.5.weight")), "[32]");
    ck_assert_str_eq(tc_shape(&t, tc_param(&t, "head.weight")), "[10, 64]");
    tc_free(&t);
}
END_TEST

/* Input and target nodes carry their declared shapes and types. */
START_TEST(test_declared_shapes)
{
    TestCompile t;
    tc_compile(&t, "model m {\n  input x : f32[1, 28, 28]\n  target y : class[10]\n  target p : f32[10]\n"
                   "  h = x -> flatten -> fc: dense(10)\n  loss cross_entropy(h, y)\n  optimizer adam\n}\n");
    ck_assert_msg(t.rc == 0, "%s", t.diags);
    const IrNode *x = tc_node(&t, "x"), *y = tc_node(&t, "y"), *p = tc_node(&t, "p");
    ck_assert_int_eq(x->op, OP_INPUT);
    ck_assert_int_eq(x->dtype, DT_F32);
    ck_assert_str_eq(tc_shape(&t, x), "[1, 28, 28]");
    ck_assert_int_eq(y->op, OP_TARGET);
    ck_assert_int_eq(y->dtype, DT_CLASS);
    ck_assert_str_eq(tc_shape(&t, y), "[10]");
    ck_assert_int_eq(p->dtype, DT_F32);
    tc_free(&t);
}
END_TEST

Suite *shape_suite(void)
{
    Suite *s = suite_create("shape");
    TCase *tc = tcase_create("operators");
    tcase_add_loop_test(tc, test_shapes, 0, (int)(sizeof shapes / sizeof shapes[0]));
    tcase_add_test(tc, test_activations_keep_shape);
    tcase_add_loop_test(tc, test_shape_errors, 0, (int)(sizeof shape_errors / sizeof shape_errors[0]));
    tcase_add_test(tc, test_shape_error_location);
    tcase_add_loop_test(tc, test_losses, 0, (int)(sizeof losses / sizeof losses[0]));
    tcase_add_loop_test(tc, test_loss_errors, 0, (int)(sizeof loss_errors / sizeof loss_errors[0]));
    tcase_add_test(tc, test_declared_shapes);
    suite_add_tcase(s, tc);

    tc = tcase_create("parameters");
    tcase_add_test(tc, test_param_shapes);
    tcase_add_loop_test(tc, test_model_parameters, 0, (int)(sizeof models / sizeof models[0]));
    tcase_add_test(tc, test_cnn_shapes);
    suite_add_tcase(s, tc);
    return s;
}
