/* Shared pieces of the illume command line: exit codes, error reporting,
 * option values, the folder test and the subcommands. */
#ifndef ILLUME_CLI_H
#define ILLUME_CLI_H

#include "illume.h"

/* Exit codes: 0 success, 2 usage; the others are the illume_status values
 * (3 input/output, 4 invalid model, 5 unsupported, 6 invalid input, 7 out of
 * memory, 8 backend, 1 internal). */
#define EXIT_USAGE 2

int command_info(int argc, char **argv);
int command_run(int argc, char **argv);
int command_bench(int argc, char **argv);
int command_explain(int argc, char **argv);

/* Prints "illume: message" to stderr and returns the exit code for status. */
int report(illume_status status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
int usage_error(const char *command, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Parsing of option values; each returns 0 on success. */
int parse_int(const char *text, long long low, long long high, long long *value);
int parse_floats(const char *text, float *values, int capacity, int *count);
int parse_shape(const char *text, int64_t *dims, int capacity, int *rank);

/* True when path names a folder (following links). */
int is_directory(const char *path);

#endif
