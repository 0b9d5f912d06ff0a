/* fake_origin_channels.c -- see fake_origin_channels.h.  Defines the chanmgr functions the
 * client module calls, so the test binary never pulls the real one. */
#include <string.h>

#include "allium/lib/malloc/malloc.h"
#include "fake_origin_channels.h"

static fake_circ_t circs[FAKE_MAX_CIRCS];
static size_t n_circs;
static bool launch_fails;
static bool use_data_sink;
static fake_send_hook_t send_hook;
static void *send_hook_arg;

void
fake_reset(void)
{
  for (size_t i = 0; i < n_circs; i++)
    relay_streams_free(circs[i].t);
  memset(circs, 0, sizeof(circs));
  n_circs = 0;
  launch_fails = false;
  use_data_sink = false;
  send_hook = NULL;
  send_hook_arg = NULL;
}

size_t
fake_n_circs(void)
{
  return n_circs;
}

fake_circ_t *
fake_circ(size_t i)
{
  return i < n_circs ? &circs[i] : NULL;
}

void
fake_set_launch_fails(bool fail)
{
  launch_fails = fail;
}

static fake_circ_t *
find(uint64_t h)
{
  if (h == 0 || h > n_circs || !circs[h - 1].alive)
    return NULL;
  return &circs[h - 1];
}

static int
fake_send(void *ctx, uint8_t command, uint16_t stream_id, const uint8_t *body,
          size_t len)
{
  fake_circ_t *fc = ctx;
  if (command == RELAY_SENDME)
    fc->n_sendmes++;
  if (send_hook)
    send_hook(send_hook_arg, (size_t)(fc - circs), command, stream_id, body,
              len);
  if (fc->n_msgs < FAKE_MAX_MSGS) {
    fake_msg_t *m = &fc->msgs[fc->n_msgs++];
    m->command = command;
    m->stream_id = stream_id;
    m->len = len;
    if (len)
      memcpy(m->body, body, len);
  }
  return 0;
}

static bool
fake_can_package(void *ctx)
{
  (void)ctx;
  return true;
}

int
chanmgr_launch(chanmgr_t *cm, const chanmgr_launch_t *l,
               const chanmgr_circ_cbs_t *cbs, uint64_t *circ_out)
{
  (void)cm;
  if (launch_fails || n_circs == FAKE_MAX_CIRCS || !l || !cbs ||
      l->n_hops == 0 || l->n_hops > CIRC_ORIGIN_MAX_HOPS)
    return -1;
  fake_circ_t *fc = &circs[n_circs++];
  memset(fc, 0, sizeof(*fc));
  fc->handle = n_circs;
  fc->alive = true;
  fc->cbs = *cbs;
  memcpy(fc->hops, l->hops, l->n_hops * sizeof(circ_hop_spec_t));
  fc->n_hops = l->n_hops;
  fc->timeout_msec = l->timeout_msec;
  *circ_out = fc->handle;
  return 0;
}

relay_streams_t *
chanmgr_streams(chanmgr_t *cm, uint64_t circ)
{
  (void)cm;
  fake_circ_t *fc = find(circ);
  return fc && fc->built ? fc->t : NULL;
}

void
chanmgr_flush(chanmgr_t *cm, uint64_t circ)
{
  fake_circ_t *fc = find(circ);
  if (!fc || !fc->t)
    return;
  relay_stream_event_t ev;
  while (fc->alive && relay_streams_next_event(fc->t, &ev) == 1)
    fc->cbs.on_stream(cm, circ, &ev, fc->cbs.arg);
}

static void
close_circ(fake_circ_t *fc, uint8_t reason, bool remote, uint8_t failed_hop)
{
  fc->alive = false;
  chanmgr_close_info_t info = { reason, remote, fc->built, failed_hop,
                                "fake close" };
  fc->cbs.on_closed(NULL, fc->handle, &info, fc->cbs.arg);
}

void
chanmgr_close_circ(chanmgr_t *cm, uint64_t circ, uint8_t reason)
{
  (void)cm;
  fake_circ_t *fc = find(circ);
  if (fc)
    close_circ(fc, reason, false, CIRC_HOP_NONE);
}

int
chanmgr_circ_hop_id(const chanmgr_t *cm, uint64_t circ, size_t hop,
                    uint8_t out[20])
{
  (void)cm;
  fake_circ_t *fc = find(circ);
  if (!fc || hop >= fc->n_hops)
    return -1;
  memcpy(out, fc->hops[hop].rsa_id, 20);
  return 0;
}

