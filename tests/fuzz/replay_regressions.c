/* Replays saved inputs through the fuzz target's body in an ordinary build
 * (no libFuzzer needed): every file under the directories given, recursively.
 * An input that once crashed the loader must now pass; under
 * AddressSanitizer this also checks for memory errors and leaks.
 * Usage: replay_regressions DIR_OR_FILE... */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

int main(int argc, char **argv) {
    int total = 0;
    for (int a = 1; a < argc; a++) {
        int count = replay(argv[a]);
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
