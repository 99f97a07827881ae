/* NumPy .npy files: float32 or int64, little-endian, C order. */
#ifndef ILLUME_CLI_NPY_H
#define ILLUME_CLI_NPY_H

#include "illume.h"

/* Reads a .npy file into tensor (data malloc'd). float64 becomes float32 and
 * every integer or bool type int64. The message is written to error (size
 * bytes) on failure. */
illume_status npy_read(const char *path, illume_tensor *tensor, char *error, size_t size);
illume_status npy_write(const char *path, const illume_tensor *tensor, char *error, size_t size);

/* The path of one of several .npy files named after base: base with
 * -suffix before its .npy (out.npy and ig give out-ig.npy; out gives
 * out-ig.npy too). */
void npy_path_with_suffix(const char *base, const char *suffix, char *path, size_t size);

#endif
