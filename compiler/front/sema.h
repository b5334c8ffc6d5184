/*
 * sema.h: semantic analysis of a parsed Module.
 */
#ifndef NNC_SEMA_H
#define NNC_SEMA_H

#include "ast.h"

/*
 * Binds every name (each bound once, before use), resolves every call
 * against the operator table (ops.def), checks and range-checks arguments,
 * fills in PyTorch's defaults, and names every layer's parameters as spec
 * section 4 says (labels, `v.i` auto-labels, direct-call labels; duplicates
 * rejected).  Annotates the AST in place (Ast.op, .args, .tensors, .prefix,
 * .binding) and sets Module.loss/.optimizer/.train/.output.
 * Returns the number of errors reported to d; 0 means lower() may run.
 */
int sema_check(Arena *a, Diag *d, Module *m);

#endif
