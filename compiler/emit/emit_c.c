/*
 * emit_c.c: the planned IR as a C99 header and source file.
 *
 * Assumes a shape-checked IR, after autodiff, with a memory plan.  Writes
 * the API of spec section 10 around the kernels of kernels.c:
 *
 *   run_output   the forward nodes the output needs (inference)
 *   run_loss     the forward nodes the loss needs (training)
 *   run_backward the OP_GRAD nodes, in order
 *   run_update   one optimizer kernel per parameter
 *
 * Every buffer is an offset into one arena planned at compile time (the
 * schedules name the ones they pass after their values: logits_0_weight,
 * grad_logits), so a model needs one allocation (NAME_create) or none
 * (NAME_init on memory the caller owns: NAME_ARENA_BYTES, a constant in
 * the header, aligned to NAME_ARENA_ALIGN; anything less is refused
 * before a byte is written).
 * With --inference the parameters are static const arrays and the file
 * needs neither the runtime nor the heap.  Output is
 * deterministic: no dates, stable order, floats printed with %.9g.
 *
 * emit_c() at the end of the file is the list of steps, in the order
 * their text appears: NAME.h (emit_header), then NAME.c: the prelude, the
 * model's struct, the helper functions, the kernels, the schedules, the
 * parameters' initialisation, the API, NAME_forward, the training API,
 * tests/gradcheck's table and the runtime's descriptor.  Text is printed
 * through emitter.h; kernels.h writes the kernels.
 */
#include "emit_c.h"

#include "conv_algo.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "cident.h"
#include "gemm.h"
#include "kernels.h"
#include "ops_impl.h"

/*
 * The vector, fused multiply-add, dispatch and square-root macros of the
 * generated code.  For the host target (nnc's default) everything is
 * chosen by the predefined macros of the compiler and target that compile
 * the generated file, never by nnc: the same NAME.c builds for AVX-512,
 * plain x86-64, AArch64 or a Cortex-M (docs/performance.md, "Vector width
 * and fused multiply-add").  A fixed --target writes its own width (or
 * none) instead of lanes_host and no dispatch, and target_prune() then
 * leaves out the branches it never takes (docs/architecture.md, "The
 * target boundary").
 */
static const char *const lanes_host[] = {
    "/* Vectors (GCC and Clang vector extensions) as wide as the registers of the",
    " * target the file is compiled for: NNC_LANES floats, 16 with AVX-512, 8 with",
    " * AVX, 4 with SSE2 or NEON; elsewhere no vector types (plain loops the",
    " * compiler may vectorise).  No sum's order depends on the width, and",
    " * -DNNC_SCALAR selects the plain loops, which give the same bits. */",
    "#if defined(__GNUC__) && !defined(NNC_SCALAR)",
    "#if defined(__AVX512F__)",
    "#define NNC_LANES 16",
    "#elif defined(__AVX__)",
    "#define NNC_LANES 8",
    "#elif defined(__SSE2__) || defined(__ARM_NEON) || defined(__aarch64__)",
    "#define NNC_LANES 4",
    "#endif",
    "#endif",
};

/* The rest of the vector and FMA macros, for every target (a fixed one
 * gets them pruned to what it uses, target_prune()). */
static const char *const vector_prelude[] = {
    "#ifdef NNC_LANES",
    "#define NNC_VECTOR 1",
    "#endif",
    "/* Eight-lane dot products (the small-batch dense kernels), where the",
    " * registers have eight lanes or more; the plain loops elsewhere. */",
    "#if defined(NNC_VECTOR) && NNC_LANES >= 8",
    "#define NNC_VECTOR8 1",
    "typedef real vreal __attribute__((vector_size(8 * sizeof(real))));",
    "#define VLOAD(v, p) memcpy(&(v), (p), sizeof(vreal))",
    "#define VSTORE(p, v) memcpy((p), &(v), sizeof(vreal))",
    "#define VSUM(v) ((((v)[0] + (v)[1]) + ((v)[2] + (v)[3])) + (((v)[4] + (v)[5]) + ((v)[6] + (v)[7])))",
    "#endif",
    "",
    "/* Fused multiply-add (one rounding) where the target has it: x86 FMA or",
    " * AVX-512, AArch64, Arm VFPv4 and NEONv2 (__ARM_FEATURE_FMA); about twice",
    " * the multiply-add throughput of mul then add.  The vector kernels use the",
    " * instruction and the plain loops fmaf() (an instruction there too), so the",
    " * two agree bit for bit on one target; across targets they agree to",
    " * rounding. */",
    "#if !defined(NNC_DOUBLE) && defined(__GNUC__) && (defined(__FMA__) || defined(__AVX512F__))",
    "#define NNC_FMA 1",
    "#include <immintrin.h>",
    "#elif !defined(NNC_DOUBLE) && defined(__ARM_FEATURE_FMA)",
    "#define NNC_FMA 1",
    "#if defined(NNC_VECTOR) && defined(__ARM_NEON)",
    "#include <arm_neon.h>",
    "#endif",
    "#endif",
    "",
};

/* The host target's run-time dispatch (Target.dispatch). */
static const char *const dispatch_prelude[] = {
    "/* Run-time dispatch, for code compiled for x86-64 without AVX (plain",
    " * cc -O2) by GCC 6+ or Clang 7+: the hot vector functions (the GEMM's",
    " * panel, dotsum(), the direct convolutions' tiles) have AVX-512 and",
    " * AVX2 + FMA copies besides the SSE2 one, compiled for those instruction",
    " * sets, and NNC_ISA_CALL picks one by nnc_isa, set once at start-up from",
    " * the CPU: 2 AVX-512, 1 AVX2 and FMA, 0 neither.  Both copies fuse their",
    " * multiply-adds, and so does FMADD in the plain loops when nnc_isa > 0,",
    " * so the vector and the plain (-DNNC_SCALAR) builds give the same bits on",
    " * one machine; machines with and without FMA agree to rounding, as",
    " * builds for them do.  -DNNC_NO_DISPATCH turns it off; -DNNC_ISA_MAX=N",
    " * caps the level (tests build each path). */",
    "#if !defined(NNC_DOUBLE) && !defined(NNC_FMA) && !defined(NNC_NO_DISPATCH) && defined(__x86_64__) && \\",
    "    !defined(__AVX__) && !defined(__INTEL_COMPILER) && \\",
    "    ((defined(__clang__) && __clang_major__ >= 7) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 6))",
    "#define NNC_DISPATCH 1",
    "#ifndef NNC_ISA_MAX",
    "#define NNC_ISA_MAX 2",
    "#endif",
    "#ifdef NNC_VECTOR",
    "#include <immintrin.h>",
    "#endif",
    "static int nnc_isa;",
    "__attribute__((constructor)) static void nnc_isa_init(void)",
    "{",
    "    __builtin_cpu_init();",
    "    nnc_isa = __builtin_cpu_supports(\"avx512f\") ? 2 : __builtin_cpu_supports(\"avx2\") && __builtin_cpu_supports(\"fma\");",
    "    if (nnc_isa > NNC_ISA_MAX)",
    "        nnc_isa = NNC_ISA_MAX;",
    "}",
    "#endif",
    "/* The loops that stay SSE2 in that build (pooling, its backward, the",
    " * packing of direct convolution) are left to GCC's vectoriser, which at",
    " * -O2 (GCC 12+, its \"very cheap\" cost model) takes no loop that needs a",
    " * run-time alias check or a scalar epilogue, and before GCC 12 none:",
    " * every loop of an OpenMP parallel region (its body reads the pointers",
    " * from a struct, without their restrict) stayed scalar, and lenet's",
    " * pooling and its backward took 3 to 6 times the CPU time at two",
    " * threads that they took at one.  So GCC gets the cost model of",
    " * -fvect-cost-model=cheap here.  It reorders no sum (no -ffast-math), so",
    " * the results are the same bits. */",
    "#if defined(NNC_DISPATCH) && !defined(__clang__) && defined(__OPTIMIZE__) && !defined(__OPTIMIZE_SIZE__)",
    "#pragma GCC optimize(\"tree-vectorize\", \"vect-cost-model=cheap\")",
    "#endif",
};

static const char *const vector_rest[] = {
    "#if defined(NNC_DISPATCH) && defined(NNC_VECTOR)",
    "#define NNC_ISA_CALL(fn, args) (nnc_isa == 2 ? fn##_x16 args : nnc_isa == 1 ? fn##_x8 args : fn args)",
    "#else",
    "#define NNC_ISA_CALL(fn, args) fn args",
    "#endif",
    "#ifdef NNC_FMA",
    "#define FMADD(a, b, c) fmaf((a), (b), (c))",
    "#elif defined(NNC_DISPATCH)",
    "#define FMADD(a, b, c) (nnc_isa ? fmaf((a), (b), (c)) : (a) * (b) + (c))",
    "#else",
    "#define FMADD(a, b, c) ((a) * (b) + (c))",
    "#endif",
    "/* c = a b + c on eight-lane vectors, rounded as FMADD (the few-sample",
    " * dense forward; in the builds that dispatch it has no vreal) */",
    "#if defined(NNC_VECTOR8) && defined(NNC_FMA) && defined(__FMA__)",
    "#define VFMADD(c, a, b) ((c) = (vreal)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))",
    "#elif defined(NNC_VECTOR8) && defined(NNC_FMA)",
    "#define VFMADD(c, a, b) for (int vf_ = 0; vf_ < 8; vf_++) (c)[vf_] = FMADD((a)[vf_], (b)[vf_], (c)[vf_])",
    "#elif defined(NNC_VECTOR8)",
    "#define VFMADD(c, a, b) ((c) += (a) * (b))",
    "#endif",
    "/* s[0..3] = VSUM(a), VSUM(b), VSUM(c), VSUM(d): with AVX, two levels of",
    " * pairwise adds (hadd) and the halves' sum give VSUM's tree, four at once */",
    "#if defined(NNC_VECTOR8) && !defined(NNC_DOUBLE) && defined(__AVX__)",
    "#include <immintrin.h>",
    "#define VSUM4(s, a, b, c, d)                                                                   \\",
    "    do {                                                                                       \\",
    "        __m256 h_ = _mm256_hadd_ps(_mm256_hadd_ps((__m256)(a), (__m256)(b)),                 \\",
    "                                   _mm256_hadd_ps((__m256)(c), (__m256)(d)));                 \\",
    "        _mm_storeu_ps((s), _mm_add_ps(_mm256_castps256_ps128(h_), _mm256_extractf128_ps(h_, 1))); \\",
    "    } while (0)",
    "#elif defined(NNC_VECTOR8)",
    "#define VSUM4(s, a, b, c, d) ((s)[0] = VSUM(a), (s)[1] = VSUM(b), (s)[2] = VSUM(c), (s)[3] = VSUM(d))",
    "#endif",
    "",
    "/* Square roots of a vector (Adam's update), by the instruction: sqrtf()",
    " * is not vectorized where it may set errno.  Correctly rounded either way. */",
    "#if defined(NNC_VECTOR) && !defined(NNC_DOUBLE) && NNC_LANES == 16",
    "#include <immintrin.h>",
    "#define NNC_VSQRT 16",
    "typedef float vsq __attribute__((vector_size(64)));",
    "#define VSQRT(v) ((vsq)_mm512_sqrt_ps((__m512)(v)))",
    "#elif defined(NNC_VECTOR) && !defined(NNC_DOUBLE) && NNC_LANES == 8",
    "#include <immintrin.h>",
    "#define NNC_VSQRT 8",
    "typedef float vsq __attribute__((vector_size(32)));",
    "#define VSQRT(v) ((vsq)_mm256_sqrt_ps((__m256)(v)))",
    "#elif defined(NNC_VECTOR) && !defined(NNC_DOUBLE) && defined(__SSE2__)",
    "#include <emmintrin.h>",
    "#define NNC_VSQRT 4",
    "typedef float vsq __attribute__((vector_size(16)));",
    "#define VSQRT(v) ((vsq)_mm_sqrt_ps((__m128)(v)))",
    "#elif defined(NNC_VECTOR) && !defined(NNC_DOUBLE) && defined(__aarch64__)",
    "#include <arm_neon.h>",
    "#define NNC_VSQRT 4",
    "typedef float vsq __attribute__((vector_size(16)));",
    "#define VSQRT(v) ((vsq)vsqrtq_f32((float32x4_t)(v)))",
    "#endif",
    "",
};

static ll numel(const IrNode *n)
{
    return n->shape.rank == 0 ? 1 : shape_numel(&n->shape);
}

/* "logits.0.weight" -> "logits_0_weight" */
static const char *cname(const Ir *ir, const char *s)
{
    char *c = arena_printf(ir->arena, "%s", s);
    for (char *p = c; *p; p++)
        if (*p == '.')
            *p = '_';
    return c;
}

/* The static array of parameter node id in inference code: w_ and its
 * name with dots as underscores, and the node id after it when an earlier
 * parameter already has that spelling (h.0.weight and h_0.weight).  No
 * parameter name ends in a digit (.weight, .bias, .running_mean, ...), so
 * the suffixed name is no other parameter's. */
