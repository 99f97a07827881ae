#include "tensor_data.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "graph.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "illume reads ONNX raw_data with memcpy and needs a little-endian host"
#endif

enum {
    ONNX_FLOAT = 1, ONNX_UINT8 = 2, ONNX_INT8 = 3, ONNX_UINT16 = 4, ONNX_INT16 = 5, ONNX_INT32 = 6,
    ONNX_INT64 = 7, ONNX_STRING = 8, ONNX_BOOL = 9, ONNX_FLOAT16 = 10, ONNX_DOUBLE = 11, ONNX_UINT32 = 12,
    ONNX_UINT64 = 13, ONNX_COMPLEX64 = 14, ONNX_COMPLEX128 = 15, ONNX_BFLOAT16 = 16
};

const char *tensor_data_type_name(int32_t onnx_type) {
    static const char *names[] = {"undefined", "float", "uint8", "int8", "uint16", "int16", "int32",
                                  "int64", "string", "bool", "float16", "double", "uint32", "uint64",
                                  "complex64", "complex128", "bfloat16", "float8e4m3fn", "float8e4m3fnuz",
                                  "float8e5m2", "float8e5m2fnuz", "uint4", "int4", "float4e2m1", "float8e8m0",
                                  "uint2", "int2", "float6e2m3", "float6e3m2"};
    if (onnx_type >= 0 && onnx_type < (int32_t)(sizeof names / sizeof names[0])) return names[onnx_type];
    return "unknown type";
}

int tensor_data_dtype(int32_t onnx_type, illume_dtype *dtype) {
    switch (onnx_type) {
    case ONNX_FLOAT: case ONNX_FLOAT16: case ONNX_DOUBLE: case ONNX_BFLOAT16:
        *dtype = ILLUME_FLOAT32;
        return 1;
    case ONNX_UINT8: case ONNX_INT8: case ONNX_UINT16: case ONNX_INT16: case ONNX_INT32: case ONNX_INT64:
    case ONNX_BOOL: case ONNX_UINT32: case ONNX_UINT64:
        *dtype = ILLUME_INT64;
        return 1;
    default:
        return 0;
    }
}

/* Bytes per element as stored in raw_data. */
static size_t stored_size(int32_t onnx_type) {
    switch (onnx_type) {
    case ONNX_UINT8: case ONNX_INT8: case ONNX_BOOL: return 1;
    case ONNX_UINT16: case ONNX_INT16: case ONNX_FLOAT16: case ONNX_BFLOAT16: return 2;
    case ONNX_FLOAT: case ONNX_INT32: case ONNX_UINT32: return 4;
    default: return 8;
    }
}

float tensor_data_half_to_float(uint16_t bits) {
    uint32_t sign = (uint32_t)(bits & 0x8000u) << 16;
    uint32_t exponent = (bits >> 10) & 0x1fu;
    uint32_t mantissa = bits & 0x3ffu;
    uint32_t result;
    if (exponent == 0x1f) {
        result = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent != 0) {
        result = sign | ((exponent + 112u) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        result = sign;
    } else {
        /* A subnormal half: shift the mantissa up until its leading one is implicit. */
        int shift = 0;
        while (!(mantissa & 0x400u)) {
            mantissa <<= 1;
            shift++;
        }
        mantissa &= 0x3ffu;
        result = sign | ((uint32_t)(113 - shift) << 23) | (mantissa << 13);
    }
    float value;
    memcpy(&value, &result, sizeof value);
    return value;
}

/* Converts count stored elements at source into the compute dtype at target. */
static void convert_stored(int32_t onnx_type, const unsigned char *source, int64_t count, void *target) {
    float *f = target;
    int64_t *i = target;
    for (int64_t k = 0; k < count; k++) {
        const unsigned char *p = source + (size_t)k * stored_size(onnx_type);
        switch (onnx_type) {
        case ONNX_FLOAT: memcpy(&f[k], p, 4); break;
        case ONNX_DOUBLE: { double d; memcpy(&d, p, 8); f[k] = (float)d; break; }
        case ONNX_FLOAT16: { uint16_t h; memcpy(&h, p, 2); f[k] = tensor_data_half_to_float(h); break; }
        case ONNX_BFLOAT16: { uint16_t h; memcpy(&h, p, 2); uint32_t w = (uint32_t)h << 16; memcpy(&f[k], &w, 4); break; }
        case ONNX_UINT8: case ONNX_BOOL: i[k] = p[0]; break;
        case ONNX_INT8: i[k] = (int8_t)p[0]; break;
        case ONNX_UINT16: { uint16_t v; memcpy(&v, p, 2); i[k] = v; break; }
        case ONNX_INT16: { int16_t v; memcpy(&v, p, 2); i[k] = v; break; }
        case ONNX_INT32: { int32_t v; memcpy(&v, p, 4); i[k] = v; break; }
        case ONNX_UINT32: { uint32_t v; memcpy(&v, p, 4); i[k] = v; break; }
        case ONNX_INT64: memcpy(&i[k], p, 8); break;
        case ONNX_UINT64: { uint64_t v; memcpy(&v, p, 8); i[k] = v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v; break; }
        default: break;
        }
    }
}

/* Values in the typed repeated field (float_data, int32_data, ...) that holds the tensor's type. */
static size_t typed_count(const Onnx__TensorProto *tensor) {
    switch (tensor->data_type) {
    case ONNX_FLOAT: return tensor->n_float_data;
    case ONNX_DOUBLE: return tensor->n_double_data;
    case ONNX_INT64: return tensor->n_int64_data;
    case ONNX_UINT32: case ONNX_UINT64: return tensor->n_uint64_data;
    default: return tensor->n_int32_data;
    }
}

/* Converts count elements of the typed repeated fields, which typed_count says hold them. */
static void convert_typed(const Onnx__TensorProto *tensor, int64_t count, void *target) {
    int32_t type = tensor->data_type;
    float *f = target;
    int64_t *i = target;
    for (int64_t k = 0; k < count; k++) {
        switch (type) {
        case ONNX_FLOAT: f[k] = tensor->float_data[k]; break;
        case ONNX_DOUBLE: f[k] = (float)tensor->double_data[k]; break;
        case ONNX_FLOAT16: f[k] = tensor_data_half_to_float((uint16_t)tensor->int32_data[k]); break;
        case ONNX_BFLOAT16: { uint32_t w = (uint32_t)(tensor->int32_data[k] & 0xffff) << 16; memcpy(&f[k], &w, 4); break; }
        case ONNX_INT64: i[k] = tensor->int64_data[k]; break;
        case ONNX_UINT32: i[k] = (int64_t)(tensor->uint64_data[k] & 0xffffffffu); break;
        case ONNX_UINT64:
            i[k] = tensor->uint64_data[k] > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)tensor->uint64_data[k];
            break;
        default: i[k] = tensor->int32_data[k]; break;
        }
    }
}

