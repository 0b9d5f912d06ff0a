/* flow.c -- circuit and stream SENDME window accounting (tor-spec 7.3,
 * 7.3.1, 7.4; proposal 289 authenticated SENDMEs).
 * See include/allium/core/stream/flow.h. */
#include "allium/core/stream/flow.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

#include <string.h>

static void
relay_flow_init(relay_flow_t *f, int start, int increment, bool auth)
{
  memset(f, 0, sizeof(*f));
  f->package_window = start;
  f->deliver_window = start;
  f->start = start;
  f->increment = increment;
  f->authenticated = auth;
  f->min_version = auth ? 1 : 0;
}

void
relay_flow_init_circuit(relay_flow_t *f)
{
  relay_flow_init(f, RELAY_CIRCWINDOW_START, RELAY_CIRCWINDOW_INCREMENT, true);
}

void
relay_flow_init_stream(relay_flow_t *f)
{
  relay_flow_init(f, RELAY_STREAMWINDOW_START, RELAY_STREAMWINDOW_INCREMENT,
                  false);
}

void
relay_flow_clear(relay_flow_t *f)
{
  memwipe(f, sizeof(*f));
}

bool
relay_flow_can_package(const relay_flow_t *f)
{
  return f->package_window > 0;
}

size_t
relay_flow_max_data_len(const relay_flow_t *f)
{
  if (f->increment && f->package_window % f->increment == 0)
    return RELAY_BODY_MAX - 20;
  return RELAY_BODY_MAX;
}

bool
relay_flow_packaging_triggers_sendme(const relay_flow_t *f)
{
  /* After this cell the window is package_window - 1; the peer answers
   * when its deliver window reaches start - k * increment. */
  return f->package_window > 0 &&
         (f->package_window - 1) % f->increment == 0;
}

int
relay_flow_note_packaged(relay_flow_t *f, const uint8_t *digest)
{
  if (f->package_window <= 0)
    return RELAY_FLOW_ERR_EMPTY;
  if (f->authenticated && relay_flow_packaging_triggers_sendme(f) && digest) {
    /* Cannot overflow: at most start/increment <= MAX_PENDING outstanding. */
    if (f->n_pending < RELAY_FLOW_MAX_PENDING) {
      size_t idx = (f->pending_head + f->n_pending) % RELAY_FLOW_MAX_PENDING;
      memcpy(f->pending[idx], digest, RELAY_SENDME_DIGEST_LEN);
      f->n_pending++;
    }
  }
  f->package_window--;
  return 0;
}

int
relay_flow_note_delivered(relay_flow_t *f)
{
  if (f->deliver_window <= 0)
    return RELAY_FLOW_ERR_DELIVER;
  f->deliver_window--;
  if (f->deliver_window <= f->start - f->increment) {
    f->deliver_window += f->increment;
    return 1;
  }
  return 0;
}

int
relay_flow_handle_sendme(relay_flow_t *f, const relay_sendme_t *m)
{
  uint8_t version = m ? m->version : 0;
  if (version < f->min_version)
    return RELAY_FLOW_ERR_VERSION;
  if (f->package_window + f->increment > f->start)
    return RELAY_FLOW_ERR_OVERFLOW;
  if (f->authenticated) {
    if (f->n_pending == 0)
      return RELAY_FLOW_ERR_DIGEST;
    uint8_t *want = f->pending[f->pending_head];
    if (version >= 1 && !crypto_memeq(want, m->digest, RELAY_SENDME_DIGEST_LEN))
      return RELAY_FLOW_ERR_DIGEST;
    /* Version 0 (only if min_version allows it) just consumes the entry. */
    memwipe(want, RELAY_SENDME_DIGEST_LEN);
    f->pending_head = (f->pending_head + 1) % RELAY_FLOW_MAX_PENDING;
    f->n_pending--;
  }
  f->package_window += f->increment;
  return 0;
}
