/*
 * rng.c: the runtime's random numbers, xoshiro256** 1.0 seeded through
 * splitmix64 (D. Blackman and S. Vigna, "Scrambled linear pseudorandom
 * number generators", 2018; reference code at prng.di.unimi.it).
 *
 * Only fixed-width integer arithmetic is involved, so the stream for a
 * given seed is the same on every platform and compiler; tests pin the
 * first outputs.  Floating-point helpers derive from those integers
 * exactly, except Box-Muller's log/cos, which come from libm.
 */
#include "nnrt.h"

#include <math.h>

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* splitmix64: spreads one seed over 256 bits of state, never all zero. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void nnrt_rng_seed(NnrtRng *rng, uint64_t seed)
{
    int i;
    for (i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
}

uint64_t nnrt_rng_next_u64(NnrtRng *rng)
{
    uint64_t *s = rng->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float nnrt_rng_uniform(NnrtRng *rng)
{
    /* The high bits are the best ones of xoshiro's output; 24 of them fill
     * a float's significand, so the result is exact and below 1. */
    return (float)(nnrt_rng_next_u64(rng) >> 40) * (1.0f / 16777216.0f);
}

float nnrt_rng_normal(NnrtRng *rng)
{
    /* Box-Muller (Box and Muller, 1958).  u1 in (0, 1] so log(u1) is
     * finite; 53-bit uniforms keep the tail resolution of double. */
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = (double)((nnrt_rng_next_u64(rng) >> 11) + 1) *
                (1.0 / 9007199254740992.0);
    double u2 = (double)(nnrt_rng_next_u64(rng) >> 11) *
                (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(two_pi * u2));
}

uint64_t nnrt_rng_below(NnrtRng *rng, uint64_t n)
{
    uint64_t r, threshold;
    if (n == 0)
        return 0;
    /* Reject the lowest 2^64 mod n values so that the rest is a whole
     * number of copies of 0..n-1 (the "OpenBSD arc4random_uniform"
     * method); at most half the draws are rejected, usually none. */
    threshold = (0 - n) % n;
    do
        r = nnrt_rng_next_u64(rng);
    while (r < threshold);
    return r % n;
}

void nnrt_rng_shuffle(NnrtRng *rng, int32_t *perm, int64_t n)
{
    int64_t i;
    /* Durstenfeld's Fisher-Yates: position i takes a uniform pick from
     * the not yet placed prefix 0..i. */
    for (i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)nnrt_rng_below(rng, (uint64_t)i + 1);
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}
