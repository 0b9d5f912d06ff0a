/* dos.c -- the relay's denial-of-service defences as sans-IO logic
 * (torspec dos-spec.md; param-spec 9; tor(1) DoSCircuitCreation*,
 * DoSConnection*, DoSStreamCreation*, DoSRefuseSingleHopClientRendezvous):
 * per-client-address token buckets and defence marks in a bounded,
 * expiring hash map, per-circuit stream buckets, the counters of the
 * heartbeat.  See include/allium/core/dos/dos.h. */
#define LOG_MODULE "dos"
#include "allium/core/dos/dos.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "allium/lib/container/dlist.h"
#include "allium/lib/container/hashmap.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

/** Hash key of an address: family byte + 16 address bytes. */
#define DOS_KEY_LEN 17
/** Entries looked at from the old end for one to evict. */
#define DOS_EVICT_SCAN 64
/** Entries looked at per dos_tick(). */
#define DOS_TICK_SCAN 4096
/** Buckets count thousandths of a token. */
#define MILLI 1000u

typedef struct dos_bucket_t {
  uint64_t milli;
  uint64_t last_msec;
} dos_bucket_t;

typedef struct dos_client_t {
  uint8_t key[DOS_KEY_LEN];
  uint32_t n_conns;
  dos_bucket_t cc, connect;
  uint64_t cc_marked_until;      /**< 0: not marked */
  uint64_t conn_marked_until;
  uint64_t last_seen;
  dlist_node_t lru;              /**< d->lru, oldest first */
} dos_client_t;

struct dos_t {
  dos_params_t p;
  hmap_t *clients;               /**< key -> dos_client_t */
  dlist_t lru;
  hmap_t *relays;                /**< key -> (void *)1 */
  uint64_t (*rand_fn)(void *, uint64_t);
  void *rand_arg;
  dos_stats_t st;
};

static void
key_of(uint8_t key[DOS_KEY_LEN], const dos_addr_t *a)
{
  memset(key, 0, DOS_KEY_LEN);
  key[0] = a->family;
  memcpy(key + 1, a->addr, a->family == 4 ? 4 : 16);
}

static bool
addr_ok(const dos_addr_t *a)
{
  return a && (a->family == 4 || a->family == 6);
}

void
dos_params_default(dos_params_t *p)
{
  memset(p, 0, sizeof(*p));
  p->cc_min_conns = DOS_CC_MIN_CONNS_DEFAULT;
  p->cc_rate = DOS_CC_RATE_DEFAULT;
  p->cc_burst = DOS_CC_BURST_DEFAULT;
  p->cc_defense_type = DOS_CC_DEFENSE_TYPE_DEFAULT;
  p->cc_period_sec = DOS_CC_PERIOD_DEFAULT;
  p->conn_max_concurrent = DOS_CONN_MAX_CONCURRENT_DEFAULT;
  p->conn_defense_type = DOS_CONN_DEFENSE_TYPE_DEFAULT;
  p->conn_connect_rate = DOS_CONN_CONNECT_RATE_DEFAULT;
  p->conn_connect_burst = DOS_CONN_CONNECT_BURST_DEFAULT;
  p->conn_connect_period_sec = DOS_CONN_CONNECT_PERIOD_DEFAULT;
  p->stream_rate = DOS_STREAM_RATE_DEFAULT;
  p->stream_burst = DOS_STREAM_BURST_DEFAULT;
  p->stream_defense_type = DOS_STREAM_DEFENSE_TYPE_DEFAULT;
  p->max_addrs = DOS_MAX_ADDRS_DEFAULT;
}

static void
clamp_params(dos_params_t *p)
{
  if (!p->cc_rate)
    p->cc_rate = 1;
  if (!p->cc_burst)
    p->cc_burst = 1;
  if (!p->conn_connect_rate)
    p->conn_connect_rate = 1;
  if (!p->conn_connect_burst)
    p->conn_connect_burst = 1;
  if (!p->stream_rate)
    p->stream_rate = 1;
  if (!p->stream_burst)
    p->stream_burst = 1;
  if (p->cc_defense_type != DOS_DEFENSE_REFUSE)
    p->cc_defense_type = DOS_DEFENSE_NONE;
  if (p->conn_defense_type != DOS_DEFENSE_REFUSE)
    p->conn_defense_type = DOS_DEFENSE_NONE;
  if (p->stream_defense_type != DOS_DEFENSE_REFUSE &&
      p->stream_defense_type != DOS_STREAM_DEFENSE_CLOSE)
    p->stream_defense_type = DOS_DEFENSE_NONE;
  if (!p->max_addrs)
    p->max_addrs = DOS_MAX_ADDRS_DEFAULT;
}

