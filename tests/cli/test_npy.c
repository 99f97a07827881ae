/* cli/npy.c at NumPy's bound: an array whose item size times its dimensions,
 * zeros left out, passes 2^63 - 1 is one NumPy refuses to load ("array is too
 * big"), empty or not. The writer refuses to write such a header and the
 * reader to read one (counting 8 bytes for the integers it reads as int64);
 * shapes just inside the bound go both ways.
 * Usage: test_npy SCRATCH_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npy.h"

static int failures;

static void expect(int condition, const char *what, const char *detail) {
    if (condition) return;
    fprintf(stderr, "FAIL: %s%s%s\n", what, detail && detail[0] ? ": " : "", detail ? detail : "");
    failures++;
}

static illume_tensor empty_tensor(illume_dtype dtype, int rank, const int64_t *dims) {
    illume_tensor tensor = {.dtype = dtype, .rank = rank};
    memcpy(tensor.dims, dims, sizeof(int64_t) * (size_t)rank);
    static float nothing;
    tensor.data = &nothing;
    return tensor;
}

/* Writes an empty tensor of that shape; whether it was refused must be `refused`. */
static void write_case(const char *directory, const char *name, illume_dtype dtype, int rank, const int64_t *dims,
                       int refused) {
    char path[4096], error[1024] = "";
    snprintf(path, sizeof path, "%s/%s.npy", directory, name);
    unlink(path);
    illume_tensor tensor = empty_tensor(dtype, rank, dims);
    illume_status status = npy_write(path, &tensor, error, sizeof error);
    if (refused) {
        expect(status == ILLUME_ERROR_INVALID_INPUT, name, "the writer did not refuse it");
        expect(strstr(error, "NumPy cannot load") != NULL, name, error);
        expect(access(path, F_OK) != 0, name, "a refused file was written");
        return;
    }
    expect(status == ILLUME_OK, name, error);
    illume_tensor back;
    status = npy_read(path, &back, error, sizeof error);
    expect(status == ILLUME_OK, name, error);
    if (status != ILLUME_OK) return;
    expect(back.rank == rank && memcmp(back.dims, dims, sizeof(int64_t) * (size_t)rank) == 0 && back.dtype == dtype,
           name, "read back with another shape or type");
    free(back.data);
}

/* A header written by hand, refused by the reader when NumPy refuses it. */
static void read_case(const char *directory, const char *name, const char *descr, const char *shape, int refused) {
    char path[4096], header[256], error[1024] = "";
    snprintf(path, sizeof path, "%s/%s.npy", directory, name);
    int length = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr,
                          shape);
    int padding = (64 - (10 + length + 1) % 64) % 64;
    FILE *file = fopen(path, "wb");
    if (!file) {
        expect(0, name, "cannot write the header");
        return;
    }
    unsigned total = (unsigned)(length + padding + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, file);
    fputc((int)(total & 0xff), file);
    fputc((int)(total >> 8), file);
    fwrite(header, 1, (size_t)length, file);
    for (int i = 0; i < padding; i++) fputc(' ', file);
    fputc('\n', file);
    fclose(file);
    illume_tensor tensor;
    illume_status status = npy_read(path, &tensor, error, sizeof error);
    if (refused) {
        expect(status == ILLUME_ERROR_INVALID_INPUT && strstr(error, "array too large"), name, error);
        expect(tensor.data == NULL, name, "a refused read left data");
    } else {
        expect(status == ILLUME_OK, name, error);
        free(tensor.data);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_npy SCRATCH_DIR\n");
        return 2;
    }
    const char *directory = argv[1];
    const int64_t two30 = (int64_t)1 << 30, two31 = (int64_t)1 << 31;
    /* float32: 4 x 2^30 x (2^31 - 1) = 2^63 - 2^32 fits; 4 x 2^30 x 2^31 = 2^63 does not. */
    write_case(directory, "float_inside", ILLUME_FLOAT32, 3, (int64_t[]){0, two30, two31 - 1}, 0);
    write_case(directory, "float_past", ILLUME_FLOAT32, 3, (int64_t[]){0, two30, two31}, 1);
    write_case(directory, "float_issue_15", ILLUME_FLOAT32, 5,
               (int64_t[]){4, 0, 1340, 2169879134207, 2952790015}, 1);
    /* int64: 8 bytes an element, so half the elements. */
    write_case(directory, "int_inside", ILLUME_INT64, 3, (int64_t[]){0, two30, two30 - 1}, 0);
    write_case(directory, "int_past", ILLUME_INT64, 3, (int64_t[]){0, two30, two30}, 1);
    write_case(directory, "scalar", ILLUME_FLOAT32, 0, (int64_t[]){0}, 0);
    read_case(directory, "read_float_inside", "<f4", "(0, 1073741824, 2147483647)", 0);
    read_case(directory, "read_float_past", "<f4", "(0, 1073741824, 2147483648)", 1);
    read_case(directory, "read_double_past", "<f8", "(0, 1073741824, 1073741824)", 1);
    /* Read as int64: 8 bytes an element, whatever the file's item size. */
    read_case(directory, "read_bool_inside", "|b1", "(0, 1152921504606846975, 1)", 0);
    read_case(directory, "read_bool_past_as_int64", "|b1", "(0, 1152921504606846976, 1)", 1);
    read_case(directory, "read_issue_15", "<f4", "(4, 0, 1340, 2169879134207, 2952790015)", 1);
    if (failures) {
        fprintf(stderr, "test_npy: %d failures\n", failures);
        return 1;
    }
    printf("test_npy: every case passed\n");
    return 0;
}
