/* relay_reach.c -- the ORPort reachability self-test (tor(1)
 * AssumeReachable; dir-spec 2.1: a relay publishes once its ORPort is
 * reachable; tor-spec 5.1 CREATE2 / CREATE_FAST, 5.1.2 EXTEND2): the pure
 * state machine, and the test circuits -- a channel to a random Running
 * relay, a one-hop circuit, EXTEND2 to our advertised ORPort -- run one at
 * a time on the event loop.  The proof is a CREATE answered on a channel
 * the peer opened (cellswitch_stats_t created_inbound).
 * See include/allium/feature/relay/relay_reach.h. */
#define LOG_MODULE "relay"
#include "allium/feature/relay/relay_reach.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "allium/core/channel/channel.h"
#include "allium/core/circuit/circuit_origin_table.h"
#include "allium/core/mainloop/ctlbus.h"
#include "allium/feature/keys/relay_keys.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

/* ---- the state machine ---- */

void
relay_reach_sm_init(relay_reach_sm_t *sm, bool assume_reachable,
                    uint64_t now_ms, uint64_t inbound)
{
  memset(sm, 0, sizeof(*sm));
  sm->state = assume_reachable ? RELAY_REACH_ASSUMED : RELAY_REACH_TESTING;
  sm->start_ms = now_ms;
  sm->inbound_base = inbound;
}

bool
relay_reach_sm_note_inbound(relay_reach_sm_t *sm, uint64_t inbound,
                            uint64_t now_ms)
{
  if (sm->state != RELAY_REACH_TESTING || inbound <= sm->inbound_base)
    return false;
  sm->state = RELAY_REACH_REACHABLE;
  sm->reachable_ms = now_ms;
  return true;
}

relay_reach_action_t
relay_reach_sm_tick(relay_reach_sm_t *sm, uint64_t now_ms, bool can_launch)
{
  if (sm->state != RELAY_REACH_TESTING)
    return RELAY_REACH_ACT_NONE;
  uint64_t age = now_ms - sm->start_ms;
  bool slow = age >= (uint64_t)RELAY_REACH_COMPLAIN_SEC * 1000;
  if (slow && (sm->last_complaint_ms == 0 ||
               now_ms - sm->last_complaint_ms >=
               (uint64_t)RELAY_REACH_SLOW_RETRY_SEC * 1000)) {
    sm->last_complaint_ms = now_ms;
    return RELAY_REACH_ACT_COMPLAIN;
  }
  if (sm->in_flight || !can_launch)
    return RELAY_REACH_ACT_NONE;
  uint64_t gap = (uint64_t)(slow ? RELAY_REACH_SLOW_RETRY_SEC
                                 : RELAY_REACH_RETRY_SEC) * 1000;
  if (sm->n_launched && now_ms - sm->last_launch_ms < gap)
    return RELAY_REACH_ACT_NONE;
  sm->in_flight = true;
  sm->last_launch_ms = now_ms;
  sm->n_launched++;
  return RELAY_REACH_ACT_LAUNCH;
}

void
relay_reach_sm_note_done(relay_reach_sm_t *sm, bool built)
{
  if (!sm->in_flight)
    return;
  sm->in_flight = false;
  if (built)
    sm->n_built++;
  else
    sm->n_failed++;
}

bool
relay_reach_sm_may_publish(const relay_reach_sm_t *sm)
{
  return sm->state != RELAY_REACH_TESTING;
}

const char *
relay_reach_state_name(relay_reach_state_t s)
{
  switch (s) {
  case RELAY_REACH_ASSUMED: return "assumed";
  case RELAY_REACH_TESTING: return "testing";
  case RELAY_REACH_REACHABLE: return "reachable";
  }
  return "unknown";
}

uint64_t
relay_reach_inbound_count(const cellswitch_stats_t *s, bool allow_private)
{
  if (allow_private)
    return s->created_inbound;
  return s->created_inbound >= s->created_inbound_private
           ? s->created_inbound - s->created_inbound_private : 0;
}

/* ---- hops ---- */

static void
spec_ipv4(circ_hop_spec_t *out, const uint8_t a[4], uint16_t port)
{
  out->addr[0].type = RELAY_LSPEC_IPV4;
  out->addr[0].len = 6;
  memcpy(out->addr[0].u.ipv4.addr, a, 4);
  out->addr[0].u.ipv4.port = port;
  out->n_addr = 1;
}

