/* fake_dirsrv.h -- a fake directory server for dirclient tests: accepts
 * link-protocol channels as the relay of link_fixture.h, answers
 * CREATE_FAST (KDF-TOR, tor-spec 5.1.5), BEGIN_DIR (6.2) and each HTTP/1.0
 * GET with whatever the test's handler returns (deflate-compressed when the
 * path ends in ".z", dir-spec 6), one response per stream.  Several
 * channels may be open at once. */
#ifndef ALLIUM_TESTS_FAKE_DIRSRV_H
#define ALLIUM_TESTS_FAKE_DIRSRV_H

#include <stddef.h>
#include <stdint.h>

#include "core/link/link_fixture.h"

struct event_base;

/** Answer a GET of path: set *status and return the body (borrowed until
 * the next call; NULL = empty) of *len bytes. */
typedef const char *(*fake_dirsrv_handler_fn)(const char *path, int *status,
                                              size_t *len, void *arg);

typedef struct fake_dirsrv_t fake_dirsrv_t;

/** Listen on 127.0.0.1 (an ephemeral port) as relay r.  Criterion asserts
 * on failure.  Free with fake_dirsrv_free(). */
fake_dirsrv_t *fake_dirsrv_new(struct event_base *base, relay_t *r,
                               fake_dirsrv_handler_fn fn, void *arg);
uint16_t fake_dirsrv_port(const fake_dirsrv_t *s);
/** Number of GET requests answered so far. */
int fake_dirsrv_n_requests(const fake_dirsrv_t *s);
void fake_dirsrv_free(fake_dirsrv_t *s);

#endif
