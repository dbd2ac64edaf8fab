/*
 * Query strings of API paths: values are percent-encoded (everything but A-Z a-z 0-9 - . _ ~),
 * so filter text with '&', '=', '+', '#', spaces or UTF-8 reaches the server as given.
 */
#ifndef TETHER_CLI_QUERY_H
#define TETHER_CLI_QUERY_H

#include "common/buf.h"

/* Appends "?name=value" (the first parameter of path) or "&name=value". 0 or -ENOMEM. */
int query_add(struct buf *path, const char *name, const char *value);

#endif
