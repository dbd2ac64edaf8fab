/*
 * The web console's file names (console.c): which request paths name a console file and with
 * which Content-Type it is served. Pure functions, so the unit tests walk them without a server.
 */
#ifndef TETHER_SERVER_CONSOLE_PATH_H
#define TETHER_SERVER_CONSOLE_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* Longest relative file name served, and the largest file (bigger ones are 404 and logged). */
#define CONSOLE_NAME_MAX 256
#define CONSOLE_FILE_MAX (4 * 1024 * 1024)

/* True for the paths the console answers: everything that is not an API path ("/v1", "/v1/…",
 * "/healthz"). Those keep their JSON 404/405 whatever the console has. */
bool console_owns_path(const char *path);

/* Turns a decoded request path into a file name relative to the web root: "/" is "index.html",
 * "/js/app.js" is "js/app.js". Refused (-EINVAL): anything but [A-Za-z0-9._-] segments joined by
 * single '/', a segment starting with '.' ("..", ".", dotfiles), an empty segment, a trailing
 * '/', names of CONSOLE_NAME_MAX bytes or more, an extension outside the allowlist. On success
 * returns 0, copies the name into rel (len bytes) and points *ctype at its Content-Type. */
int console_path_resolve(const char *path, char *rel, size_t len, const char **ctype);

/* The Content-Type of a file name by its extension, or NULL when the extension is not served. */
const char *console_content_type(const char *name);

/* True when an If-None-Match header value (a list of entity tags, or "*") names etag. */
bool console_etag_matches(const char *if_none_match, const char *etag);

#endif