int
relay_reach_self_spec(const router_desc_params_t *p, circ_hop_spec_t *out)
{
  static const uint8_t zero4[4] = { 0 };
  memset(out, 0, sizeof(*out));
  if (!p || !p->keys || p->orport == 0 || !memcmp(p->ipv4, zero4, 4))
    return -1;
  memcpy(out->rsa_id, relay_keys_identity_digest(p->keys), 20);
  memcpy(out->ed_id, relay_keys_master_public(p->keys)->pubkey, 32);
  out->has_ed_id = true;
  memcpy(out->ntor_key, relay_keys_onion_ntor(p->keys)->pub, 32);
  spec_ipv4(out, p->ipv4, p->orport);
  return 0;
}

/* The first hop's spec (IPv4 only: we connect to it ourselves). */
static void
node_spec(const node_t *n, circ_hop_spec_t *out)
{
  memset(out, 0, sizeof(*out));
  memcpy(out->rsa_id, n->rsa_id, 20);
  if (n->has_ed25519_id) {
    memcpy(out->ed_id, n->ed25519_id, 32);
    out->has_ed_id = true;
  }
  memcpy(out->ntor_key, n->ntor_key, 32);
  spec_ipv4(out, n->ipv4, n->orport);
}

static bool
first_hop_ok(const node_t *n, const uint8_t self[20])
{
  static const uint8_t zero4[4] = { 0 };
  uint32_t need = NODE_FLAG_RUNNING | NODE_FLAG_VALID;
  return n && (n->flags & need) == need && n->orport &&
         memcmp(n->ipv4, zero4, 4) && (!self || memcmp(n->rsa_id, self, 20));
}

const node_t *
relay_reach_pick_first_hop(const nodelist_t *nl, const uint8_t self[20])
{
  if (!nl)
    return NULL;
  size_t n = nodelist_n_nodes(nl), seen = 0;
  const node_t *pick = NULL;
  for (size_t i = 0; i < n; i++) {
    const node_t *nd = nodelist_get_node(nl, i);
    if (!first_hop_ok(nd, self))
      continue;
    /* reservoir sampling: each candidate with probability 1/seen */
    if (crypto_rand_uint64(++seen) == 0)
      pick = nd;
  }
  return pick;
}

/* ---- on the event loop ---- */

struct relay_reach_t {
  relay_reach_cfg_t cfg;
  relay_reach_sm_t sm;
  evloop_handle_t *tick;
  bool announced;
  char addr[64];               /* "A:P" of our ORPort, for the logs */
  /* the test circuit in flight */
  channel_t *ch;
  circ_mgr_t *mgr;
  uint32_t circ_id;
  bool ended;                  /* reported; freed at the next tick */
  bool use_fast;
  circ_hop_spec_t first, self;
  char first_name[24];
  uint64_t launched_ms;
};

static void
reach_confirmed(relay_reach_t *r)
{
  log_notice("Self-testing indicates your ORPort %s is reachable from the "
             "outside. Excellent.%s", r->addr,
             r->cfg.publish ? " Publishing server descriptor." : "");
  /* control-spec 4.1.10, STATUS_SERVER REACHABILITY_SUCCEEDED. */
  ctlev_publish(CTLEV_STATUS_SERVER, "NOTICE REACHABILITY_SUCCEEDED "
                "ORADDRESS=%s", r->addr);
  if (r->cfg.on_reachable)
    r->cfg.on_reachable(r->cfg.arg);
}

/* Check the engine's proof counter. */
static bool
check_proof(relay_reach_t *r)
{
  cellswitch_stats_t s;
  cellswitch_get_stats(r->cfg.sw, &s);
  if (!relay_reach_sm_note_inbound(&r->sm, relay_reach_inbound_count(
                                     &s, r->cfg.allow_private),
                                   evloop_monotonic_msec()))
    return false;
  reach_confirmed(r);
  return true;
}

/* The test in flight is over (once): note it; freed at the next tick. */
static void
test_end(relay_reach_t *r, bool built, const char *why)
{
  if (r->ended || !r->sm.in_flight)
    return;
  r->ended = true;
  relay_reach_sm_note_done(&r->sm, built);
  if (!built)
    log_info("Reachability test circuit through %s failed: %s.",
             r->first_name, why);
}

