/*
 * memplan.c: liveness, then offsets in one arena placed greedily by size.
 *
 * Assumes a complete IR (after autodiff).  Guarantees: two buffers whose
 * live intervals meet never overlap; parameters and states never move, so
 * NAME_load/NAME_save can address them by offset.
 */
#include "memplan.h"

#include "quantize.h"

#include "target.h"

#include <stdlib.h>
#include <string.h>

static int64_t round_up(int64_t x, int64_t a)
{
    return (x + a - 1) / a * a;
}

static int64_t align_up(int64_t x)
{
    return round_up(x, MEM_ALIGN);
}

int64_t mem_slots(int64_t bytes)
{
    if (bytes % MEM_SLOT != 0)
        diag_internal("memplan", "%lld bytes: not a whole number of %d-byte slots", (long long)bytes, MEM_SLOT);
    return bytes / MEM_SLOT;
}

/* The alignment, in bytes, of a buffer of size bytes whose elements are
 * of type t: a 64-byte line, or in inference code its element's for one
 * smaller than a line (memplan.h); never less than a slot. */
static int64_t align_of(const Ir *ir, int64_t size, MemType t)
{
    int64_t elem = mem_type_bytes(t) > MEM_SLOT ? mem_type_bytes(t) : MEM_SLOT;
    return ir->inference && size < MEM_ALIGN ? elem : MEM_ALIGN;
}

MemType mem_value_type(const Ir *ir, int id)
{
    DType t = ir->nodes[id].dtype;
    return t == DT_I64 ? MEM_I64 : t == DT_CLASS ? MEM_I32 : MEM_F32;
}

static int64_t value_bytes(const Ir *ir, int id, int max_batch)
{
    const IrNode *n = &ir->nodes[id];
    int64_t e = n->shape.rank == 0 ? 1 : shape_numel(&n->shape);
    return e * mem_type_bytes(mem_value_type(ir, id)) * (n->batched ? max_batch : 1);
}

/* A region's bytes, checked to be whole slots: the float arena's
 * kernels address it as real or int32_t scalars (memplan.h). */
static int64_t region_bytes(const KmRegion *r)
{
    if (r->bytes < 0 || r->bytes % MEM_SLOT != 0 || mem_type_bytes(r->type) < MEM_SLOT)
        diag_internal("memplan", "region %s of %lld bytes: not a whole number of %d-byte slots", r->name,
                      (long long)r->bytes, MEM_SLOT);
    return r->bytes;
}

int64_t mem_node_bytes(const Ir *ir, int id, int max_batch)
{
    KmRegion r[KM_MAX];
    int64_t f = value_bytes(ir, id, max_batch);
    int nr = kmem_regions(ir, id, max_batch, r);
    for (int k = 0; k < nr; k++)
        if (r[k].kind == KM_SAVED)
            f += region_bytes(&r[k]);
    return f;
}

const MemRegion *mem_region(const MemPlan *p, int id, const char *name)
{
    for (int k = 0; k < p->region_count[id]; k++) {
        const MemRegion *r = &p->regions[p->region_first[id] + k];
        if (strcmp(r->decl.name, name) == 0)
            return r;
    }
    return NULL;
}

/* A buffer to place: size bytes live over schedule steps [start, end];
 * *off receives its offset in bytes. */
typedef struct {
    int64_t size;
    int start, end;
    int64_t *off;
    int64_t align; /* bytes its offset is a multiple of */
} Block;

/* Larger first; ties by start, so the order (and the plan) is fixed. */
static int by_size(const void *pa, const void *pb)
{
    const Block *a = pa, *b = pb;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    return (a->start > b->start) - (a->start < b->start);
}

static int by_offset(const void *pa, const void *pb)
{
    const Block *a = *(Block *const *)pa, *b = *(Block *const *)pb;
    return (*a->off > *b->off) - (*a->off < *b->off);
}

/*
 * Greedy by size (the offline planner of TensorFlow Lite's arena; Pisarchyk
 * and Lee, "Efficient Memory Management for Deep Neural Net Inference",
 * 2020): the largest buffers are placed first, each at the lowest offset
 * from top that overlaps no placed buffer whose lifetime meets its own.
 * Placing in schedule order instead (first fit as buffers come alive)
 * usually leaves holes the next large buffer cannot use.  place_in() takes
 * the order; returns the arena's end.
 */
