/* hs_service_run.c -- a service's introduction points and rendezvous
 * circuits as a sans-IO state machine (rend-spec-v3 3.1.1-3.1.3, 3.3,
 * 4.2).  See hs_service_run.h. */
#include "allium/feature/hs_service/hs_service_run.h"

#include <string.h>

#include "allium/core/cell/relay_cell.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#define MAX_PENDING_CAP 64
/* An introduction point is replaced after a random lifetime of 18-24 hours
 * or a random number of 16384-32768 introductions, whichever comes first,
 * as tor's services rotate theirs. */
#define IP_LIFETIME_MIN_MSEC (18ull * 3600 * 1000)
#define IP_LIFETIME_MAX_MSEC (24ull * 3600 * 1000)
#define IP_INTRO_MIN 16384u
#define IP_INTRO_MAX 32768u

typedef enum { SLOT_NONE = 0, SLOT_BUILDING, SLOT_ESTABLISHING,
               SLOT_READY } slot_state_t;

typedef struct slot_t {
  slot_state_t state;
  uint64_t circ;
  uint64_t deadline;
  circ_hop_spec_t spec;
  hs_service_ip_t *ip;
  relay_extend2_t lspecs;
  uint64_t expires;        /* READY: replaced from then on */
  uint32_t intro_left;     /* READY: introductions before replacement */
} slot_t;

typedef struct rend_t {
  uint64_t circ;                            /* 0: free entry */
  uint8_t rend1[HS_SERVICE_REND1_LEN];
  uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN];
  bool cc;                                  /* the client asked for CC */
} rend_t;

struct hs_service_run_t {
  hs_service_run_cfg_t cfg;
  size_t n_slots;
  slot_t slot[HS_CONFIG_MAX_INTRO];
  rend_t rend[MAX_PENDING_CAP];
  uint8_t subcred[2][32];
  size_t n_subcred;
  bool set_changed;        /* ready set differs from the last publish */
  uint64_t first_ready;    /* when a changed set first had a ready slot */
  hs_service_run_stats_t st;
};

static const hs_service_circ_ev_t circ_ev;

static uint64_t
now_ms(const hs_service_run_t *s)
{
  return s->cfg.net.now_msec(s->cfg.net.ctx);
}

static void
slot_reset(hs_service_run_t *s, slot_t *sl)
{
  uint64_t c = sl->circ;
  bool was_ready = sl->state == SLOT_READY;
  sl->circ = 0;
  sl->state = SLOT_NONE;
  sl->deadline = 0;
  hs_service_ip_free(sl->ip);
  if (c)
    s->cfg.net.close(s->cfg.net.ctx, c);
  if (was_ready)
    s->set_changed = true;
}

static void
slot_launch(hs_service_run_t *s, slot_t *sl)
{
  circ_hop_spec_t used[HS_CONFIG_MAX_INTRO];
  size_t n = 0;
  for (size_t i = 0; i < s->n_slots; i++)
    if (s->slot[i].state != SLOT_NONE)
      used[n++] = s->slot[i].spec;
  uint64_t h = 0;
  if (s->cfg.net.pick(s->cfg.net.ctx, used, n, &sl->spec) < 0)
    return;   /* retried at the next tick */
  sl->ip = hs_service_ip_new();
  if (!sl->ip ||
      s->cfg.net.launch(s->cfg.net.ctx, &sl->spec, &circ_ev, s, &h) < 0 ||
      h == 0) {
    hs_service_ip_free(sl->ip);
    return;
  }
  s->st.intro_launched++;
  sl->circ = h;
  sl->state = SLOT_BUILDING;
  sl->deadline = now_ms(s) + s->cfg.establish_timeout_msec;
}

hs_service_run_t *
hs_service_run_start(const hs_service_run_cfg_t *cfg)
{
  const hs_service_net_t *n = cfg ? &cfg->net : NULL;
  if (!cfg || !cfg->svc || !n->pick || !n->launch || !n->send || !n->kh ||
      !n->join || !n->close || !n->now_msec || !cfg->publish ||
      !cfg->rendezvous || cfg->svc->num_intro_points < 1 ||
      cfg->svc->num_intro_points > HS_CONFIG_MAX_INTRO)
    return NULL;
  hs_service_run_t *s = al_calloc(1, sizeof(*s));
  s->cfg = *cfg;
  if (!s->cfg.establish_timeout_msec)
    s->cfg.establish_timeout_msec = 30000;
  if (!s->cfg.publish_grace_msec)
    s->cfg.publish_grace_msec = 10000;
  if (!s->cfg.max_pending || s->cfg.max_pending > MAX_PENDING_CAP)
    s->cfg.max_pending = s->cfg.max_pending ? MAX_PENDING_CAP : 16;
  s->n_slots = (size_t)cfg->svc->num_intro_points;
  for (size_t i = 0; i < s->n_slots; i++)
    slot_launch(s, &s->slot[i]);
  return s;
}

