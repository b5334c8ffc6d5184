/*
 * lower.h: AST to IR.
 */
#ifndef NNC_LOWER_H
#define NNC_LOWER_H

#include "ast.h"
#include "ir.h"

/*
 * Lower a checked Module to IR in one walk over its statements: inputs and
 * targets become OP_INPUT/OP_TARGET nodes with their declared shapes, every
 * call one node, every layer's parameters OP_PARAM nodes just before it.
 * Calls that sema could not check become poisoned nodes, so shape inference
 * can still report independent errors elsewhere.  Never fails.
 */
Ir *lower_module(Arena *a, Module *m);

#endif