static int64_t place_in(Block *b, int nb, int64_t top, int (*order)(const void *, const void *))
{
    qsort(b, (size_t)nb, sizeof *b, order);
    Block **meet = malloc((size_t)(nb > 0 ? nb : 1) * sizeof *meet);
    if (!meet)
        diag_internal("memplan", "out of memory");
    int64_t high = top;
    for (int i = 0; i < nb; i++) {
        int k = 0;
        for (int j = 0; j < i; j++)
            if (b[j].start <= b[i].end && b[i].start <= b[j].end)
                meet[k++] = &b[j];
        qsort(meet, (size_t)k, sizeof *meet, by_offset);
        int64_t off = top;
        for (int j = 0; j < k && *meet[j]->off < off + b[i].size; j++)
            if (*meet[j]->off + meet[j]->size > off)
                off = round_up(*meet[j]->off + meet[j]->size, b[i].align);
        *b[i].off = off;
        if (off + b[i].size > high)
            high = off + b[i].size;
    }
    free(meet);
    return high;
}

static int64_t place(Block *b, int nb, int64_t top)
{
    return place_in(b, nb, top, by_size);
}

/* Schedule order: as buffers come alive (first fit). */
static int by_start(const void *pa, const void *pb)
{
    const Block *a = pa, *b = pb;
    return (a->start > b->start) - (a->start < b->start);
}

/* A node inlined into another has no buffer, nor has a view of it: no
 * kernel may read one from memory, and the values the caller reads after
 * the schedule (the output, the loss and its prediction) must have one.
 * A failure is a bug in the pass that inlined it. */
static void check_inlined(const Ir *ir, const MemPlan *p, const unsigned char *include, int keep_live)
{
    for (int i = 0; i < ir->n; i++) {
        const IrNode *nd = &ir->nodes[i];
        if (!include[i] || nd->inlined_into >= 0 || p->root[i] != i || nd->poison)
            continue;
        int nops = ir_operands(ir, i, NULL, 0);
        int *ops = malloc((size_t)(nops > 0 ? nops : 1) * sizeof *ops);
        if (!ops)
            diag_internal("memplan", "out of memory");
        ir_operands(ir, i, ops, nops);
        for (int k = 0; k < nops; k++)
            if (ir->nodes[p->root[ops[k]]].inlined_into >= 0)
                diag_internal("memplan", "node %%%d reads %%%d, which is inlined into %%%d and has no buffer", i,
                              ops[k], ir->nodes[p->root[ops[k]]].inlined_into);
        free(ops);
    }
    int kept[3] = {keep_live, ir->loss, ir->loss >= 0 ? ir->nodes[ir->loss].in[0] : -1};
    for (int k = 0; k < 3; k++)
        if (kept[k] >= 0 && ir->nodes[p->root[kept[k]]].inlined_into >= 0)
            diag_internal("memplan", "node %%%d is read after the schedule but inlined", kept[k]);
}