static void
test_release(relay_reach_t *r)
{
  if (r->ch && channel_state(r->ch) != CHANNEL_STATE_CLOSED)
    channel_close(r->ch, CHANNEL_CLOSE_REQUESTED);
  circ_mgr_free(r->mgr);
  channel_free(r->ch);
  r->circ_id = 0;
  r->ended = false;
}

static void
on_circ(circ_mgr_t *m, uint32_t circ_id, const circ_event_t *ev, void *arg)
{
  relay_reach_t *r = arg;
  if (r->ended || circ_id != r->circ_id)
    return;
  circ_origin_t *c = circ_mgr_get(m, circ_id);
  if (ev->type == CIRC_EV_HOP_ADDED && c && circ_origin_n_hops(c) == 1) {
    if (circ_origin_extend(c, &r->self) < 0)
      test_end(r, false, "cannot extend to ourselves");
  } else if (ev->type == CIRC_EV_HOP_ADDED && c) {
    /* EXTENDED2 from ourselves: the CREATE2 reached our engine. */
    circ_origin_build_done(c);
    test_end(r, true, NULL);
    if (!check_proof(r) && r->sm.state == RELAY_REACH_TESTING)
      log_info("Reachability test circuit through %s reached us over a "
               "channel we opened, which proves nothing; trying again.",
               r->first_name);
    circ_origin_close(c, 0);
  } else if (ev->type == CIRC_EV_CLOSED) {
    r->circ_id = 0;
    test_end(r, false, ev->what && *ev->what ? ev->what : "circuit closed");
  }
}

static void
on_stream(circ_mgr_t *m, uint32_t circ_id, const relay_stream_event_t *ev,
          void *arg)
{
  (void)m;
  (void)circ_id;
  (void)ev;
  (void)arg;
}

static void
ch_on_open(channel_t *ch, void *arg)
{
  relay_reach_t *r = arg;
  if (r->ended)
    return;
  circ_mgr_callbacks_t cbs = { on_circ, on_stream, r };
  r->mgr = circ_mgr_new(ch, &cbs);
  uint64_t now = evloop_monotonic_msec();
  uint64_t to = (uint64_t)RELAY_REACH_CIRC_TIMEOUT_SEC * 1000;
  int rc = r->use_fast
             ? circ_mgr_launch_fast(r->mgr, &r->first, now, to, &r->circ_id)
             : circ_mgr_launch(r->mgr, &r->first, now, to, &r->circ_id);
  if (!r->mgr || rc < 0)
    test_end(r, false, "cannot launch a circuit");
}

static void
ch_on_cell(channel_t *ch, const cell_t *cell, void *arg)
{
  relay_reach_t *r = arg;
  (void)ch;
  if (r->mgr) {
    circ_mgr_handle_cell(r->mgr, cell);
    circ_mgr_flush(r->mgr);
  }
}

static void
ch_on_close(channel_t *ch, int reason, const char *why, void *arg)
{
  relay_reach_t *r = arg;
  (void)ch;
  if (r->mgr)
    circ_mgr_channel_closed(r->mgr);
  test_end(r, false, why && *why ? why : channel_close_reason_name(reason));
}

static void
format_addr(char *buf, size_t len, const uint8_t a[4], uint16_t port)
{
  snprintf(buf, len, "%u.%u.%u.%u:%u", a[0], a[1], a[2], a[3], port);
}

static void
test_launch(relay_reach_t *r, const node_t *first)
{
  router_desc_params_t p;
  if (r->cfg.get_self(r->cfg.arg, &p) < 0 ||
      relay_reach_self_spec(&p, &r->self) < 0) {
    relay_reach_sm_note_done(&r->sm, false);
    return;
  }
  format_addr(r->addr, sizeof(r->addr), p.ipv4, p.orport);
  if (!r->announced) {
    r->announced = true;
    log_notice("Now checking whether IPv4 ORPort %s is reachable... (this "
               "may take up to %d minutes -- look for log messages "
               "indicating success)", r->addr, RELAY_REACH_COMPLAIN_SEC / 60);
    ctlev_publish(CTLEV_STATUS_SERVER, "NOTICE CHECKING_REACHABILITY "
                  "ORADDRESS=%s", r->addr);
  }
  node_spec(first, &r->first);
  r->use_fast = !first->has_ntor_key;
  snprintf(r->first_name, sizeof(r->first_name), "%s",
           first->nickname[0] ? first->nickname : "a relay");
  log_info("Testing reachability of my ORPort %s through %s (%s).", r->addr,
           r->first_name, r->use_fast ? "CREATE_FAST" : "ntor");
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_port = htons(first->orport);
  memcpy(&sin.sin_addr, first->ipv4, 4);
  channel_target_t t = { (const struct sockaddr *)&sin, sizeof(sin),
                         r->first.rsa_id,
                         NULL };
  channel_callbacks_t cbs = { ch_on_open, ch_on_cell, ch_on_close, r };
  r->launched_ms = evloop_monotonic_msec();
  r->ended = false;
  r->ch = channel_connect(r->cfg.base, r->cfg.tls, &t, &cbs);
  if (!r->ch)
    test_end(r, false, "cannot connect");
}

