/* relay_hs.c -- a relay's onion-service roles, sans-IO: introduction point
 * (rend-spec-v3 3.1: ESTABLISH_INTRO checked with the circuit's KH, one
 * circuit per auth key, INTRO_ESTABLISHED; 3.1.1.1 / proposal 305 the DoS
 * extension and the consensus's HiddenServiceEnableIntroDoS* parameters as
 * an INTRODUCE2 token bucket per introduction circuit; 3.2 INTRODUCE1
 * relayed as INTRODUCE2, INTRODUCE_ACK) and rendezvous point (4.1
 * ESTABLISH_RENDEZVOUS, RENDEZVOUS_ESTABLISHED; 4.2 RENDEZVOUS1 ->
 * RENDEZVOUS2 and the join).  See include/allium/feature/relay/relay_hs.h.
 *
 * Nothing here logs keys, cookies or bodies; every line a peer can cause
 * is rate-limited. */
#define LOG_MODULE "relay"
#include "allium/feature/relay/relay_hs.h"

#include <string.h>

#include "allium/core/cell/cell.h"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/hs_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/lib/container/hashmap.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/time/rate_bucket.h"

typedef enum hs_role_t {
  ROLE_NONE = 0,          /**< only "has sent INTRODUCE1" to remember */
  ROLE_INTRO,             /**< a service's introduction circuit */
  ROLE_REND_WAITING,      /**< a client's rendezvous circuit, cookie set */
  ROLE_REND_JOINED,       /**< joined to another circuit */
} hs_role_t;

typedef struct hs_circ_t {
  uint64_t handle;
  hs_role_t role;
  bool got_introduce1;
  uint8_t auth_key[HS_CELL_AUTH_KEY_LEN];   /* ROLE_INTRO */
  uint8_t cookie[HS_CELL_COOKIE_LEN];       /* ROLE_REND_WAITING */
  /* INTRODUCE2 defence of an introduction circuit */
  bool dos_enabled, dos_explicit;
  rate_bucket_t bucket;
} hs_circ_t;

struct relay_hs_t {
  relay_hs_io_t io;
  relay_hs_params_t params;
  hmap_t *by_handle;      /**< u64 handle -> hs_circ_t */
  hmap_t *by_auth_key;    /**< 32-byte key -> hs_circ_t (ROLE_INTRO) */
  hmap_t *by_cookie;      /**< 20-byte cookie -> hs_circ_t (waiting) */
  relay_hs_stats_t st;
};

relay_hs_t *
relay_hs_new(const relay_hs_io_t *io)
{
  if (!io || !io->send || !io->close || !io->splice)
    return NULL;
  relay_hs_t *h = al_calloc(1, sizeof(*h));
  h->io = *io;
  h->params.intro_dos_enabled = RELAY_HS_INTRO_DOS_ENABLED_DEFAULT;
  h->params.intro_dos_rate = RELAY_HS_INTRO_DOS_RATE_DEFAULT;
  h->params.intro_dos_burst = RELAY_HS_INTRO_DOS_BURST_DEFAULT;
  h->by_handle = hmap_new(sizeof(uint64_t));
  h->by_auth_key = hmap_new(HS_CELL_AUTH_KEY_LEN);
  h->by_cookie = hmap_new(HS_CELL_COOKIE_LEN);
  if (!h->by_handle || !h->by_auth_key || !h->by_cookie) {
    relay_hs_free(h);
    return NULL;
  }
  return h;
}

static void
circ_entry_free(hs_circ_t *e)
{
  memwipe(e, sizeof(*e));
  al_free(e);
}

void
relay_hs_free_(relay_hs_t *h)
{
  if (!h)
    return;
  if (h->by_handle) {
    size_t pos = 0;
    const void *k;
    void *v;
    while (hmap_iter(h->by_handle, &pos, &k, &v))
      circ_entry_free(v);
  }
  hmap_free(h->by_handle);
  hmap_free(h->by_auth_key);
  hmap_free(h->by_cookie);
  memwipe(h, sizeof(*h));
  al_free(h);
}

