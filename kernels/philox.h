/* Philox4x32-10, the counter-based random number generator of Salmon et al.
 * (SC'11): the numbers are a pure function of (key, counter), so any
 * element's noise can be computed anywhere, in any order, on any backend, and
 * a seed gives the same noise on the CPU and the GPU. Normal deviates come
 * from the Box-Muller transform, computed in double precision so that CPU and
 * GPU math libraries round to the same float. */
#ifndef ILLUME_KERNELS_PHILOX_H
#define ILLUME_KERNELS_PHILOX_H

#include <math.h>
#include <stdint.h>

#include "device.h"

typedef struct illume_philox_block {
    uint32_t value[4];
} illume_philox_block;

ILLUME_INLINE void illume_philox_multiply(uint32_t a, uint32_t b, uint32_t *high, uint32_t *low) {
    uint64_t product = (uint64_t)a * (uint64_t)b;
    *high = (uint32_t)(product >> 32);
    *low = (uint32_t)product;
}

/* Ten rounds over the counter (c0..c3) with the key (k0, k1). */
ILLUME_INLINE illume_philox_block illume_philox(uint64_t key, uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3) {
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int round = 0; round < 10; round++) {
        uint32_t high0, low0, high1, low1;
        illume_philox_multiply(0xD2511F53u, c0, &high0, &low0);
        illume_philox_multiply(0xCD9E8D57u, c2, &high1, &low1);
        uint32_t n0 = high1 ^ c1 ^ k0, n2 = high0 ^ c3 ^ k1;
        c0 = n0;
        c1 = low1;
        c2 = n2;
        c3 = low0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    illume_philox_block block = {{c0, c1, c2, c3}};
    return block;
}

/* Four standard normal deviates, elements 4 * group .. 4 * group + 3 of draw
 * `sample` under `seed`: one Philox block gives two uniform pairs, and each
 * pair gives two deviates (Box-Muller's cosine and sine). */
ILLUME_INLINE void illume_philox_normals(uint64_t seed, uint64_t group, uint32_t sample, float normals[4]) {
    illume_philox_block block = illume_philox(seed, (uint32_t)group, (uint32_t)(group >> 32), sample, 0u);
    for (int pair = 0; pair < 2; pair++) {
        /* Uniforms in (0, 1): the +0.5 keeps the logarithm finite. */
        double u1 = ((double)block.value[2 * pair] + 0.5) * (1.0 / 4294967296.0);
        double u2 = ((double)block.value[2 * pair + 1] + 0.5) * (1.0 / 4294967296.0);
        double radius = sqrt(-2.0 * log(u1)), angle = 6.283185307179586 * u2;
        normals[2 * pair] = (float)(radius * cos(angle));
        normals[2 * pair + 1] = (float)(radius * sin(angle));
    }
}

/* The standard normal deviate of element `index` of draw `sample` under `seed`. */
ILLUME_INLINE float illume_philox_normal(uint64_t seed, uint64_t index, uint32_t sample) {
    float normals[4];
    illume_philox_normals(seed, index >> 2, sample, normals);
    return normals[index & 3];
}

#endif