dos_t *
dos_new(const dos_params_t *p)
{
  dos_t *d = al_calloc(1, sizeof(*d));
  d->clients = hmap_new(DOS_KEY_LEN);
  d->relays = hmap_new(DOS_KEY_LEN);
  dlist_init(&d->lru);
  if (p)
    d->p = *p;
  else
    dos_params_default(&d->p);
  clamp_params(&d->p);
  return d;
}

void
dos_free_(dos_t *d)
{
  dlist_node_t *n;
  if (!d)
    return;
  while ((n = dlist_pop_head(&d->lru)) != NULL) {
    dos_client_t *c = DLIST_ENTRY(n, dos_client_t, lru);
    al_free(c);
  }
  hmap_free(d->clients);
  hmap_free(d->relays);
  al_free(d);
}

void
dos_set_params(dos_t *d, const dos_params_t *p)
{
  d->p = *p;
  clamp_params(&d->p);
}

const dos_params_t *
dos_get_params(const dos_t *d)
{
  return &d->p;
}

void
dos_set_rand(dos_t *d, uint64_t (*fn)(void *arg, uint64_t max), void *arg)
{
  d->rand_fn = fn;
  d->rand_arg = arg;
}

static uint64_t
rand_below(dos_t *d, uint64_t max)
{
  if (max <= 1)
    return 0;
  return d->rand_fn ? d->rand_fn(d->rand_arg, max) % max
                    : crypto_rand_uint64(max);
}

/* How long a mark lasts: uniform in [period + 1, period * 3/2] seconds
 * (tor(1) DoSCircuitCreationDefenseTimePeriod), in msec. */
static uint64_t
mark_msec(dos_t *d, uint32_t period_sec)
{
  uint64_t lo = (uint64_t)period_sec + 1;
  uint64_t hi = (uint64_t)period_sec + period_sec / 2;
  if (hi < lo)
    hi = lo;
  return (lo + rand_below(d, hi - lo + 1)) * 1000u;
}

/* ---- token buckets (rate per second, burst), in thousandths ---- */

static void
bucket_refill(dos_bucket_t *b, uint32_t rate, uint32_t burst, uint64_t now)
{
  uint64_t cap = (uint64_t)burst * MILLI;
  uint64_t elapsed = now > b->last_msec ? now - b->last_msec : 0;
  b->last_msec = now;
  /* rate < 2^31, so elapsed * rate cannot overflow below 2^32 msec. */
  if (elapsed >= (UINT64_C(1) << 32) ||
      b->milli + elapsed * rate >= cap)
    b->milli = cap;
  else
    b->milli += elapsed * rate;
  if (b->milli > cap)   /* the burst was lowered */
    b->milli = cap;
}

static void
bucket_fill(dos_bucket_t *b, uint32_t burst, uint64_t now)
{
  b->milli = (uint64_t)burst * MILLI;
  b->last_msec = now;
}

/* Spend one token if there is one; true when the bucket is empty after. */
static bool
bucket_take(dos_bucket_t *b)
{
  if (b->milli >= MILLI)
    b->milli -= MILLI;
  return b->milli < MILLI;
}

/* ---- the address map ---- */

static dos_client_t *
client_get(const dos_t *d, const dos_addr_t *a)
{
  uint8_t key[DOS_KEY_LEN];
  if (!addr_ok(a))
    return NULL;
  key_of(key, a);
  return hmap_get(d->clients, key);
}

static void
client_remove(dos_t *d, dos_client_t *c)
{
  hmap_remove(d->clients, c->key);
  dlist_remove(&c->lru);
  al_free(c);
}