/* ---- the circuit map ---- */

static hs_circ_t *
circ_get(relay_hs_t *h, uint64_t circ, bool create)
{
  hs_circ_t *e = hmap_get_u64(h->by_handle, circ);
  if (e || !create)
    return e;
  e = al_calloc(1, sizeof(*e));
  e->handle = circ;
  hmap_put_u64(h->by_handle, circ, e);
  return e;
}

/* Take e out of the key and cookie maps (only where it is the one named). */
static void
circ_unmap(relay_hs_t *h, hs_circ_t *e)
{
  if (e->role == ROLE_INTRO &&
      hmap_get(h->by_auth_key, e->auth_key) == e) {
    hmap_remove(h->by_auth_key, e->auth_key);
    h->st.intro_circuits--;
  }
  if (e->role == ROLE_REND_WAITING &&
      hmap_get(h->by_cookie, e->cookie) == e) {
    hmap_remove(h->by_cookie, e->cookie);
    h->st.rend_waiting--;
  }
}

void
relay_hs_circ_closed(relay_hs_t *h, uint64_t circ)
{
  if (!h)
    return;
  hs_circ_t *e = hmap_remove_u64(h->by_handle, circ);
  if (!e)
    return;
  circ_unmap(h, e);
  circ_entry_free(e);
}

/* Close circ for a protocol violation; its entry goes with it (at once if
 * io.close re-enters relay_hs_circ_closed(), else here). */
static void
close_circ(relay_hs_t *h, uint64_t circ)
{
  h->io.close(h->io.arg, circ, CELL_DESTROY_PROTOCOL);
  relay_hs_circ_closed(h, circ);
}

/* ---- parameters ---- */

static void
bucket_from_params(hs_circ_t *e, const relay_hs_params_t *p, uint64_t now,
                   bool keep_tokens)
{
  e->dos_enabled = p->intro_dos_enabled;
  if (keep_tokens)
    rate_bucket_adjust(&e->bucket, p->intro_dos_rate, p->intro_dos_burst);
  else
    rate_bucket_init(&e->bucket, p->intro_dos_rate, p->intro_dos_burst, now);
}

void
relay_hs_set_params(relay_hs_t *h, const relay_hs_params_t *p)
{
  if (!h || !p)
    return;
  h->params = *p;
  size_t pos = 0;
  const void *k;
  void *v;
  while (hmap_iter(h->by_handle, &pos, &k, &v)) {
    hs_circ_t *e = v;
    if (e->role == ROLE_INTRO && !e->dos_explicit)
      bucket_from_params(e, p, 0, true);
  }
}

void
relay_hs_get_params(const relay_hs_t *h, relay_hs_params_t *out)
{
  *out = h->params;
}

void
relay_hs_get_stats(const relay_hs_t *h, relay_hs_stats_t *out)
{
  *out = h->st;
}

/* ---- introduction point (3.1, 3.2) ---- */

/* The only circuits that may take a role: ours to end, none yet. */
static bool
circ_suitable(const relay_hs_circ_info_t *ci, const hs_circ_t *e,
              const char *what)
{
  if (!ci->last_hop) {
    log_info_rl(60, "Refusing %s: we are not the last hop of its circuit.",
                what);
    return false;
  }
  if (e && e->role != ROLE_NONE) {
    log_info_rl(60, "Refusing %s on a circuit that is already an "
                "introduction or rendezvous circuit.", what);
    return false;
  }
  return true;
}

/* The DoS extension (3.1.1.1): the service's own rate and burst, or the
 * defence off; anything unusable keeps the consensus values. */
static void
intro_apply_dos(relay_hs_t *h, hs_circ_t *e, const hs_cell_exts_t *exts,
                uint64_t now)
{
  hs_intro_dos_t d;
  hs_intro_dos_from_exts(&d, exts);
  e->dos_explicit = d.verdict != HS_INTRO_DOS_DEFAULT;
  switch (d.verdict) {
  case HS_INTRO_DOS_ENABLE:
    e->dos_enabled = true;
    rate_bucket_init(&e->bucket, d.rate_per_sec, d.burst_per_sec, now);
    break;
  case HS_INTRO_DOS_DISABLE:
    e->dos_enabled = false;
    rate_bucket_init(&e->bucket, 0, 0, now);
    break;
  default:
    bucket_from_params(e, &h->params, now, false);
    break;
  }
}

