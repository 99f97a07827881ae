/* libFuzzer target for the .npy reader (cli/npy.c): any bytes read as a file
 * give a tensor or a status with a message. A tensor read is written back
 * and read again, and must come back with the same shape, type and values
 * (float64 and the narrower integer types come back as float32 and int64,
 * which the writer keeps). Built by -DILLUME_FUZZ=ON with clang;
 * replay_regressions.c replays saved inputs through the same function in
 * every build. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_scratch.h"
#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_status(illume_status status) {
    return status == ILLUME_OK || (status >= ILLUME_ERROR_INTERNAL && status <= ILLUME_ERROR_BACKEND && status != 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[4096], copy[4096], error[1024] = "";
    fuzz_scratch_write("input.npy", data, size, path, sizeof path);
    illume_tensor tensor;
    illume_status status = npy_read(path, &tensor, error, sizeof error);
    fuzz_require(is_status(status), "fuzz_npy", "npy_read returned an unknown status", error);
    if (status != ILLUME_OK) {
        fuzz_require(error[0] != '\0', "fuzz_npy", "npy_read failed without a message", NULL);
        fuzz_require(tensor.data == NULL, "fuzz_npy", "npy_read failed but left data", error);
        return 0;
    }
    fuzz_require(tensor.data != NULL && tensor.rank >= 0 && tensor.rank <= ILLUME_MAX_RANK, "fuzz_npy",
                 "npy_read gave a tensor without data or with a bad rank", NULL);
    snprintf(copy, sizeof copy, "%s/copy.npy", fuzz_scratch());
    status = npy_write(copy, &tensor, error, sizeof error);
    fuzz_require(status == ILLUME_OK, "fuzz_npy", "a tensor read could not be written back", error);
    illume_tensor again;
    status = npy_read(copy, &again, error, sizeof error);
    fuzz_require(status == ILLUME_OK, "fuzz_npy", "a tensor written could not be read back", error);
    size_t bytes = illume_tensor_bytes(&tensor);
    fuzz_require(again.dtype == tensor.dtype && again.rank == tensor.rank &&
                     memcmp(again.dims, tensor.dims, sizeof(int64_t) * (size_t)tensor.rank) == 0 &&
                     illume_tensor_bytes(&again) == bytes && memcmp(again.data, tensor.data, bytes) == 0,
                 "fuzz_npy", "a tensor changed on its way through a file", copy);
    free(again.data);
    free(tensor.data);
    return 0;
}
