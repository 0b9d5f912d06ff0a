/* relay_publish.c -- a running relay's presence in the directory: its own
 * directory view (dir-spec 4 "fetch as a cache" when DirCache is on, 5.1
 * otherwise), the server descriptor built from the runtime (dir-spec
 * 2.1.1) and uploaded on tor's schedule (dir-spec 2.1, desc_publish.h), the
 * consensus check, the observed bandwidth and onion-key rotation.
 * See include/allium/feature/relay/relay_publish.h. */
#define LOG_MODULE "relay"
#include "allium/feature/relay/relay_publish.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "allium/feature/relay/desc_publish.h"
#include "allium/feature/relay/relay_reach.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/tls/tls.h"

struct relay_publish_t {
  relay_run_t *rr;
  struct event_base *base;
  dir_authority_t *auths;
  size_t n_auths;
  char *datadir, *contact;
  char **family;
  size_t n_family;
  bool dir_cache, publish;
  bool assume_reachable, testing_network;
  relay_reach_t *reach;        /* ORPort self-test (relay_reach.c) */
  uint64_t bw_rate, bw_burst;
  /* the directory view */
  tls_context_t *tls;
  nodelist_t *nl;
  dir_boot_t *boot;
  dir_boot_cfg_t boot_cfg;
  char *cache_dir;
  time_t last_consensus_va;
  /* the uploader */
  desc_publish_t *dp;
  relay_keys_t *own_keys;      /* after a rotation; else the runtime's */
  char platform[128];
  bool warned_no_addr;
  /* bandwidth and uptime */
  relay_bw_hist_t bw;
  uint64_t last_in, last_out, start_msec;
  evloop_handle_t *bw_timer, *rotate_timer;
  bool hibernating;            /* AccountingMax (relay_hibernate.c) */
  /* exit policy (feature/exit) */
  char **exit_policy;
  size_t n_exit_policy;
  char *ipv6_policy;
};

/* ---- MyFamily ---- */

static bool
is_hex40(const char *s, size_t n)
{
  if (n != 40)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isxdigit((unsigned char)s[i]))
      return false;
  return true;
}

static bool
is_nickname(const char *s, size_t n)
{
  if (n < 1 || n > 19)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]))
      return false;
  return true;
}

/* One entry s[0..n) normalised into a new string, or NULL if malformed. */
static char *
family_entry(const char *s, size_t n)
{
  const char *h = s;
  size_t hn = n;
  if (hn && h[0] == '$') {
    h++;
    hn--;
  }
  size_t cut = 0;
  while (cut < hn && h[cut] != '~' && h[cut] != '=')
    cut++;
  if (is_hex40(h, cut) && (cut == hn || is_nickname(h + cut + 1, hn - cut - 1))) {
    char *e = al_calloc(1, 42);
    e[0] = '$';
    for (size_t i = 0; i < 40; i++)
      e[i + 1] = (char)toupper((unsigned char)h[i]);
    return e;
  }
  if (s[0] != '$' && is_nickname(s, n))
    return al_strndup(s, n);
  return NULL;
}

void
relay_publish_family_free(char **v, size_t n)
{
  for (size_t i = 0; v && i < n; i++)
    al_free(v[i]);
  al_free(v);
}

int
relay_publish_family_parse(const config_line_t *lines, const char *self_hex,
                           char ***out, size_t *n_out, char **errmsg)
{
  char **v = NULL;
  size_t n = 0;
  for (const config_line_t *l = lines; l; l = l->next) {
    const char *s = l->value;
    while (*s) {
      size_t len = strcspn(s, ", \t");
      if (len == 0) {
        s++;
        continue;
      }
      char *e = family_entry(s, len);
      if (!e) {
        *errmsg = al_asprintf("MyFamily: \"%.*s\" is neither a relay "
                              "fingerprint nor a nickname",
                              (int)(len > 60 ? 60 : len), s);
        goto fail;
      }
      bool dup = self_hex && e[0] == '$' && !strcmp(e + 1, self_hex);
      for (size_t i = 0; i < n && !dup; i++)
        dup = !strcmp(v[i], e);
      if (dup) {
        al_free(e);
      } else if (n == ROUTER_DESC_MAX_FAMILY) {
        al_free(e);
        *errmsg = al_asprintf("MyFamily lists more than %d relays",
                              ROUTER_DESC_MAX_FAMILY);
        goto fail;
      } else {
        v = al_realloc(v, (n + 1) * sizeof(*v));
        v[n++] = e;
      }
      s += len;
    }
  }
  *out = v;
  *n_out = n;
  return 0;
fail:
  relay_publish_family_free(v, n);
  *out = NULL;
  *n_out = 0;
  return -1;
}

