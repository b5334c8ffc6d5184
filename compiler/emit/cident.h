/*
 * cident.h: identifiers from the .nn source that the generated C uses.
 *
 * The model name becomes C identifiers (NAME_forward, the typedef NAME,
 * NAME_MAX_BATCH) and file names (NAME.h, NAME.c).  A name that C, C++, the
 * C library or the generated code itself already uses gets the prefix nnc_
 * everywhere in C, so every valid .nn name compiles (spec section 9:
 * "Identifiers from the source never collide with C").
 */
#ifndef NNC_CIDENT_H
#define NNC_CIDENT_H

#include "arena.h"

/*
 * The C identifier of model `name` (an identifier of the .nn language):
 * name itself, or "nnc_" name, allocated in a, when name is a C or C++
 * keyword, starts with '_' (reserved at file scope), is declared by a C
 * library header the generated code includes (exp, free, size_t, NAN),
 * names such a header (math: NAME.h would hide <math.h> from -I), or is an
 * identifier of the generated code (real, m, seed, w, MAX_BATCH, k012_dense).
 * *why (when why is not NULL) gets the reason in words ("a C keyword"),
 * or NULL when name is used as it is.
 */
const char *cident_model(Arena *a, const char *name, const char **why);

/*
 * Why the C identifier name cannot name something of the generated code's
 * own, in words ("a keyword of C or C++"): a keyword, reserved ('_'
 * first), a name of the C library or its headers, of the generated code
 * (its functions, macros, the schedules' locals and parameters: A, n, m,
 * target, lr), a kernel's (k012_dense), or in one of their families (in_,
 * w_, NNC_); NULL when name is free.  The buffer names of the schedules
 * (emit_c.c) are checked with it.
 */
const char *cident_taken(const char *name);

/* s, a name from the model (a value's, a stage's "logits.2", a folded
 * layer's "a1.3+a1"), as C identifier characters: '_' for any other, "v_"
 * in front of a digit; in a.  The schedules' buffer names start from it. */
const char *cident_identifier(Arena *a, const char *s);

/* The C name of a value of the model, before collisions: its name from
 * the source (cident_identifier()), a stage of a chain ("logits.2") with
 * its operator op after it ("logits_2_maxpool"), an unnamed value its
 * operator and node id ("add_13"); in a.  Both schedules (the float
 * file's, the int8 file's) name their buffers by it. */
const char *cident_value(Arena *a, const char *name, const char *op, int id);

#endif
