/*
 * helpers_cfg.h: the functions of one build of helpers_cfg.c (the helper
 * C of compiler/emit/helpers/ in one configuration of the generated code), for
 * test_helpers.c.  float only: the helpers' real (NNC_DOUBLE is not one
 * of the configurations built).
 */
#ifndef NNC_HELPERS_CFG_H
#define NNC_HELPERS_CFG_H

/* What a configuration was compiled as. */
typedef struct HelperInfo {
    int lanes; /* NNC_LANES, 0 for the plain loops */
    int fma;   /* NNC_FMA: fused multiply-adds */
    int kc;    /* the helper's GEMM_KC */
    int nr;    /* GEMM_NR, the panel's columns (two vectors); 0 for the plain loops */
    int acc, k8; /* the flags GEMM_ACC, GEMM_K8 */
    int dot8;  /* gemm_dot8() is built (the run-time dispatch copies' configurations) */
} HelperInfo;

/* The configurations (HELPER_CFGS in the Makefile; the x86 ones only on
 * x86-64), as X(name, cpu feature the machine needs, "" for none). */
#if defined(__x86_64__)
#define HELPER_CONFIGS(X)                                                                                     \
    X(plain, "") X(plain_fma, "fma") X(v4, "") X(v8, "avx") X(v8_fma, "fma") X(v16_fma, "avx512f")
#else
#define HELPER_CONFIGS(X) X(plain, "") X(vec, "")
#endif

#define HELPER_DECLARE(name, feature)                                                                         \
    void cfg_##name##_info(HelperInfo *h);                                                                    \
    /* GEMM(M, N, K, ...) as the generated code calls it (compiler/emit/helpers/gemm.c), its parts run as the     \
     * threads of GEMM_PAR would; pack holds np floats, thread t's slice from t slice; returns how many     \
     * pack floats a part wrote outside its thread's slice (slice 0: not counted) */                          \
    long cfg_##name##_gemm(int threads, int M, int N, int K, const float *A, long sam, long sak,              \
                           const float *B, long sbk, long sbn, float *C, long ldc, int acc,                   \
                           const float *bias_m, const float *bias_n, float *pack, const int *boff, long np,   \
                           long slice);                                                                       \
    /* gemm_dot8(a, b, n, s), or s where it is not built */                                                   \
    float cfg_##name##_dot8(const float *a, const float *b, int n, float s);                                  \
    /* dotsum(...) (compiler/emit/helpers/dotsum.c) */                                                             \
    void cfg_##name##_dotsum(int M, int N, int K, int ns, const float *A, long sa, long lda, const float *B,  \
                             long sb, const int *boff, float *part, int first);
HELPER_CONFIGS(HELPER_DECLARE)

#endif