/* ---- observed bandwidth ---- */

/* Samples per hour slot. */
#define BW_SAMPLES_PER_HOUR (3600 / RELAY_PUBLISH_BW_PERIOD_SEC)

void
relay_bw_hist_add(relay_bw_hist_t *h, uint64_t in_bps, uint64_t out_bps)
{
  if (h->samples_in_hour >= BW_SAMPLES_PER_HOUR) {
    h->cur = (h->cur + 1) % RELAY_PUBLISH_BW_HOURS;
    h->max_in[h->cur] = h->max_out[h->cur] = 0;
    h->samples_in_hour = 0;
  }
  if (in_bps > h->max_in[h->cur])
    h->max_in[h->cur] = in_bps;
  if (out_bps > h->max_out[h->cur])
    h->max_out[h->cur] = out_bps;
  h->samples_in_hour++;
}

uint64_t
relay_bw_hist_observed(const relay_bw_hist_t *h)
{
  uint64_t r = 0, w = 0;
  for (unsigned i = 0; i < RELAY_PUBLISH_BW_HOURS; i++) {
    if (h->max_in[i] > r)
      r = h->max_in[i];
    if (h->max_out[i] > w)
      w = h->max_out[i];
  }
  return r < w ? r : w;
}

static uint64_t
uptime_sec(const relay_publish_t *p)
{
  return p->start_msec ? (evloop_monotonic_msec() - p->start_msec) / 1000 : 0;
}

static uint64_t
observed_bw(const relay_publish_t *p)
{
  uint64_t bw = relay_bw_hist_observed(&p->bw);
  return bw > p->bw_rate ? p->bw_rate : bw;
}

/* Every RELAY_PUBLISH_BW_PERIOD_SEC: cell bytes in and out since the last
 * sample (514 per cell: what the heartbeat counts too). */
static void
bw_sample(int what, void *arg)
{
  relay_publish_t *p = arg;
  (void)what;
  cellswitch_stats_t s;
  cellswitch_get_stats(relay_run_switch(p->rr), &s);
  uint64_t in = s.cells_in * 514, out = s.cells_out * 514;
  uint64_t din = in >= p->last_in ? in - p->last_in : 0;
  uint64_t dout = out >= p->last_out ? out - p->last_out : 0;
  p->last_in = in;
  p->last_out = out;
  relay_bw_hist_add(&p->bw, din / RELAY_PUBLISH_BW_PERIOD_SEC,
                    dout / RELAY_PUBLISH_BW_PERIOD_SEC);
  if (p->dp)
    desc_publish_note_stats(p->dp, observed_bw(p), uptime_sec(p));
}

/* ---- the descriptor ---- */

static const relay_keys_t *
cur_keys(const relay_publish_t *p)
{
  return relay_run_keys(p->rr);   /* own_keys once rotated */
}

static bool
all_zero(const uint8_t *b, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (b[i])
      return false;
  return true;
}

int
relay_publish_fill_params(relay_publish_t *p, time_t now, router_desc_params_t *out)
{
  const relay_ports_t *ports = relay_run_ports(p->rr);
  const relay_address_t *addr = relay_run_address(p->rr);
  const relay_port_t *v4 = relay_ports_advertised(ports, 4);
  const relay_port_t *v6 = relay_ports_advertised(ports, 6);
  memset(out, 0, sizeof(*out));
  if (!v4 || !v4->port)
    return -1;
  if (addr->has_v4)
    memcpy(out->ipv4, addr->v4, 4);
  else if (!all_zero(v4->addr, 4))
    memcpy(out->ipv4, v4->addr, 4);
  else
    return -1;
  out->orport = v4->port;
  if (v6 && v6->port) {
    if (addr->has_v6) {
      memcpy(out->ipv6, addr->v6, 16);
      out->has_ipv6 = true;
    } else if (!all_zero(v6->addr, 16)) {
      memcpy(out->ipv6, v6->addr, 16);
      out->has_ipv6 = true;
    }
    out->ipv6_orport = out->has_ipv6 ? v6->port : 0;
  }
  out->keys = cur_keys(p);
  out->nickname = relay_run_nickname(p->rr);
  out->platform = p->platform;
  out->published = now;
  out->uptime = uptime_sec(p);
  out->bw_avg = p->bw_rate;
  out->bw_burst = p->bw_burst;
  out->bw_observed = observed_bw(p);
  out->contact = p->contact;
  out->family = (const char *const *)p->family;
  out->n_family = p->n_family;
  out->tunnelled_dir_server = p->dir_cache;
  out->hidden_service_dir = p->dir_cache;   /* the cache is an HSDir */
  if (p->hibernating) {        /* tor reports no bandwidth while asleep */
    out->hibernating = true;
    out->bw_observed = 0;
  }
  out->policy = (const char *const *)p->exit_policy;
  out->n_policy = p->n_exit_policy;
  out->ipv6_policy = p->ipv6_policy;
  return 0;
}