static void
client_touch(dos_t *d, dos_client_t *c, uint64_t now)
{
  c->last_seen = now;
  dlist_remove(&c->lru);
  dlist_push_tail(&d->lru, &c->lru);
}

/* Make room: forget the least recently seen address holding no
 * connection (looking at a bounded number of entries).  true if one
 * went. */
static bool
evict_one(dos_t *d)
{
  for (int i = 0; i < DOS_EVICT_SCAN && !dlist_is_empty(&d->lru); i++) {
    dos_client_t *c = DLIST_ENTRY(d->lru.next, dos_client_t, lru);
    if (c->n_conns) {
      /* Live: not a candidate; to the back so the scan moves on (its
       * last_seen is kept: dos_tick() skips it while it is live). */
      dlist_remove(&c->lru);
      dlist_push_tail(&d->lru, &c->lru);
      continue;
    }
    client_remove(d, c);
    d->st.addrs_evicted++;
    return true;
  }
  return false;
}

/* The entry of a, made (with full buckets) when absent; NULL when the map
 * is full of addresses with open connections. */
static dos_client_t *
client_get_or_add(dos_t *d, const dos_addr_t *a, uint64_t now)
{
  dos_client_t *c = client_get(d, a);
  if (c)
    return c;
  if (hmap_count(d->clients) >= d->p.max_addrs && !evict_one(d))
    return NULL;
  c = al_calloc(1, sizeof(*c));
  key_of(c->key, a);
  bucket_fill(&c->cc, d->p.cc_burst, now);
  bucket_fill(&c->connect, d->p.conn_connect_burst, now);
  dlist_init(&c->lru);
  hmap_put(d->clients, c->key, c, NULL);
  client_touch(d, c, now);
  return c;
}

int
dos_set_relay_addrs(dos_t *d, const dos_addr_t *addrs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!addr_ok(&addrs[i]))
      return -1;
  hmap_t *m = hmap_new(DOS_KEY_LEN);
  for (size_t i = 0; i < n; i++) {
    uint8_t key[DOS_KEY_LEN];
    key_of(key, &addrs[i]);
    hmap_put(m, key, (void *)1, NULL);
  }
  hmap_free(d->relays);
  d->relays = m;
  return 0;
}

bool
dos_addr_is_relay(const dos_t *d, const dos_addr_t *a)
{
  uint8_t key[DOS_KEY_LEN];
  if (!addr_ok(a))
    return false;
  key_of(key, a);
  return hmap_get(d->relays, key) != NULL;
}

/* ---- connections ---- */

/* The connection defence refuses a connection from c now?  Counts it. */
static bool
conn_refused(dos_t *d, const dos_client_t *c, uint64_t now)
{
  if (!d->p.conn_enabled || d->p.conn_defense_type != DOS_DEFENSE_REFUSE)
    return false;
  if (c->n_conns >= d->p.conn_max_concurrent) {
    d->st.conn_rejected++;
    log_notice_rl(60, "DoS: closing new connections from a client address "
                  "that holds %u already (DoSConnectionMaxConcurrentCount "
                  "%u).", c->n_conns, d->p.conn_max_concurrent);
    return true;
  }
  if (c->conn_marked_until > now) {
    d->st.conn_connect_rejected++;
    return true;
  }
  return false;
}

int
dos_conn_accept(dos_t *d, const dos_addr_t *a, uint64_t now_msec)
{
  if (!addr_ok(a) || dos_addr_is_relay(d, a))
    return DOS_CONN_UNTRACKED;
  dos_client_t *c = client_get_or_add(d, a, now_msec);
  if (!c) {
    d->st.untracked++;
    return DOS_CONN_UNTRACKED;
  }
  client_touch(d, c, now_msec);
  if (conn_refused(d, c, now_msec))
    return DOS_CONN_REFUSED;
  c->n_conns++;
  if (!d->p.conn_enabled)
    return DOS_CONN_TRACKED;
  bucket_refill(&c->connect, d->p.conn_connect_rate, d->p.conn_connect_burst,
                now_msec);
  if (bucket_take(&c->connect) && c->conn_marked_until <= now_msec) {
    c->conn_marked_until = now_msec +
                           mark_msec(d, d->p.conn_connect_period_sec);
    d->st.conn_marked++;
    log_notice_rl(60, "DoS: a client address went over the connection rate "
                  "(DoSConnectionConnectRate %u/s, burst %u): %s its new "
                  "connections for at least %u s.", d->p.conn_connect_rate,
                  d->p.conn_connect_burst,
                  d->p.conn_defense_type == DOS_DEFENSE_REFUSE
                    ? "closing" : "only counting",
                  d->p.conn_connect_period_sec);
  }
  return DOS_CONN_TRACKED;
}