static const char *weight_name(const Ir *ir, int id)
{
    const char *c = cname(ir, ir->nodes[id].param);
    for (int j = 0; j < id; j++)
        if (ir->nodes[j].op == OP_PARAM && strcmp(cname(ir, ir->nodes[j].param), c) == 0)
            return arena_printf(ir->arena, "w_%s_%d", c, id);
    return arena_printf(ir->arena, "w_%s", c);
}

/* Node id's buffer as the index into the arena's `real` scalars the
 * generated code uses (memplan.h's 4-byte slots). */
static ll slot_of(const Emitter *e, int id)
{
    return (ll)mem_slots(e->plan->offset[id]);
}

/* The C expression for node id's buffer inside a schedule function. */
static const char *buf(const Emitter *e, int id)
{
    const Ir *ir = e->ir;
    int r = e->plan->root[id];
    const IrNode *n = &ir->nodes[r];
    if (n->op == OP_INPUT)
        return arena_printf(ir->arena, "in_%s", n->name);
    if (n->op == OP_TARGET)
        return "target";
    if (n->op == OP_PARAM && e->opt->inference)
        return weight_name(ir, r);
    return arena_printf(ir->arena, "A + %lld", slot_of(e, r));
}

/* ---- the names of the buffers ------------------------------------------------
 *
 * A schedule function (run_output, run_backward, ...) passes its kernels
 * pointers named after the values they hold, declared once at its top as
 * `real *const NAME = A + OFFSET;` with the value's shape, rather than bare
 * arena offsets.  A name is per value (per planned buffer, MemPlan.root),
 * not per region of the arena: the plan lets values that are never live
 * together share bytes, and each keeps its own name.  The names, in order:
 *   parameters, optimizer state  their state_dict names, dots as '_'
 *                                (logits_0_weight, logits_0_weight_exp_avg),
 *                                as in the .safetensors
 *   a value of the source        its name (logits, h, fc1), or a pipeline
 *                                stage's name and its operator (logits.2,
 *                                a maxpool: logits_2_maxpool); unnamed:
 *                                the operator and the node (add_13)
 *   a buffer holding an activation fused into its layer (fuse_epilogue,
 *                                fuse_act_grad): the activation's value
 *   a gradient                   grad_ and its value's name (grad_logits,
 *                                grad_logits_0_weight); one of several parts
 *                                the backward pass adds up: grad_h_from_r_0_dense
 *   a kernel's scratch           k006_scratch (its kernel is k006_...)
 * A name C or the generated code already uses (cident_taken(), and the
 * schedules' own locals) or an earlier buffer's becomes v<node>_NAME. */

typedef struct Model Model;
/* What emit_c()'s steps share: the nodes each schedule runs and the
 * figures the header comment and the descriptor print. */
struct Model {
    unsigned char *out;  /* run_output's nodes (the output and what it needs) */
    unsigned char *loss; /* run_loss's (none in inference code) */
    unsigned char *all;  /* every node the file computes: both, and training's backward and update */
    int training;        /* training code: a loss, not --inference */
    double flops;        /* forward FLOPs per sample of run_output */
    int64_t nparams;     /* trainable parameter scalars */
    int np;              /* parameter nodes, trainable or not */
    char ip[1024];       /* the inputs as the API's parameters, ", const float *in_x" */
    const char **name;   /* per node: the C name of its buffer, if it owns one in the arena, else NULL */
    const char **scratch_name; /* per node: the C name of its kernel's scratch block, or NULL */
    const char **function; /* per node: the function its kernel shares with an earlier node's, or NULL */
};

/* Locals of the functions that declare buffer names (emit_clip()'s). */
static const char *const schedule_locals[] = {"c", "clip", "sumsq"};

/* The forward value whose gradient node id holds (an OP_GRAD, or an
 * accumulation of the backward pass, autodiff.c's contribute()); -1 for
 * any other node. */
static int grad_of(const Ir *ir, int id)
{
    const IrNode *n = &ir->nodes[id];
    if (n->op == OP_GRAD)
        return ir->nodes[n->fwd].in[n->which];
    if (n->op == OP_ADD && n->phase == PH_BACKWARD)
        return n->fwd;
    return -1;
}

/* Is gradient node id one part of the sum an accumulation adds up for
 * value x? */
static int grad_part(const Ir *ir, int id, int x)
{
    for (int j = id + 1; j < ir->n; j++) {
        const IrNode *b = &ir->nodes[j];
        if (b->op == OP_ADD && b->phase == PH_BACKWARD && b->fwd == x && (b->in[0] == id || b->in[1] == id))
            return 1;
    }
    return 0;
}

/* The name of the value node id computes, before collisions. */
static const char *value_name(const Ir *ir, int id)
{
    const IrNode *n = &ir->nodes[id];
    Arena *a = ir->arena;
    if (n->op == OP_PARAM || n->op == OP_STATE)
        return cident_identifier(a, n->param);
    int x = grad_of(ir, id);
    if (x >= 0) {
        const char *g = arena_printf(a, "grad_%s", value_name(ir, x));
        if (!grad_part(ir, id, x))
            return g;
        if (n->op == OP_GRAD)
            return arena_printf(a, "%s_from_%s", g, value_name(ir, n->fwd));
        return arena_printf(a, "%s_sum", g);
    }
    return cident_value(a, n->name, op_info[n->op].name, id);
}

/* The node whose value root r's buffer holds once its kernel ran: r, or
 * the activation fused into r's kernel (IrNode.fused_into). */
static int holder(const Ir *ir, int r)
{
    int h = r;
    for (int j = r + 1; j < ir->n; j++)
        if (ir->nodes[j].fused_into == r)
            h = j;
    return h;
}

/* Is name free for a buffer: no C or generated name, no schedule local,
 * none of the k names in names[]? */
static int name_free(const char *name, const char *const *names, int k)
{
    if (cident_taken(name))
        return 0;
    for (size_t i = 0; i < sizeof schedule_locals / sizeof *schedule_locals; i++)
        if (strcmp(name, schedule_locals[i]) == 0)
            return 0;
    for (int i = 0; i < k; i++)
        if (names[i] && strcmp(names[i], name) == 0)
            return 0;
    return 1;
}

/* Does node id's value live in the arena (not the caller's input or
 * target, nor inference code's static weights)? */
static int in_arena(const Emitter *e, int id)
{
    const IrNode *n = &e->ir->nodes[id];
    if (n->op == OP_INPUT || n->op == OP_TARGET || (n->op == OP_PARAM && e->opt->inference))
        return 0;
    return e->plan->offset[id] >= 0;
}

/* The list of input parameters, "const float *in_x, const float *in_x2";
 * type is "float" in the API and "real" inside. */
static void input_params(Emitter *e, char *out, size_t len, const char *type)
{
    size_t k = 0;
    out[0] = '\0';
    for (int i = 0; i < e->ir->n; i++) {
        const IrNode *n = &e->ir->nodes[i];
        if (n->op == OP_INPUT)
            k += (size_t)snprintf(out + k, len - k, ", const %s *in_%s", type, n->name);
        if (k >= len)
            break;
    }
}

static void input_args(Emitter *e, char *out, size_t len, const char *offset)
{
    size_t k = 0;
    out[0] = '\0';
    for (int i = 0; i < e->ir->n; i++) {
        const IrNode *n = &e->ir->nodes[i];
        if (n->op != OP_INPUT)
            continue;
        if (offset)
            k += (size_t)snprintf(out + k, len - k, ", in_%s + (size_t)%s * %lld", n->name, offset, numel(n));
        else
            k += (size_t)snprintf(out + k, len - k, ", in_%s", n->name);
        if (k >= len)
            break;
    }
}

/* The buffers call() passes for node id, in order, in *ids (arena
 * memory): an update's inputs (the parameter, its gradient, its state),
 * or a kernel's operands (ir_operands) and its own value; returns how
 * many.  The kernel's scratch block, if any, follows them. */
static int call_buffers(const Emitter *e, int id, int **ids)
{
    const IrNode *n = &e->ir->nodes[id];
    if (n->op == OP_UPDATE) {
        *ids = n->in;
        return n->nin;
    }
    int nops = ir_operands(e->ir, id, NULL, 0);
    *ids = arena_alloc(e->ir->arena, (size_t)(nops + 1) * sizeof **ids);
    ir_operands(e->ir, id, *ids, nops);
    (*ids)[nops] = id;
    return nops + 1;
}

/* The C expression for node id's buffer in a function that declared the
 * names of the buffers it passes (emit_buffers()): the name, or buf()'s
 * expression for a buffer outside the arena (in_x, target, w_fc_weight). */
static const char *bufn(const Emitter *e, const Model *m, int id)
{
    int r = e->plan->root[id];
    return m->name[r] ? m->name[r] : buf(e, id);
}

static void call(Emitter *e, const Model *m, int id)
{
    const IrNode *n = &e->ir->nodes[id];
    char kn[KERN_NAME_MAX];
    char args[2048];
    size_t k = 0;
    int *ids, nids = call_buffers(e, id, &ids);
    ll count = kern_count_arg(e->ir, id);
    const char *len = count >= 0 ? arena_printf(e->ir->arena, ", %lld", count) : "";
    kern_name(e->ir, id, kn, sizeof kn);
    if (n->op == OP_UPDATE) {
        k += (size_t)snprintf(args, sizeof args, "lr, m->t%s", len);
    } else {
        int extra = kern_extra(e, id);
        k += (size_t)snprintf(args, sizeof args, "n%s%s%s", len, extra & KP_TRAINING ? (e->training ? ", 1" : ", 0") : "",
                              extra & KP_RNG ? ", &m->rng" : "");
    }
    for (int j = 0; j < nids && k < sizeof args; j++)
        k += (size_t)snprintf(args + k, sizeof args - k, ", %s", bufn(e, m, ids[j]));
    if (k < sizeof args && m->scratch_name[id])
        snprintf(args + k, sizeof args - k, ", %s", m->scratch_name[id]);
    emit_line(e, "%s(%s);", m->function[id] ? m->function[id] : kn, args);
}

/* The buffer names a function's body uses, in the order of first use:
 * buffers (their root node) and scratch blocks (-1 - the kernel's node). */
typedef struct Uses {
    int *list;
    int k;
    unsigned char *seen, *seen_scratch;
} Uses;

static Uses uses_new(const Ir *ir)
{
    Uses u = {0};
    u.list = arena_alloc(ir->arena, (size_t)(2 * ir->n + 1) * sizeof *u.list);
    u.seen = arena_alloc(ir->arena, (size_t)ir->n);
    u.seen_scratch = arena_alloc(ir->arena, (size_t)ir->n);
    return u;
}

/* Note what call(id) passes. */
static void uses_call(const Emitter *e, const Model *m, Uses *u, int id)
{
    int *ids, nids = call_buffers(e, id, &ids);
    for (int j = 0; j < nids; j++) {
        int r = e->plan->root[ids[j]];
        if (m->name[r] && !u->seen[r]) {
            u->seen[r] = 1;
            u->list[u->k++] = r;
        }
    }
    if (m->scratch_name[id] && !u->seen_scratch[id]) {
        u->seen_scratch[id] = 1;
        u->list[u->k++] = -1 - id;
    }
}

/* What a declaration's comment says of buffer r: the value's shape
 * ("[n, 6, 14, 14]") and what the kernel keeps after it ("then argmax");
 * of scratch block -1 - id, the regions in it. */
static const char *buffer_comment(const Emitter *e, int ref)
{
    const MemPlan *p = e->plan;
    int id = ref >= 0 ? ref : -1 - ref;
    char text[512];
    size_t k = 0;
    if (ref >= 0)
        kern_shape_comment(&e->ir->nodes[holder(e->ir, id)], text, sizeof text);
    else
        snprintf(text, sizeof text, "k%03d's scratch:", id);
    k = strlen(text);
    int first = 1;
    for (int j = 0; j < p->region_count[id] && k < sizeof text; j++) {
        const MemRegion *r = &p->regions[p->region_first[id] + j];
        if ((r->decl.kind == KM_SAVED) != (ref >= 0))
            continue;
        k += (size_t)snprintf(text + k, sizeof text - k, "%s %s", first ? (ref >= 0 ? ", then" : "") : ",",
                              r->decl.name);
        first = 0;
    }
    return arena_printf(e->ir->arena, "%s", text);
}

/* For each buffer in u, `real *const NAME = A + OFFSET;` and
 * buffer_comment() in a comment, in columns. */
static void emit_buffers(Emitter *e, const Model *m, const Uses *u)
{
    int w = 0, wo = 0;
    for (int j = 0; j < u->k; j++) {
        int ref = u->list[j];
        int len = (int)strlen(ref >= 0 ? m->name[ref] : m->scratch_name[-1 - ref]);
        ll off = mem_slots(ref >= 0 ? e->plan->offset[ref] : e->plan->scratch[-1 - ref]);
        int lo = snprintf(NULL, 0, "A + %lld;", off);
        w = len > w ? len : w;
        wo = lo > wo ? lo : wo;
    }
    for (int j = 0; j < u->k; j++) {
        int ref = u->list[j];
        const char *name = ref >= 0 ? m->name[ref] : m->scratch_name[-1 - ref];
        ll off = mem_slots(ref >= 0 ? e->plan->offset[ref] : e->plan->scratch[-1 - ref]);
        emit_line(e, "real *const %-*s = %-*s /* %s */", w, name, wo, arena_printf(e->ir->arena, "A + %lld;", off),
                  buffer_comment(e, ref));
    }
}

