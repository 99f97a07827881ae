#include "npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NPY_HEADER_LIMIT 65536

/* NumPy's bound on an array: its item size times its dimensions, zeros left
 * out (an empty array is still strided), must fit its intp, 2^63 - 1 here.
 * A header past it is one NumPy refuses to load ("array is too big"). */
static int numpy_holds(int rank, const int64_t *dims, int item_size) {
    int64_t bytes = item_size;
    for (int d = 0; d < rank; d++) {
        if (dims[d] == 0) continue;
        if (dims[d] < 0 || bytes > INT64_MAX / dims[d]) return 0;
        bytes *= dims[d];
    }
    return 1;
}

static illume_status fail(char *error, size_t size, illume_status status, const char *path, const char *reason) {
    snprintf(error, size, "%s: %s", path, reason);
    return status;
}

/* Finds 'key': in the header dict and returns a pointer after the colon. */
static const char *find_key(const char *header, const char *key) {
    char quoted[32];
    snprintf(quoted, sizeof quoted, "'%s'", key);
    const char *at = strstr(header, quoted);
    if (!at) return NULL;
    at = strchr(at + strlen(quoted), ':');
    return at ? at + 1 : NULL;
}

static int parse_shape(const char *text, illume_tensor *tensor) {
    while (*text == ' ') text++;
    if (*text != '(') return -1;
    text++;
    tensor->rank = 0;
    for (;;) {
        while (*text == ' ' || *text == ',') text++;
        if (*text == ')') return 0;
        if (*text < '0' || *text > '9') return -1;
        if (tensor->rank == ILLUME_MAX_RANK) return -1;
        char *end;
        errno = 0;
        long long value = strtoll(text, &end, 10);
        if (errno || value < 0) return -1;
        tensor->dims[tensor->rank++] = value;
        text = end;
    }
}

typedef enum { KIND_FLOAT, KIND_INT, KIND_UINT, KIND_BOOL } element_kind;

static int parse_descr(const char *text, element_kind *kind, int *bytes) {
    while (*text == ' ') text++;
    if (*text != '\'') return -1;
    text++;
    char order = text[0];
    if (order != '<' && order != '|' && order != '=') return -1; /* big-endian files are refused */
    /* A letter, one digit and the closing quote, each read only when the one before is not the end. */
    char letter = text[1];
    if (!letter || text[2] < '0' || text[2] > '9' || text[3] != '\'') return -1;
    int width = text[2] - '0';
    if (letter == 'f' && (width == 4 || width == 8)) *kind = KIND_FLOAT;
    else if (letter == 'i' && (width == 1 || width == 2 || width == 4 || width == 8)) *kind = KIND_INT;
    else if (letter == 'u' && (width == 1 || width == 2 || width == 4 || width == 8)) *kind = KIND_UINT;
    else if (letter == 'b' && width == 1) *kind = KIND_BOOL;
    else return -1;
    *bytes = width;
    return 0;
}

illume_status npy_read(const char *path, illume_tensor *tensor, char *error, size_t size) {
    memset(tensor, 0, sizeof *tensor);
    FILE *file = fopen(path, "rb");
    if (!file) {
        snprintf(error, size, "cannot open '%s': %s", path, strerror(errno));
        return ILLUME_ERROR_IO;
    }
    struct stat info;
    if (fstat(fileno(file), &info) != 0 || !S_ISREG(info.st_mode)) {
        fclose(file);
        snprintf(error, size, "'%s' is not a regular file", path);
        return ILLUME_ERROR_IO;
    }
    unsigned char magic[10];
    illume_status status = ILLUME_OK;
    char *header = NULL;
    unsigned char *raw = NULL;
    if (fread(magic, 1, 8, file) != 8 || memcmp(magic, "\x93NUMPY", 6) != 0) {
        status = fail(error, size, ILLUME_ERROR_INVALID_INPUT, path, "not a .npy file");
        goto done;
    }
    size_t header_length;
    if (magic[6] == 1) {
        unsigned char length[2];
        if (fread(length, 1, 2, file) != 2) {
            status = fail(error, size, ILLUME_ERROR_INVALID_INPUT, path, "truncated header");
            goto done;
        }
        header_length = (size_t)length[0] | (size_t)length[1] << 8;
    } else if (magic[6] == 2 || magic[6] == 3) {
        unsigned char length[4];
        if (fread(length, 1, 4, file) != 4) {
            status = fail(error, size, ILLUME_ERROR_INVALID_INPUT, path, "truncated header");
            goto done;
        }
        header_length = (size_t)length[0] | (size_t)length[1] << 8 | (size_t)length[2] << 16 | (size_t)length[3] << 24;
    } else {
        status = fail(error, size, ILLUME_ERROR_INVALID_INPUT, path, "unknown .npy version");
        goto done;
    }
    if (header_length > NPY_HEADER_LIMIT) {
        status = fail(error, size, ILLUME_ERROR_INVALID_INPUT, path, "header too long");
        goto done;
    }
    header = malloc(header_length + 1);
    if (!header || fread(header, 1, header_length, file) != header_length) {
        status = fail(error, size, ILLUME_ERROR_INVALID_INPUT, path, "truncated header");
        goto done;
    }
    header[header_length] = '\0';
    const char *descr = find_key(header, "descr"), *order = find_key(header, "fortran_order");
    const char *shape = find_key(header, "shape");
    element_kind kind;
    int width;
    if (!descr || parse_descr(descr, &kind, &width)) {
        status = fail(error, size, ILLUME_ERROR_INVALID_INPUT, path,
                      "unsupported element type (little-endian float, int, uint or bool expected)");
        goto done;
    }
    while (order && *order == ' ') order++;
    if (!order || strncmp(order, "False", 5) != 0) {
        status = fail(error, size, ILLUME_ERROR_INVALID_INPUT, path, "Fortran-ordered arrays are not supported");
        goto done;
    }
    if (!shape || parse_shape(shape, tensor)) {
        status = fail(error, size, ILLUME_ERROR_INVALID_INPUT, path, "bad or unsupported shape in the header");
        goto done;
    }
    /* The bound holds for the file's items and for the float32 or int64 they become (written back as such). */
    int converted = kind == KIND_FLOAT ? 4 : 8;
    if (!numpy_holds(tensor->rank, tensor->dims, width > converted ? width : converted)) {
        status = fail(error, size, ILLUME_ERROR_INVALID_INPUT, path,
                      "array too large: its dimensions, zeros left out, times its item size pass 2^63 - 1");
        goto done;
    }
    tensor->dtype = kind == KIND_FLOAT ? ILLUME_FLOAT32 : ILLUME_INT64;
    size_t count = 1;
    for (int d = 0; d < tensor->rank; d++) {
        if (tensor->dims[d] && count > ((size_t)1 << 40) / (size_t)tensor->dims[d]) {
            status = fail(error, size, ILLUME_ERROR_INVALID_INPUT, path, "array too large");
            goto done;
        }
        count *= (size_t)tensor->dims[d];
    }
    raw = malloc(count * (size_t)width + 1);
    tensor->data = malloc(count * 8 + 1);
    if (!raw || !tensor->data) {
        status = fail(error, size, ILLUME_ERROR_OUT_OF_MEMORY, path, "out of memory");
        goto done;
    }
    if (fread(raw, (size_t)width, count, file) != count) {
        status = fail(error, size, ILLUME_ERROR_INVALID_INPUT, path, "truncated data");
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        const unsigned char *p = raw + i * (size_t)width;
        if (kind == KIND_FLOAT) {
            float value;
            if (width == 4) memcpy(&value, p, 4);
            else { double d; memcpy(&d, p, 8); value = (float)d; }
            ((float *)tensor->data)[i] = value;
        } else {
            int64_t value = 0;
            if (kind == KIND_INT) {
                if (width == 1) value = (signed char)p[0];
                else if (width == 2) { short v; memcpy(&v, p, 2); value = v; }
                else if (width == 4) { int v; memcpy(&v, p, 4); value = v; }
                else memcpy(&value, p, 8);
            } else {
                uint64_t v = 0;
                memcpy(&v, p, (size_t)width);
                value = (int64_t)v;
            }
            ((int64_t *)tensor->data)[i] = value;
        }
    }
done:
    fclose(file);
    free(header);
    free(raw);
    if (status != ILLUME_OK) {
        free(tensor->data);
        tensor->data = NULL;
    }
    return status;
}