static void
want_descriptor(desc_publish_t *dp, desc_due_t why, void *arg)
{
  relay_publish_t *p = arg;
  router_desc_params_t params;
  /* ops: tor publishes only once the ORPort self-test succeeded (or
   * AssumeReachable); relay_reach.c calls desc_publish_check() then. */
  if (!relay_reach_may_publish(p->reach)) {
    log_info("Not publishing a server descriptor yet: the ORPort "
             "reachability self-test has not succeeded.");
    return;
  }
  if (relay_publish_fill_params(p, time(NULL), &params) < 0) {
    if (!p->warned_no_addr)
      log_warn("Not publishing a server descriptor: no IPv4 address to "
               "advertise (set Address, or bind the ORPort to an address).");
    p->warned_no_addr = true;
    return;
  }
  char *desc = NULL;
  size_t len = 0;
  int r = router_desc_build(&params, &desc, &len);
  if (r < 0) {
    log_warn("Couldn't build our server descriptor: %s.", router_desc_strerror(r));
    return;
  }
  log_notice("Publishing a new server descriptor (%s, %zu bytes, observed "
             "bandwidth %llu B/s).", desc_due_name(why), len,
             (unsigned long long)params.bw_observed);
  desc_publish_set_descriptor(dp, desc, len, params.bw_observed);
  al_free(desc);
}

/* ---- the directory view ---- */

static void
on_dirinfo(nodelist_t *nl, bool enough, void *arg)
{
  relay_publish_t *p = arg;
  (void)enough;
  const consensus_t *c = nodelist_get_consensus(nl);
  if (!c || c->valid_after == p->last_consensus_va)
    return;
  p->last_consensus_va = c->valid_after;
  if (p->dp)
    desc_publish_consensus_changed(p->dp, c);
}

/* ---- onion-key rotation ---- */

static void
rotate_check(int what, void *arg)
{
  relay_publish_t *p = arg;
  (void)what;
  int rotated = 0;
  int r = relay_keys_rotate_onion_keys(p->datadir, time(NULL), RELAY_KEYS_ONION_ROTATION,
                                       RELAY_KEYS_ONION_GRACE, &rotated);
  if (r < 0) {
    log_warn("Couldn't rotate the onion keys: %s.", relay_keys_strerror(r));
    return;
  }
  if (!rotated)
    return;
  relay_keys_t *k = NULL;
  r = relay_keys_load_or_create(p->datadir, 0, &k);
  if (r < 0) {
    log_warn("Rotated the onion keys but couldn't reload them: %s.", relay_keys_strerror(r));
    return;
  }
  /* The engine answers with the new key (and the old one) first, then the
   * descriptor names it. */
  relay_run_keys_changed(p->rr, k);
  relay_keys_free(p->own_keys);
  p->own_keys = k;
  log_notice("Rotated the onion keys; publishing a new descriptor.");
  if (p->dp)
    desc_publish_note_changed(p->dp);
}

/* ---- life cycle ---- */

/* The advertised rate and burst of cfg (defaults, burst >= rate). */
static void
bw_from(const relay_publish_cfg_t *cfg, uint64_t *rate, uint64_t *burst)
{
  *rate = cfg->bw_rate ? cfg->bw_rate : RELAY_PUBLISH_DEFAULT_BW;
  *burst = cfg->bw_burst ? cfg->bw_burst : RELAY_PUBLISH_DEFAULT_BW;
  if (*burst < *rate)
    *burst = *rate;
}

