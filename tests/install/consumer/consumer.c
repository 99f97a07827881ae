/* Built against an installed illume, through pkg-config and through CMake's
 * find_package: checks that the header, the library and the package files
 * work together. */
#include <illume.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    illume_context *context = illume_context_create();
    if (!context) return 1;
    illume_model *model = NULL;
    /* A missing file must fail with an I/O status and a message naming it. */
    illume_status status = illume_model_load(context, "/nonexistent/model.onnx", &model);
    int ok = status == ILLUME_ERROR_IO && strstr(illume_last_error(context), "/nonexistent/model.onnx") != NULL;
    printf("illume %s: %s\n", illume_version(), ok ? "ok" : illume_last_error(context));
    illume_context_destroy(context);
    /* The installed header and library are of one version. */
    ok = ok && strcmp(illume_version(), ILLUME_VERSION_STRING) == 0 && illume_api_version() == ILLUME_API_VERSION;
    return ok ? 0 : 1;
}
