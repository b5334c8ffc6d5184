/*
 * fold_batchnorm.h: batchnorm folded into the dense or conv2d before it,
 * in inference code whose weights are known.
 */
#ifndef NNC_FOLD_BATCHNORM_H
#define NNC_FOLD_BATCHNORM_H

#include "ir.h"

/*
 * Fold every batchnorm B whose input is a dense or conv2d L read by B
 * alone into L (fold_batchnorm.c states the rule and the formula): L's
 * weight and bias are rescaled per output channel, L gets a bias when it
 * had none, B and its five parameters leave the IR, and B's readers (and
 * the output, when B was it) read L.  The IR is rebuilt with the nodes
 * renumbered, so *weights (per node id, the parameters' float values as
 * nnc --inference --weights loaded them; NULL for a node that is no
 * parameter) is replaced by an array for the new numbering, allocated in
 * ir->arena; the arrays it held are not written.  Runs on the forward
 * graph only (before autodiff, which inference skips).  Returns the
 * number of batchnorms folded.
 */
int fold_batchnorm(Ir *ir, const float ***weights);

#endif
