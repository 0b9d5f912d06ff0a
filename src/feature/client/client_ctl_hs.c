/* client_ctl_hs.c -- the control port's view of the client's circuits that
 * are not in the exit pool: onion-service circuits (introduction,
 * rendezvous, HSDir fetches and uploads; rend-spec-v3 2-4) and one-hop
 * circuits of single onion services.  Each gets a circuit ID and the CIRC
 * events of control-spec 4.1.1, and CIRC_MINOR PURPOSE_CHANGED (4.1.27)
 * when its first onion-service message shows what it is for, as tor
 * reports its HS_VANGUARDS circuits taken for a purpose.
 *
 * A small record wraps the launcher's callbacks: on_hop, on_built and
 * on_closed publish and forward; stream, relay-message and data callbacks
 * are forwarded as they are (NULL stays NULL).  The record is freed right
 * before the owner's on_closed runs (nothing is called after it).
 */
#include <string.h>

#include "allium/core/cell/relay_cell.h"
#include "allium/core/mainloop/ctlbus.h"
#include "allium/lib/malloc/malloc.h"
#include "client_st.h"

typedef struct client_ctl_shim_t {
  struct client_ctl_shim_t *next;
  client_t *c;
  uint64_t handle;
  bool handed_over;        /* joined into the pool: the pool reports it */
  client_circ_t info;      /* the fields client_ctl.c formats (not pooled) */
  chanmgr_circ_cbs_t inner;
} client_ctl_shim_t;

static void
shim_unlink(client_ctl_shim_t *s)
{
  for (client_ctl_shim_t **pp = &s->c->ctl_shims; *pp; pp = &(*pp)->next)
    if (*pp == s) {
      *pp = s->next;
      return;
    }
}

static void
shim_on_hop(chanmgr_t *cm, uint64_t h, unsigned hop, void *arg)
{
  client_ctl_shim_t *s = arg;
  if (hop < s->info.n_path) {
    s->info.n_done = (uint8_t)(hop + 1);
    client_ctl_circ_event(s->c, &s->info, "EXTENDED", NULL);
  }
  if (s->inner.on_hop)
    s->inner.on_hop(cm, h, hop, s->inner.arg);
}

static void
shim_on_built(chanmgr_t *cm, uint64_t h, void *arg)
{
  client_ctl_shim_t *s = arg;
  s->info.built = true;
  s->info.n_done = s->info.n_path;
  client_ctl_circ_event(s->c, &s->info, "BUILT", NULL);
  if (s->inner.on_built)
    s->inner.on_built(cm, h, s->inner.arg);
}

static void
shim_on_closed(chanmgr_t *cm, uint64_t h, const chanmgr_close_info_t *info,
               void *arg)
{
  client_ctl_shim_t *s = arg;
  chanmgr_circ_cbs_t inner = s->inner;
  if (!s->handed_over) {
    s->info.closed = true;
    if (info && !info->was_built)
      client_ctl_circ_event(s->c, &s->info, "FAILED", info);
    client_ctl_circ_event(s->c, &s->info, "CLOSED", info);
  }
  shim_unlink(s);
  al_free(s);
  if (inner.on_closed)
    inner.on_closed(cm, h, info, inner.arg);
}

static void
shim_on_stream(chanmgr_t *cm, uint64_t h, const relay_stream_event_t *ev,
               void *arg)
{
  client_ctl_shim_t *s = arg;
  if (s->inner.on_stream)
    s->inner.on_stream(cm, h, ev, s->inner.arg);
}

static void
shim_on_relay_msg(chanmgr_t *cm, uint64_t h, const circ_event_t *ev,
                  void *arg)
{
  client_ctl_shim_t *s = arg;
  s->inner.on_relay_msg(cm, h, ev, s->inner.arg);
}

static void
shim_on_data(chanmgr_t *cm, uint64_t h, uint16_t stream_id,
             const uint8_t *data, size_t len, void *arg)
{
  client_ctl_shim_t *s = arg;
  s->inner.on_data(cm, h, stream_id, data, len, s->inner.arg);
}