MemPlan *mem_plan(const Ir *ir, const unsigned char *include, int max_batch, int keep_live)
{
    Arena *a = ir->arena;
    MemPlan *p = arena_alloc(a, sizeof *p);
    int n = ir->n;
    p->offset = arena_alloc(a, (size_t)n * sizeof *p->offset);
    p->size = arena_alloc(a, (size_t)n * sizeof *p->size);
    p->type = arena_alloc(a, (size_t)n * sizeof *p->type);
    p->root = arena_alloc(a, (size_t)n * sizeof *p->root);
    p->scratch = arena_alloc(a, (size_t)n * sizeof *p->scratch);
    p->scratch_size = arena_alloc(a, (size_t)n * sizeof *p->scratch_size);
    p->region_first = arena_alloc(a, (size_t)n * sizeof *p->region_first);
    p->region_count = arena_alloc(a, (size_t)n * sizeof *p->region_count);
    p->max_batch = max_batch;
    int *end = arena_alloc(a, (size_t)n * sizeof *end);

    for (int i = 0; i < n; i++) {
        int v = ir_view_of(ir, i);
        p->offset[i] = -1;
        p->scratch[i] = -1;
        p->type[i] = mem_value_type(ir, i);
        p->root[i] = v >= 0 ? p->root[v] : i;
        end[i] = i;
    }
    /* Last use of each root, over its views too.  A node inlined into
     * another reads its inputs when the kernel computing it runs. */
    for (int i = 0; i < n; i++) {
        if (!include[i])
            continue;
        const IrNode *nd = &ir->nodes[i];
        /* A view reads only what it views: an activation gradient folded
         * into its dy's kernel (fuse_act_grad.c) no longer reads y.  An
         * inlined node reads when the kernel computing it runs. */
        int reads = p->root[i] != i ? 1 : nd->nin, at = ir_kernel_of(ir, i);
        for (int j = 0; j < reads; j++) {
            int r = p->root[nd->in[j]];
            if (end[r] < at)
                end[r] = at;
        }
    }
    check_inlined(ir, p, include, keep_live);
    /* The output and the loss are read after their schedule ends. */
    if (keep_live >= 0)
        end[p->root[keep_live]] = n;
    if (ir->loss >= 0 && include[ir->loss]) {
        end[p->root[ir->loss]] = n;
        /* The prediction too: the driver shows training accuracy from it. */
        end[p->root[ir->nodes[ir->loss].in[0]]] = n;
    }

    /* Persistent state first. */
    int64_t top = 0;
    for (int i = 0; i < n; i++) {
        const IrNode *nd = &ir->nodes[i];
        if (!include[i] || (nd->op != OP_PARAM && nd->op != OP_STATE))
            continue;
        p->offset[i] = top;
        p->size[i] = mem_node_bytes(ir, i, 1);
        top += align_up(p->size[i]);
    }
    p->persistent = top;
    p->naive = top;

    /* Parameter gradients next: each lives from its kernel to the
     * optimizer update at the end, so placed among the activations they
     * would split the space the backward pass frees.  The lower bound
     * counts them whole anyway. */
    for (int i = 0; i < n; i++) {
        const IrNode *nd = &ir->nodes[i];
        if (!include[i] || p->root[i] != i || nd->op != OP_GRAD || nd->batched || nd->poison)
            continue;
        p->offset[i] = top;
        p->size[i] = align_up(mem_node_bytes(ir, i, max_batch));
        p->naive += p->size[i];
        top += p->size[i];
    }

    /* The regions every planned kernel declared (kmem_regions()), in node
     * order; the scratch ones laid out in one block per kernel: in
     * declaration order, a run of KM_THREAD regions as one slab per thread
     * starting on a line. */
    int threads = ir->threads > 1 ? ir->threads : 1;
    p->regions = arena_alloc(a, ((size_t)n * KM_MAX + 1) * sizeof *p->regions);
    p->nregions = 0;
    int64_t *block = arena_alloc(a, (size_t)n * sizeof *block); /* scratch bytes per node */
    for (int i = 0; i < n; i++) {
        const IrNode *nd = &ir->nodes[i];
        p->region_first[i] = p->nregions;
        p->region_count[i] = 0;
        if (!include[i] || p->root[i] != i || nd->op == OP_INPUT || nd->op == OP_TARGET || nd->poison ||
            nd->inlined_into >= 0)
            continue;
        KmRegion r[KM_MAX];
        int nr = kmem_regions(ir, i, max_batch, r);
        int64_t saved = value_bytes(ir, i, max_batch), at = 0;
        for (int k = 0; k < nr; k++) {
            MemRegion *m = &p->regions[p->nregions + k];
            *m = (MemRegion){r[k], i, 0, 0};
            if (r[k].kind == KM_SAVED) { /* offset from the buffer's start until placed */
                m->offset = saved;
                saved += region_bytes(&r[k]);
            } else if (r[k].kind == KM_THREAD) {
                int64_t slab = 0;
                int j = k;
                for (; j < nr && r[j].kind == KM_THREAD; j++)
                    slab += region_bytes(&r[j]);
                at = align_up(at);
                for (int q = k; q < j; q++) {
                    p->regions[p->nregions + q] = (MemRegion){r[q], i, at, slab};
                    at += region_bytes(&r[q]);
                }
                at += slab * (threads - 1);
                k = j - 1;
            } else {
                m->offset = at;
                at += region_bytes(&r[k]);
            }
        }
        block[i] = at;
        p->region_count[i] = nr;
        p->nregions += nr;
    }

    /* Activations, gradients and scratch, each live from its kernel to its
     * last reader; a kernel's scratch only while it runs. */
    Block *blocks = malloc((size_t)(2 * n + 1) * sizeof *blocks);
    if (!blocks)
        diag_internal("memplan", "out of memory");
    int nb = 0;
    for (int i = 0; i < n; i++) {
        const IrNode *nd = &ir->nodes[i];
        if (!include[i] || p->root[i] != i || nd->op == OP_PARAM || nd->op == OP_STATE ||
            nd->op == OP_INPUT || nd->op == OP_TARGET || nd->op == OP_UPDATE || nd->poison ||
            nd->inlined_into >= 0)
            continue;
        if (p->offset[i] < 0) { /* parameter gradients are placed already */
            int64_t f = mem_node_bytes(ir, i, max_batch), al = align_of(ir, f, p->type[i]);
            p->size[i] = round_up(f, al);
            p->naive += p->size[i];
            blocks[nb++] = (Block){p->size[i], i, end[i], &p->offset[i], al};
        }
        if (block[i] > 0) {
            int64_t al = align_of(ir, block[i], MEM_F32);
            p->scratch_size[i] = round_up(block[i], al);
            p->naive += p->scratch_size[i];
            blocks[nb++] = (Block){p->scratch_size[i], i, i, &p->scratch[i], al};
        }
    }
    int64_t high = place(blocks, nb, top);
    free(blocks);
    for (int i = 0; i < n; i++)
        if (p->root[i] != i)
            p->offset[i] = p->offset[p->root[i]];
    /* Each region at its place: saved ones in their node's buffer, the
     * others in its scratch block. */
    for (int k = 0; k < p->nregions; k++) {
        MemRegion *m = &p->regions[k];
        m->offset += m->decl.kind == KM_SAVED ? p->offset[m->node] : p->scratch[m->node];
        if (m->decl.kind == KM_PACK)
            m->stride = (int64_t)GEMM_PACK_KC * 32 * MEM_SLOT; /* the GEMM's, gemm_part() */
    }
    p->total = high;
    p->last_use = end;

    /* The lower bound no plan can beat: everything persistent, every
     * parameter gradient, and the most other bytes live at one time. */
    int64_t grads = 0, peak = 0;
    for (int i = 0; i < n; i++) {
        const IrNode *nd = &ir->nodes[i];
        if (p->size[i] > 0 && p->offset[i] >= p->persistent && nd->op == OP_GRAD && !nd->batched)
            grads += p->size[i];
    }
    /* live(t) = sum of the sizes with start <= t <= end: a difference
     * array over the schedule, then one running sum. */
    int64_t *delta = arena_alloc(a, (size_t)(n + 2) * sizeof *delta);
    for (int i = 0; i < n; i++) {
        const IrNode *nd = &ir->nodes[i];
        if (p->size[i] > 0 && p->root[i] == i && p->offset[i] >= p->persistent && !(nd->op == OP_GRAD && !nd->batched)) {
            delta[i] += p->size[i];
            delta[(end[i] < n ? end[i] : n) + 1] -= p->size[i];
        }
        if (p->scratch[i] >= 0) {
            delta[i] += p->scratch_size[i];
            delta[i + 1] -= p->scratch_size[i];
        }
    }
    int64_t running = 0;
    for (int t = 0; t <= n; t++) {
        running += delta[t];
        if (running > peak)
            peak = running;
    }
    p->bound = p->persistent + grads + peak;
    return p;
}