/* ContactInfo and MyFamily of cfg, checked, into new values. */
static int
parse_contact_family(relay_run_t *rr, const relay_publish_cfg_t *cfg, char **contact,
                     char ***family, size_t *n_family, char **errmsg)
{
  char self[41];
  *contact = NULL;
  if (cfg->contact && cfg->contact[0]) {
    if (strlen(cfg->contact) > ROUTER_DESC_MAX_STRING || strpbrk(cfg->contact, "\r\n")) {
      *errmsg = al_strdup("ContactInfo is too long or spans lines");
      return -1;
    }
  }
  if (relay_keys_fingerprint_hex(relay_run_keys(rr), self) < 0)
    self[0] = '\0';
  if (relay_publish_family_parse(cfg->family, self, family, n_family, errmsg) < 0)
    return -1;
  if (cfg->contact && cfg->contact[0])
    *contact = al_strdup(cfg->contact);
  return 0;
}

relay_publish_t *
relay_publish_new(relay_run_t *rr, struct event_base *base, const relay_publish_cfg_t *cfg,
                  char **errmsg)
{
  relay_publish_t *p = al_calloc(1, sizeof(*p));
  p->rr = rr;
  p->base = base;
  p->dir_cache = cfg->dir_cache;
  p->publish = cfg->publish;
  p->assume_reachable = cfg->assume_reachable;
  p->testing_network = cfg->testing_network;
  bw_from(cfg, &p->bw_rate, &p->bw_burst);
  p->datadir = cfg->datadir ? al_strdup(cfg->datadir) : NULL;
  if (cfg->n_exit_policy) {
    p->exit_policy = al_calloc(cfg->n_exit_policy, sizeof(char *));
    for (size_t i = 0; i < cfg->n_exit_policy; i++)
      p->exit_policy[i] = al_strdup(cfg->exit_policy[i]);
    p->n_exit_policy = cfg->n_exit_policy;
  }
  p->ipv6_policy = cfg->ipv6_policy ? al_strdup(cfg->ipv6_policy) : NULL;
  if (parse_contact_family(rr, cfg, &p->contact, &p->family, &p->n_family, errmsg) < 0)
    goto fail;
  router_desc_platform_default(p->platform, sizeof(p->platform));
  if (!cfg->n_auths || !cfg->auths) {
    *errmsg = al_strdup("no directory authorities to publish to");
    goto fail;
  }
  {
    p->auths = al_calloc(cfg->n_auths, sizeof(*p->auths));
    memcpy(p->auths, cfg->auths, cfg->n_auths * sizeof(*p->auths));
    p->n_auths = cfg->n_auths;
  }
  p->tls = tls_context_new_client();
  p->nl = nodelist_new();
  if (!p->tls || !p->nl) {
    *errmsg = al_strdup("cannot build the relay's directory client");
    goto fail;
  }
  p->cache_dir = cfg->cache_dir ? al_strdup(cfg->cache_dir) : NULL;
  dir_boot_cfg_t *bc = &p->boot_cfg;
  bc->base = base;
  bc->tls = p->tls;
  bc->auths = p->auths;
  bc->n_auths = p->n_auths;
  bc->fallbacks = cfg->fallbacks;
  bc->n_fallbacks = cfg->n_fallbacks;
  bc->use_microdescs = !cfg->dir_cache;
  bc->cache_dir = p->cache_dir;
  bc->testing_network = cfg->testing_network;
  bc->fetch_as_cache = cfg->dir_cache;
  dir_boot_cbs_t cbs = { on_dirinfo, p };
  p->boot = dir_boot_new(bc, p->nl, &cbs);
  if (!p->boot) {
    *errmsg = al_strdup("cannot build the relay's directory bootstrap");
    goto fail;
  }
  return p;
fail:
  relay_publish_free(p);
  return NULL;
}

/* ---- ORPort reachability self-test (relay_reach.c) ---- */

static int
reach_get_self(void *arg, router_desc_params_t *out)
{
  return relay_publish_fill_params(arg, time(NULL), out);
}

static nodelist_t *
reach_get_nodelist(void *arg)
{
  return ((relay_publish_t *)arg)->nl;
}