illume_status npy_write(const char *path, const illume_tensor *tensor, char *error, size_t size) {
    if (tensor->rank < 0 || tensor->rank > ILLUME_MAX_RANK) {
        snprintf(error, size, "cannot write '%s': rank %d", path, tensor->rank);
        return ILLUME_ERROR_INVALID_INPUT;
    }
    if (!numpy_holds(tensor->rank, tensor->dims, tensor->dtype == ILLUME_INT64 ? 8 : 4)) {
        char shape[256];
        int used = 0;
        for (int d = 0; d < tensor->rank; d++)
            used += snprintf(shape + used, sizeof shape - (size_t)used, "%s%lld", d ? ", " : "",
                             (long long)tensor->dims[d]);
        snprintf(error, size,
                 "cannot write '%s': NumPy cannot load an array of shape (%s) (its dimensions, zeros left out, "
                 "times its item size pass 2^63 - 1)", path, shape);
        return ILLUME_ERROR_INVALID_INPUT;
    }
    char header[512];
    int length = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                          tensor->dtype == ILLUME_INT64 ? "<i8" : "<f4");
    for (int d = 0; d < tensor->rank; d++)
        length += snprintf(header + length, sizeof header - (size_t)length, "%lld%s", (long long)tensor->dims[d],
                           tensor->rank == 1 ? "," : (d + 1 < tensor->rank ? ", " : ""));
    length += snprintf(header + length, sizeof header - (size_t)length, "), }");
    /* Pad with spaces so that the data starts on a 64-byte boundary, ending with a newline. */
    int total = 10 + length + 1;
    int padding = (64 - total % 64) % 64;
    FILE *file = fopen(path, "wb");
    if (!file) {
        snprintf(error, size, "cannot write '%s': %s", path, strerror(errno));
        return ILLUME_ERROR_IO;
    }
    unsigned short header_length = (unsigned short)(length + padding + 1);
    unsigned char prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(header_length & 0xff),
                                (unsigned char)(header_length >> 8)};
    size_t bytes = illume_tensor_bytes(tensor);
    int ok = fwrite(prefix, 1, 10, file) == 10 && fwrite(header, 1, (size_t)length, file) == (size_t)length;
    for (int i = 0; ok && i < padding; i++) ok = fputc(' ', file) != EOF;
    ok = ok && fputc('\n', file) != EOF;
    ok = ok && (bytes == 0 || fwrite(tensor->data, 1, bytes, file) == bytes);
    ok = (fclose(file) == 0) && ok;
    if (!ok) {
        snprintf(error, size, "cannot write '%s': %s", path, strerror(errno));
        return ILLUME_ERROR_IO;
    }
    return ILLUME_OK;
}

void npy_path_with_suffix(const char *base, const char *suffix, char *path, size_t size) {
    size_t length = strlen(base);
    if (length > 4 && strcmp(base + length - 4, ".npy") == 0)
        snprintf(path, size, "%.*s-%s.npy", (int)(length - 4), base, suffix);
    else
        snprintf(path, size, "%s-%s.npy", base, suffix);
}