/* Refuses a location that is absolute or climbs out of the model's folder, then
 * resolves symbolic links and checks again. */
static illume_status external_path(illume_context *context, const char *base_directory, const char *location,
                                   const char *what, char *path, size_t size) {
    if (!base_directory)
        return illume_fail(context, ILLUME_ERROR_INVALID_MODEL,
                           "%s: stored in external file '%s', but the model was loaded from memory", what, location);
    if (location[0] == '/' || location[0] == '\0')
        return illume_fail(context, ILLUME_ERROR_INVALID_MODEL,
                           "%s: external data location '%s' must be a relative path inside the model's folder", what,
                           location);
    const char *part = location;
    while (*part) {
        const char *end = strchr(part, '/');
        size_t length = end ? (size_t)(end - part) : strlen(part);
        if (length == 2 && part[0] == '.' && part[1] == '.')
            return illume_fail(context, ILLUME_ERROR_INVALID_MODEL,
                               "%s: external data location '%s' leaves the model's folder", what, location);
        part += length;
        if (*part == '/') part++;
    }
    int written = snprintf(path, size, "%s/%s", base_directory, location);
    if (written < 0 || (size_t)written >= size)
        return illume_fail(context, ILLUME_ERROR_INVALID_MODEL, "%s: external data path too long", what);
    char *resolved_base = realpath(base_directory, NULL);
    char *resolved = realpath(path, NULL);
    illume_status status = ILLUME_OK;
    if (!resolved_base || !resolved) {
        status = illume_fail(context, ILLUME_ERROR_IO, "%s: cannot open external data file '%s': %s", what, path,
                             strerror(errno));
    } else {
        size_t base_length = strlen(resolved_base);
        if (strncmp(resolved, resolved_base, base_length) != 0 ||
            (resolved[base_length] != '/' && strcmp(resolved_base, "/") != 0))
            status = illume_fail(context, ILLUME_ERROR_INVALID_MODEL,
                                 "%s: external data location '%s' leaves the model's folder", what, location);
    }
    free(resolved_base);
    free(resolved);
    return status;
}