static void
handle_establish_intro(relay_hs_t *h, uint64_t circ,
                       const relay_hs_circ_info_t *ci, const uint8_t *body,
                       size_t len, uint64_t now)
{
  hs_establish_intro_t *m = al_malloc(sizeof(*m));
  hs_circ_t *e = circ_get(h, circ, false);
  uint8_t b[8];
  size_t n;
  int r = -1;
  if (!circ_suitable(ci, e, "ESTABLISH_INTRO")) {
    /* refused below */
  } else if (!ci->kh) {
    log_info_rl(60, "Refusing ESTABLISH_INTRO: no KH for its circuit.");
  } else if ((r = hs_establish_intro_verify(m, body, len, ci->kh)) < 0) {
    log_info_rl(60, "Refusing ESTABLISH_INTRO: %s.",
                r == CELL_ERR_AUTH ? "bad MAC or signature"
                : r == CELL_ERR_UNSUPPORTED ? "legacy or unknown key type"
                : "malformed");
  }
  if (r < 0) {
    al_free(m);
    h->st.intro_refused++;
    close_circ(h, circ);
    return;
  }
  e = circ_get(h, circ, true);
  memcpy(e->auth_key, m->auth_key, sizeof(e->auth_key));
  intro_apply_dos(h, e, &m->exts, now);
  memwipe(m, sizeof(*m));
  al_free(m);
  /* One circuit per auth key: a newer one replaces the older. */
  hs_circ_t *old = hmap_get(h->by_auth_key, e->auth_key);
  if (old) {
    hmap_remove(h->by_auth_key, old->auth_key);
    h->st.intro_circuits--;
    old->role = ROLE_NONE;
    h->st.intro_replaced++;
    log_info_rl(60, "A service re-established an introduction point: "
                "closing its older circuit.");
    uint64_t old_handle = old->handle;   /* the close may free old */
    h->io.close(h->io.arg, old_handle, CELL_DESTROY_FINISHED);
    relay_hs_circ_closed(h, old_handle);
  }
  e->role = ROLE_INTRO;
  hmap_put(h->by_auth_key, e->auth_key, e, NULL);
  h->st.intro_circuits++;
  hs_cell_exts_t none = { .n = 0 };
  if (hs_intro_established_encode(&none, b, sizeof(b), &n) < 0 ||
      h->io.send(h->io.arg, circ, RELAY_INTRO_ESTABLISHED, b, n) < 0) {
    h->st.intro_refused++;
    close_circ(h, circ);
    return;
  }
  h->st.intro_established++;
  log_info_rl(60, "Introduction point established for an onion service "
              "(INTRODUCE2 defence %s).", e->dos_enabled ? "on" : "off");
}

static void
send_intro_ack(relay_hs_t *h, uint64_t circ, uint16_t status)
{
  hs_introduce_ack_t a;
  uint8_t b[16];
  size_t n;
  memset(&a, 0, sizeof(a));
  a.status = status;
  if (hs_introduce_ack_encode(&a, b, sizeof(b), &n) < 0 ||
      h->io.send(h->io.arg, circ, RELAY_INTRODUCE_ACK, b, n) < 0)
    close_circ(h, circ);
}

/* May the service's circuit take one more INTRODUCE2?  As tor's intro
 * point does: take a token if there is one, then allow while tokens are
 * left (so a full bucket of B passes B - 1 at once, then the rate). */
static bool
intro_bucket_allows(hs_circ_t *svc, uint64_t now)
{
  if (!svc->dos_enabled)
    return true;
  rate_bucket_refill(&svc->bucket, now);
  if (rate_bucket_available(&svc->bucket) >= 1)
    (void)rate_bucket_spend(&svc->bucket, 1);
  return rate_bucket_available(&svc->bucket) > 0;
}

