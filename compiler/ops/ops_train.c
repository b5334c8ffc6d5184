/*
 * ops_train.c: the implementation records of the initialisers
 * (torch.nn.init), the learning-rate schedules and the train block.
 * ops_impl.h says what each field means; emit_c.c calls the fill with
 * the scale a record gives.
 */
#include "ops_impl.h"

#include <math.h>

/* kaiming_uniform_(a = sqrt(5)) for weights and U(+-1/sqrt(fan_in)) for
 * biases: both bound 1/sqrt(fan_in) (nn.Linear, nn.Conv2d). */
static double default_scale(const Value *a, double fan_in, double fan_out)
{
    (void)a, (void)fan_out;
    return 1.0 / sqrt(fan_in);
}

static double he_normal_scale(const Value *a, double fan_in, double fan_out)
{
    (void)a, (void)fan_out;
    return sqrt(2.0 / fan_in);
}

static double he_uniform_scale(const Value *a, double fan_in, double fan_out)
{
    (void)a, (void)fan_out;
    return sqrt(6.0 / fan_in);
}

static double xavier_normal_scale(const Value *a, double fan_in, double fan_out)
{
    (void)a;
    return sqrt(2.0 / (fan_in + fan_out));
}

static double xavier_uniform_scale(const Value *a, double fan_in, double fan_out)
{
    (void)a;
    return sqrt(6.0 / (fan_in + fan_out));
}

static double normal_scale(const Value *a, double fan_in, double fan_out)
{
    (void)fan_in, (void)fan_out;
    return op_num(OP_INIT_NORMAL, a, "std");
}

static double uniform_scale(const Value *a, double fan_in, double fan_out)
{
    (void)fan_in, (void)fan_out;
    return op_num(OP_INIT_UNIFORM, a, "a");
}

const OpImpl op_impl_INIT_DEFAULT = {
    .op = OP_INIT_DEFAULT, .fill = "fill_uniform", .scale = default_scale, .fill_what = "default"};
const OpImpl op_impl_INIT_HE_NORMAL = {
    .op = OP_INIT_HE_NORMAL, .fill = "fill_normal", .scale = he_normal_scale, .fill_what = "kaiming_normal_, relu gain"};
const OpImpl op_impl_INIT_HE_UNIFORM = {
    .op = OP_INIT_HE_UNIFORM, .fill = "fill_uniform", .scale = he_uniform_scale, .fill_what = "kaiming_uniform_, relu gain"};
const OpImpl op_impl_INIT_XAVIER_NORMAL = {
    .op = OP_INIT_XAVIER_NORMAL, .fill = "fill_normal", .scale = xavier_normal_scale, .fill_what = "xavier_normal_"};
const OpImpl op_impl_INIT_XAVIER_UNIFORM = {
    .op = OP_INIT_XAVIER_UNIFORM, .fill = "fill_uniform", .scale = xavier_uniform_scale, .fill_what = "xavier_uniform_"};
const OpImpl op_impl_INIT_ZEROS = {.op = OP_INIT_ZEROS}; /* no fill: the arena starts zeroed */
const OpImpl op_impl_INIT_NORMAL = {
    .op = OP_INIT_NORMAL, .fill = "fill_normal", .scale = normal_scale, .fill_what = "normal_"};
const OpImpl op_impl_INIT_UNIFORM = {
    .op = OP_INIT_UNIFORM, .fill = "fill_uniform", .scale = uniform_scale, .fill_what = "uniform_"};

/* The schedules are stepped by the generated training loop (emit_c.c). */
const OpImpl op_impl_SCHED_CONSTANT = {.op = OP_SCHED_CONSTANT};
const OpImpl op_impl_SCHED_STEP = {.op = OP_SCHED_STEP};
const OpImpl op_impl_SCHED_EXPONENTIAL = {.op = OP_SCHED_EXPONENTIAL};
const OpImpl op_impl_SCHED_COSINE = {.op = OP_SCHED_COSINE};
const OpImpl op_impl_SCHED_PLATEAU = {.op = OP_SCHED_PLATEAU};

const OpImpl op_impl_TRAIN = {.op = OP_TRAIN};
