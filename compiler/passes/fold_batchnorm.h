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
 * the output, when B was it) read L.  The values are the parameters'
 * IrNode.value (nnc --inference --weights); a batchnorm any of whose
 * parameters, or its layer's, has none stays.  The IR is rebuilt with
 * the nodes renumbered, each carrying its value; L's weight and bias
 * then point at new arrays in ir->arena (the loaded ones are not
 * written).  Runs on the forward graph only (before autodiff, which
 * inference skips).  Returns the number of batchnorms folded.
 */
int fold_batchnorm(Ir *ir);

#endif
