/* dir_fetch.h -- fetch directory documents over a one-hop circuit, as tor
 * clients do during bootstrap: a channel to the directory server's ORPort
 * (tor-spec 2-4), a CREATE_FAST circuit (5.1.5), one BEGIN_DIR stream per
 * request (6.2), HTTP/1.0 GET over the stream (dir-spec 4, 6).
 *
 * dir_fetch_start() connects and then runs the requests one after the
 * other.  Each request ends with on_result (an HTTP status and the
 * decompressed body, or an error); after the last one, or on any fatal
 * error (channel or circuit failure, overall timeout), on_done runs once.
 * Callbacks run from the event loop; they must not free the fetch (free it
 * after on_done, from outside a callback).
 */
#ifndef ALLIUM_FEATURE_DIRCLIENT_DIR_FETCH_H
#define ALLIUM_FEATURE_DIRCLIENT_DIR_FETCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "allium/feature/dirclient/dir_url.h"
#include "allium/lib/tls/tls.h"

struct event_base;

/** The directory server: its ORPort address and RSA identity digest. */
typedef struct dir_fetch_server_t {
  const struct sockaddr *addr;
  socklen_t addrlen;
  uint8_t rsa_id[20];
} dir_fetch_server_t;

/** One request: a path (dir_url.h) and the kind of document for the
 * response limits. */
typedef struct dir_fetch_request_t {
  const char *path;
  dir_doc_kind_t kind;
} dir_fetch_request_t;

typedef struct dir_fetch_callbacks_t {
  /** Request idx finished.  status: the HTTP status, or -1 on a failure
   * (why says what; body NULL).  body (NUL-terminated, body_len bytes) is
   * borrowed for the call only. */
  void (*on_result)(size_t idx, int status, const uint8_t *body,
                    size_t body_len, const char *why, void *arg);
  /** All done (err 0) or given up (err < 0, why: static text). */
  void (*on_done)(int err, const char *why, void *arg);
  /** Progress, "Bootstrapped"-style (percent, static tag); may be NULL. */
  void (*on_progress)(int percent, const char *tag, void *arg);
  void *arg;
} dir_fetch_callbacks_t;

typedef struct dir_fetch_t dir_fetch_t;

/** Start fetching reqs[0..n_reqs) (copied) from srv (copied) with the
 * client TLS context tls (must outlive the fetch) on base; give up after
 * timeout_msec.  NULL if it could not start.  Caller frees with
 * dir_fetch_free() (not from a callback). */
dir_fetch_t *dir_fetch_start(struct event_base *base, tls_context_t *tls,
                             const dir_fetch_server_t *srv,
                             const dir_fetch_request_t *reqs, size_t n_reqs,
                             uint32_t timeout_msec,
                             const dir_fetch_callbacks_t *cbs);
/** Stop (nothing more is reported) and free; NULL is fine. */
void dir_fetch_free_(dir_fetch_t *f);
#define dir_fetch_free(p) do { dir_fetch_free_(p); (p) = NULL; } while (0)

#endif