static slot_t *
slot_of(hs_service_run_t *s, uint64_t circ)
{
  for (size_t i = 0; circ && i < s->n_slots; i++)
    if (s->slot[i].circ == circ)
      return &s->slot[i];
  return NULL;
}

static rend_t *
rend_of(hs_service_run_t *s, uint64_t circ)
{
  for (size_t i = 0; circ && i < s->cfg.max_pending; i++)
    if (s->rend[i].circ == circ)
      return &s->rend[i];
  return NULL;
}

static void
rend_clear(rend_t *r)
{
  memwipe(r, sizeof(*r));
}

static void
on_built(void *arg, uint64_t circ)
{
  hs_service_run_t *s = arg;
  slot_t *sl = slot_of(s, circ);
  rend_t *r = sl ? NULL : rend_of(s, circ);
  if (sl && sl->state == SLOT_BUILDING) {
    uint8_t kh[HS_CELL_KH_LEN], body[RELAY_BODY_MAX];
    size_t n = 0;
    int e = s->cfg.net.kh(s->cfg.net.ctx, circ, kh);
    if (e == 0)
      e = hs_service_ip_establish(sl->ip, kh, s->cfg.svc, body, sizeof(body),
                                  &n);
    if (e == 0)
      e = s->cfg.net.send(s->cfg.net.ctx, circ, RELAY_ESTABLISH_INTRO, body,
                          n);
    memwipe(kh, sizeof(kh));
    if (e < 0) {
      s->st.intro_failed++;
      slot_reset(s, sl);
      return;
    }
    sl->state = SLOT_ESTABLISHING;
  } else if (r) {
    uint64_t c = r->circ;
    int e = s->cfg.net.send(s->cfg.net.ctx, c, RELAY_RENDEZVOUS1, r->rend1,
                            sizeof(r->rend1));
    if (e == 0)
      e = s->cfg.net.join(s->cfg.net.ctx, c, r->keys, r->cc);
    rend_clear(r);
    if (e < 0) {
      s->st.rend_failed++;
      s->cfg.net.close(s->cfg.net.ctx, c);
      return;
    }
    s->st.rend_joined++;
    s->cfg.rendezvous(s->cfg.arg, c);
  }
}

static void
on_closed(void *arg, uint64_t circ)
{
  hs_service_run_t *s = arg;
  slot_t *sl = slot_of(s, circ);
  rend_t *r = sl ? NULL : rend_of(s, circ);
  if (sl) {
    sl->circ = 0;   /* already gone */
    s->st.intro_failed++;
    log_info_rl(60, "Onion service: an introduction circuit closed; "
                "replacing the introduction point");
    slot_reset(s, sl);
  } else if (r) {
    s->st.rend_failed++;
    rend_clear(r);
  }
}

/* INTRODUCE2 on slot sl: open, then launch to the rendezvous point. */
static void
on_introduce2(hs_service_run_t *s, slot_t *sl, const uint8_t *body,
              size_t len)
{
  hs_service_intro2_t in;
  rend_t *r = NULL;
  int e = hs_service_intro2_open(&in, &sl->ip->keys,
                                 (const uint8_t(*)[32])s->subcred,
                                 s->n_subcred, sl->ip->replay,
                                 (int64_t)(now_ms(s) / 1000), body, len);
  if (e < 0) {
    if (e == HS_INTRO2_ERR_REPLAY)
      s->st.introduce2_replay++;
    else
      s->st.introduce2_refused++;
    log_info_rl(60, "Onion service: INTRODUCE2 refused (%s)",
                hs_intro2_err_name(e));
    if (e == HS_INTRO2_ERR_FULL)
      slot_reset(s, sl);
    return;
  }
  s->st.introduce2_ok++;
  if (sl->intro_left)
    sl->intro_left--;
  for (size_t i = 0; i < s->cfg.max_pending && !r; i++)
    if (!s->rend[i].circ)
      r = &s->rend[i];
  uint64_t h = 0;
  if (!r || hs_service_rend1_build(&sl->ip->keys, &in, r->rend1,
                                   r->keys) < 0 ||
      s->cfg.net.launch(s->cfg.net.ctx, &in.rp, &circ_ev, s, &h) < 0 ||
      h == 0) {
    if (r)
      rend_clear(r);
    s->st.rend_failed++;
    log_info_rl(60, "Onion service: no rendezvous circuit launched");
  } else {
    r->circ = h;
    r->cc = in.cc_requested;
    s->st.rend_launched++;
  }
  memwipe(&in, sizeof(in));
}

