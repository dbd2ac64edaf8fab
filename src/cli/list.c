/* Collection listings; see list.h. */
#include "cli/list.h"
#include "cli/output.h"
#include "cli/table.h"

#include <stdio.h>

int cli_list(struct cli *c, const char *path, const char *key, enum out_format fmt,
             const char *const *heads, size_t ncols, list_row_fn fill)
{
    json_t *doc = NULL, *arr, *item;
    const char *row[16];
    char scratch[LIST_SCRATCH][32];
    struct table t;
    size_t i;
    int rc = cli_api(c, "GET", path, NULL, &doc);

    if (rc)
        return rc;
    arr = json_object_get(doc, key);
    if (fmt == OUT_JSON) {
        print_json(arr ? arr : json_null());
        goto out;
    }
    if (ncols > sizeof row / sizeof row[0] || table_init(&t, ncols, heads)) {
        rc = cli_fail("out of memory");
        goto out;
    }
    json_array_foreach(arr, i, item) {
        fill(item, row, scratch);
        if (table_add_row(&t, row)) {
            rc = cli_fail("out of memory");
            break;
        }
    }
    if (!rc)
        table_print(&t, stdout);
    table_free(&t);
out:
    json_decref(doc);
    return rc;
}