static illume_status read_external(illume_context *context, const Onnx__TensorProto *tensor,
                                   const char *base_directory, const char *what, size_t expected,
                                   unsigned char **bytes) {
    const char *location = NULL;
    long long offset = 0, length = -1;
    for (size_t e = 0; e < tensor->n_external_data; e++) {
        const Onnx__StringStringEntryProto *entry = tensor->external_data[e];
        if (!entry->key || !entry->value) continue;
        char *end = NULL;
        if (strcmp(entry->key, "location") == 0) {
            location = entry->value;
        } else if (strcmp(entry->key, "offset") == 0 || strcmp(entry->key, "length") == 0) {
            errno = 0;
            long long number = strtoll(entry->value, &end, 10);
            if (errno || !end || *end || number < 0)
                return illume_fail(context, ILLUME_ERROR_INVALID_MODEL, "%s: external data %s '%s' is not a byte count",
                                   what, entry->key, entry->value);
            if (entry->key[0] == 'o') offset = number;
            else length = number;
        }
    }
    if (!location)
        return illume_fail(context, ILLUME_ERROR_INVALID_MODEL, "%s: external data without a location", what);
    if (length >= 0 && (unsigned long long)length != (unsigned long long)expected)
        return illume_fail(context, ILLUME_ERROR_INVALID_MODEL,
                           "%s: external data length %lld does not match the %zu bytes its dims need", what, length,
                           expected);
    char path[4096];
    ILLUME_TRY(external_path(context, base_directory, location, what, path, sizeof path));
    FILE *file = fopen(path, "rb");
    if (!file)
        return illume_fail(context, ILLUME_ERROR_IO, "%s: cannot open external data file '%s': %s", what, path,
                           strerror(errno));
    /* The file must hold the bytes before any are allocated: dims alone can claim terabytes. */
    struct stat info;
    if (fstat(fileno(file), &info) != 0 || !S_ISREG(info.st_mode)) {
        fclose(file);
        return illume_fail(context, ILLUME_ERROR_IO, "%s: external data file '%s' is not a regular file", what,
                           path);
    }
    if ((unsigned long long)info.st_size < (unsigned long long)offset ||
        (unsigned long long)info.st_size - (unsigned long long)offset < (unsigned long long)expected) {
        fclose(file);
        return illume_fail(context, ILLUME_ERROR_INVALID_MODEL,
                           "%s: external data file '%s' is too short for %zu bytes at offset %lld", what, path,
                           expected, offset);
    }
    *bytes = malloc(expected ? expected : 1);
    if (!*bytes) {
        fclose(file);
        return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", what, expected);
    }
    if (fseeko(file, (off_t)offset, SEEK_SET) != 0 || fread(*bytes, 1, expected, file) != expected) {
        fclose(file);
        free(*bytes);
        *bytes = NULL;
        return illume_fail(context, ILLUME_ERROR_INVALID_MODEL,
                           "%s: external data file '%s' is too short for %zu bytes at offset %lld", what, path,
                           expected, offset);
    }
    fclose(file);
    return ILLUME_OK;
}

illume_status tensor_data_decode(illume_context *context, Onnx__TensorProto *tensor, const char *base_directory,
                                 const char *what, decoded_tensor *decoded) {
    memset(decoded, 0, sizeof *decoded);
    int32_t type = tensor->has_data_type ? tensor->data_type : 0;
    if (!tensor_data_dtype(type, &decoded->dtype))
        return illume_fail(context, ILLUME_ERROR_UNSUPPORTED, "%s: element type %s (%d) is not supported", what,
                           tensor_data_type_name(type), (int)type);
    if (tensor->n_dims > ILLUME_MAX_RANK)
        return illume_fail(context, ILLUME_ERROR_UNSUPPORTED, "%s: rank %zu exceeds the supported %d", what,
                           tensor->n_dims, ILLUME_MAX_RANK);
    if (tensor->segment)
        return illume_fail(context, ILLUME_ERROR_UNSUPPORTED, "%s: segmented tensors are not supported", what);
    decoded->rank = (int)tensor->n_dims;
    for (size_t d = 0; d < tensor->n_dims; d++) {
        if (tensor->dims[d] < 0)
            return illume_fail(context, ILLUME_ERROR_INVALID_MODEL, "%s: negative dimension %lld", what,
                               (long long)tensor->dims[d]);
        decoded->dims[d] = tensor->dims[d];
    }
    int64_t count;
    size_t element = dtype_size(decoded->dtype);
    if (shape_element_count(decoded->rank, decoded->dims, &count) || (uint64_t)count > SIZE_MAX / 8)
        return illume_fail(context, ILLUME_ERROR_INVALID_MODEL,
                           "%s: shape %s is too large: its dimensions, zeros left out, multiply past 2^60 - 1", what,
                           shape_format(decoded->rank, decoded->dims, (char[256]){0}, 256));
    size_t stored_bytes = (size_t)count * stored_size(type);

    /* The data must be there before the decoded copy is allocated: dims alone can claim terabytes. */
    unsigned char *external_bytes = NULL;
    int external = tensor->has_data_location && tensor->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    if (external) {
        ILLUME_TRY(read_external(context, tensor, base_directory, what, stored_bytes, &external_bytes));
    } else if (tensor->has_raw_data) {
        if (tensor->raw_data.len != stored_bytes)
            return illume_fail(context, ILLUME_ERROR_INVALID_MODEL, "%s: raw_data holds %zu bytes but dims %s need %zu",
                               what, tensor->raw_data.len,
                               shape_format(decoded->rank, decoded->dims, (char[128]){0}, 128), stored_bytes);
    } else if ((uint64_t)typed_count(tensor) != (uint64_t)count) {
        return illume_fail(context, ILLUME_ERROR_INVALID_MODEL, "%s: holds %zu values but its dims need %lld", what,
                           typed_count(tensor), (long long)count);
    }
    decoded->data = malloc(count ? (size_t)count * element : 1);
    if (!decoded->data) {
        free(external_bytes);
        return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %lld elements", what,
                           (long long)count);
    }
    if (external) convert_stored(type, external_bytes, count, decoded->data);
    else if (tensor->has_raw_data) convert_stored(type, tensor->raw_data.data, count, decoded->data);
    else convert_typed(tensor, count, decoded->data);
    free(external_bytes);
    return ILLUME_OK;
}
