/*
 * kernels_int8.h: the C file of nnc --quantize int8 (kernels_int8.c).
 */
#ifndef NNC_KERNELS_INT8_H
#define NNC_KERNELS_INT8_H

#include <stdio.h>

#include "emitter.h"
#include "ir.h"
#include "quantize.h"

/* Write NAME.h to h and NAME.c to c for plan p of ir (o->name is NAME,
 * o->source and o->cmdline go into the header comments).  Returns 0. */
int kern_int8_emit(const Ir *ir, const QuantPlan *p, const EmitOptions *o, FILE *h, FILE *c);

#endif
