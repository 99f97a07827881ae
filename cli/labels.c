#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"

int labels_load(const char *path, labels *result) {
    FILE *file = fopen(path, "r");
    if (!file) return -1;
    char line[4096];
    while (fgets(line, sizeof line, file)) {
        line[strcspn(line, "\r\n")] = '\0';
        char **grown = realloc(result->names, sizeof(char *) * (size_t)(result->count + 1));
        if (!grown) break;
        result->names = grown;
        result->names[result->count] = strdup(line);
        if (!result->names[result->count]) break;
        result->count++;
    }
    fclose(file);
    return 0;
}

void labels_free(labels *l) {
    for (int i = 0; i < l->count; i++) free(l->names[i]);
    free(l->names);
}
