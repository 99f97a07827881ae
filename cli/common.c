#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

int report(illume_status status, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    fputs("illume: ", stderr);
    vfprintf(stderr, format, arguments);
    fputc('\n', stderr);
    va_end(arguments);
    return status == ILLUME_OK ? 1 : (int)status;
}

int usage_error(const char *command, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    fprintf(stderr, "illume %s: ", command);
    vfprintf(stderr, format, arguments);
    fprintf(stderr, "\nRun 'illume %s --help' for usage.\n", command);
    va_end(arguments);
    return EXIT_USAGE;
}

int parse_int(const char *text, long long low, long long high, long long *value) {
    if (!text || !*text) return -1;
    char *end;
    errno = 0;
    long long parsed = strtoll(text, &end, 10);
    if (errno || *end || parsed < low || parsed > high) return -1;
    *value = parsed;
    return 0;
}

int parse_floats(const char *text, float *values, int capacity, int *count) {
    *count = 0;
    if (!text || !*text) return -1;
    const char *at = text;
    for (;;) {
        if (*count == capacity) return -1;
        char *end;
        errno = 0;
        float value = strtof(at, &end);
        if (errno || end == at) return -1;
        values[(*count)++] = value;
        if (*end == '\0') return 0;
        if (*end != ',') return -1;
        at = end + 1;
    }
}

int parse_shape(const char *text, int64_t *dims, int capacity, int *rank) {
    *rank = 0;
    if (!text || !*text) return -1;
    const char *at = text;
    for (;;) {
        if (*rank == capacity) return -1;
        char *end;
        errno = 0;
        long long value = strtoll(at, &end, 10);
        if (errno || end == at || value < 0) return -1;
        dims[(*rank)++] = value;
        if (*end == '\0') return 0;
        if (*end != ',' && *end != 'x') return -1;
        at = end + 1;
    }
}

int is_directory(const char *path) {
    struct stat info;
    return stat(path, &info) == 0 && S_ISDIR(info.st_mode);
}
