/* Writes the damaged model files the command-line robustness tests feed to
 * illume: an empty file, random bytes of several sizes, and a valid model
 * cut short at several points. Usage: make_mutants MODEL OUT_DIR. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mutation.h"

static int write_file(const char *directory, const char *name, const unsigned char *bytes, size_t size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", directory, name);
    FILE *file = fopen(path, "wb");
    if (!file || (size && fwrite(bytes, 1, size, file) != size) || fclose(file) != 0) {
        fprintf(stderr, "make_mutants: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: make_mutants MODEL OUT_DIR\n");
        return 2;
    }
    size_t size;
    unsigned char *model = mutation_read_file(argv[1], &size);
    if (!model || size < 100) {
        fprintf(stderr, "make_mutants: cannot read the model %s (or it is under 100 bytes)\n", argv[1]);
        free(model);
        return 1;
    }
    const char *out = argv[2];
    int failed = 0;

    failed |= write_file(out, "empty.onnx", model, 0);
    static const size_t random_sizes[] = {1, 100, 10000, 1000000};
    unsigned char *noise = malloc(random_sizes[3]);
    if (!noise) return 1;
    for (int i = 0; i < 4; i++) {
        uint64_t state = 0x5eed0000u + (uint64_t)i;
        mutation_random_bytes(&state, noise, random_sizes[i]);
        char name[64];
        snprintf(name, sizeof name, "random_%zu.onnx", random_sizes[i]);
        failed |= write_file(out, name, noise, random_sizes[i]);
    }
    free(noise);

    /* Cut points: inside the first field, at fractions of the graph, and one
     * byte short of the end (inside the trailing opset_import). */
    static const int percents[] = {10, 30, 50, 70, 90};
    failed |= write_file(out, "truncated_1_byte.onnx", model, 1);
    for (int i = 0; i < 5; i++) {
        char name[64];
        snprintf(name, sizeof name, "truncated_%d_percent.onnx", percents[i]);
        failed |= write_file(out, name, model, size * (size_t)percents[i] / 100);
    }
    failed |= write_file(out, "truncated_last_byte.onnx", model, size - 1);
    free(model);
    return failed ? 1 : 0;
}
