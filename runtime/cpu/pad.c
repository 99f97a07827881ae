/* Pad: each output element reads the input coordinate kernels/pad.h names.
 * Negative pads crop first, and the mode pads what is left, as onnxruntime
 * does: wrap and reflect never read a cropped element. */
#include "cpu_backend.h"
#include "pad.h"

illume_status cpu_pad(backend *self, const pad_desc *desc, const float *x, float *y) {
    (void)self;
    illume_pad_geometry geometry = illume_pad_setup(desc);
    int64_t total = geometry.outputs;
#pragma omp parallel for schedule(static) if (total > 32768)
    for (int64_t i = 0; i < total; i++) y[i] = illume_pad_output(desc, &geometry, x, i);
    return ILLUME_OK;
}