void
dos_conn_closed(dos_t *d, const dos_addr_t *a, uint64_t now_msec)
{
  dos_client_t *c = client_get(d, a);
  if (!c)
    return;
  if (c->n_conns)
    c->n_conns--;
  client_touch(d, c, now_msec);
}

uint32_t
dos_conn_count(const dos_t *d, const dos_addr_t *a)
{
  const dos_client_t *c = client_get(d, a);
  return c ? c->n_conns : 0;
}

/* ---- circuits ---- */

bool
dos_create_allowed(dos_t *d, const dos_addr_t *a, uint64_t now_msec)
{
  if (!d->p.cc_enabled)
    return true;
  dos_client_t *c = client_get(d, a);
  if (!c)
    return true;   /* not a counted client connection */
  client_touch(d, c, now_msec);
  bucket_refill(&c->cc, d->p.cc_rate, d->p.cc_burst, now_msec);
  if (bucket_take(&c->cc) && c->n_conns >= d->p.cc_min_conns &&
      c->cc_marked_until <= now_msec) {
    c->cc_marked_until = now_msec + mark_msec(d, d->p.cc_period_sec);
    d->st.cc_marked++;
    log_notice_rl(60, "DoS: a client address went over the circuit "
                  "creation rate (DoSCircuitCreationRate %u/s, burst %u) "
                  "with %u connections: %s its CREATE cells for at least "
                  "%u s.", d->p.cc_rate, d->p.cc_burst, c->n_conns,
                  d->p.cc_defense_type == DOS_DEFENSE_REFUSE
                    ? "refusing" : "only counting",
                  d->p.cc_period_sec);
  }
  if (c->cc_marked_until > now_msec &&
      d->p.cc_defense_type == DOS_DEFENSE_REFUSE) {
    d->st.cc_circuits_rejected++;
    return false;
  }
  return true;
}

bool
dos_cc_is_marked(const dos_t *d, const dos_addr_t *a, uint64_t now_msec)
{
  const dos_client_t *c = client_get(d, a);
  return c && c->cc_marked_until > now_msec;
}

/* ---- streams ---- */

int
dos_stream_check(dos_t *d, dos_stream_bucket_t *b, uint64_t now_msec)
{
  if (!d || !b || !d->p.stream_enabled)
    return DOS_STREAM_ALLOW;
  dos_bucket_t k = { b->tokens_milli, b->last_msec };
  if (!b->started) {
    bucket_fill(&k, d->p.stream_burst, now_msec);
    b->started = true;
  } else {
    bucket_refill(&k, d->p.stream_rate, d->p.stream_burst, now_msec);
  }
  bool had = k.milli >= MILLI;
  (void)bucket_take(&k);
  b->tokens_milli = k.milli;
  b->last_msec = k.last_msec;
  if (had || d->p.stream_defense_type == DOS_DEFENSE_NONE)
    return DOS_STREAM_ALLOW;
  if (d->p.stream_defense_type == DOS_STREAM_DEFENSE_CLOSE) {
    d->st.stream_circs_closed++;
    log_notice_rl(60, "DoS: closing a circuit that opens streams faster "
                  "than DoSStreamCreationRate %u/s (burst %u).",
                  d->p.stream_rate, d->p.stream_burst);
    return DOS_STREAM_CLOSE_CIRC;
  }
  d->st.stream_rejected++;
  log_notice_rl(60, "DoS: refusing streams on a circuit that opens them "
                "faster than DoSStreamCreationRate %u/s (burst %u).",
                d->p.stream_rate, d->p.stream_burst);
  return DOS_STREAM_REFUSE;
}

