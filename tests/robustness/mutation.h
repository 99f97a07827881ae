/* Deterministic damage for the robustness tests: a seeded generator, random
 * bytes and bit flips, and reading a whole file. Header-only so that each
 * test program stays one file. */
#ifndef ILLUME_TESTS_MUTATION_H
#define ILLUME_TESTS_MUTATION_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* xorshift64*: the same seed gives the same damage on every machine. */
static inline uint64_t mutation_next(uint64_t *state) {
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15u;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1du;
}

static inline void mutation_random_bytes(uint64_t *state, unsigned char *bytes, size_t size) {
    for (size_t i = 0; i < size; i++) bytes[i] = (unsigned char)(mutation_next(state) >> 56);
}

/* Flips count bits at random positions of bytes. */
static inline void mutation_flip_bits(uint64_t *state, unsigned char *bytes, size_t size, int count) {
    for (int i = 0; i < count && size; i++) {
        uint64_t r = mutation_next(state);
        bytes[(r >> 3) % size] ^= (unsigned char)(1u << (r & 7));
    }
}

/* The file's bytes (malloc'd, size in *size), or NULL. */
static inline unsigned char *mutation_read_file(const char *path, size_t *size) {
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    unsigned char *bytes = NULL;
    if (fseek(file, 0, SEEK_END) == 0) {
        long length = ftell(file);
        if (length >= 0 && fseek(file, 0, SEEK_SET) == 0) {
            bytes = malloc((size_t)length + 1);
            if (bytes && fread(bytes, 1, (size_t)length, file) != (size_t)length) {
                free(bytes);
                bytes = NULL;
            }
            *size = (size_t)length;
        }
    }
    fclose(file);
    return bytes;
}

#endif
