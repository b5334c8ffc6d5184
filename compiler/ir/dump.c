/*
 * dump.c: the IR as text (--emit ir, --dump-after PASS), the table of
 * shapes and parameter counts (--emit shapes), and a Graphviz graph
 * (--emit dot).  Output is deterministic so tests can pin it.
 */
#include "ir.h"

#include <string.h>

static void put_shape(FILE *f, const IrNode *n)
{
    char b[128];
    if (n->poison) {
        fputs("<error>", f);
        return;
    }
    if (!n->shape_known) {
        fputs(n->dtype == DT_CLASS ? "class?" : "?", f);
        return;
    }
    fputs(n->dtype == DT_CLASS ? "class" : n->dtype == DT_I64 ? "i64" : "f32", f);
    fputs(shape_str(&n->shape, b, sizeof b), f);
}

static void put_args(FILE *f, const IrNode *n)
{
    const OpInfo *oi = &op_info[n->op];
    if (!n->args)
        return;
    for (int i = 0; i < oi->nargs; i++) {
        fprintf(f, ", %s=", oi->args[i].name);
        value_print(f, &n->args[i]);
    }
}

void ir_dump(const Ir *ir, FILE *f, const char *after)
{
    fprintf(f, "; model %s, IR after %s\n", ir->model, after);
    for (int i = 0; i < ir->n; i++) {
        const IrNode *n = &ir->nodes[i];
        fprintf(f, "%%%d = ", i);
        if (n->poison && n->nin == 0 && n->op != OP_INPUT && n->op != OP_TARGET) {
            fputs("<error>\n", f);
            continue;
        }
        switch (n->op) {
        case OP_INPUT:
        case OP_TARGET:
            fprintf(f, "%s %s : ", op_info[n->op].name, n->name);
            break;
        case OP_PARAM:
            fprintf(f, "param %s%s : ", n->param, n->trainable ? "" : " (buffer)");
            break;
        case OP_STATE:
            fprintf(f, "state %s : ", n->param);
            break;
        case OP_GRAD:
        case OP_UPDATE:
            if (n->op == OP_GRAD)
                fprintf(f, "grad %s %%%d[%d](", op_info[ir->nodes[n->fwd].op].name, n->fwd, n->which);
            else
                fprintf(f, "update %s(", op_info[ir->optimizer->op].name);
            for (int j = 0; j < n->nin; j++)
                fprintf(f, "%s%%%d", j ? ", " : "", n->in[j]);
            fputs(") : ", f);
            break;
        default:
            fprintf(f, "%s(", op_info[n->op].name);
            for (int j = 0; j < n->nin; j++)
                fprintf(f, "%s%%%d", j ? ", " : "", n->in[j]);
            put_args(f, n);
            fputs(") : ", f);
            break;
        }
        put_shape(f, n);
        if (n->epilogue != OP_COUNT)
            fprintf(f, " +%s%s", op_info[n->epilogue].name, n->op == OP_GRAD ? " dx" : "");
        if (n->conv_algo)
            fprintf(f, " direct(%s%s%s)", n->conv_algo & CONV_DIRECT_OC ? "y-oc" : n->conv_algo & CONV_DIRECT_FWD ? "y" : "",
                    n->conv_algo & CONV_DIRECT_DX ? ",dx" : "", n->conv_algo & CONV_DIRECT_DW ? ",dw" : "");
        if (n->fused_into >= 0)
            fprintf(f, " = view of %%%d", n->fused_into);
        if (n->inlined_into >= 0)
            fprintf(f, " = in %%%d", n->inlined_into);
        if (n->name && n->op != OP_INPUT && n->op != OP_TARGET && n->op != OP_PARAM)
            fprintf(f, "  ; %s", n->name);
        fputc('\n', f);
    }
    if (ir->output >= 0)
        fprintf(f, "output %%%d\n", ir->output);
    if (ir->loss >= 0)
        fprintf(f, "loss %%%d\n", ir->loss);
    if (ir->optimizer) {
        fputs("optimizer ", f);
        value_print(f, ir->optimizer);
        fputc('\n', f);
    }
    if (ir->train && ir->loss >= 0) {
        Value v = {0};
        v.kind = V_CALL;
        v.op = OP_TRAIN;
        v.args = (Value *)ir->train;
        value_print(f, &v);
        fputc('\n', f);
    }
}

/* 61706 -> "61,706". */
static const char *thousands(int64_t x, char *buf)
{
    char t[32];
    int n = snprintf(t, sizeof t, "%lld", (long long)x), k = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[k++] = ',';
        buf[k++] = t[i];
    }
    buf[k] = '\0';
    return buf;
}