static void
on_tick(int what, void *arg)
{
  relay_reach_t *r = arg;
  (void)what;
  uint64_t now = evloop_monotonic_msec();
  if (r->ended)
    test_release(r);
  if (r->sm.state != RELAY_REACH_TESTING) {
    if (r->ch || r->mgr) {
      test_end(r, true, NULL);
      test_release(r);
    }
    return;
  }
  if (r->mgr)
    circ_mgr_tick(r->mgr, now);
  if (r->sm.in_flight && !r->ended &&
      now - r->launched_ms > (uint64_t)(RELAY_REACH_CIRC_TIMEOUT_SEC + 5) * 1000)
    test_end(r, false, "timed out");
  if (check_proof(r))
    return;
  router_desc_params_t p;
  const uint8_t *self = NULL;
  if (r->cfg.get_self(r->cfg.arg, &p) == 0 && p.keys)
    self = relay_keys_identity_digest(p.keys);
  if (r->addr[0] == '\0' && self)
    format_addr(r->addr, sizeof(r->addr), p.ipv4, p.orport);
  nodelist_t *nl = r->cfg.get_nodelist ? r->cfg.get_nodelist(r->cfg.arg) : NULL;
  const node_t *first = self ? relay_reach_pick_first_hop(nl, self) : NULL;
  switch (relay_reach_sm_tick(&r->sm, now, first != NULL && !r->ch)) {
  case RELAY_REACH_ACT_LAUNCH:
    test_launch(r, first);
    break;
  case RELAY_REACH_ACT_COMPLAIN:
    log_warn("Your server has not managed to confirm reachability for its "
             "ORPort(s) at %s. Relays do not publish descriptors until "
             "their ORPort is reachable. Please check your firewalls, "
             "ports, address, /etc/hosts file, etc.",
             r->addr[0] ? r->addr : "(no address)");
    break;
  case RELAY_REACH_ACT_NONE:
    break;
  }
}

relay_reach_t *
relay_reach_new(const relay_reach_cfg_t *cfg)
{
  if (!cfg || !cfg->base || !cfg->sw || !cfg->get_self ||
      (!cfg->assume_reachable && !cfg->tls))
    return NULL;
  relay_reach_t *r = al_calloc(1, sizeof(*r));
  r->cfg = *cfg;
  relay_reach_sm_init(&r->sm, cfg->assume_reachable, 0, 0);
  return r;
}

int
relay_reach_start(relay_reach_t *r)
{
  if (!r)
    return -1;
  cellswitch_stats_t s;
  cellswitch_get_stats(r->cfg.sw, &s);
  relay_reach_sm_init(&r->sm, r->cfg.assume_reachable,
                      evloop_monotonic_msec(),
                      relay_reach_inbound_count(&s, r->cfg.allow_private));
  if (r->cfg.assume_reachable) {
    log_info("AssumeReachable is set: skipping the ORPort reachability "
             "self-test.");
    return 0;
  }
  r->tick = evloop_timer_add(r->cfg.tick_msec ? r->cfg.tick_msec : 1000, 1,
                             on_tick, r);
  return r->tick ? 0 : -1;
}

void
relay_reach_free_(relay_reach_t *r)
{
  if (!r)
    return;
  evloop_handle_free(r->tick);
  r->ended = true;
  test_release(r);
  al_free(r);
}

bool
relay_reach_may_publish(const relay_reach_t *r)
{
  return !r || relay_reach_sm_may_publish(&r->sm);
}

const relay_reach_sm_t *
relay_reach_get_sm(const relay_reach_t *r)
{
  return r ? &r->sm : NULL;
}
