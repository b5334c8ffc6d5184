/*
 * quantize.h: int8 post-training quantization (nnc --quantize int8, spec
 * section 12; docs/quantization.md has the arithmetic and its sources).
 *
 * quant_plan() takes the inference IR (after fold_batchnorm, before any
 * fusion) with its float weights (IrNode.value) and the calibrated
 * ranges of a weights file written by PROG calibrate, and decides what
 * runs in int8: dense and conv2d (relu, relu6 and hardtanh after them
 * folded into the output clamp), maxpool, and flatten/reshape/dropout as
 * views; every other operator runs in float between a dequantize and a
 * quantize.  It quantizes the weights (int8 symmetric per output
 * channel), the biases (int32 at s_in * s_w[c]) and the requantization
 * multipliers (Q31 and a shift), and plans the int8 arena in bytes.
 * kernels_int8.c writes the code.
 */
#ifndef NNC_QUANTIZE_H
#define NNC_QUANTIZE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "ir.h"

/* One calibrated value of the weights file: the tensors NAME.scale
 * (F32[1]) and NAME.zero_point (I32[1]), NAME the value's name in the IR
 * ("x", "logits.1"). */
typedef struct QuantRange {
    const char *name;
    float scale;        /* > 0 */
    int32_t zero_point; /* in [-128, 127] */
} QuantRange;

/* What a node of the int8 graph is. */
typedef enum QuantKind {
    QK_NONE,    /* not computed (a parameter, a target, not needed) */
    QK_INPUT,   /* a model input: quantized by NAME_forward, given to NAME_forward_int8 */
    QK_DENSE,   /* int8 x int8 -> int32, requantized */
    QK_CONV2D,  /* likewise, any groups (depthwise included) */
    QK_MAXPOOL, /* int8 max: the input's scale and zero point */
    QK_AVGPOOL, /* int8 mean of q - z (PyTorch's zero padding counted): the input's scale */
    QK_GAP,     /* global_avgpool: likewise, over every position */
    QK_ADD,     /* residual +: both inputs rescaled to a common scale (TFLite's add) */
    QK_CONCAT,  /* each input requantized to the output's scale */
    QK_VIEW,    /* flatten, reshape, dropout: the input's bytes */
    QK_FOLDED,  /* relu/relu6/hardtanh folded into the dense/conv2d before it */
    QK_FLOAT    /* float: dequantize the input, the float op, quantize */
} QuantKind;

/* The int8 graph, per node id of the IR. */
typedef struct QuantNode {
    QuantKind kind;
    int value;          /* the node whose value this node's buffer holds (itself, or the
                         * activation folded into it) */
    int root;           /* the node owning the buffer (views: their input's root) */
    float scale;        /* the int8 value's scale and zero point */
    int32_t zero_point;
    int32_t act_min, act_max; /* the output clamp, within [-128, 127] */
    /* QK_DENSE / QK_CONV2D: weights [out, in...] int8, bias int32 [out],
     * multiplier Q31 and shift per output channel.  QK_ADD: mult/shift
     * [3], the two inputs' and the output's (nout 3); QK_CONCAT: one per
     * input (nout = nin) */
    int nout;
    int64_t wlen;       /* weights per output channel */
    int8_t *w;
    int32_t *bias;      /* TFLite's int32 bias */
    int32_t *bias_zp;   /* bias - z_in sum(w): the kernels sum x w alone (padding holds z_in) */
    int32_t *mult;
    int8_t *shift;      /* TFLite's shift: positive is left */
    float *w_scale;     /* per output channel */
    int64_t offset;     /* the buffer's byte offset in the arena (roots), or -1 */
    int64_t pad_plane;  /* QK_CONV2D: bytes of its input copied into a plane padded with z_in
                         * ([C, Hp, Wp], every window inside), 0 for none (quant_pad_plane) */
} QuantNode;

typedef struct QuantPlan {
    int n;              /* = ir->n */
    QuantNode *q;
    int input, output;  /* the model's input node and output (ir->output) */
    int64_t arena_bytes; /* int8 buffers plus the float scratch, one sample */
    int64_t float_scratch; /* byte offset of the float scratch (two buffers of scratch_floats) */
    int64_t scratch_floats;
    int64_t col, col_bytes; /* byte offset and size of conv2d's im2col row (int8) */
    int64_t wide, wide_bytes; /* the DSP kernels' int16 copy of a row, of two for conv2d (2 bytes per tap) */
    int64_t pad, pad_bytes; /* byte offset and size of the padded input plane of conv2d (pad_plane) */
    int64_t weight_bytes; /* int8 weights, int32 biases, multipliers and shifts */
    int64_t float_weight_bytes; /* the same parameters as float32 */
} QuantPlan;

/*
 * TensorFlow Lite's QuantizeMultiplier (tensorflow/lite/kernels/internal/
 * quantization_util.cc): m = q * 2^shift with q in [0.5, 1) as a Q31
 * integer, rounded half away from zero; q = 2^31 becomes 2^30 with the
 * shift one higher; a shift below -31 flushes to 0.  m >= 0.
 */
void quant_multiplier(double m, int32_t *mult, int32_t *shift);

/* The padded input plane of an int8 conv2d whose windows reach outside
 * its input: its height *hp and width *wp (from the top-left padding to
 * the last window's far edge, or the input's), and its bytes C hp wp, or
 * 0 when every window is inside the input or the plane would take more
 * than QUANT_PAD_MAX bytes (the kernel then checks the border). */
#define QUANT_PAD_MAX 4096
int64_t quant_pad_plane(const IrNode *conv, const IrNode *x, int64_t *hp, int64_t *wp);

/* Free a plan from quant_plan (NULL is fine). */
void quant_free(QuantPlan *p);

/*
 * Plan the int8 graph of ir (see above), whose parameters carry their
 * float values (IrNode.value); ranges[0..nranges-1] from the weights file
 * wpath.  Returns the plan, or NULL with the reason in why ("W: no
 * calibrated range for value 'logits.1' (...)", "model has 2 inputs", an
 * operator neither int8 nor float here).
 */
QuantPlan *quant_plan(const Ir *ir, const QuantRange *ranges, int nranges, const char *wpath, char *why,
                      size_t whysize);

/* The int8 graph as text (nnc --emit ir --quantize int8): each node, what
 * it runs as and its scale and zero point. */
void quant_dump(const Ir *ir, const QuantPlan *p, FILE *f);

/* The int8 memory plan (nnc --emit memory --quantize int8): buffers,
 * offsets, bytes; the weights' bytes against float32. */
void quant_dump_memory(const Ir *ir, const QuantPlan *p, FILE *f);

#endif
