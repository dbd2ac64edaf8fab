/* New random identifiers; see ids.h. Apart from ids.c so that checking an id does not link
 * libcrypto. */
#include "common/ids.h"
#include "common/crypto.h"

#include <stdio.h>

int id_new(const char *kind, char out[ID_BUF])
{
    unsigned char rnd[10];
    int rc = crypto_random(rnd, sizeof rnd);
    if (rc)
        return rc;
    snprintf(out, ID_BUF, "%.3s-", kind);
    for (int i = 0; i < 10; i++)
        snprintf(out + 4 + i * 2, 3, "%02x", rnd[i]);
    return 0;
}
