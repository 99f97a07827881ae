#include <stdlib.h>
#include <string.h>

#include "cpu_backend.h"

static illume_status queue(backend *self, void *destination, const void *source, size_t bytes, int upload) {
    cpu_backend *cpu = (cpu_backend *)self;
    if (cpu->transfer_count == cpu->transfer_capacity) {
        int capacity = cpu->transfer_capacity ? 2 * cpu->transfer_capacity : 8;
        cpu_queued_copy *grown = realloc(cpu->transfers, sizeof *grown * (size_t)capacity);
        if (!grown) return illume_fail(self->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        cpu->transfers = grown;
        cpu->transfer_capacity = capacity;
    }
    cpu->transfers[cpu->transfer_count++] = (cpu_queued_copy){destination, source, bytes, upload};
    return ILLUME_OK;
}

/* Runs the queued copies of one direction (uploads only, or all), in the
 * order they were queued, and keeps the others queued. */
static void run_queued(cpu_backend *cpu, int uploads_only) {
    int kept = 0;
    for (int k = 0; k < cpu->transfer_count; k++) {
        cpu_queued_copy *transfer = &cpu->transfers[k];
        if (uploads_only && !transfer->upload) {
            cpu->transfers[kept++] = *transfer;
            continue;
        }
        if (transfer->bytes && transfer->destination != transfer->source)
            memcpy(transfer->destination, transfer->source, transfer->bytes);
    }
    cpu->transfer_count = kept;
}

illume_status cpu_upload_beside(backend *self, void *device, const void *host, size_t bytes) {
    return queue(self, device, host, bytes, 1);
}

illume_status cpu_wait_uploads(backend *self) {
    run_queued((cpu_backend *)self, 1);
    return ILLUME_OK;
}

illume_status cpu_download_after(backend *self, void *host, const void *device, size_t bytes) {
    return queue(self, host, device, bytes, 0);
}

illume_status cpu_finish_transfers(backend *self) {
    run_queued((cpu_backend *)self, 0);
    return ILLUME_OK;
}