/* Does node id run a kernel (rather than being a view, a value the caller
 * passes, storage, or computed inside another node's kernel)? */
static int runs(const Emitter *e, int id)
{
    const IrNode *n = &e->ir->nodes[id];
    if (n->op == OP_INPUT || n->op == OP_TARGET || n->op == OP_PARAM || n->op == OP_STATE || n->inlined_into >= 0)
        return 0;
    return e->plan->root[id] == id;
}

static int train_plateau(const Ir *ir);

/* The arena's alignment, bytes: every buffer starts on a 64-byte line
 * (memplan.h's MEM_ALIGN), which the arena's start must keep. */
#define ARENA_ALIGN MEM_ALIGN

/* Bytes the model struct takes at the start of the arena: its fields
 * counted at 8 bytes each (no pointer, double or int64_t is wider on any
 * ABI; NnrtRng is four uint64_t), rounded up to ARENA_ALIGN so the buffers
 * after it stay aligned.  A compile-time constant, unlike sizeof on the
 * target, so the header can state the arena's size; the .c checks that
 * sizeof fits. */
static ll model_bytes(const Emitter *e)
{
    ll words = 1; /* a */
    if (!e->opt->inference) {
        words += 5 + 4; /* heap, lr0, lr, t, epoch; rng */
        if (train_plateau(e->ir))
            words += 4; /* best, bad_epochs, epoch_loss_sum, epoch_samples */
    }
    return (words * 8 + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
}

/* NAME_ARENA_BYTES: the model struct and every planned buffer (of
 * float scalars), in bytes. */
static ll arena_bytes(const Emitter *e)
{
    return model_bytes(e) + (ll)e->plan->total;
}

int64_t emit_c_arena_bytes(const Ir *ir, const MemPlan *plan, int inference)
{
    EmitOptions o = {0};
    o.inference = inference;
    Emitter e = {0};
    e.ir = ir;
    e.plan = plan;
    e.opt = &o;
    return arena_bytes(&e);
}

/* An integer constant usable in #if and in array sizes on any C99
 * compiler: unsigned long holds 32 bits everywhere (int may hold 16). */
static const char *size_literal(Arena *a, ll v)
{
    return arena_printf(a, v > 0xffffffffLL ? "%lldull" : "%lldul", v);
}

/* What the value NAME_forward returns is, for the header: read from the
 * op that computes it (views and dropout, the identity in inference,
 * looked through) and from the loss it feeds in training. */
static const char *output_meaning(const Emitter *e)
{
    const Ir *ir = e->ir;
    Arena *a = ir->arena;
    int o = ir->output;
    while (ir->nodes[o].op == OP_FLATTEN || ir->nodes[o].op == OP_RESHAPE || ir->nodes[o].op == OP_DROPOUT)
        o = ir->nodes[o].in[0];
    const IrNode *n = &ir->nodes[o];
    const char *axis = "";
    if (n->op == OP_SOFTMAX || n->op == OP_LOG_SOFTMAX) {
        int dim = (int)op_num(n->op, n->args, "dim");
        if (dim != -1 && dim != n->shape.rank - 1)
            axis = arena_printf(a, " over per-sample axis %d", dim);
        else
            axis = " over the last axis";
    }
    switch (n->op) {
    case OP_SOFTMAX:
        return arena_printf(a, "probabilities (softmax%s: each distribution sums to 1)", axis);
    case OP_LOG_SOFTMAX:
        return arena_printf(a, "log-probabilities (log_softmax%s: their exp() sums to 1)", axis);
    case OP_SIGMOID:
        return "probabilities in [0, 1], one per value, each on its own (sigmoid)";
    case OP_LOGSIGMOID:
        return "log-probabilities, one per value, each on its own (logsigmoid)";
    default:
        break;
    }
    if (ir->loss >= 0) {
        int pred = ir->nodes[ir->loss].in[0];
        while (pred != ir->output && (ir->nodes[pred].op == OP_FLATTEN || ir->nodes[pred].op == OP_RESHAPE))
            pred = ir->nodes[pred].in[0];
        if (pred == ir->output)
            switch (ir->nodes[ir->loss].op) {
            case OP_CROSS_ENTROPY:
                return "logits: unnormalised class scores, not probabilities (cross_entropy applies the "
                       "softmax while training); the largest is the predicted class, and softmax() of them "
                       "gives the probabilities";
            case OP_BINARY_CROSS_ENTROPY:
                return "logits, not probabilities (binary_cross_entropy applies the sigmoid while "
                       "training): sigmoid() of each gives its probability, and a logit above 0 means a "
                       "probability above 0.5";
            case OP_NLL:
                return "log-probabilities, as nll takes them; exp() gives the probabilities";
            case OP_MSE:
            case OP_L1:
            case OP_HUBER:
                return arena_printf(a, "predictions in the units of the target (regression, trained with %s)",
                                    op_info[ir->nodes[ir->loss].op].name);
            default:
                break;
            }
    }
    return arena_printf(a, "the values %s computes", op_info[n->op].name);
}

/* "[n, 1, 28, 28]": a batch of node id's per-sample shape. */
static const char *batch_shape(const Ir *ir, const IrNode *n)
{
    char dims[256] = "";
    size_t k = 0;
    for (int j = 0; j < n->shape.rank && k < sizeof dims; j++)
        k += (size_t)snprintf(dims + k, sizeof dims - k, ", %lld", (ll)n->shape.d[j]);
    return arena_printf(ir->arena, "[n%s]", dims);
}

static void emit_header(Emitter *e)
{
    const Ir *ir = e->ir;
    const char *M = e->opt->name;
    char ip[1024];
    int ninputs = 0;
    input_params(e, ip, sizeof ip, "float");
    for (int i = 0; i < ir->n; i++)
        ninputs += ir->nodes[i].op == OP_INPUT;
    emit_file_comment(e, e->ir->arena, e->opt->inference ? "Inference code" : "Training and inference code",
                      e->ir->model);
    emit_header_begin(e);
    if (e->opt->inference)
        emit_line(e, "#define %s_MAX_BATCH %d /* samples per pass; forward takes any n, in chunks */", M,
                  e->opt->max_batch);
    else
        emit_line(e, "#define %s_MAX_BATCH %d /* largest n for train_step; forward takes any n */", M,
                  e->opt->max_batch);
    emit_line(e, "%s", "");

    /* The memory the caller gives NAME_init, as constants: a static
     * array can be sized and aligned from them, and #if can check them
     * against a part's RAM. */
    Arena *a = ir->arena;
    emit_wrapped(e, 0, arena_printf(a, "Memory: %s_init places the model in an arena the caller owns, of %s_ARENA_BYTES "
                                    "bytes (the model, %lld bytes, and every buffer for %s_MAX_BATCH samples), at an "
                                    "address that is a multiple of %s_ARENA_ALIGN.  Nothing else is allocated, and no "
                                    "call writes outside the arena and out.  With GCC or Clang:",
                                 M, M, model_bytes(e), M, M));
    emit_line(e, " *     static unsigned char arena[%s_ARENA_BYTES]", M);
    emit_line(e, " *         __attribute__((aligned(%s_ARENA_ALIGN)));", M);
    emit_line(e, " * or, in C11 and C++11, alignas(%s_ARENA_ALIGN) in front. */", M);
    emit_line(e, "#define %s_ARENA_BYTES %s", M, size_literal(a, arena_bytes(e)));
    emit_line(e, "#define %s_ARENA_ALIGN %d", M, ARENA_ALIGN);
    emit_line(e, "%s", "");

    /* What goes in and what comes out: the caller cannot see the .nn. */
    char ins[1024];
    size_t k = 0;
    ins[0] = '\0';
    for (int i = 0; i < ir->n && k < sizeof ins; i++) {
        const IrNode *n = &ir->nodes[i];
        if (n->op == OP_INPUT)
            k += (size_t)snprintf(ins + k, sizeof ins - k, "%sin_%s %s (%s_INPUT_%s_SIZE floats per sample)",
                                  k ? ", then " : "", n->name, batch_shape(ir, n), M, n->name);
    }
    emit_wrapped(e, 1, arena_printf(a, "Input%s: row-major float32, n samples: %s.  Passed as they are: nothing here "
                                    "scales them.  The program nnc --exe builds divides uint8 data files (images) "
                                    "by 255 unless --no-scale; code calling this API does its own scaling, the "
                                    "one the weights were trained with (x / 255.0f for such pixels).",
                                 ninputs > 1 ? "s, in this order" : "", ins));
    for (int i = 0; i < ir->n; i++)
        if (ir->nodes[i].op == OP_INPUT)
            emit_line(e, "#define %s_INPUT_%s_SIZE %lld /* floats per sample */", M, ir->nodes[i].name,
                      numel(&ir->nodes[i]));
    if (ir->output >= 0) {
        const IrNode *out = &ir->nodes[ir->output];
        emit_wrapped(e, 1, arena_printf(a, "Output%s%s: float32 %s (%s_OUTPUT_SIZE floats per sample).  These are %s.",
                                     out->name ? " " : "", out->name ? out->name : "", batch_shape(ir, out), M,
                                     emit_c_comment(a, output_meaning(e))));
        emit_line(e, "#define %s_OUTPUT_SIZE %lld /* floats per sample */", M, numel(out));
    }
    emit_line(e, "%s", "");
    emit_line(e, "typedef struct %s %s;", M, M);
    emit_line(e, "%s", "");
    emit_line(e, "/* %s_ARENA_BYTES, for code that sizes the arena at run time. */", M);
    emit_line(e, "size_t %s_arena_bytes(void);", M);
    const char *refuse = arena_printf(a, "The model in the caller's arena (Memory above); no heap.  NULL, and nothing "
                                         "written, when arena is NULL, arena_bytes is below %s_ARENA_BYTES or arena "
                                         "is not a multiple of %s_ARENA_ALIGN.", M, M);
    if (e->opt->inference) {
        emit_wrapped(e, 1, arena_printf(a, "%s  The weights are compiled in (const: .rodata, or NNC_WEIGHTS_SECTION).",
                                     refuse));
        emit_line(e, "%s *%s_init(void *arena, size_t arena_bytes);", M, M);
    } else {
        emit_wrapped(e, 1, arena_printf(a, "%s  Parameters initialised as PyTorch does, from seed.", refuse));
        emit_line(e, "%s *%s_init(void *arena, size_t arena_bytes, uint64_t seed);", M, M);
        emit_line(e, "/* The same on the heap; NULL when out of memory. */");
        emit_line(e, "%s *%s_create(uint64_t seed);", M, M);
        emit_line(e, "void %s_destroy(%s *m);", M, M);
        emit_line(e, "/* safetensors with PyTorch's state_dict names; 0 or a negative NN_E* code. */");
        emit_line(e, "int %s_load(%s *m, const char *safetensors_path);", M, M);
        emit_line(e, "int %s_save(const %s *m, const char *safetensors_path);", M, M);
    }
    if (ir->output >= 0) {
        emit_wrapped(e, 1, arena_printf(a, "Inference (eval mode): the inputs above, out [n, %s_OUTPUT_SIZE]; any n >= 1.", M));
        emit_line(e, "void %s_forward(%s *m, int n%s, float *out);", M, M, ip);
    }
    if (!e->opt->inference && ir->loss >= 0) {
        const IrNode *t = &ir->nodes[ir->nodes[ir->loss].in[1]];
        emit_line(e, "/* One optimizer step on n samples (1 <= n <= %s_MAX_BATCH); target is", M);
        if (t->dtype == DT_CLASS)
            emit_line(e, " * int32_t[n] class labels in 0..%lld.  Returns the mean loss, NaN on a bad n or label. */",
                      (ll)t->shape.d[0] - 1);
        else
            emit_line(e, " * float[n, %lld].  Returns the mean loss, NaN on a bad n. */", numel(t));
        emit_line(e, "float %s_train_step(%s *m, int n%s, const void *target);", M, M, ip);
        emit_line(e, "/* The loss without training (eval mode); out as %s_forward, or NULL. */", M);
        emit_line(e, "float %s_eval_loss(%s *m, int n%s, const void *target, float *out);", M, M, ip);
        emit_line(e, "/* The learning rate, as the optimizer's lr; the schedule scales it per epoch. */");
        emit_line(e, "void %s_set_lr(%s *m, double lr);", M, M);
        emit_line(e, "/* End of an epoch: steps the learning-rate schedule. */");
        emit_line(e, "void %s_epoch_end(%s *m);", M, M);
        if (train_plateau(ir)) {
            emit_line(e, "/* End of an epoch with its validation loss: lr_schedule = plateau steps on it. */");
            emit_line(e, "void %s_epoch_end_loss(%s *m, double loss);", M, M);
        }
        emit_line(e, "/* The learning rate the next step uses (schedule and warm-up applied). */");
        emit_line(e, "double %s_get_lr(const %s *m);", M, M);
    }
    emit_line(e, "%s", "");
    emit_header_end(e);
}

/* Initialiser of one parameter, as PyTorch's reset_parameters() does. */
static void emit_init(Emitter *e, int id)
{
    char fb[48];
    const Ir *ir = e->ir;
    const IrNode *p = &ir->nodes[id];
    const IrNode *layer = &ir->nodes[p->layer];
    const char *b = buf(e, id);
    ll N = numel(p);
    double fan_in = 1, fan_out = 1;
    for (int j = 1; j < layer->nin; j++) {
        const IrNode *w = &ir->nodes[layer->in[j]];
        if (w->op == OP_PARAM && w->role == PR_WEIGHT && w->shape.rank >= 2) {
            double rf = 1;
            for (int k = 2; k < w->shape.rank; k++)
                rf *= (double)w->shape.d[k];
            fan_in = (double)w->shape.d[1] * rf;
            fan_out = (double)w->shape.d[0] * rf;
        }
    }
    if (layer->op == OP_BATCHNORM || layer->op == OP_LAYERNORM) {
        if (p->role == PR_WEIGHT || p->role == PR_RUNNING_VAR)
            emit_line(e, "fill_const(%s, %lld, 1.0f); /* %s */", b, N, p->param);
        return; /* the rest stay zero */
    }
    if (layer->op == OP_PRELU) {
        emit_line(e, "fill_const(%s, %lld, %s); /* %s */", b, N, emit_float(op_num(OP_PRELU, layer->args, "init"), fb),
                  p->param);
        return;
    }
    const Value *init = op_arg(layer->op, layer->args, p->role == PR_WEIGHT ? "init" : "bias_init");
    const Value *ia = init->args;
    const OpImpl *r = op_impl[init->op]; /* ops_train.c */
    if (!r->fill) {
        emit_line(e, "/* %s: zeros */", p->param);
        return;
    }
    const char *fill = r->fill, *what = r->fill_what;
    double v = r->scale(ia, fan_in, fan_out);
    emit_line(e, "%s(&rng, %s, %lld, %s); /* %s: %s */", fill, b, N, emit_float(v, fb), p->param, what);
}

/* Inference code's parameters as const arrays of their IrNode.value
 * (none for a parameter without one). */
static void emit_weights(Emitter *e)
{
    const Ir *ir = e->ir;
    /* External flash: a part that maps it (QSPI, FMC) links a section
     * there, and the weights, the bulk of the image, can go to it. */
    emit_line(e, "/* The weights are const: .rodata (flash) by default.  -DNNC_WEIGHTS_SECTION=");
    emit_line(e, " * '\".extflash\"' puts them in that linker section instead (GCC, Clang; Mach-O");
    emit_line(e, " * takes '\"__TEXT,__name\"'), for parts that keep constants in external flash. */");
    emit_line(e, "#if defined(NNC_WEIGHTS_SECTION) && defined(__GNUC__)");
    emit_line(e, "#define NNC_WEIGHTS __attribute__((section(NNC_WEIGHTS_SECTION)))");
    emit_line(e, "#elif defined(NNC_WEIGHTS_SECTION)");
    emit_line(e, "#error \"NNC_WEIGHTS_SECTION needs GCC's or Clang's section attribute\"");
    emit_line(e, "#else");
    emit_line(e, "#define NNC_WEIGHTS");
    emit_line(e, "#endif");
    for (int i = 0; i < ir->n; i++) {
        const IrNode *p = &ir->nodes[i];
        if (p->op != OP_PARAM || !e->plan->size || !p->value)
            continue;
        ll N = numel(p);
        const float *w = p->value;
        if (p->dtype == DT_I64) {
            /* num_batches_tracked: unused by inference */
            emit_line(e, "static const real %s[2] NNC_WEIGHTS = {0.0f, 0.0f};", weight_name(ir, i));
            continue;
        }
        emit_line(e, "static const real %s[%lld] NNC_WEIGHTS = {", weight_name(ir, i), N);
        for (ll k = 0; k < N; k += 8) {
            char line[512], fb[48];
            size_t len = 0;
            for (ll j = k; j < N && j < k + 8; j++)
                len += (size_t)snprintf(line + len, sizeof line - len, "%s, ", emit_float(w[j], fb));
            line[len - 1] = '\0';
            emit_line(e, "    %s", line);
        }
        emit_line(e, "};");
    }
    emit_line(e, "%s", "");
}

/* ---- training options of the train block ---- */

/* Does the model train with lr_schedule = plateau (ReduceLROnPlateau)? */
static int train_plateau(const Ir *ir)
{
    return ir->loss >= 0 && ir->optimizer && ir->train &&
           op_arg(OP_TRAIN, ir->train, "lr_schedule")->op == OP_SCHED_PLATEAU;
}

/*
 * `DECL = the learning rate of step STEP (1-based);`: the scheduled m->lr,
 * times min(1, s / N) during warm-up = N steps (the linear ramp of
 * LambdaLR(lambda k: min(1, (k + 1) / N)) stepped after every optimizer
 * step, k = s - 1 the scheduler's count).
 */
static void emit_step_lr(Emitter *e, const char *decl, const char *step)
{
    ll warmup = (ll)op_num(OP_TRAIN, e->ir->train, "warmup");
    if (warmup > 0)
        emit_line(e, "%s = %s < %lld ? m->lr * ((double)(%s) / %lld.0) : m->lr; /* warm-up */", decl, step, warmup, step,
                  warmup);
    else
        emit_line(e, "%s = m->lr;", decl);
}

/*
 * clip_grad_norm = X: torch.nn.utils.clip_grad_norm_(parameters, X), norm
 * type 2, before the optimizer step: the norm of all trainable
 * parameters' gradients taken together, sqrt(sum g^2) (summed in double),
 * and every gradient times X / (norm + 1e-6) when that is below 1.
 */
static void emit_clip(Emitter *e, const Model *m)
{
    const Ir *ir = e->ir;
    double x = op_num(OP_TRAIN, ir->train, "clip_grad_norm");
    if (x <= 0)
        return;
    emit_line(e, "/* clip_grad_norm_(max_norm = %.9g, norm_type = 2) */", x);
    emit_line(e, "double sumsq = 0.0;");
    for (int i = 0; i < ir->n; i++) {
        const IrNode *u = &ir->nodes[i];
        if (u->op != OP_UPDATE)
            continue;
        emit_line(e, "for (size_t i = 0; i < %lld; i++) /* %s */", numel(u), u->name);
        emit_line(e, "    sumsq += (double)%s[i] * (double)%s[i];", bufn(e, m, u->in[1]), bufn(e, m, u->in[1]));
    }
    emit_line(e, "double clip = %.17g / (sqrt(sumsq) + 1e-6);", x);
    emit_line(e, "if (clip < 1.0) {");
    e->indent++;
    emit_line(e, "real c = (real)clip;");
    for (int i = 0; i < ir->n; i++) {
        const IrNode *u = &ir->nodes[i];
        if (u->op != OP_UPDATE)
            continue;
        emit_line(e, "for (size_t i = 0; i < %lld; i++)", numel(u));
        emit_line(e, "    %s[i] *= c;", bufn(e, m, u->in[1]));
    }
    e->indent--;
    emit_line(e, "}");
}

/*
 * The training state beyond the parameters (NnrtModel.state, spec
 * section 11's --checkpoint): every optimizer slot "<param>.<slot>" as
 * torch.optim names it, the step count, the epoch, the learning rate and
 * the one the schedule starts from, plateau's best loss and bad epochs
 * (and this epoch's loss so far), and the model's RNG.  Restoring these
 * and the parameters makes the next train_step bit-identical.
 *   #define NSTATE, state_desc[NSTATE], state_ptr(m, i)
 */
static void emit_state(Emitter *e)
{
    const Ir *ir = e->ir;
    const char *M = e->opt->name;
    typedef struct { const char *name, *dtype, *where; const IrNode *shape; } St;
    St *st = arena_alloc(ir->arena, (size_t)(ir->n + 16) * sizeof *st);
    int ns = 0;
    for (int i = 0; i < ir->n; i++)
        if (ir->nodes[i].op == OP_STATE)
            st[ns++] = (St){ir->nodes[i].param, "NNRT_F32", arena_printf(ir->arena, "m->a + %lld", slot_of(e, i)),
                            &ir->nodes[i]};
    st[ns++] = (St){"__step__", "NNRT_I64", "&m->t", NULL};
    st[ns++] = (St){"__epoch__", "NNRT_I64", "&m->epoch", NULL};
    st[ns++] = (St){"__lr__", "NNRT_F64", "&m->lr", NULL};
    st[ns++] = (St){"__base_lr__", "NNRT_F64", "&m->lr0", NULL};
    if (train_plateau(ir)) {
        st[ns++] = (St){"__plateau_best__", "NNRT_F64", "&m->best", NULL};
        st[ns++] = (St){"__plateau_bad_epochs__", "NNRT_I64", "&m->bad_epochs", NULL};
        st[ns++] = (St){"__epoch_loss_sum__", "NNRT_F64", "&m->epoch_loss_sum", NULL};
        st[ns++] = (St){"__epoch_samples__", "NNRT_F64", "&m->epoch_samples", NULL};
    }
    st[ns++] = (St){"__rng__", "NNRT_I64", "m->rng.s", NULL}; /* xoshiro256** state, 4 x uint64 */
    emit_line(e, "/* Training state for --checkpoint/--resume: optimizer slots named as");
    emit_line(e, " * torch.optim names them, step, epoch, learning rate, schedule, RNG. */");
    emit_line(e, "#define NSTATE %d", ns);
    emit_line(e, "static const NnrtParamDesc state_desc[NSTATE] = {");
    for (int k = 0; k < ns; k++) {
        char dims[256] = "0";
        int rank = 0;
        if (st[k].shape) {
            size_t len = 0;
            rank = st[k].shape->shape.rank;
            for (int j = 0; j < rank; j++)
                len += (size_t)snprintf(dims + len, sizeof dims - len, "%s%lld", j ? ", " : "",
                                        (ll)st[k].shape->shape.d[j]);
        } else if (strcmp(st[k].name, "__rng__") == 0) {
            rank = 1;
            snprintf(dims, sizeof dims, "4");
        }
        emit_line(e, "    {\"%s\", %s, %d, {%s}, 0},", st[k].name, st[k].dtype, rank, dims);
    }
    emit_line(e, "};");
    emit_line(e, "%s", "");
    emit_line(e, "static void *state_ptr(%s *m, int i)", M);
    emit_line(e, "{");
    emit_line(e, "    switch (i) {");
    for (int k = 0; k < ns; k++)
        emit_line(e, "    case %d: return %s;", k, st[k].where);
    emit_line(e, "    }");
    emit_line(e, "    return NULL;");
    emit_line(e, "}");
    emit_line(e, "%s", "");
}

static void emit_schedule(Emitter *e, const Model *m, const char *fn, const unsigned char *set, int phase,
                          int training)
{
    char ip[1024];
    input_params(e, ip, sizeof ip, "real");
    emit_line(e, "static void %s(%s *m, int n%s, const void *target)", fn, e->opt->name, ip);
    emit_line(e, "{");
    e->indent++;
    emit_line(e, "real *A = m->a;");
    Uses u = uses_new(e->ir);
    for (int i = 0; i < e->ir->n; i++)
        if (set[i] && e->ir->nodes[i].phase == phase && runs(e, i))
            uses_call(e, m, &u, i);
    emit_buffers(e, m, &u);
    emit_line(e, "(void)A;");
    emit_line(e, "(void)n;");
    emit_line(e, "(void)target;");
    e->training = training;
    for (int i = 0; i < e->ir->n; i++)
        if (set[i] && e->ir->nodes[i].phase == phase && runs(e, i))
            call(e, m, i);
    e->training = 0;
    e->indent--;
    emit_line(e, "}");
    emit_line(e, "%s", "");
}

void emit_kernel_list(const Ir *ir, const MemPlan *plan, FILE *f)
{
    char kn[KERN_NAME_MAX];
    fprintf(f, "; kernels of model %s, in schedule order\n", ir->model);
    for (int i = 0; i < ir->n; i++) {
        const IrNode *n = &ir->nodes[i];
        if (n->op == OP_INPUT || n->op == OP_TARGET || n->op == OP_PARAM || n->op == OP_STATE ||
            plan->root[i] != i || n->poison || n->inlined_into >= 0)
            continue;
        fprintf(f, "%s\n", kern_name(ir, i, kn, sizeof kn));
    }
}


/* m->name and m->scratch_name: a name for every buffer of the arena and
 * every scratch block, in node order, unique (the section "the names of
 * the buffers" above). */
static void name_buffers(const Emitter *e, Model *m)
{
    const Ir *ir = e->ir;
    const MemPlan *p = e->plan;
    const char **given = arena_alloc(ir->arena, (size_t)(2 * ir->n + 1) * sizeof *given);
    int k = 0;
    m->name = arena_alloc(ir->arena, (size_t)ir->n * sizeof *m->name);
    m->scratch_name = arena_alloc(ir->arena, (size_t)ir->n * sizeof *m->scratch_name);
    for (int i = 0; i < ir->n; i++) {
        if (p->root[i] == i && in_arena(e, i)) {
            const char *want = value_name(ir, holder(ir, i));
            const char *c = name_free(want, given, k) ? want : arena_printf(ir->arena, "v%d_%s", i, want);
            while (!name_free(c, given, k))
                c = arena_printf(ir->arena, "%s_", c);
            m->name[i] = given[k++] = c;
        }
        /* k<id>_scratch: a kernel's name, which no other buffer takes */
        if (p->scratch[i] >= 0)
            m->scratch_name[i] = given[k++] = arena_printf(ir->arena, "k%03d_scratch", i);
    }
}

/* Fill m for the model e writes; 1 after reporting to d a node with no
 * kernel yet, else 0. */
static int model_sets(Emitter *e, Model *m, Diag *d)
{
    const Ir *ir = e->ir;
    const EmitOptions *o = e->opt;
    int errors0 = d->nerrors;
    m->out = arena_alloc(ir->arena, (size_t)ir->n);
    m->loss = arena_alloc(ir->arena, (size_t)ir->n);
    m->all = arena_alloc(ir->arena, (size_t)ir->n);
    ir_mark_needed(ir, ir->output, m->out);
    if (!o->inference)
        ir_mark_needed(ir, ir->loss, m->loss);
    m->training = !o->inference && ir->loss >= 0;
    for (int i = 0; i < ir->n; i++) {
        m->all[i] = m->out[i] || m->loss[i] || (m->training && ir->nodes[i].phase != PH_FORWARD);
        if (m->all[i] && !kern_supported(ir, i)) {
            const IrNode *n = &ir->nodes[i];
            Op op = n->op == OP_GRAD ? ir->nodes[n->fwd].op : n->op;
            diag_error(d, n->span, "code generation for %s is not implemented yet", op_info[op].name);
        }
    }
    if (d->nerrors > errors0)
        return 1;
    input_params(e, m->ip, sizeof m->ip, "float");
    name_buffers(e, m);
    m->flops = 0;
    m->nparams = 0;
    m->np = 0;
    for (int i = 0; i < ir->n; i++) {
        if (m->out[i])
            m->flops += kern_flops(ir, i);
        if (ir->nodes[i].op == OP_PARAM) {
            m->np++;
            if (ir->nodes[i].trainable)
                m->nparams += numel(&ir->nodes[i]);
        }
    }
    return 0;
}

/* NAME.c up to the model's struct: the header comment, the includes,
 * the scalar type, the vector and thread macros, the arena's size. */
static void emit_prelude(Emitter *e, const Model *m)
{
    const MemPlan *plan = e->plan;
    const EmitOptions *o = e->opt;
    const char *M = o->name;
    emit_file_comment(e, e->ir->arena, o->inference ? "Inference code" : "Training and inference code", e->ir->model);
    emit_line(e, "/* %lld trainable parameters; batch up to %d; %s_ARENA_BYTES %lld (buffers %lld, the model %lld);",
              (ll)m->nparams, o->max_batch, M, arena_bytes(e), (ll)plan->total, model_bytes(e));
    emit_line(e, " * %.0f FLOPs per sample forward. */", m->flops);
    emit_line(e, "#include \"%s.h\"", M);
    emit_line(e, "%s", "");
    emit_line(e, "#include <math.h>");
    if (!o->inference)
        emit_line(e, "#include <stdlib.h>");
    emit_line(e, "#include <string.h>");
    if (!o->inference) {
        emit_line(e, "%s", "");
        emit_line(e, "#include \"nnrt.h\"");
    }
    emit_line(e, "%s", "");
    emit_line(e, "/* The scalar type: float, or double when tests/gradcheck includes this");
    emit_line(e, " * file with NNC_DOUBLE for its finite-difference gradient check. */");
    emit_line(e, "#ifdef NNC_DOUBLE");
    emit_line(e, "typedef double real;");
    emit_line(e, "#define EXP exp");
    emit_line(e, "#define LOG log");
    emit_line(e, "#define TANH tanh");
    emit_line(e, "#define SQRT sqrt");
    emit_line(e, "#define ERF erf");
    emit_line(e, "#define LOG1P log1p");
    emit_line(e, "#define POW pow");
    emit_line(e, "#else");
    emit_line(e, "typedef float real;");
    emit_line(e, "#define EXP expf");
    emit_line(e, "#define LOG logf");
    emit_line(e, "#define TANH tanhf");
    emit_line(e, "#define SQRT sqrtf");
    emit_line(e, "#define ERF erff");
    emit_line(e, "#define LOG1P log1pf");
    emit_line(e, "#define POW powf");
    emit_line(e, "#endif");
    emit_line(e, "%s", "");
    const Target *t = target_or_host(e->ir->target);
    if (t->lanes == TARGET_LANES_BUILD) {
        emit_lines(e, lanes_host, sizeof lanes_host / sizeof lanes_host[0]);
    } else if (t->lanes > 0) {
        emit_line(e, "/* Vectors of NNC_LANES floats (GCC and Clang vector extensions) for --target");
        emit_line(e, " * %s, where the compiler targets them; elsewhere, and with -DNNC_SCALAR,", t->name);
        emit_line(e, " * the plain loops, which give the same bits.  The file stays C99 for any");
        emit_line(e, " * machine. */");
        emit_line(e, "#if defined(__GNUC__) && !defined(NNC_SCALAR) && (%s)", t->guard);
        emit_line(e, "#define NNC_LANES %d", t->lanes);
        emit_line(e, "#endif");
    } else {
        emit_line(e, "/* --target %s: plain loops, no vector types. */", t->name);
    }
    emit_lines(e, vector_prelude, sizeof vector_prelude / sizeof vector_prelude[0]);
    if (t->dispatch)
        emit_lines(e, dispatch_prelude, sizeof dispatch_prelude / sizeof dispatch_prelude[0]);
    emit_lines(e, vector_rest, sizeof vector_rest / sizeof vector_rest[0]);
    emit_line(e, "/* Threads: compile with -fopenmp (nnc --threads N does); each parallel loop");
    emit_line(e, " * splits independent outputs, so results equal one thread's bit for bit.");
    emit_line(e, " * The arena holds scratch for NNC_THREADS threads, so it is fixed here. */");
    emit_line(e, "#define NNC_THREADS %d", o->threads > 0 ? o->threads : 1);
    emit_line(e, "#if defined(_OPENMP) && NNC_THREADS > 1");
    emit_line(e, "#include <omp.h>");
    emit_line(e, "#define NNC_PRAGMA(x) _Pragma(#x)");
    emit_line(e, "#define NNC_PARALLEL_FOR NNC_PRAGMA(omp parallel for num_threads(NNC_THREADS) schedule(static))");
    emit_line(e, "#define NNC_THREAD omp_get_thread_num()");
    emit_line(e, "#else");
    emit_line(e, "#define NNC_PARALLEL_FOR");
    emit_line(e, "#define NNC_THREAD 0");
    emit_line(e, "#endif");
    emit_line(e, "%s", "");
    emit_line(e, "#define MAX_BATCH %d", o->max_batch);
    emit_line(e, "#define ARENA_FLOATS %lldu /* every buffer; offsets below are in floats */",
              (ll)mem_slots(plan->total));
    emit_line(e, "%s", "");
}

/* The model's struct and the arena's layout (and, in inference code,
 * the weights as static arrays). */
static void emit_struct(Emitter *e)
{
    const Ir *ir = e->ir;
    const EmitOptions *o = e->opt;
    const char *M = o->name;
    emit_line(e, "struct %s {", M);
    emit_line(e, "    real *a;       /* ARENA_FLOATS scalars, after the model in the arena */");
    if (!o->inference) {
        emit_line(e, "    void *heap;    /* what %s_create allocated, or NULL */", M);
        emit_line(e, "    double lr0;    /* the optimizer's lr, before the schedule */");
        emit_line(e, "    double lr;     /* the learning rate of the next step */");
        emit_line(e, "    int64_t t;     /* optimizer steps taken */");
        emit_line(e, "    int64_t epoch; /* epochs ended */");
        emit_line(e, "    NnrtRng rng;   /* dropout masks and rrelu slopes */");
        if (train_plateau(ir)) {
            emit_line(e, "    double best;           /* plateau: the lowest epoch loss so far */");
            emit_line(e, "    int64_t bad_epochs;    /* plateau: epochs since it improved */");
            emit_line(e, "    double epoch_loss_sum; /* this epoch's train_step losses times n */");
            emit_line(e, "    double epoch_samples;  /* and the n summed */");
        }
    }
    emit_line(e, "};");
    emit_line(e, "%s", "");
    emit_line(e, "/* The arena: the model at its start, in NNC_MODEL_BYTES (a multiple of");
    emit_line(e, " * %s_ARENA_ALIGN, so the buffers after it stay aligned), then", M);
    emit_line(e, " * ARENA_FLOATS scalars.  In float builds NNC_ARENA_BYTES is the header's");
    emit_line(e, " * %s_ARENA_BYTES (NNC_DOUBLE, tests/gradcheck's build, doubles it). */", M);
    emit_line(e, "#define NNC_MODEL_BYTES %lldu", model_bytes(e));
    emit_line(e, "#define NNC_ARENA_BYTES ((size_t)NNC_MODEL_BYTES + (size_t)ARENA_FLOATS * sizeof(real))");
    emit_line(e, "typedef char NNC_MODEL_FITS[sizeof(%s) <= NNC_MODEL_BYTES ? 1 : -1];", M);
    emit_line(e, "#ifndef NNC_DOUBLE");
    emit_line(e, "typedef char NNC_ARENA_BYTES_AGREE[NNC_ARENA_BYTES == %s_ARENA_BYTES ? 1 : -1];", M);
    emit_line(e, "#endif");
    emit_line(e, "%s", "");
    if (o->inference)
        emit_weights(e);
}

/* The helper functions the kernels call: the GEMM, dotsum(). */
static void emit_helpers(Emitter *e, const Model *m)
{
    const Ir *ir = e->ir;
    /* The GEMM, when a kernel will compute a dense or conv2d product, its
     * own or one inlined into it (fuse_conv_pool.c). */
    for (int i = 0; i < ir->n; i++) {
        const IrNode *n = &ir->nodes[i];
        Op op = n->op == OP_GRAD ? ir->nodes[n->fwd].op : n->op;
        if (m->all[i] && runs(e, ir_kernel_of(ir, i)) && op_impl[op]->gemm &&
            (n->op != OP_GRAD || n->which < 2)) {
            gemm_emit(e);
            break;
        }
    }
    /* dotsum(), when a direct conv2d dW kernel will call it. */
    for (int i = 0; i < ir->n; i++) {
        const IrNode *n = &ir->nodes[i];
        if (m->all[i] && runs(e, i) && n->op == OP_GRAD && n->which == 1 && ir->nodes[n->fwd].op == OP_CONV2D &&
            (ir->nodes[n->fwd].conv_algo & CONV_DIRECT_DW)) {
            kern_dotsum_emit(e);
            break;
        }
    }
}

/* text with the kernel names of node id, k<id>_..., as k#_...: what two
 * kernels' definitions are compared by. */
static const char *anonymous(Arena *a, const char *text, int id)
{
    char pre[32];
    int np = snprintf(pre, sizeof pre, "k%03d_", id);
    char *out = arena_alloc(a, strlen(text) + 1), *o = out;
    for (const char *p = text; *p;) {
        if (strncmp(p, pre, (size_t)np) == 0 && (p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_'))) {
            memcpy(o, "k#_", 3);
            o += 3;
            p += np;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* Run emit(e, m, id, d) with its text into a string (arena memory). */
static const char *capture(Emitter *e, Model *m, int id, Diag *d, void (*emit)(Emitter *, Model *, int, Diag *))
{
    char *text = NULL;
    size_t len = 0;
    FILE *saved = e->f;
    e->f = open_memstream(&text, &len);
    if (!e->f)
        diag_internal("emit_c", "out of memory");
    emit(e, m, id, d);
    fclose(e->f);
    e->f = saved;
    const char *copy = arena_printf(e->ir->arena, "%s", text);
    free(text);
    return copy;
}

/* The comment over kernel id: the nodes it computes and where the
 * source has them. */
static void kernel_comment(Emitter *e, Model *m, int i, Diag *d)
{
    const Ir *ir = e->ir;
    const char *source = emit_c_comment(ir->arena, e->opt->source);
    int nk = ir_kernel_nodes(ir, i, NULL, 0);
    int *nodes = arena_alloc(ir->arena, (size_t)nk * sizeof *nodes);
    (void)m;
    ir_kernel_nodes(ir, i, nodes, nk);
    if (nk > 1)
        emit_line(e, "/* fused: the %d nodes below in one loop, no buffer between them */", nk);
    for (int k = 0; k < nk; k++) {
        const IrNode *n = &ir->nodes[nodes[k]];
        const IrNode *f = n->op == OP_GRAD ? &ir->nodes[n->fwd] : n;
        int line, col;
        diag_linecol(d, f->span.start, &line, &col);
        const char *what = n->op == OP_GRAD ? "gradient of" : n->op == OP_UPDATE ? "update of" : "";
        emit_line(e, "/* %%%d %s%s%s %s (%s:%d) */", nodes[k], what, what[0] ? " " : "", f->name ? f->name : "",
                  op_info[f->op].name, source, line);
    }
}

static void kernel_definition(Emitter *e, Model *m, int i, Diag *d)
{
    (void)m;
    (void)d;
    kern_define(e, i);
}

/*
 * One function per kernel, in schedule order, each under a comment
 * naming the nodes it computes and where the source has them.  Kernels
 * whose definitions are the same text but for their names (the same
 * operation on the same shapes, or an element-wise or update kernel over
 * another count, kern_count_arg()) are one function, the first one's,
 * under the comments of all (m->function of the others names it).
 */
static void emit_kernels(Emitter *e, Model *m, Diag *d)
{
    const Ir *ir = e->ir;
    const char **text = arena_alloc(ir->arena, (size_t)ir->n * sizeof *text);
    const char **same = arena_alloc(ir->arena, (size_t)ir->n * sizeof *same);
    const char **comment = arena_alloc(ir->arena, (size_t)ir->n * sizeof *comment);
    int *first = arena_alloc(ir->arena, (size_t)ir->n * sizeof *first);
    m->function = arena_alloc(ir->arena, (size_t)ir->n * sizeof *m->function);
    for (int i = 0; i < ir->n; i++) {
        first[i] = -1;
        if (!m->all[i] || !runs(e, i))
            continue;
        comment[i] = capture(e, m, i, d, kernel_comment);
        text[i] = capture(e, m, i, d, kernel_definition);
        same[i] = anonymous(ir->arena, text[i], i);
        first[i] = i;
        for (int j = 0; j < i; j++)
            if (first[j] == j && strcmp(same[j], same[i]) == 0) {
                char kn[KERN_NAME_MAX];
                first[i] = j;
                m->function[i] = arena_printf(ir->arena, "%s", kern_name(ir, j, kn, sizeof kn));
                break;
            }
    }
    for (int i = 0; i < ir->n; i++) {
        if (first[i] != i)
            continue;
        int users = 0;
        for (int j = i; j < ir->n; j++)
            if (first[j] == i) {
                fputs(comment[j], e->f);
                users++;
            }
        if (users > 1) {
            char kn[KERN_NAME_MAX];
            emit_line(e, "/* %s: one function for the %d kernels above, each called on its own buffers%s */",
                      kern_name(ir, i, kn, sizeof kn), users, kern_count_arg(ir, i) >= 0 ? " and count" : "");
        }
        fputs(text[i], e->f);
    }
}

/* The schedules: run_output, and for training run_eval, run_loss,
 * run_backward and run_update. */
static void emit_schedules(Emitter *e, const Model *m)
{
    const Ir *ir = e->ir;
    const EmitOptions *o = e->opt;
    const char *M = o->name;
    emit_schedule(e, m, "run_output", m->out, PH_FORWARD, 0);
    if (m->training) {
        /* Evaluation computes the output and the loss in one pass in
         * schedule order: the plan lets the loss reuse memory of values
         * that the output's nodes would write again. */
        unsigned char *eval_set = arena_alloc(ir->arena, (size_t)ir->n);
        for (int i = 0; i < ir->n; i++)
            eval_set[i] = m->out[i] || m->loss[i];
        emit_schedule(e, m, "run_eval", eval_set, PH_FORWARD, 0);
        emit_schedule(e, m, "run_loss", m->loss, PH_FORWARD, 1);
        emit_schedule(e, m, "run_backward", m->all, PH_BACKWARD, 1);
        emit_line(e, "static void run_update(%s *m)", M);
        emit_line(e, "{");
        e->indent++;
        emit_line(e, "real *A = m->a;");
        Uses u = uses_new(ir);
        for (int i = 0; i < ir->n; i++)
            if (ir->nodes[i].op == OP_UPDATE)
                uses_call(e, m, &u, i);
        emit_buffers(e, m, &u);
        emit_line(e, "m->t++;");
        emit_step_lr(e, "double lr", "m->t");
        emit_clip(e, m);
        for (int i = 0; i < ir->n; i++)
            if (ir->nodes[i].op == OP_UPDATE)
                call(e, m, i);
        e->indent--;
        emit_line(e, "}");
        emit_line(e, "%s", "");
    }
}

/* Training code: the parameters' names, shapes and places (params[],
 * param_ptrs) and init_params(), PyTorch's initialisers. */
static void emit_parameters(Emitter *e, const Model *m)
{
    const Ir *ir = e->ir;
    const EmitOptions *o = e->opt;
    const char *M = o->name;
    if (!o->inference) {
        emit_line(e, "#ifndef NNC_DOUBLE");
        emit_line(e, "#define NPARAMS %d", m->np);
        emit_line(e, "static const NnrtParamDesc params[NPARAMS] = {");
        for (int i = 0; i < ir->n; i++) {
            const IrNode *p = &ir->nodes[i];
            if (p->op != OP_PARAM)
                continue;
            char dims[256];
            size_t k = 0;
            for (int j = 0; j < p->shape.rank; j++)
                k += (size_t)snprintf(dims + k, sizeof dims - k, "%s%lld", j ? ", " : "", (ll)p->shape.d[j]);
            if (p->shape.rank == 0)
                snprintf(dims, sizeof dims, "0");
            emit_line(e, "    {\"%s\", %s, %d, {%s}, %d},", p->param, p->dtype == DT_I64 ? "NNRT_I64" : "NNRT_F32",
                      p->shape.rank, dims, p->trainable);
        }
        emit_line(e, "};");
        emit_line(e, "%s", "");
        emit_line(e, "static void param_ptrs(const %s *m, void **p)", M);
        emit_line(e, "{");
        int k = 0;
        for (int i = 0; i < ir->n; i++)
            if (ir->nodes[i].op == OP_PARAM)
                emit_line(e, "    p[%d] = m->a + %lld;", k++, slot_of(e, i));
        emit_line(e, "}");
        emit_line(e, "#endif");
        emit_line(e, "%s", "");

        emit_line(e, "static void fill_uniform(NnrtRng *r, real *p, size_t n, float bound)");
        emit_line(e, "{");
        emit_line(e, "    for (size_t i = 0; i < n; i++)");
        emit_line(e, "        p[i] = (2.0f * nnrt_rng_uniform(r) - 1.0f) * bound;");
        emit_line(e, "}");
        emit_line(e, "%s", "");
        emit_line(e, "static void fill_normal(NnrtRng *r, real *p, size_t n, float std)");
        emit_line(e, "{");
        emit_line(e, "    for (size_t i = 0; i < n; i++)");
        emit_line(e, "        p[i] = nnrt_rng_normal(r) * std;");
        emit_line(e, "}");
        emit_line(e, "%s", "");
        emit_line(e, "static void fill_const(real *p, size_t n, float v)");
        emit_line(e, "{");
        emit_line(e, "    for (size_t i = 0; i < n; i++)");
        emit_line(e, "        p[i] = v;");
        emit_line(e, "}");
        emit_line(e, "%s", "");
        emit_line(e, "static void init_params(%s *m, uint64_t seed)", M);
        emit_line(e, "{");
        e->indent++;
        emit_line(e, "real *A = m->a;");
        emit_line(e, "NnrtRng rng;");
        emit_line(e, "nnrt_rng_seed(&rng, seed);");
        emit_line(e, "(void)fill_const;");
        emit_line(e, "(void)fill_normal;");
        emit_line(e, "(void)fill_uniform;");
        emit_line(e, "(void)A;");
        for (int i = 0; i < ir->n; i++)
            if (ir->nodes[i].op == OP_PARAM)
                emit_init(e, i);
        e->indent--;
        emit_line(e, "}");
        emit_line(e, "%s", "");
    }
}

/* The API every model has: NAME_arena_bytes, NAME_init, and for training
 * NAME_create, _destroy, _load, _save, which open the #ifndef NNC_DOUBLE
 * that emit_c() closes after emit_train_step (the API takes float data). */
static void emit_api(Emitter *e)
{
    const Ir *ir = e->ir;
    const EmitOptions *o = e->opt;
    const char *M = o->name;
    emit_line(e, "size_t %s_arena_bytes(void)", M);
    emit_line(e, "{");
    emit_line(e, "    return NNC_ARENA_BYTES;");
    emit_line(e, "}");
    emit_line(e, "%s", "");
    if (o->inference)
        emit_line(e, "%s *%s_init(void *arena, size_t arena_bytes)", M, M);
    else
        emit_line(e, "%s *%s_init(void *arena, size_t arena_bytes, uint64_t seed)", M, M);
    emit_line(e, "{");
    e->indent++;
    emit_line(e, "/* Too small or misaligned: refused before any byte is written. */");
    emit_line(e, "if (!arena || arena_bytes < NNC_ARENA_BYTES || (uintptr_t)arena %% %s_ARENA_ALIGN != 0)", M);
    emit_line(e, "    return NULL;");
    emit_line(e, "%s *m = (%s *)arena;", M, M);
    emit_line(e, "memset(m, 0, sizeof *m);");
    emit_line(e, "m->a = (real *)((unsigned char *)arena + NNC_MODEL_BYTES);");
    emit_line(e, "memset(m->a, 0, (size_t)ARENA_FLOATS * sizeof(real));");
    if (!o->inference) {
        double lr = ir->optimizer ? op_num(ir->optimizer->op, ir->optimizer->args, "lr") : 0;
        emit_line(e, "m->lr0 = m->lr = %.17g;", lr);
        if (train_plateau(ir))
            emit_line(e, "m->best = INFINITY;");
        emit_line(e, "init_params(m, seed);");
        emit_line(e, "nnrt_rng_seed(&m->rng, seed ^ 0x9e3779b97f4a7c15u); /* a stream apart from the initialisers' */");
    }
    emit_line(e, "return m;");
    e->indent--;
    emit_line(e, "}");
    emit_line(e, "%s", "");

    if (!o->inference) {
        emit_line(e, "%s *%s_create(uint64_t seed)", M, M);
        emit_line(e, "{");
        e->indent++;
        emit_line(e, "/* malloc aligns for any C type, not to %s_ARENA_ALIGN: allocate", M);
        emit_line(e, " * that much more and start the arena at the next multiple. */");
        emit_line(e, "unsigned char *mem = malloc(NNC_ARENA_BYTES + %s_ARENA_ALIGN - 1);", M);
        emit_line(e, "if (!mem)");
        emit_line(e, "    return NULL;");
        emit_line(e, "size_t pad = (size_t)((%s_ARENA_ALIGN - (uintptr_t)mem %% %s_ARENA_ALIGN) %% %s_ARENA_ALIGN);", M, M, M);
        emit_line(e, "%s *m = %s_init(mem + pad, NNC_ARENA_BYTES, seed);", M, M);
        emit_line(e, "if (!m) {");
        emit_line(e, "    free(mem);");
        emit_line(e, "    return NULL;");
        emit_line(e, "}");
        emit_line(e, "m->heap = mem;");
        emit_line(e, "return m;");
        e->indent--;
        emit_line(e, "}");
        emit_line(e, "%s", "");
        emit_line(e, "void %s_destroy(%s *m)", M, M);
        emit_line(e, "{");
        emit_line(e, "    if (m)");
        emit_line(e, "        free(m->heap);");
        emit_line(e, "}");
        emit_line(e, "%s", "");
        emit_line(e, "#ifndef NNC_DOUBLE /* the API takes float data */");
        emit_line(e, "int %s_load_err(%s *m, const char *path, NnrtErr *err)", M, M);
        emit_line(e, "{");
        emit_line(e, "    void *p[NPARAMS];");
        emit_line(e, "    param_ptrs(m, p);");
        emit_line(e, "    return nnrt_st_load_params(path, params, NPARAMS, p, err);");
        emit_line(e, "}");
        emit_line(e, "%s", "");
        emit_line(e, "int %s_save_err(const %s *m, const char *path, NnrtErr *err)", M, M);
        emit_line(e, "{");
        emit_line(e, "    void *p[NPARAMS];");
        emit_line(e, "    param_ptrs(m, p);");
        emit_line(e, "    return nnrt_st_save_params(path, params, NPARAMS, (const void *const *)p, err);");
        emit_line(e, "}");
        emit_line(e, "%s", "");
        emit_line(e, "int %s_load(%s *m, const char *path)", M, M);
        emit_line(e, "{");
        emit_line(e, "    NnrtErr err;");
        emit_line(e, "    return %s_load_err(m, path, &err);", M);
        emit_line(e, "}");
        emit_line(e, "%s", "");
        emit_line(e, "int %s_save(const %s *m, const char *path)", M, M);
        emit_line(e, "{");
        emit_line(e, "    NnrtErr err;");
        emit_line(e, "    return %s_save_err(m, path, &err);", M);
        emit_line(e, "}");
        emit_line(e, "%s", "");
    }
}

/* NAME_forward, when the model has an output. */
static void emit_forward(Emitter *e, const Model *m)
{
    const Ir *ir = e->ir;
    const MemPlan *plan = e->plan;
    const EmitOptions *o = e->opt;
    const char *M = o->name;
    char ia[1024];
    if (ir->output >= 0) {
        const IrNode *out = &ir->nodes[ir->output];
        emit_line(e, "void %s_forward(%s *m, int n%s, float *out)", M, M, m->ip);
        emit_line(e, "{");
        e->indent++;
        int from_input = ir->nodes[plan->root[ir->output]].op == OP_INPUT;
        emit_line(e, "float *A = m->a;");
        emit_line(e, "(void)A;");
        emit_line(e, "/* In chunks of MAX_BATCH: the arena holds that many samples. */");
        emit_line(e, "for (int done = 0; done < n; done += MAX_BATCH) {");
        e->indent++;
        emit_line(e, "int k = n - done < MAX_BATCH ? n - done : MAX_BATCH;");
        input_args(e, ia, sizeof ia, "done");
        emit_line(e, "run_output(m, k%s, NULL);", ia);
        emit_line(e, "memcpy(out + (size_t)done * %lld, %s%s, (size_t)k * %lld * sizeof(float));", numel(out),
                  buf(e, ir->output), from_input ? arena_printf(ir->arena, " + (size_t)done * %lld", numel(out)) : "",
                  numel(out));
        e->indent--;
        emit_line(e, "}");
        e->indent--;
        emit_line(e, "}");
        emit_line(e, "%s", "");
    }
}

/* Training code: NAME_train_step, _eval_loss, the learning rate and
 * its schedule, the optimizer state. */
static void emit_train_step(Emitter *e, const Model *m)
{
    const Ir *ir = e->ir;
    const EmitOptions *o = e->opt;
    const char *M = o->name;
    char ia[1024];
    if (m->training) {
        const IrNode *t = &ir->nodes[ir->nodes[ir->loss].in[1]];
        input_args(e, ia, sizeof ia, NULL);
        emit_line(e, "/* NaN for a batch the arena cannot hold or a label out of range. */");
        emit_line(e, "static int bad_batch(int n, const void *target)");
        emit_line(e, "{");
        emit_line(e, "    if (n < 1 || n > MAX_BATCH || !target)");
        emit_line(e, "        return 1;");
        if (t->dtype == DT_CLASS) {
            const IrNode *L = &ir->nodes[ir->loss];
            long long ig = kern_loss_ignore_index(L);
            emit_line(e, "    for (int s = 0; s < n; s++)");
            if (ig != INT64_MIN && (ig < 0 || ig >= (long long)t->shape.d[0])) {
                /* a label equal to ignore_index is skipped by the loss */
                emit_line(e, "        if ((uint32_t)((const int32_t *)target)[s] >= %lldu &&", (ll)t->shape.d[0]);
                emit_line(e, "            ((const int32_t *)target)[s] != %lld)", ig);
            } else {
                emit_line(e, "        if ((uint32_t)((const int32_t *)target)[s] >= %lldu)", (ll)t->shape.d[0]);
            }
            emit_line(e, "            return 1;");
        }
        emit_line(e, "    return 0;");
        emit_line(e, "}");
        emit_line(e, "%s", "");
        emit_line(e, "float %s_train_step(%s *m, int n%s, const void *target)", M, M, m->ip);
        emit_line(e, "{");
        emit_line(e, "    if (bad_batch(n, target))");
        emit_line(e, "        return NAN;");
        emit_line(e, "    run_loss(m, n%s, target);", ia);
        emit_line(e, "    run_backward(m, n%s, target);", ia);
        emit_line(e, "    run_update(m);");
        if (train_plateau(ir)) {
            /* epoch_end() without a loss steps the plateau on this */
            emit_line(e, "    m->epoch_loss_sum += (double)m->a[%lld] * n;", slot_of(e, ir->loss));
            emit_line(e, "    m->epoch_samples += n;");
        }
        emit_line(e, "    return m->a[%lld];", slot_of(e, ir->loss));
        emit_line(e, "}");
        emit_line(e, "%s", "");
        emit_line(e, "float %s_eval_loss(%s *m, int n%s, const void *target, float *out)", M, M, m->ip);
        emit_line(e, "{");
        emit_line(e, "    float *A = m->a;");
        emit_line(e, "    (void)A;");
        emit_line(e, "    if (bad_batch(n, target))");
        emit_line(e, "        return NAN;");
        if (ir->output >= 0) {
            const IrNode *out = &ir->nodes[ir->output];
            emit_line(e, "    run_eval(m, n%s, target);", ia);
            emit_line(e, "    if (out)");
            emit_line(e, "        memcpy(out, %s, (size_t)n * %lld * sizeof(float));", buf(e, ir->output), numel(out));
        } else {
            emit_line(e, "    run_loss(m, n%s, target);", ia);
        }
        emit_line(e, "    return m->a[%lld];", slot_of(e, ir->loss));
        emit_line(e, "}");
        emit_line(e, "%s", "");
        emit_line(e, "void %s_set_lr(%s *m, double lr)", M, M);
        emit_line(e, "{");
        emit_line(e, "    m->lr0 = m->lr = lr;");
        emit_line(e, "}");
        emit_line(e, "%s", "");
        const Value *sched = op_arg(OP_TRAIN, ir->train, "lr_schedule");
        const Value *sa = sched->args;
        if (train_plateau(ir)) {
            double factor = op_num(sched->op, sa, "factor");
            ll patience = (ll)op_num(sched->op, sa, "patience");
            emit_line(e, "/* ReduceLROnPlateau(mode = 'min', factor = %g, patience = %lld, threshold = 1e-4,", factor,
                      patience);
            emit_line(e, " * threshold_mode = 'rel', cooldown = 0, min_lr = 0, eps = 1e-8).step(loss) */");
            emit_line(e, "void %s_epoch_end_loss(%s *m, double loss)", M, M);
            emit_line(e, "{");
            emit_line(e, "    m->epoch++;");
            emit_line(e, "    m->epoch_loss_sum = m->epoch_samples = 0.0;");
            emit_line(e, "    if (loss < m->best * (1.0 - 1e-4)) {");
            emit_line(e, "        m->best = loss;");
            emit_line(e, "        m->bad_epochs = 0;");
            emit_line(e, "    } else {");
            emit_line(e, "        m->bad_epochs++;");
            emit_line(e, "    }");
            emit_line(e, "    if (m->bad_epochs > %lld) {", patience);
            emit_line(e, "        double lr = m->lr * %.17g;", factor);
            emit_line(e, "        if (m->lr - lr > 1e-8)");
            emit_line(e, "            m->lr = lr;");
            emit_line(e, "        m->bad_epochs = 0;");
            emit_line(e, "    }");
            emit_line(e, "}");
            emit_line(e, "%s", "");
            emit_line(e, "/* Without a validation loss: the epoch's mean training loss, the");
            emit_line(e, " * train_step losses weighted by their n (the driver's progress loss). */");
            emit_line(e, "void %s_epoch_end(%s *m)", M, M);
            emit_line(e, "{");
            emit_line(e, "    %s_epoch_end_loss(m, m->epoch_samples > 0 ? m->epoch_loss_sum / m->epoch_samples : NAN);", M);
            emit_line(e, "}");
            emit_line(e, "%s", "");
        } else {
            emit_line(e, "void %s_epoch_end(%s *m)", M, M);
            emit_line(e, "{");
            emit_line(e, "    m->epoch++;");
            switch (sched->op) {
            case OP_SCHED_STEP:
                emit_line(e, "    /* StepLR(step_size = %g, gamma = %g) */", op_num(sched->op, sa, "step_size"),
                          op_num(sched->op, sa, "gamma"));
                emit_line(e, "    m->lr = m->lr0 * pow(%.17g, (double)(m->epoch / %lld));",
                          op_num(sched->op, sa, "gamma"), (ll)op_num(sched->op, sa, "step_size"));
                break;
            case OP_SCHED_EXPONENTIAL:
                emit_line(e, "    /* ExponentialLR(gamma = %g) */", op_num(sched->op, sa, "gamma"));
                emit_line(e, "    m->lr = m->lr0 * pow(%.17g, (double)m->epoch);", op_num(sched->op, sa, "gamma"));
                break;
            case OP_SCHED_COSINE:
                emit_line(e, "    /* CosineAnnealingLR(T_max = %g, eta_min = %g), closed form */",
                          op_num(sched->op, sa, "t_max"), op_num(sched->op, sa, "eta_min"));
                emit_line(e, "    m->lr = %.17g + (m->lr0 - %.17g) * (1.0 + cos(3.14159265358979323846 * (double)m->epoch / %.17g)) / 2.0;",
                          op_num(sched->op, sa, "eta_min"), op_num(sched->op, sa, "eta_min"),
                          op_num(sched->op, sa, "t_max"));
                break;
            default:
                emit_line(e, "    /* constant learning rate */");
                break;
            }
            emit_line(e, "}");
            emit_line(e, "%s", "");
        }
        emit_line(e, "double %s_get_lr(const %s *m)", M, M);
        emit_line(e, "{");
        e->indent++;
        emit_step_lr(e, "double lr", "m->t + 1");
        emit_line(e, "return lr;");
        e->indent--;
        emit_line(e, "}");
        emit_line(e, "%s", "");
        emit_state(e);
    }
}

/* What tests/gradcheck needs to check every gradient against finite
 * differences in a double build. */
static void emit_gradcheck(Emitter *e, const Model *m)
{
    const Ir *ir = e->ir;
    const MemPlan *plan = e->plan;
    const EmitOptions *o = e->opt;
    const char *M = o->name;
    int nin = 0, in0 = -1;
    for (int i = 0; i < ir->n; i++)
        if (ir->nodes[i].op == OP_INPUT && nin++ == 0)
            in0 = i;
    if (m->training && nin == 1) {
        const IrNode *t = &ir->nodes[ir->nodes[ir->loss].in[1]];
        int nupd = 0;
        emit_line(e, "#ifdef NNC_DOUBLE");
        emit_line(e, "#define GC_INPUT_NUMEL %lld", numel(&ir->nodes[in0]));
        emit_line(e, "#define GC_TARGET_CLASSES %lld /* 0: a float target */", t->dtype == DT_CLASS ? (ll)t->shape.d[0] : 0);
        emit_line(e, "#define GC_TARGET_NUMEL %lld", t->dtype == DT_CLASS ? 1 : numel(t));
        emit_line(e, "#define GC_LOSS_AT %lld", slot_of(e, ir->loss));
        emit_line(e, "typedef %s gc_model;", M);
        emit_line(e, "#define GC_CREATE %s_create", M);
        emit_line(e, "#define GC_DESTROY %s_destroy", M);
        emit_line(e, "static const struct { const char *name; size_t param, grad, numel; } gc_params[] = {");
        for (int i = 0; i < ir->n; i++) {
            const IrNode *u = &ir->nodes[i];
            if (u->op != OP_UPDATE)
                continue;
            emit_line(e, "    {\"%s\", %lld, %lld, %lld},", ir->nodes[u->in[0]].param,
                      slot_of(e, u->in[0]), slot_of(e, plan->root[u->in[1]]), numel(u));
            nupd++;
        }
        emit_line(e, "};");
        emit_line(e, "#define GC_NPARAMS %d", nupd);
        emit_line(e, "#endif");
        emit_line(e, "%s", "");
    }
}

/* ---- PROG calibrate (docs/quantization.md) ---------------------------------- */

/* Does node j's buffer hold j's own value once the kernel writing it has
 * run, so that calibration can measure it?  Not for parameters, values
 * computed in registers (inlined), or a dense/conv2d whose buffer holds
 * its fused activation's value (that activation is measured instead). */
static int calib_recordable(const Emitter *e, int j)
{
    const IrNode *n = &e->ir->nodes[j];
    if (n->op == OP_PARAM || n->op == OP_TARGET || n->op == OP_STATE || n->dtype != DT_F32 || !n->name ||
        n->inlined_into >= 0 || n->phase != PH_FORWARD)
        return 0;
    if (e->plan->root[j] == j && n->epilogue != OP_COUNT)
        return 0;
    int r = e->plan->root[j]; /* the buffer's kernel must run (not inlined) */
    if (e->ir->nodes[r].op != OP_INPUT && !runs(e, r))
        return 0;
    for (int k = 0; k < j; k++) /* one range per name */
        if (e->ir->nodes[k].name && strcmp(e->ir->nodes[k].name, n->name) == 0 && e->ir->nodes[k].op != OP_PARAM)
            return 0;
    return 1;
}

/* The ranges of the values whose buffer is root r, just written. */
static void calib_record(Emitter *e, const Model *m, const int *slot, int r)
{
    for (int j = 0; j < e->ir->n; j++)
        if (m->out[j] && slot[j] >= 0 && e->plan->root[j] == r)
            emit_line(e, "nnc_range(%s, (size_t)n * %lld, lo + %d, hi + %d); /* %s */", bufn(e, m, j),
                      numel(&e->ir->nodes[j]), slot[j], slot[j], e->ir->nodes[j].name);
}

/* range_names[] and w_calibrate_n(): run_output's schedule in eval mode,
 * widening lo[i] and hi[i] to each value range_names[i] takes, right
 * after the kernel that writes it (a later kernel may reuse its memory).
 * Returns how many values it measures. */
static int emit_calibrate(Emitter *e, const Model *m, int ninputs)
{
    const Ir *ir = e->ir;
    int *slot = arena_alloc(ir->arena, (size_t)ir->n * sizeof *slot);
    int k = 0;
    for (int j = 0; j < ir->n; j++)
        slot[j] = m->out[j] && calib_recordable(e, j) ? k++ : -1;
    emit_line(e, "/* PROG calibrate: the values whose ranges it measures (docs/quantization.md). */");
    emit_line(e, "static const char *const range_names[%d] = {", k > 0 ? k : 1);
    for (int j = 0; j < ir->n; j++)
        if (slot[j] >= 0)
            emit_line(e, "    \"%s\",", emit_c_string(ir->arena, ir->nodes[j].name));
    if (k == 0)
        emit_line(e, "    \"\",");
    emit_line(e, "};");
    emit_line(e, "static void nnc_range(const real *p, size_t k, float *lo, float *hi)");
    emit_line(e, "{");
    emit_line(e, "    for (size_t i = 0; i < k; i++) {");
    emit_line(e, "        *lo = p[i] < *lo ? p[i] : *lo;");
    emit_line(e, "        *hi = p[i] > *hi ? p[i] : *hi;");
    emit_line(e, "    }");
    emit_line(e, "}");
    emit_line(e, "static void w_calibrate_n(void *mv, int n, const float *const *xs, float *lo, float *hi)");
    emit_line(e, "{");
    e->indent++;
    emit_line(e, "%s *m = mv;", e->opt->name);
    emit_line(e, "real *A = m->a;");
    Uses u = uses_new(ir);
    for (int i = 0; i < ir->n; i++)
        if (m->out[i] && ir->nodes[i].phase == PH_FORWARD && runs(e, i))
            uses_call(e, m, &u, i);
    emit_buffers(e, m, &u);
    emit_line(e, "(void)A;");
    int in = 0;
    for (int j = 0; j < ir->n; j++)
        if (ir->nodes[j].op == OP_INPUT)
            emit_line(e, "const real *in_%s = xs[%d];", ir->nodes[j].name, in++);
    (void)ninputs;
    for (int j = 0; j < ir->n; j++)
        if (ir->nodes[j].op == OP_INPUT)
            calib_record(e, m, slot, j);
    for (int i = 0; i < ir->n; i++)
        if (m->out[i] && ir->nodes[i].phase == PH_FORWARD && runs(e, i)) {
            call(e, m, i);
            calib_record(e, m, slot, i);
        }
    e->indent--;
    emit_line(e, "}");
    return k;
}

/* The descriptor the runtime's training driver works from (nnrt.h's
 * NnrtModel, version 2: every input, the loss kind, the prediction,
 * the training state, the current lr and plateau's hook). */
static void emit_descriptor(Emitter *e, const Model *m)
{
    const Ir *ir = e->ir;
    const MemPlan *plan = e->plan;
    const EmitOptions *o = e->opt;
    const char *M = o->name;
    if (!o->inference)
        emit_line(e, "#ifndef NNC_DOUBLE");
    int ninputs = 0;
    int in_id = -1;
    for (int i = 0; i < ir->n; i++)
        if (ir->nodes[i].op == OP_INPUT) {
            ninputs++;
            if (in_id < 0)
                in_id = i;
        }
    if (!o->inference && ninputs >= 1 && ir->output >= 0) {
        const IrNode *x = &ir->nodes[in_id], *out = &ir->nodes[ir->output];
        int pred = m->training && ir->nodes[plan->root[ir->nodes[ir->loss].in[0]]].op != OP_INPUT;
        /* "xs[0], xs[1]": the inputs of an array, in declaration order */
        char xs[1024];
        size_t xk = 0;
        xs[0] = '\0';
        for (int j = 0; j < ninputs && xk < sizeof xs; j++)
            xk += (size_t)snprintf(xs + xk, sizeof xs - xk, "%sxs[%d]", j ? ", " : "", j);
        int nranges = emit_calibrate(e, m, ninputs);
        emit_line(e, "static void *w_create(uint64_t seed) { return %s_create(seed); }", M);
        emit_line(e, "static void w_destroy(void *m) { %s_destroy(m); }", M);
        emit_line(e, "static int w_load(void *m, const char *path, NnrtErr *err) { return %s_load_err(m, path, err); }", M);
        emit_line(e, "static int w_save(const void *m, const char *path, NnrtErr *err) { return %s_save_err(m, path, err); }",
                  M);
        if (ninputs == 1)
            emit_line(e, "static void w_forward(void *m, int n, const float *x, float *out) { %s_forward(m, n, x, out); }", M);
        emit_line(e, "static void w_forward_n(void *m, int n, const float *const *xs, float *out) { %s_forward(m, n, %s, out); }",
                  M, xs);
        if (m->training) {
            if (ninputs == 1) {
                emit_line(e, "static float w_train_step(void *m, int n, const float *x, const void *t) { return %s_train_step(m, n, x, t); }",
                          M);
                emit_line(e, "static float w_eval_loss(void *m, int n, const float *x, const void *t, float *out) { return %s_eval_loss(m, n, x, t, out); }",
                          M);
            }
            emit_line(e, "static float w_train_step_n(void *m, int n, const float *const *xs, const void *t) { return %s_train_step(m, n, %s, t); }",
                      M, xs);
            emit_line(e, "static float w_eval_loss_n(void *m, int n, const float *const *xs, const void *t, float *out) { return %s_eval_loss(m, n, %s, t, out); }",
                      M, xs);
            emit_line(e, "static void w_set_lr(void *m, double lr) { %s_set_lr(m, lr); }", M);
            emit_line(e, "static void w_epoch_end(void *m) { %s_epoch_end(m); }", M);
            if (train_plateau(ir))
                emit_line(e, "static void w_epoch_end_loss(void *m, double loss) { %s_epoch_end_loss(m, loss); }", M);
            emit_line(e, "static double w_get_lr(const void *m) { return %s_get_lr(m); }", M);
            emit_line(e, "static void *w_state_ptr(void *m, int i) { return state_ptr(m, i); }");
            if (pred)
                emit_line(e, "static const float *w_pred(const void *m) { return ((const %s *)m)->a + %lld; }",
                          M, slot_of(e, plan->root[ir->nodes[ir->loss].in[0]]));
        }
        emit_line(e, "%s", "");
        emit_line(e, "static const NnrtInputDesc inputs[%d] = {", ninputs);
        for (int i = 0; i < ir->n; i++) {
            const IrNode *in = &ir->nodes[i];
            if (in->op != OP_INPUT)
                continue;
            char dims[256];
            size_t k = 0;
            for (int j = 0; j < in->shape.rank; j++)
                k += (size_t)snprintf(dims + k, sizeof dims - k, "%s%lld", j ? ", " : "", (ll)in->shape.d[j]);
            emit_line(e, "    {\"%s\", %d, {%s}, %lld},", in->name, in->shape.rank, dims, numel(in));
        }
        emit_line(e, "};");
        emit_line(e, "%s", "");
        emit_line(e, "const NnrtModel %s_model = {", M);
        e->indent++;
        emit_line(e, ".name = \"%s\",", ir->model);
        emit_line(e, ".source = \"%s\",", emit_c_string(ir->arena, o->source));
        emit_line(e, ".max_batch = MAX_BATCH,");
        char dims[256];
        size_t k = 0;
        for (int j = 0; j < x->shape.rank; j++)
            k += (size_t)snprintf(dims + k, sizeof dims - k, "%s%lld", j ? ", " : "", (ll)x->shape.d[j]);
        emit_line(e, ".input_rank = %d, .input_dims = {%s}, .input_numel = %lld,", x->shape.rank, dims, numel(x));
        if (m->training) {
            const IrNode *t = &ir->nodes[ir->nodes[ir->loss].in[1]];
            if (t->dtype == DT_CLASS)
                emit_line(e, ".target_kind = NNRT_TARGET_CLASS, .target_numel = %lld,", (ll)t->shape.d[0]);
            else
                emit_line(e, ".target_kind = NNRT_TARGET_F32, .target_numel = %lld,", numel(t));
        } else {
            emit_line(e, ".target_kind = NNRT_TARGET_NONE, .target_numel = 0,");
        }
        k = 0;
        for (int j = 0; j < out->shape.rank; j++)
            k += (size_t)snprintf(dims + k, sizeof dims - k, "%s%lld", j ? ", " : "", (ll)out->shape.d[j]);
        if (out->shape.rank == 0)
            snprintf(dims, sizeof dims, "0");
        emit_line(e, ".output_rank = %d, .output_dims = {%s}, .output_numel = %lld,", out->shape.rank, dims, numel(out));
        emit_line(e, ".train_batch = %d, .train_epochs = %d, .train_shuffle = %d, .train_seed = %lluu,",
                  (int)op_num(OP_TRAIN, ir->train, "batch"), (int)op_num(OP_TRAIN, ir->train, "epochs"),
                  op_num(OP_TRAIN, ir->train, "shuffle") != 0, (unsigned long long)op_num(OP_TRAIN, ir->train, "seed"));
        emit_line(e, ".lr = %.17g,", ir->optimizer ? op_num(ir->optimizer->op, ir->optimizer->args, "lr") : 0.0);
        emit_line(e, ".nparams = NPARAMS, .params = params,");
        emit_line(e, ".arena_bytes = NNC_ARENA_BYTES, .flops_per_sample = %.17g,", m->flops);
        emit_line(e, ".create = w_create, .destroy = w_destroy, .load = w_load, .save = w_save,");
        if (ninputs == 1)
            emit_line(e, ".forward = w_forward,");
        if (m->training && ninputs == 1)
            emit_line(e, ".train_step = w_train_step, .eval_loss = w_eval_loss,");
        if (m->training)
            emit_line(e, ".set_lr = w_set_lr, .epoch_end = w_epoch_end,");
        if (pred)
            emit_line(e, ".train_logits = w_pred,");
        emit_line(e, ".ninputs = %d, .inputs = inputs,", ninputs);
        emit_line(e, ".threads = NNC_THREADS,");
        emit_line(e, ".forward_n = w_forward_n,");
        if (m->training) {
            static const char *const kinds[] = {"MSE", "L1", "HUBER", "CROSS_ENTROPY", "BCE", "NLL"};
            static const Op kops[] = {OP_MSE, OP_L1, OP_HUBER, OP_CROSS_ENTROPY, OP_BINARY_CROSS_ENTROPY, OP_NLL};
            const char *kind = "NONE";
            for (int j = 0; j < 6; j++)
                if (ir->nodes[ir->loss].op == kops[j])
                    kind = kinds[j];
            emit_line(e, ".train_step_n = w_train_step_n, .eval_loss_n = w_eval_loss_n,");
            if (pred)
                emit_line(e, ".pred = w_pred,");
            emit_line(e, ".loss_kind = NNRT_LOSS_%s,", kind);
            /* the driver keeps a label equal to a written ignore_index */
            const IrNode *L = &ir->nodes[ir->loss];
            long long ig = kern_loss_ignore_index(L);
            if (ig != INT64_MIN && ir->nodes[L->in[1]].dtype == DT_CLASS)
                emit_line(e, ".has_ignore_index = 1, .ignore_index = %lld,", ig);
            if (op_arg_index(L->op, "reduction") >= 0 &&
                strcmp(op_arg(L->op, L->args, "reduction")->ident, "sum") == 0)
                emit_line(e, ".loss_reduction_sum = 1,");
            emit_line(e, ".nstate = NSTATE, .state = state_desc, .state_ptr = w_state_ptr,");
            emit_line(e, ".get_lr = w_get_lr,");
            if (train_plateau(ir))
                emit_line(e, ".epoch_end_loss = w_epoch_end_loss,");
        }
        emit_line(e, ".nranges = %d, .range_names = range_names, .calibrate_n = w_calibrate_n,", nranges);
        e->indent--;
        emit_line(e, "};");
    }
    if (!o->inference)
        emit_line(e, "#endif /* NNC_DOUBLE */");
}

int emit_c(const Ir *ir, const MemPlan *plan, const EmitOptions *o, Diag *d, FILE *h, FILE *c)
{
    Emitter E = {0}, *e = &E;
    Model m;
    e->ir = ir;
    e->plan = plan;
    e->opt = o;
    e->threads = ir->threads;
    if (model_sets(e, &m, d))
        return 1;

    e->f = h; /* NAME.h */
    emit_header(e);

    /* NAME.c; for a fixed target written first to a temporary file and
     * then pruned to what the target uses (target_prune()) */
    const Target *t = target_or_host(ir->target);
    FILE *whole = t->lanes == TARGET_LANES_BUILD ? c : tmpfile();
    if (!whole) /* (the driver writes through temporary files too) */
        diag_internal("emit_c", "no temporary file for --target %s's code", t->name);
    e->f = whole;
    emit_prelude(e, &m);
    emit_struct(e);
    emit_helpers(e, &m);
    emit_kernels(e, &m, d);
    emit_schedules(e, &m);
    emit_parameters(e, &m);
    emit_api(e);
    emit_forward(e, &m);
    emit_train_step(e, &m);
    if (!o->inference) /* closes emit_api's #ifndef NNC_DOUBLE */
        emit_line(e, "#endif /* NNC_DOUBLE */");
    emit_line(e, "%s", "");
    emit_gradcheck(e, &m);
    emit_descriptor(e, &m);
    if (whole != c) {
        int bad = fflush(whole) != 0 || fseek(whole, 0, SEEK_SET) != 0 || target_prune(t, whole, c) != 0;
        fclose(whole);
        if (bad)
            diag_internal("emit_c", "cannot prune the code for --target %s", t->name);
    }
    return 0;
}
