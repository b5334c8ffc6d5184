/*
 * target.c: the facts of target.h.
 */
#include "target.h"

int64_t target_gemm_pack_floats(int threads, int64_t N, int64_t K, int sbn_is_1, int boff)
{
    if (boff || (sbn_is_1 && N % 32 == 0) || N <= 0 || K <= 0)
        return 0;
    int64_t rows = K < GEMM_PACK_KC ? K : GEMM_PACK_KC;
    /* the widest panel, 32 columns (16-lane vectors) */
    return (int64_t)GEMM_PACK_KC * 32 * ((threads > 1 ? threads : 1) - 1) + rows * 32;
}
