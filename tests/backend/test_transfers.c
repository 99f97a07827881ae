/* The CPU's transfer queues (runtime/cpu/transfers.c) run each copy at the
 * last moment the backend interface allows: an upload at wait_uploads or
 * finish_transfers, a download at finish_transfers, each queue in the order
 * its copies were queued. The explainer's tests rely on that to catch a
 * pass that touches a buffer before its copy is known done. */
#include <stdio.h>
#include <stdlib.h>

#include "backend_testing.h"

enum { COUNT = 37 };

static void fill_with(float *values, float first) {
    for (int i = 0; i < COUNT; i++) values[i] = first + (float)i;
}

static void expect_values(const char *label, const float *got, float first) {
    double want[COUNT], scale[COUNT];
    for (int i = 0; i < COUNT; i++) {
        want[i] = first + (double)i;
        scale[i] = 1.0;
    }
    testing_expect(label, got, want, scale, COUNT, 0.0);
}

int main(void) {
    backend *cpu = testing_backend_open();
    if (!cpu) return testing_report("backend/transfers");
    size_t bytes = sizeof(float) * COUNT;
    float *host = testing_floats(COUNT), *device = testing_floats(COUNT), *back = testing_floats(COUNT);
    float *other = testing_floats(COUNT);

    /* An upload waits for wait_uploads, and reads the host buffer then. */
    fill_with(device, 0.0f);
    fill_with(host, 100.0f);
    testing_expect_status("upload_beside", cpu->upload_beside(cpu, device, host, bytes), ILLUME_OK);
    expect_values("an upload before wait_uploads", device, 0.0f);
    fill_with(host, 200.0f);
    testing_expect_status("wait_uploads", cpu->wait_uploads(cpu), ILLUME_OK);
    expect_values("an upload after wait_uploads", device, 200.0f);

    /* Two uploads to one place run in order: the later wins. */
    fill_with(host, 300.0f);
    fill_with(other, 400.0f);
    cpu->upload_beside(cpu, device, host, bytes);
    cpu->upload_beside(cpu, device, other, bytes);
    cpu->finish_transfers(cpu);
    expect_values("two uploads, then finish_transfers", device, 400.0f);

    /* A download waits for finish_transfers, not for wait_uploads, and reads the device buffer then. */
    fill_with(back, 0.0f);
    fill_with(device, 500.0f);
    testing_expect_status("download_after", cpu->download_after(cpu, back, device, bytes), ILLUME_OK);
    fill_with(host, 600.0f);
    cpu->upload_beside(cpu, other, host, bytes);
    cpu->wait_uploads(cpu);
    expect_values("a download across wait_uploads", back, 0.0f);
    expect_values("the upload beside it", other, 600.0f);
    fill_with(device, 700.0f);
    testing_expect_status("finish_transfers", cpu->finish_transfers(cpu), ILLUME_OK);
    expect_values("a download after finish_transfers", back, 700.0f);

    /* Nothing stays queued: another finish changes nothing. */
    fill_with(device, 800.0f);
    cpu->finish_transfers(cpu);
    expect_values("a finish with nothing queued", back, 700.0f);

    /* Many copies queued at once (the queue grows). */
    float *many = testing_floats(COUNT * 20);
    for (int k = 0; k < 20; k++) cpu->download_after(cpu, many + k * COUNT, device, bytes);
    cpu->finish_transfers(cpu);
    for (int k = 0; k < 20; k++) expect_values("twenty downloads", many + k * COUNT, 800.0f);

    /* A backend destroyed with copies queued drops them (the sanitizers see no leak). */
    cpu->download_after(cpu, back, device, bytes);
    testing_backend_close(cpu);
    free(host);
    free(device);
    free(back);
    free(other);
    free(many);
    return testing_report("backend/transfers");
}