static void
reach_on_reachable(void *arg)
{
  relay_publish_t *p = arg;
  if (p->dp)
    desc_publish_check(p->dp);
}

static int
start_reach(relay_publish_t *p)
{
  relay_reach_cfg_t rc = {
    .base = p->base,
    .tls = p->tls,
    .sw = relay_run_switch(p->rr),
    .assume_reachable = p->assume_reachable,
    .allow_private = p->testing_network,
    .publish = p->publish,
    .get_self = reach_get_self,
    .get_nodelist = reach_get_nodelist,
    .on_reachable = reach_on_reachable,
    .arg = p,
  };
  p->reach = relay_reach_new(&rc);
  if (!p->reach || relay_reach_start(p->reach) < 0) {
    log_warn("Couldn't start the ORPort reachability self-test.");
    return -1;
  }
  return 0;
}

static int
start_uploader(relay_publish_t *p)
{
  if (!p->publish) {
    log_notice("PublishServerDescriptor is 0: not uploading a server descriptor; "
               "no client will find this relay through the consensus.");
    return 0;
  }
  desc_publish_cbs_t cbs = { want_descriptor, NULL, p };
  p->dp = desc_publish_new(p->base, p->auths, p->n_auths,
                           relay_keys_identity_digest(relay_run_keys(p->rr)), &cbs);
  desc_publish_set_tls(p->dp, p->tls);   /* BEGIN_DIR uploads */
  if (!p->dp || desc_publish_start(p->dp, 0) < 0) {
    log_warn("Couldn't start uploading our server descriptor.");
    return -1;
  }
  log_notice("Publishing our server descriptor to %zu directory authorit%s.",
             p->n_auths, p->n_auths == 1 ? "y" : "ies");
  return 0;
}

int
relay_publish_start(relay_publish_t *p)
{
  p->start_msec = evloop_monotonic_msec();
  p->bw_timer = evloop_timer_add(RELAY_PUBLISH_BW_PERIOD_SEC * 1000u, 1, bw_sample, p);
  if (p->datadir) {
    /* The previous ntor key, if still within its grace period, is answered
     * too (a descriptor from before our restart may name it). */
    relay_run_keys_changed(p->rr, cur_keys(p));
    rotate_check(0, p);
    p->rotate_timer = evloop_timer_add(RELAY_PUBLISH_ROTATE_CHECK_SEC * 1000u, 1,
                                       rotate_check, p);
  }
  int r = start_reach(p) < 0 ? -1 : 0;
  if (start_uploader(p) < 0)
    r = -1;
  /* The bootstrap may report a cached consensus at once: the uploader
   * exists by now. */
  if (dir_boot_start(p->boot) < 0) {
    log_warn("Couldn't start the relay's directory bootstrap.");
    return -1;
  }
  log_info("Relay directory view started (%s).",
           p->dir_cache ? "fetching as a directory cache" : "fetching as a client");
  return r;
}

void
relay_publish_free_(relay_publish_t *p)
{
  if (!p)
    return;
  evloop_handle_free(p->bw_timer);
  evloop_handle_free(p->rotate_timer);
  relay_reach_free(p->reach);
  desc_publish_free(p->dp);
  dir_boot_free(p->boot);
  nodelist_free(p->nl);
  tls_context_free(p->tls);
  relay_keys_free(p->own_keys);
  relay_publish_family_free(p->family, p->n_family);
  al_free(p->auths);
  al_free(p->datadir);
  al_free(p->contact);
  for (size_t i = 0; i < p->n_exit_policy; i++)
    al_free(p->exit_policy[i]);
  al_free(p->exit_policy);
  al_free(p->ipv6_policy);
  al_free(p->cache_dir);
  al_free(p);
}

dir_boot_t *
relay_publish_dir_boot(relay_publish_t *p)
{
  return p ? p->boot : NULL;
}

const char *
relay_publish_datadir(const relay_publish_t *p)
{
  return p ? p->datadir : NULL;
}

nodelist_t *
relay_publish_nodelist(relay_publish_t *p)
{
  return p ? p->nl : NULL;
}

/* ---- SIGHUP ---- */

int
relay_publish_check_reload(relay_publish_t *p, const relay_publish_cfg_t *cfg, char **errmsg)
{
  char *contact = NULL, **family = NULL;
  size_t n_family = 0;
  if (parse_contact_family(p->rr, cfg, &contact, &family, &n_family, errmsg) < 0)
    return -1;
  al_free(contact);
  relay_publish_family_free(family, n_family);
  return 0;
}