static const char *type_name(MemType t)
{
    static const char *const name[] = {[MEM_F32] = "f32", [MEM_I32] = "i32", [MEM_I64] = "i64", [MEM_I8] = "i8"};
    return name[t];
}

void mem_dump(const Ir *ir, const MemPlan *p, FILE *f)
{
    fprintf(f, "; memory plan for model %s, batch up to %d; offsets and sizes in bytes, element type\n",
            ir->model, p->max_batch);
    for (int i = 0; i < ir->n; i++) {
        const IrNode *n = &ir->nodes[i];
        if (n->inlined_into >= 0 && p->offset[ir_kernel_of(ir, i)] >= 0) {
            fprintf(f, "%%%-4d %-14s %-32s in %%%d's kernel, no buffer\n", i, n->op == OP_GRAD ? "grad" : op_info[n->op].name,
                    n->name ? n->name : "", ir_kernel_of(ir, i));
            continue;
        }
        if (p->offset[i] < 0 && n->op != OP_INPUT && n->op != OP_TARGET)
            continue;
        const char *what = n->op == OP_GRAD ? "grad" : op_info[n->op].name;
        fprintf(f, "%%%-4d %-14s %-32s ", i, what, n->name ? n->name : "");
        if (n->op == OP_INPUT || n->op == OP_TARGET)
            fputs("caller's memory\n", f);
        else if (p->root[i] != i)
            fprintf(f, "view of %%%d\n", p->root[i]);
        else
            fprintf(f, "@%-10lld %-10lld %s\n", (long long)p->offset[i], (long long)p->size[i], type_name(p->type[i]));
        if (p->scratch[i] >= 0)
            fprintf(f, "%%%-4d %-14s %-32s @%-10lld %lld\n", i, "scratch", "(while it runs)", (long long)p->scratch[i],
                    (long long)p->scratch_size[i]);
        /* what its kernel declared (kmem.h), each where the kernel finds it */
        static const char *const kind[] = {"saved", "scratch", "per thread", "gemm pack"};
        for (int k = 0; k < p->region_count[i]; k++) {
            const MemRegion *r = &p->regions[p->region_first[i] + k];
            fprintf(f, "      %-14s %-32s @%-10lld %-10lld %s%s\n", kind[r->decl.kind], r->decl.name,
                    (long long)r->offset, (long long)r->decl.bytes, type_name(r->decl.type),
                    r->decl.kind == KM_THREAD ? " (each thread's)" : "");
        }
    }
    fprintf(f, "arena: %lld bytes (%lld persistent: parameters and optimizer state)\n",
            (long long)p->total, (long long)p->persistent);
    fprintf(f, "lower bound: %lld bytes (persistent + parameter gradients + peak live activations); "
               "arena / bound = %.3f\n",
            (long long)p->bound, p->bound > 0 ? (double)p->total / (double)p->bound : 1.0);
    fprintf(f, "without reuse: %lld bytes; reuse saved %lld bytes (%.1f%%)\n", (long long)p->naive,
            (long long)(p->naive - p->total),
            p->naive > 0 ? 100.0 * (double)(p->naive - p->total) / (double)p->naive : 0.0);
}