static void
handle_introduce1(relay_hs_t *h, uint64_t circ,
                  const relay_hs_circ_info_t *ci, const uint8_t *body,
                  size_t len, uint64_t now)
{
  hs_circ_t *e = circ_get(h, circ, false);
  if (!circ_suitable(ci, e, "INTRODUCE1") || (e && e->got_introduce1) ||
      ci->prev_is_client) {
    if (ci->prev_is_client)
      log_info_rl(60, "Refusing INTRODUCE1 from a single-hop client "
                  "circuit.");
    else if (e && e->got_introduce1)
      log_info_rl(60, "Refusing a second INTRODUCE1 on one circuit.");
    h->st.introduce1_bad++;
    close_circ(h, circ);
    return;
  }
  e = circ_get(h, circ, true);
  e->got_introduce1 = true;
  /* Legacy (v2, RSA): a non-zero LEGACY_KEY_ID.  Refused outright. */
  if (len >= HS_CELL_LEGACY_KEY_ID_LEN &&
      !crypto_is_zero(body, HS_CELL_LEGACY_KEY_ID_LEN)) {
    log_info_rl(60, "Refusing a legacy INTRODUCE1.");
    h->st.introduce1_bad++;
    close_circ(h, circ);
    return;
  }
  hs_introduce1_t *m = al_malloc(sizeof(*m));
  int r = hs_introduce1_decode(m, body, len);
  uint8_t key[HS_CELL_AUTH_KEY_LEN];
  if (r == 0)
    memcpy(key, m->auth_key, sizeof(key));
  al_free(m);
  /* Anything else that does not parse (another key type, lengths): a
   * NACK, as tor answers a cell it cannot validate. */
  if (r < 0) {
    log_info_rl(60, "INTRODUCE1 does not parse: answering with a NACK.");
    h->st.introduce1_bad++;
    send_intro_ack(h, circ, HS_INTRO_ACK_BAD_FORMAT);
    return;
  }
  hs_circ_t *svc = hmap_get(h->by_auth_key, key);
  memwipe(key, sizeof(key));
  if (!svc) {
    log_info_rl(60, "INTRODUCE1 for an auth key we do not know.");
    h->st.introduce1_unknown++;
    send_intro_ack(h, circ, HS_INTRO_ACK_UNKNOWN_SERVICE);
    return;
  }
  if (!intro_bucket_allows(svc, now)) {
    log_info_rl(60, "INTRODUCE2 rate of an introduction circuit exceeded: "
                "INTRODUCE1 refused.");
    h->st.introduce1_dos++;
    send_intro_ack(h, circ, HS_INTRO_ACK_CANT_RELAY);
    return;
  }
  /* The body goes as it is (3.2.1: only the command changes). */
  if (h->io.send(h->io.arg, svc->handle, RELAY_INTRODUCE2, body, len) < 0) {
    send_intro_ack(h, circ, HS_INTRO_ACK_CANT_RELAY);
    return;
  }
  h->st.introduce2_sent++;
  log_info_rl(60, "Relayed an INTRODUCE1 to its onion service as "
              "INTRODUCE2.");
  send_intro_ack(h, circ, HS_INTRO_ACK_SUCCESS);
}

/* ---- rendezvous point (4.1, 4.2) ---- */

