/* fuzz_ids: paths and item ids (/decisions/{id}, /control/commands/{id},
 * /replays/{id}[/svg]) as the FastCGI parameters carry them. */
#include "config.h"
#include "fuzz.h"

#include "learning.h"
#include "params.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    char *s = fuzz_cstr(data, size);
    long long id;
    if (params_item_id(s, &id) == 0)
        FUZZ_CHECK(id >= 1);
    int svg;
    if (learning_replay_item(s, &id, &svg) == 0)
        FUZZ_CHECK(id >= 1 && (svg == 0 || svg == 1));
    /* the input as DOCUMENT_URI, SCRIPT_NAME + PATH_INFO (split at the
     * first newline) and REQUEST_URI */
    char path[ROUTE_PATH_MAX];
    char *nl = strchr(s, '\n');
    const char *info = "";
    if (nl) {
        *nl = '\0';
        info = nl + 1;
    }
    const char *variants[][4] = {
        { s, NULL, NULL, NULL }, { NULL, s, info, NULL }, { NULL, NULL, NULL, s },
    };
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        if (route_path(variants[v][0], variants[v][1], variants[v][2], variants[v][3], path, sizeof path) < 0)
            continue;
        FUZZ_CHECK(path[0] == '/' && strlen(path) < sizeof path);
        const char *item;
        int r = route_find(path, &item);
        FUZZ_CHECK(r >= -1 && r < ROUTE_COUNT);
        if (item) {
            FUZZ_CHECK(*item != '\0');
            if (params_item_id(item, &id) == 0)
                FUZZ_CHECK(id >= 1);
        }
    }
    free(s);
    return 0;
}