static bool
str_eq(const char *a, const char *b)
{
  return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool
family_eq(char **a, size_t na, char **b, size_t nb)
{
  if (na != nb)
    return false;
  for (size_t i = 0; i < na; i++)
    if (strcmp(a[i], b[i]))
      return false;
  return true;
}

/* Append name to the comma-separated list what[]. */
static void
note_what(char *what, size_t len, const char *name)
{
  size_t n = strlen(what);
  snprintf(what + n, len - n, "%s%s", n ? ", " : "", name);
}

/* The exit policy lines of cfg (a reload): true when they differ from
 * what the descriptor says. */
static bool
policy_update(relay_publish_t *p, const relay_publish_cfg_t *cfg)
{
  bool same = p->n_exit_policy == cfg->n_exit_policy &&
              str_eq(p->ipv6_policy, cfg->ipv6_policy);
  for (size_t i = 0; same && i < cfg->n_exit_policy; i++)
    same = !strcmp(p->exit_policy[i], cfg->exit_policy[i]);
  if (same)
    return false;
  for (size_t i = 0; i < p->n_exit_policy; i++)
    al_free(p->exit_policy[i]);
  al_free(p->exit_policy);
  p->exit_policy = NULL;
  p->n_exit_policy = 0;
  if (cfg->n_exit_policy) {
    p->exit_policy = al_calloc(cfg->n_exit_policy, sizeof(char *));
    for (size_t i = 0; i < cfg->n_exit_policy; i++)
      p->exit_policy[i] = al_strdup(cfg->exit_policy[i]);
    p->n_exit_policy = cfg->n_exit_policy;
  }
  al_free(p->ipv6_policy);
  p->ipv6_policy = cfg->ipv6_policy ? al_strdup(cfg->ipv6_policy) : NULL;
  return true;
}

int
relay_publish_reconfigure(relay_publish_t *p, const relay_publish_cfg_t *cfg,
                          bool nickname_changed, char **errmsg)
{
  char *contact = NULL, **family = NULL, what[128] = "";
  size_t n_family = 0;
  if (parse_contact_family(p->rr, cfg, &contact, &family, &n_family, errmsg) < 0)
    return -1;
  if (nickname_changed)
    note_what(what, sizeof(what), "Nickname");
  if (!str_eq(contact, p->contact))
    note_what(what, sizeof(what), "ContactInfo");
  if (!family_eq(family, n_family, p->family, p->n_family))
    note_what(what, sizeof(what), "MyFamily");
  if (policy_update(p, cfg))
    note_what(what, sizeof(what), "exit policy");
  al_free(p->contact);
  p->contact = contact;
  relay_publish_family_free(p->family, p->n_family);
  p->family = family;
  p->n_family = n_family;
  uint64_t rate, burst;
  bw_from(cfg, &rate, &burst);
  if (rate != p->bw_rate || burst != p->bw_burst)
    note_what(what, sizeof(what), "bandwidth");
  p->bw_rate = rate;
  p->bw_burst = burst;
  if (cfg->publish != p->publish) {
    p->publish = cfg->publish;
    if (!p->publish) {
      desc_publish_free(p->dp);
      log_notice("PublishServerDescriptor is now 0: no longer uploading our server "
                 "descriptor (the authorities keep the last one until it expires).");
    } else if (start_uploader(p) < 0) {
      return -1;
    }
    return 1;    /* a new uploader starts with a first descriptor */
  }
  if (!what[0])
    return 0;
  log_notice("Configuration change (%s)%s.", what,
             p->dp ? ": publishing a new server descriptor" : "");
  if (p->dp)
    desc_publish_note_changed(p->dp);
  return 1;
}

/* ---- hibernation (AccountingMax: relay_hibernate.c) ---- */

void
relay_publish_set_hibernating(relay_publish_t *p, bool on)
{
  if (!p || p->hibernating == on)
    return;
  p->hibernating = on;
  log_notice("%s: publishing a new server descriptor%s.",
             on ? "Hibernating" : "Awake again",
             on ? " with \"hibernating 1\"" : "");
  if (p->dp)
    desc_publish_note_changed(p->dp);
}
