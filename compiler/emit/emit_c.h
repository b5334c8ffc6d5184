/*
 * emit_c.h: the model emitter (emit_c.c), at the top of the back end: the
 * API, the schedules and the parameters around the kernels of kernels.h,
 * printed through emitter.h.
 */
#ifndef NNC_EMIT_C_H
#define NNC_EMIT_C_H

#include <stdio.h>

#include "diag.h"
#include "emitter.h"
#include "ir.h"
#include "memplan.h"

/*
 * Write NAME.h to h and NAME.c to c for a planned IR: the API of spec
 * section 10, one static function per kernel, the schedules, parameter
 * initialisation (PyTorch's defaults), and NAME_model for the runtime's
 * training driver.  Deterministic: the same IR gives the same bytes.
 * Returns 0, or 1 after reporting an operator with no kernel yet to d.
 */
int emit_c(const Ir *ir, const MemPlan *plan, const EmitOptions *o, Diag *d, FILE *h, FILE *c);

/* NAME_ARENA_BYTES of the code emit_c writes for ir and plan (inference
 * code or not): the model struct and every planned buffer, in bytes; what
 * nnc --emit memory reports as RAM, computed where the header's is. */
int64_t emit_c_arena_bytes(const Ir *ir, const MemPlan *plan, int inference);

/* --emit kernels: the kernel functions a model becomes, in schedule order
 * (forward, backward, update), one name a line. */
void emit_kernel_list(const Ir *ir, const MemPlan *plan, FILE *f);

#endif