int
client_ctl_launch(client_t *c, const chanmgr_launch_t *l,
                  const chanmgr_circ_cbs_t *cbs, uint64_t *circ_out,
                  const char *purpose)
{
  client_ctl_shim_t *s = al_calloc(1, sizeof(*s));
  s->c = c;
  s->inner = *cbs;
  s->info.c = c;
  s->info.internal = true;
  s->info.ctl_purpose = purpose;
  chanmgr_circ_cbs_t w = { shim_on_hop, shim_on_built, shim_on_closed,
                           shim_on_stream,
                           cbs->on_relay_msg ? shim_on_relay_msg : NULL, s,
                           cbs->on_data ? shim_on_data : NULL };
  uint64_t h = 0;
  if (chanmgr_launch(c->cm, l, &w, &h) != 0) {
    al_free(s);
    return -1;
  }
  s->handle = h;
  s->info.handle = h;
  client_ctl_circ_new_specs(&s->info, l->hops, l->n_hops);
  s->next = c->ctl_shims;
  c->ctl_shims = s;
  if (circ_out)
    *circ_out = h;
  client_ctl_circ_event(c, &s->info, "LAUNCHED", NULL);
  return 0;
}

static client_ctl_shim_t *
shim_find(client_t *c, uint64_t handle)
{
  for (client_ctl_shim_t *s = c->ctl_shims; s; s = s->next)
    if (s->handle == handle)
      return s;
  return NULL;
}

/* control-spec 4.1.1 purposes for the first onion-service message. */
static const char *
purpose_for_command(uint8_t command)
{
  switch (command) {
  case RELAY_ESTABLISH_INTRO: return "HS_SERVICE_INTRO";
  case RELAY_ESTABLISH_RENDEZVOUS: return "HS_CLIENT_REND";
  case RELAY_INTRODUCE1: return "HS_CLIENT_INTRO";
  case RELAY_RENDEZVOUS1: return "HS_SERVICE_REND";
  default: return NULL;
  }
}

void
client_ctl_circ_sent(client_t *c, uint64_t handle, uint8_t command)
{
  const char *p = purpose_for_command(command);
  client_ctl_shim_t *s = p ? shim_find(c, handle) : NULL;
  if (!s || s->handed_over)
    return;
  const char *old = client_ctl_purpose(&s->info);
  if (!strcmp(old, p))
    return;
  s->info.ctl_purpose = p;
  client_ctl_circ_minor(c, &s->info, "PURPOSE_CHANGED", old);
}

bool
client_ctl_hand_over(client_t *c, client_circ_t *circ)
{
  client_ctl_shim_t *s = shim_find(c, circ->handle);
  if (!s || s->handed_over)
    return false;
  s->handed_over = true;
  circ->ctl_id = s->info.ctl_id;
  memcpy(circ->path_ids, s->info.path_ids, sizeof(circ->path_ids));
  circ->n_path = s->info.n_path;
  circ->n_done = s->info.n_path;
  circ->created_sec = s->info.created_sec;
  circ->created_usec = s->info.created_usec;
  return true;
}

const client_circ_t *
client_ctl_shim_info(const client_t *c, size_t i)
{
  for (const client_ctl_shim_t *s = c->ctl_shims; s; s = s->next) {
    if (s->handed_over || s->info.closed)
      continue;
    if (i-- == 0)
      return &s->info;
  }
  return NULL;
}

void
client_ctl_shims_free(client_t *c)
{
  /* Every owner closed its circuits before; anything left is closed here
   * with nobody to tell (its owner is gone). */
  while (c->ctl_shims) {
    client_ctl_shim_t *s = c->ctl_shims;
    memset(&s->inner, 0, sizeof(s->inner));
    s->handed_over = true;
    if (c->cm)
      chanmgr_close_circ(c->cm, s->handle, 0);   /* frees s if alive */
    if (c->ctl_shims == s) {
      c->ctl_shims = s->next;
      al_free(s);
    }
  }
}