static void
on_relay_msg(void *arg, uint64_t circ, bool last_hop, uint8_t command,
             const uint8_t *body, size_t len)
{
  hs_service_run_t *s = arg;
  slot_t *sl = slot_of(s, circ);
  if (!sl || !last_hop)
    return;
  if (command == RELAY_INTRO_ESTABLISHED && sl->state == SLOT_ESTABLISHING) {
    hs_cell_exts_t *ex = al_calloc(1, sizeof(*ex));
    int e = hs_intro_established_decode(ex, body, len);
    al_free(ex);
    if (e < 0) {
      s->st.intro_failed++;
      slot_reset(s, sl);
      return;
    }
    sl->state = SLOT_READY;
    sl->deadline = 0;
    sl->expires = now_ms(s) + IP_LIFETIME_MIN_MSEC +
      crypto_rand_uint64(IP_LIFETIME_MAX_MSEC - IP_LIFETIME_MIN_MSEC + 1);
    sl->intro_left = IP_INTRO_MIN +
      (uint32_t)crypto_rand_uint64(IP_INTRO_MAX - IP_INTRO_MIN + 1);
    s->st.intro_established++;
    s->set_changed = true;
  } else if (command == RELAY_INTRODUCE2 && sl->state == SLOT_READY) {
    on_introduce2(s, sl, body, len);
  }
}

static const hs_service_circ_ev_t circ_ev = {
  .built = on_built, .closed = on_closed, .relay_msg = on_relay_msg,
};

void
hs_service_run_tick(hs_service_run_t *s)
{
  if (!s)
    return;
  uint64_t now = now_ms(s);
  size_t ready = 0;
  for (size_t i = 0; i < s->n_slots; i++) {
    slot_t *sl = &s->slot[i];
    if (sl->state != SLOT_NONE && sl->state != SLOT_READY &&
        now >= sl->deadline) {
      s->st.intro_failed++;
      slot_reset(s, sl);
    }
    if (sl->state == SLOT_READY && (now >= sl->expires || !sl->intro_left)) {
      s->st.intro_rotated++;
      log_info("Onion service: an introduction point reached its lifetime "
               "or introduction count; replacing it");
      slot_reset(s, sl);
    }
    if (sl->state == SLOT_NONE)
      slot_launch(s, sl);
    ready += sl->state == SLOT_READY;
  }
  if (!s->set_changed || ready == 0) {
    if (ready == 0)
      s->first_ready = 0;
    return;
  }
  if (!s->first_ready)
    s->first_ready = now;
  if (ready == s->n_slots ||
      now - s->first_ready >= s->cfg.publish_grace_msec) {
    s->set_changed = false;
    s->first_ready = 0;
    s->st.publishes++;
    s->cfg.publish(s->cfg.arg);
  }
}

int
hs_service_run_set_subcreds(hs_service_run_t *s,
                            const uint8_t (*subcreds)[32], size_t n)
{
  if (!s || !subcreds || n < 1 || n > 2)
    return -1;
  memcpy(s->subcred, subcreds, n * 32);
  s->n_subcred = n;
  return 0;
}

/* Link specifiers of a hop spec, as the descriptor lists them. */
static void
lspecs_of(const circ_hop_spec_t *sp, relay_extend2_t *m)
{
  memset(m, 0, sizeof(*m));
  for (size_t i = 0; i < sp->n_addr && i < 2; i++)
    m->spec[m->n_spec++] = sp->addr[i];
  m->spec[m->n_spec].type = RELAY_LSPEC_LEGACY_ID;
  memcpy(m->spec[m->n_spec++].u.legacy_id, sp->rsa_id, RELAY_LEGACY_ID_LEN);
  if (sp->has_ed_id) {
    m->spec[m->n_spec].type = RELAY_LSPEC_ED25519_ID;
    memcpy(m->spec[m->n_spec++].u.ed25519_id, sp->ed_id,
           RELAY_ED25519_ID_LEN);
  }
}

size_t
hs_service_run_intro_points(hs_service_run_t *s, hs_service_intro_t *out,
                            size_t max)
{
  size_t n = 0;
  for (size_t i = 0; s && out && i < s->n_slots && n < max; i++) {
    slot_t *sl = &s->slot[i];
    if (sl->state != SLOT_READY)
      continue;
    lspecs_of(&sl->spec, &sl->lspecs);
    memset(&out[n], 0, sizeof(out[n]));
    out[n].lspecs = &sl->lspecs;
    memcpy(out[n].onion_key, sl->spec.ntor_key, X25519_KEY_LEN);
    out[n].auth_key = sl->ip->auth.pub;
    memcpy(out[n].enc_key, sl->ip->keys.enc.pub, X25519_KEY_LEN);
    n++;
  }
  return n;
}

void
hs_service_run_stats(const hs_service_run_t *s, hs_service_run_stats_t *out)
{
  if (out)
    memset(out, 0, sizeof(*out));
  if (s && out)
    *out = s->st;
}

void
hs_service_run_free_(hs_service_run_t *s)
{
  if (!s)
    return;
  for (size_t i = 0; i < s->n_slots; i++) {
    uint64_t c = s->slot[i].circ;
    s->slot[i].circ = 0;
    hs_service_ip_free(s->slot[i].ip);
    if (c)
      s->cfg.net.close(s->cfg.net.ctx, c);
  }
  for (size_t i = 0; i < s->cfg.max_pending; i++) {
    uint64_t c = s->rend[i].circ;
    rend_clear(&s->rend[i]);
    if (c)
      s->cfg.net.close(s->cfg.net.ctx, c);
  }
  memwipe(s, sizeof(*s));
  al_free(s);
}
