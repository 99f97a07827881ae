/* Decodes an ONNX TensorProto into illume's host data: float32 for every
 * floating type, int64 for every integer type and bool. */
#ifndef ILLUME_TENSOR_DATA_H
#define ILLUME_TENSOR_DATA_H

#include "context.h"
#include "onnx.pb-c.h"

typedef struct decoded_tensor {
    illume_dtype dtype;
    int rank;
    int64_t dims[ILLUME_MAX_RANK];
    void *data; /* malloc'd; at least one byte even for empty tensors */
} decoded_tensor;

/* base_directory: where external data files live; NULL refuses external data.
 * what names the tensor in error messages ("initializer 'w'"). */
illume_status tensor_data_decode(illume_context *context, Onnx__TensorProto *tensor, const char *base_directory,
                                 const char *what, decoded_tensor *decoded);

/* Maps an ONNX element type to illume's compute dtype; returns 0 if unsupported. */
int tensor_data_dtype(int32_t onnx_type, illume_dtype *dtype);
const char *tensor_data_type_name(int32_t onnx_type);

float tensor_data_half_to_float(uint16_t bits);

#endif