/* The int8 arena (memplan.h): the buffers by place_in(), as the float
 * plan's, in bytes; then the kernels' scratch, whose sizes quant_plan()
 * chose. */
void mem_plan_int8(const Ir *ir, QuantPlan *p)
{
    int n = ir->n, nb = 0;
    unsigned char *need = calloc((size_t)n + 1, 1);
    int *last = malloc((size_t)(n > 0 ? n : 1) * sizeof *last);
    Block *b = malloc((size_t)(n > 0 ? n : 1) * sizeof *b);
    if (!need || !last || !b)
        diag_internal("memplan", "out of memory");
    ir_mark_needed(ir, ir->output, need);
    for (int i = 0; i < n; i++) {
        last[i] = i;
        p->q[i].offset = -1;
    }
    for (int i = 0; i < n; i++) {
        if (!need[i] || p->q[i].kind == QK_NONE)
            continue;
        for (int j = 0; j < ir->nodes[i].nin; j++) {
            int r = p->q[ir->nodes[i].in[j]].root;
            if (r >= 0 && i > last[r])
                last[r] = i;
        }
    }
    if (p->output >= 0)
        last[p->q[p->output].root] = n; /* read by the API after the run */
    for (int i = 0; i < n; i++) {
        QuantNode *q = &p->q[i];
        if (!need[i] || q->root != i || q->kind == QK_NONE)
            continue;
        /* every int8 value: MEM_I8 elements, on 16 bytes (the int8 code's
         * NAME_ARENA_ALIGN) */
        b[nb++] = (Block){round_up(shape_numel(&ir->nodes[i].shape) * mem_type_bytes(MEM_I8), 16), i, last[i],
                          &q->offset, 16};
    }
    /* both orders, the smaller arena kept: by size wins on most models,
     * schedule order on a long chain of similar sizes (mobilenet_v1_025's
     * int8 arena: 56,848 bytes against 66,064 by size) */
    int64_t in_order = place_in(b, nb, 0, by_start), top = place(b, nb, 0);
    if (top >= in_order)
        top = place_in(b, nb, 0, by_start);
    free(b);
    free(last);
    free(need);
    p->float_scratch = top;
    p->col = top + 2 * p->scratch_floats * mem_type_bytes(MEM_F32);
    p->col_bytes = round_up(p->col_bytes, 16);
    p->wide = p->col + p->col_bytes;
    p->wide_bytes = round_up(2 * p->wide_bytes, 16);
    p->pad = p->wide + p->wide_bytes;
    p->pad_bytes = round_up(p->pad_bytes, 16);
    p->arena_bytes = p->pad + p->pad_bytes;
}
