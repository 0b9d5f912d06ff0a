/* desc_publish_tunnel.h -- (private to desc_publish_io.c and its tests)
 * one HTTP request to a directory authority tunnelled over its ORPort: a
 * channel (tor-spec 2-4), a one-hop CREATE_FAST circuit (5.1.5) and a
 * BEGIN_DIR stream (6.2), as tor uploads to an authority it cannot reach
 * on a DirPort (dir-spec 2.1).  The response bytes are handed to the
 * caller as they arrive; the caller parses them. */
#ifndef ALLIUM_SRC_FEATURE_RELAY_DESC_PUBLISH_TUNNEL_H
#define ALLIUM_SRC_FEATURE_RELAY_DESC_PUBLISH_TUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/lib/tls/tls.h"

struct event_base;

typedef struct desc_tunnel_t desc_tunnel_t;

typedef struct desc_tunnel_cbs_t {
  /** Response bytes (borrowed for the call). */
  void (*on_data)(const uint8_t *data, size_t len, void *arg);
  /** The stream ended: clean (END DONE after the response) or not (why:
   * static text).  Nothing follows. */
  void (*on_end)(bool clean, const char *why, void *arg);
  void *arg;
} desc_tunnel_cbs_t;

/** Connect to ipv4:orport expecting RSA identity rsa_id, and send
 * req[0..len) (copied) on a BEGIN_DIR stream.  tls (borrowed) is a client
 * context.  NULL if it could not start.  No callback runs from inside this
 * call. */
desc_tunnel_t *desc_tunnel_start(struct event_base *base, tls_context_t *tls,
                                 const uint8_t ipv4[4], uint16_t orport,
                                 const uint8_t rsa_id[20], const uint8_t *req,
                                 size_t len, const desc_tunnel_cbs_t *cbs);
/** No more callbacks; the channel is closed.  Safe from inside a
 * callback; free later with desc_tunnel_free(). */
void desc_tunnel_detach(desc_tunnel_t *t);
/** Detach and free (never from inside one of t's callbacks); NULL ok. */
void desc_tunnel_free_(desc_tunnel_t *t);
#define desc_tunnel_free(p) do { desc_tunnel_free_(p); (p) = NULL; } while (0)

/** Graveyard link for the caller's deferred frees. */
desc_tunnel_t **desc_tunnel_next(desc_tunnel_t *t);

#endif
