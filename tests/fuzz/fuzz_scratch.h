/* The private folder the fuzz targets write into: parsers that read files get
 * their bytes through a file in it, and the command-line target runs every
 * command inside it. Made once per process (mkdtemp under $TMPDIR, else
 * /dev/shm, else /tmp) and removed at exit. */
#ifndef ILLUME_FUZZ_SCRATCH_H
#define ILLUME_FUZZ_SCRATCH_H

#include <stddef.h>
#include <stdint.h>

/* The folder, made on the first call; aborts when it cannot be made. */
const char *fuzz_scratch(void);

/* Writes bytes to the file `name` in the folder and puts its path in path;
 * aborts when that fails. */
void fuzz_scratch_write(const char *name, const uint8_t *data, size_t size, char *path, size_t path_size);

/* Empties the folder and copies every file of the fixtures folder
 * (tests/fuzz/fixtures) into it, so that each input starts from the same
 * files whatever the one before wrote. */
void fuzz_scratch_reset(const char *fixtures);

/* Aborts with the message: a broken invariant is the fuzzer's finding. */
void fuzz_require(int condition, const char *target, const char *what, const char *detail);

#endif
