/*
 * target.c: the facts of target.h.
 */
#include "target.h"

int64_t target_gemm_pack_floats(int threads)
{
    /* room for the widest panel, 32 columns (16-lane vectors) */
    return (int64_t)GEMM_PACK_KC * 32 * (threads > 1 ? threads : 1);
}