/* ---- rendezvous ---- */

bool
dos_rend_allowed(dos_t *d, bool single_hop)
{
  if (!single_hop || !d->p.refuse_single_hop_rend)
    return true;
  d->st.single_hop_refused++;
  log_notice_rl(60, "DoS: dropping an ESTABLISH_RENDEZVOUS from a single-hop "
                "client (DoSRefuseSingleHopClientRendezvous).");
  return false;
}

/* ---- expiry, stats ---- */

/* msec until a bucket of this rate refills from empty. */
static uint64_t
refill_msec(uint32_t rate, uint32_t burst)
{
  return (uint64_t)burst * MILLI / rate + 1;
}

void
dos_tick(dos_t *d, uint64_t now_msec)
{
  uint64_t idle = DOS_ADDR_IDLE_MSEC;
  uint64_t r = refill_msec(d->p.cc_rate, d->p.cc_burst);
  if (r > idle)
    idle = r;
  r = refill_msec(d->p.conn_connect_rate, d->p.conn_connect_burst);
  if (r > idle)
    idle = r;
  dlist_node_t *n = d->lru.next;
  for (int i = 0; i < DOS_TICK_SCAN && n != &d->lru; i++) {
    dos_client_t *c = DLIST_ENTRY(n, dos_client_t, lru);
    n = n->next;
    if (c->last_seen + idle > now_msec)
      break;   /* the rest were seen more recently */
    if (c->n_conns || c->cc_marked_until > now_msec ||
        c->conn_marked_until > now_msec)
      continue;
    client_remove(d, c);
  }
}

void
dos_get_stats(const dos_t *d, uint64_t now_msec, dos_stats_t *out)
{
  *out = d->st;
  out->n_addrs = hmap_count(d->clients);
  out->n_marked_now = 0;
  for (const dlist_node_t *n = d->lru.next; n != &d->lru; n = n->next) {
    const dos_client_t *c = DLIST_ENTRY(n, dos_client_t, lru);
    out->n_marked_now += c->cc_marked_until > now_msec ||
                         c->conn_marked_until > now_msec;
  }
}

char *
dos_format_heartbeat(const dos_t *d, uint64_t now_msec, char *buf,
                     size_t len)
{
  dos_stats_t s;
  dos_get_stats(d, now_msec, &s);
  const dos_params_t *p = &d->p;
  snprintf(buf, len,
           "DoS mitigation since startup: %llu circuits rejected%s, %llu "
           "marked addresses (%zu now), %llu same address concurrent "
           "connections rejected%s, %llu connections rejected for their "
           "rate, %llu single hop clients refused%s, %llu streams rejected "
           "and %llu circuits closed for their streams%s.",
           (unsigned long long)s.cc_circuits_rejected,
           p->cc_enabled ? "" : " [DoSCircuitCreationEnabled disabled]",
           (unsigned long long)(s.cc_marked + s.conn_marked), s.n_marked_now,
           (unsigned long long)s.conn_rejected,
           p->conn_enabled ? "" : " [DoSConnectionEnabled disabled]",
           (unsigned long long)s.conn_connect_rejected,
           (unsigned long long)s.single_hop_refused,
           p->refuse_single_hop_rend
             ? "" : " [DoSRefuseSingleHopClientRendezvous disabled]",
           (unsigned long long)s.stream_rejected,
           (unsigned long long)s.stream_circs_closed,
           p->stream_enabled ? "" : " [DoSStreamCreationEnabled disabled]");
  return buf;
}

int
dos_addr_from_sockaddr(dos_addr_t *a, const struct sockaddr *sa)
{
  static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                        0xff, 0xff };
  memset(a, 0, sizeof(*a));
  if (!sa)
    return -1;
  if (sa->sa_family == AF_INET) {
    a->family = 4;
    memcpy(a->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    return 0;
  }
  if (sa->sa_family == AF_INET6) {
    const uint8_t *b =
      (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (!memcmp(b, v4mapped, 12)) {
      a->family = 4;
      memcpy(a->addr, b + 12, 4);
    } else {
      a->family = 6;
      memcpy(a->addr, b, 16);
    }
    return 0;
  }
  return -1;
}