/* The table's data sink: DATA to the owner's on_data (chanmgr's way). */
static void
fake_data_sink(void *arg, uint16_t stream_id, const uint8_t *data, size_t len)
{
  fake_circ_t *fc = arg;
  if (fc->alive && fc->cbs.on_data)
    fc->cbs.on_data(NULL, fc->handle, stream_id, data, len, fc->cbs.arg);
}

void
fake_build(size_t i)
{
  fake_circ_t *fc = &circs[i];
  relay_stream_sender_t s = { fake_send, fake_can_package, NULL, fc };
  fc->t = relay_streams_new(RELAY_STREAM_ROLE_CLIENT, &s);
  if (use_data_sink && fc->cbs.on_data)
    relay_streams_set_data_sink(fc->t, fake_data_sink, fc);
  for (unsigned h = 0; h < fc->n_hops; h++)
    if (fc->cbs.on_hop)
      fc->cbs.on_hop(NULL, fc->handle, h, fc->cbs.arg);
  fc->built = true;
  fc->cbs.on_built(NULL, fc->handle, fc->cbs.arg);
}

void
fake_close(size_t i, bool was_built, uint8_t failed_hop)
{
  fake_circ_t *fc = &circs[i];
  (void)was_built;
  if (fc->alive)
    close_circ(fc, 8, true, failed_hop);
}

void
fake_exit_send(size_t i, uint8_t command, uint16_t stream_id,
               const uint8_t *body, size_t len)
{
  fake_circ_t *fc = &circs[i];
  relay_streams_handle(fc->t, command, stream_id, body, len);
  chanmgr_flush(NULL, fc->handle);
}

const fake_msg_t *
fake_last_msg(size_t i, uint8_t command)
{
  fake_circ_t *fc = &circs[i];
  for (size_t k = fc->n_msgs; k > 0; k--)
    if (fc->msgs[k - 1].command == command)
      return &fc->msgs[k - 1];
  return NULL;
}

size_t
fake_count_msgs(size_t i, uint8_t command)
{
  size_t n = 0;
  for (size_t k = 0; k < circs[i].n_msgs; k++)
    if (circs[i].msgs[k].command == command)
      n++;
  return n;
}

/* Onion services (client_hs.c): a message to the last hop is recorded like
 * a stream's; the virtual hop is only counted. */
int
chanmgr_send(chanmgr_t *cm, uint64_t circ, size_t hop, uint8_t command,
             uint16_t stream_id, const uint8_t *body, size_t len)
{
  (void)cm;
  (void)hop;
  fake_circ_t *fc = find(circ);
  if (!fc || !fc->alive || !fc->built || len > RELAY_BODY_MAX)
    return -1;
  return fake_send(fc, command, stream_id, body, len);
}

int
chanmgr_add_virtual_hop(chanmgr_t *cm, uint64_t circ,
                        const uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN],
                        bool service_side, const cc_params_t *cc,
                        uint8_t sendme_inc)
{
  (void)cm;
  (void)keys;
  (void)service_side;
  (void)cc;
  (void)sendme_inc;
  fake_circ_t *fc = find(circ);
  return fc && fc->alive && fc->built ? 0 : -1;
}

/* No circuit object in the fake: a service's ESTABLISH_INTRO (which needs
 * the hop's KH) cannot be built over it. */
const circ_origin_t *
chanmgr_circuit(chanmgr_t *cm, uint64_t circ)
{
  (void)cm;
  (void)circ;
  return NULL;
}

/* ---- the service side of a rendezvous circuit ---- */

int
fake_set_role(size_t i, relay_stream_role_t role)
{
  if (i >= n_circs || !circs[i].t)
    return -1;
  return relay_streams_set_role(circs[i].t, role);
}

void
fake_set_use_data_sink(bool on)
{
  use_data_sink = on;
}

int
fake_peer_send(size_t i, uint8_t command, uint16_t stream_id,
               const uint8_t *body, size_t len)
{
  if (i >= n_circs || !circs[i].alive || !circs[i].t)
    return -1;
  fake_circ_t *fc = &circs[i];
  int r = relay_streams_handle(fc->t, command, stream_id, body, len);
  chanmgr_flush(NULL, fc->handle);
  return r;
}

void
fake_set_send_hook(fake_send_hook_t fn, void *arg)
{
  send_hook = fn;
  send_hook_arg = arg;
}

/* The control port's hooks (no channels here). */
void
chanmgr_set_namer(chanmgr_t *cm, chanmgr_name_fn fn, void *arg)
{
  (void)cm;
  (void)fn;
  (void)arg;
}

char *
chanmgr_orconn_status(const chanmgr_t *cm)
{
  (void)cm;
  return al_strdup("");
}
