/* Replays saved inputs through a fuzz target's body in an ordinary build
 * (no libFuzzer needed), linked with one target as replay_TARGET: every file
 * under the directories given, recursively. An input that once crashed the
 * target must now pass; under AddressSanitizer this also checks for memory
 * errors and leaks.
 * Usage: replay_TARGET DIR_OR_FILE... */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPLAY_UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_UNDER_ASAN 1
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path) {
    FILE *file = fopen(path, "rb");
    if (!file) {
        fprintf(stderr, "replay_regressions: cannot open %s\n", path);
        return -1;
    }
    size_t capacity = 1 << 16, size = 0;
    unsigned char *bytes = malloc(capacity);
    for (;;) {
        if (!bytes) break;
        size += fread(bytes + size, 1, capacity - size, file);
        if (size < capacity) break;
        unsigned char *grown = realloc(bytes, capacity * 2);
        if (!grown) {
            free(bytes);
            bytes = NULL;
            break;
        }
        bytes = grown;
        capacity *= 2;
    }
    fclose(file);
    if (!bytes) {
        fprintf(stderr, "replay_regressions: out of memory reading %s\n", path);
        return -1;
    }
    LLVMFuzzerTestOneInput(bytes, size);
    free(bytes);
    return 0;
}

/* Replays path (a file, or every file below a directory); returns the count, or -1. */
static int replay(const char *path) {
    struct stat info;
    if (stat(path, &info) != 0) {
        fprintf(stderr, "replay_regressions: %s does not exist\n", path);
        return -1;
    }
    if (!S_ISDIR(info.st_mode)) return replay_file(path) == 0 ? 1 : -1;
    DIR *directory = opendir(path);
    if (!directory) return -1;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(directory))) {
        if (entry->d_name[0] == '.') continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
        int replayed = replay(child);
        if (replayed < 0) {
            count = -1;
            break;
        }
        count += replayed;
    }
    closedir(directory);
    return count;
}

/* Under the fuzzer an allocation over 64 MiB fails (AddressSanitizer's
 * max_allocation_size_mb, run_fuzzer.sh), so a saved input may ask for
 * gigabytes (a ConstantOfShape of 2^32 elements) and get a quick out of
 * memory. Replayed without AddressSanitizer it would get them, slowly: the
 * address space is capped at 8 GiB instead, and it fails as quickly. Builds
 * with AddressSanitizer, which reserves terabytes of shadow memory, set
 * max_allocation_size_mb in the test's ASAN_OPTIONS. */
static void cap_memory(void) {
#ifndef REPLAY_UNDER_ASAN
    struct rlimit limit = {.rlim_cur = (rlim_t)8 << 30, .rlim_max = (rlim_t)8 << 30};
    setrlimit(RLIMIT_AS, &limit);
#endif
}

int main(int argc, char **argv) {
    cap_memory();
    int total = 0;
    for (int a = 1; a < argc; a++) {
        /* Absolute: the command-line target runs its commands in a folder of its own. */
        char *path = realpath(argv[a], NULL);
        if (!path) {
            fprintf(stderr, "replay_regressions: %s does not exist\n", argv[a]);
            return 1;
        }
        int count = replay(path);
        free(path);
        if (count < 0) return 1;
        printf("%s: %d inputs replayed\n", argv[a], count);
        total += count;
    }
    if (total == 0) {
        fprintf(stderr, "replay_regressions: nothing to replay\n");
        return 1;
    }
    return 0;
}