static const char *node_name(const IrNode *n, int id, char *buf, size_t len)
{
    if (n->name)
        return n->name;
    snprintf(buf, len, "%%%d", id);
    return buf;
}

void ir_dump_shapes(const Ir *ir, FILE *f)
{
    char b[128], nb[32], tb[32];
    int wname = 5, wop = 2, wshape = 5;
    for (int i = 0; i < ir->n; i++) {
        const IrNode *n = &ir->nodes[i];
        int len = (int)strlen(node_name(n, i, nb, sizeof nb));
        if (n->op == OP_PARAM)
            len = (int)strlen(n->param);
        if (len > wname)
            wname = len;
        if ((int)strlen(op_info[n->op].name) > wop)
            wop = (int)strlen(op_info[n->op].name);
        int sl = (int)strlen(shape_str(&n->shape, b, sizeof b)) + 5;
        if (sl > wshape)
            wshape = sl;
    }
    if (wname > 60)
        wname = 60;

    fprintf(f, "model %s: per-sample shapes (the batch dimension is not shown)\n\n", ir->model);
    fprintf(f, "%-*s  %-*s  %-*s  %*s\n", wname, "value", wop, "op", wshape, "shape", 12, "parameters");
    int64_t total = 0, trainable = 0;
    for (int i = 0; i < ir->n; i++) {
        const IrNode *n = &ir->nodes[i];
        if (n->op == OP_PARAM)
            continue;
        char sb[160];
        snprintf(sb, sizeof sb, "%s%s", n->dtype == DT_CLASS ? "class" : "",
                 shape_str(&n->shape, b, sizeof b));
        fprintf(f, "%-*s  %-*s  %-*s", wname, node_name(n, i, nb, sizeof nb), wop, op_info[n->op].name, wshape, sb);
        if (op_info[n->op].kind == K_LAYER) {
            int64_t all = ir_layer_params(ir, i, 0), tr = ir_layer_params(ir, i, 1);
            total += all;
            trainable += tr;
            fprintf(f, "  %12s", thousands(tr, tb));
        }
        fputc('\n', f);
    }
    fprintf(f, "\n%-*s  %-*s  %*s\n", wname, "parameter", wshape, "shape", 12, "elements");
    for (int i = 0; i < ir->n; i++) {
        const IrNode *n = &ir->nodes[i];
        if (n->op != OP_PARAM)
            continue;
        char pb[160];
        snprintf(pb, sizeof pb, "%s%s", n->dtype == DT_I64 ? "i64" : "", shape_str(&n->shape, b, sizeof b));
        fprintf(f, "%-*s  %-*s  %12s%s\n", wname, n->param, wshape, pb,
                thousands(n->dtype == DT_I64 ? 1 : shape_numel(&n->shape), tb),
                n->trainable ? "" : "  (buffer, not trained)");
    }
    fprintf(f, "\ntotal: %s trainable parameters", thousands(trainable, tb));
    if (total != trainable)
        fprintf(f, " (+ %s in buffers)", thousands(total - trainable + 0, nb));
    fputc('\n', f);
}

void ir_dump_dot(const Ir *ir, FILE *f)
{
    char b[128], nb[32], tb[32];
    fprintf(f, "digraph \"%s\" {\n", ir->model);
    fputs("  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n", f);
    fputs("  edge [fontname=\"Helvetica\", fontsize=10];\n", f);
    for (int i = 0; i < ir->n; i++) {
        const IrNode *n = &ir->nodes[i];
        if (n->op == OP_PARAM)
            continue;
        const char *shape = n->op == OP_INPUT || n->op == OP_TARGET ? "ellipse"
                            : op_info[n->op].kind == K_LOSS ? "octagon" : "box";
        fprintf(f, "  n%d [shape=%s, label=\"%s\\n%s", i, shape, node_name(n, i, nb, sizeof nb),
                op_info[n->op].name);
        if (op_info[n->op].kind == K_LAYER)
            fprintf(f, " (%s params)", thousands(ir_layer_params(ir, i, 1), tb));
        fprintf(f, "\\n%s%s\"%s];\n", n->dtype == DT_CLASS ? "class" : "", shape_str(&n->shape, b, sizeof b),
                i == ir->output ? ", penwidth=2" : "");
    }
    for (int i = 0; i < ir->n; i++) {
        const IrNode *n = &ir->nodes[i];
        for (int j = 0; j < n->nin; j++) {
            const IrNode *src = &ir->nodes[n->in[j]];
            if (src->op == OP_PARAM)
                continue;
            fprintf(f, "  n%d -> n%d [label=\"%s\"];\n", n->in[j], i, shape_str(&src->shape, b, sizeof b));
        }
    }
    fputs("}\n", f);
}