static void
handle_establish_rendezvous(relay_hs_t *h, uint64_t circ,
                            const relay_hs_circ_info_t *ci,
                            const uint8_t *body, size_t len)
{
  uint8_t cookie[HS_CELL_COOKIE_LEN], b[8];
  size_t n;
  hs_circ_t *e = circ_get(h, circ, false);
  bool ok = circ_suitable(ci, e, "ESTABLISH_RENDEZVOUS");
  if (ok && hs_establish_rendezvous_decode(cookie, body, len) < 0) {
    log_info_rl(60, "Refusing a truncated ESTABLISH_RENDEZVOUS.");
    ok = false;
  }
  if (ok && hmap_get(h->by_cookie, cookie)) {
    log_info_rl(60, "Refusing ESTABLISH_RENDEZVOUS with a cookie already "
                "in use.");
    ok = false;
  }
  if (!ok) {
    memwipe(cookie, sizeof(cookie));
    h->st.rend_refused++;
    close_circ(h, circ);
    return;
  }
  e = circ_get(h, circ, true);
  memcpy(e->cookie, cookie, sizeof(cookie));
  memwipe(cookie, sizeof(cookie));
  e->role = ROLE_REND_WAITING;
  hmap_put(h->by_cookie, e->cookie, e, NULL);
  h->st.rend_waiting++;
  if (hs_rendezvous_established_encode(b, sizeof(b), &n) < 0 ||
      h->io.send(h->io.arg, circ, RELAY_RENDEZVOUS_ESTABLISHED, b, n) < 0) {
    h->st.rend_refused++;
    close_circ(h, circ);
    return;
  }
  h->st.rend_established++;
  log_info_rl(60, "Rendezvous point: a client's rendezvous circuit waits "
              "for its service.");
}

static void
handle_rendezvous1(relay_hs_t *h, uint64_t circ,
                   const relay_hs_circ_info_t *ci, const uint8_t *body,
                   size_t len)
{
  hs_rendezvous1_t m;
  hs_circ_t *e = circ_get(h, circ, false);
  hs_circ_t *w = NULL;
  bool ok = circ_suitable(ci, e, "RENDEZVOUS1");
  if (ok && hs_rendezvous1_decode(&m, body, len) < 0) {
    log_info_rl(60, "Refusing a truncated RENDEZVOUS1.");
    ok = false;
  }
  if (ok && !(w = hmap_get(h->by_cookie, m.cookie))) {
    log_info_rl(60, "Refusing RENDEZVOUS1 with an unknown cookie.");
    ok = false;
  }
  if (ok && w->handle == circ)
    ok = false;   /* cannot happen: a waiting circuit has a role */
  memwipe(m.cookie, sizeof(m.cookie));
  if (!ok) {
    h->st.rend1_refused++;
    close_circ(h, circ);
    return;
  }
  uint64_t client = w->handle;
  circ_unmap(h, w);
  w->role = ROLE_REND_JOINED;
  e = circ_get(h, circ, true);
  e->role = ROLE_REND_JOINED;
  /* HANDSHAKE_INFO to the client as RENDEZVOUS2, then the join: what
   * either side sends after this is the other's (4.2). */
  if (h->io.send(h->io.arg, client, RELAY_RENDEZVOUS2, m.handshake_info,
                 m.handshake_info_len) < 0 ||
      h->io.splice(h->io.arg, client, circ) < 0) {
    log_info_rl(60, "Rendezvous point: could not join the circuits.");
    h->st.rend1_refused++;
    h->io.close(h->io.arg, client, CELL_DESTROY_INTERNAL);
    relay_hs_circ_closed(h, client);
    h->io.close(h->io.arg, circ, CELL_DESTROY_INTERNAL);
    relay_hs_circ_closed(h, circ);
    return;
  }
  h->st.rend_joined++;
  log_info_rl(60, "Rendezvous point: joined a client's and a service's "
              "circuits.");
}

bool
relay_hs_handle_msg(relay_hs_t *h, uint64_t circ,
                    const relay_hs_circ_info_t *ci, uint8_t command,
                    const uint8_t *body, size_t len, uint64_t now_msec)
{
  if (!h || !ci || (!body && len))
    return false;
  switch (command) {
  case RELAY_ESTABLISH_INTRO:
    handle_establish_intro(h, circ, ci, body, len, now_msec);
    return true;
  case RELAY_INTRODUCE1:
    handle_introduce1(h, circ, ci, body, len, now_msec);
    return true;
  case RELAY_ESTABLISH_RENDEZVOUS:
    handle_establish_rendezvous(h, circ, ci, body, len);
    return true;
  case RELAY_RENDEZVOUS1:
    handle_rendezvous1(h, circ, ci, body, len);
    return true;
  default:
    return false;
  }
}
