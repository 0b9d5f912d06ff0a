/* relay_run.c -- the relay role at run time: link credentials from
 * core/channel/link_keys.h (the TLS server context with a fresh RSA-2048
 * link key, CERTS types 2, 4, 5, 7 as responder and 2, 3, 4, 6, 7 plus
 * AUTHENTICATE as initiator -- tor-spec 4.2, 4.4, cert-spec 2.1/2.3), the
 * cell engine with our ntor / ntor v3 / CREATE_FAST keys, link-key
 * rotation on tor's schedule (on a worker thread: relay_link_rotate.c),
 * the heartbeat (tor(1) HeartbeatPeriod) and the hand-over to descriptor
 * publishing.  Listeners are in relay_listen.c.
 * See include/allium/feature/relay/relay_run.h. */
#define LOG_MODULE "relay"
#include "allium/feature/relay/relay_run.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "allium/core/channel/link_keys.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/feature/nodelist/nodelist.h"
#include "allium/feature/relay/relay_publish.h"
#include "relay_run_st.h"
#include "allium/feature/exit/exit_stream.h"
#include "allium/core/policy/policy.h"
#include "allium/feature/relay/relay_hs.h"

static void relay_run_log_exit(relay_run_t *rr);

/* A fresh set of link credentials (TLS context with a new RSA-2048 link
 * key, CERTS types 2, 3, 4, 5, 6, 7 and the AUTHENTICATE key). */
static link_keys_t *
link_keys_from(const relay_keys_t *k, time_t now)
{
  size_t len;
  const uint8_t *c4 = relay_keys_signing_cert_encoded(k, &len);
  return link_keys_new(relay_keys_identity_rsa(k), relay_keys_master_public(k),
                       relay_keys_signing_keypair(k), c4, len, now);
}

/* NETINFO "my addresses": the Address lines, else the advertised ORPort
 * bind addresses that are not wildcards. */
static void
my_addrs_from(cellswitch_config_t *sc, const relay_run_t *rr)
{
  static const uint8_t zero[16] = { 0 };
  sc->n_my_addrs = 0;
  if (rr->addr.has_v4) {
    sc->my_addrs[sc->n_my_addrs].type = CELL_ADDR_IPV4;
    memcpy(sc->my_addrs[sc->n_my_addrs++].addr, rr->addr.v4, 4);
  } else {
    const relay_port_t *p = relay_ports_advertised(&rr->ports, 4);
    if (p && memcmp(p->addr, zero, 4)) {
      sc->my_addrs[sc->n_my_addrs].type = CELL_ADDR_IPV4;
      memcpy(sc->my_addrs[sc->n_my_addrs++].addr, p->addr, 4);
    }
  }
  if (rr->addr.has_v6) {
    sc->my_addrs[sc->n_my_addrs].type = CELL_ADDR_IPV6;
    memcpy(sc->my_addrs[sc->n_my_addrs++].addr, rr->addr.v6, 16);
  }
}

/* The circuit keys: RSA id (ntor NODEID), ed25519 id (ntor v3 ID), the
 * current ntor key and, within its week of grace, the previous one
 * (secret_onion_key_ntor.old, tor's rule). */
static void
circ_keys_from(circ_relay_keys_t *ck, const relay_keys_t *k,
               const char *datadir)
{
  memset(ck, 0, sizeof(*ck));
  memcpy(ck->rsa_id, relay_keys_identity_digest(k), 20);
  ck->ntor = *relay_keys_onion_ntor(k);
  memcpy(ck->ed_id, relay_keys_master_public(k)->pubkey, 32);
  ck->has_ed_id = true;
  if (datadir && relay_keys_load_prev_ntor(datadir, time(NULL),
                                           RELAY_KEYS_ONION_GRACE,
                                           &ck->ntor_old) == 0)
    ck->has_old = true;
}

static int
count_workers(int num_cpus)
{
  long n = num_cpus > 0 ? num_cpus : sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1)
    n = 1;
  return n > 16 ? 16 : (int)n;
}

/* ---- congestion control (proposal 324) ---- */

static int32_t
cc_param_get(void *arg, const char *name, int32_t def, int32_t min,
             int32_t max)
{
  return nodelist_get_param(arg, name, def, min, max);
}

/* The consensus's cc_* parameters (tor's defaults before one): the onion
 * workers answer an ntor v3 CC_REQUEST with CC_RESPONSE(cc_sendme_inc)
 * unless cc_alg is 0, and the engine gives such circuits a congestion
 * window with these parameters (proposal 324 4, 6.5). */
static void
relay_run_cc_refresh(relay_run_t *rr)
{
  const nodelist_t *nl = rr->pub ? relay_publish_nodelist(rr->pub) : NULL;
  bool have = nl && nodelist_get_consensus(nl);
  cc_params_t p;
  cc_params_load(&p, have ? cc_param_get : NULL, (void *)nl);
  if (rr->cc_applied && !memcmp(&p, &rr->cc_last, sizeof(p)))
    return;
  rr->cc_last = p;
  rr->cc_applied = true;
  onion_server_params_t op = { 0 };
  if (p.alg != CC_ALG_FIXED)
    op.cc_sendme_inc = (uint8_t)p.sendme_inc;
  onion_workers_set_params(rr->workers, &op);
  cellswitch_set_cc_params(rr->sw, &p);
  if (op.cc_sendme_inc)
    log_notice("Congestion control for circuits ending here: offered to "
               "clients that ask (Vegas, sendme_inc %d, cwnd_init %d, "
               "%s).", p.sendme_inc, p.cwnd_init,
               have ? "consensus parameters" : "defaults until a consensus");
  else
    log_notice("Congestion control for circuits ending here: off "
               "(cc_alg=0 in the consensus).");
}

/* ---- DoS defences (relay_dos.c, core/dos) ---- */

/* Resolve the options against the consensus we know (if any) and apply;
 * a new consensus also renews the exempt relay addresses. */
static void
relay_run_dos_refresh(relay_run_t *rr)
{
  const nodelist_t *nl = rr->pub ? relay_publish_nodelist(rr->pub) : NULL;
  const consensus_t *c = nl ? nodelist_get_consensus(nl) : NULL;
  dos_params_t p;
  relay_run_cc_refresh(rr);
  relay_hs_run_refresh(rr);
  relay_dos_resolve_nodelist(&rr->dos_opts, c ? nl : NULL, &p);
  if (memcmp(&p, &rr->dos_last, sizeof(p))) {
    memcpy(&rr->dos_last, &p, sizeof(p));
    dos_set_params(rr->dos, &p);
    log_notice("DoS defences: circuit creation %s (rate %u/s, burst %u, min "
               "%u connections, type %u, %u s), connections %s (max %u, type "
               "%u, rate %u/s, burst %u, %u s), streams %s (rate %u/s, burst "
               "%u, type %u), single-hop rendezvous %s.",
               p.cc_enabled ? "on" : "off", p.cc_rate, p.cc_burst,
               p.cc_min_conns, p.cc_defense_type, p.cc_period_sec,
               p.conn_enabled ? "on" : "off", p.conn_max_concurrent,
               p.conn_defense_type, p.conn_connect_rate, p.conn_connect_burst,
               p.conn_connect_period_sec, p.stream_enabled ? "on" : "off",
               p.stream_rate, p.stream_burst, p.stream_defense_type,
               p.refuse_single_hop_rend ? "refused" : "allowed");
  }
  if (c && c->valid_after != rr->dos_consensus_va) {
    rr->dos_consensus_va = c->valid_after;
    size_t n = relay_dos_set_relays_from(rr->dos, nl);
    log_info("DoS defences: %zu relay addresses from the consensus are "
             "exempt.", n);
  }
}

static void
dos_timer_cb(int what, void *arg)
{
  (void)what;
  relay_run_dos_refresh(arg);
}

static void
relay_run_dos_init(relay_run_t *rr, const relay_dos_options_t *o)
{
  dos_params_t p;
  rr->dos_opts = *o;
  relay_dos_resolve(o, NULL, NULL, &p);
  memcpy(&rr->dos_last, &p, sizeof(p));
  rr->dos = dos_new(&p);
  cellswitch_set_dos(rr->sw, rr->dos);
}

void
relay_run_set_dos_options(relay_run_t *rr, const relay_dos_options_t *o)
{
  rr->dos_opts = *o;
  relay_run_dos_refresh(rr);
}

dos_t *
relay_run_dos(relay_run_t *rr)
{
  return rr->dos;
}

relay_run_t *
relay_run_new(struct event_base *base, const relay_run_config_t *cfg,
              char **errmsg)
{
  relay_run_t *rr = al_calloc(1, sizeof(*rr));
  rr->base = base;
  rr->keys = cfg->keys;
  rr->nickname = al_strdup(cfg->nickname ? cfg->nickname : "Unnamed");
  rr->heartbeat_sec = cfg->heartbeat_sec;
  rr->assume_reachable = cfg->assume_reachable;
  rr->n_workers = count_workers(cfg->num_cpus);
  rr->datadir = cfg->datadir ? al_strdup(cfg->datadir) : NULL;
  if (relay_ports_parse(cfg->orport, &rr->ports, errmsg) < 0 ||
      relay_address_parse(cfg->address, cfg->address_disable_ipv6,
                          &rr->addr, errmsg) < 0)
    goto fail;
  if (!rr->ports.n) {
    *errmsg = al_strdup("no ORPort to run a relay on");
    goto fail;
  }
  rr->lk = link_keys_from(cfg->keys, time(NULL));
  rr->client_tls = tls_context_new_client();
  if (!rr->lk || !rr->client_tls) {
    *errmsg = al_strdup("cannot build the TLS context and link "
                        "certificates");
    goto fail;
  }
  cellswitch_config_t sc;
  memset(&sc, 0, sizeof(sc));
  circ_keys_from(&sc.keys, cfg->keys, cfg->datadir);
  sc.server_tls = link_keys_tls(rr->lk);
  sc.creds = link_keys_creds(rr->lk);
  sc.client_tls = rr->client_tls;
  my_addrs_from(&sc, rr);
  sc.extend_allow_private = cfg->extend_allow_private;
  if (cfg->dircache) {
    rr->dirserve = relay_dirserve_new(cfg->cachedir);
    sc.hooks.dir_request = relay_dirserve_hook;
  }
  /* Introduction and rendezvous point (relay_hs_run.c). */
  sc.hooks.on_relay_msg = relay_hs_run_on_relay_msg;
  sc.hooks.on_circ_closed = relay_hs_run_on_circ_closed;
  sc.hooks.arg = rr;
  rr->sw = cellswitch_new(base, &sc);
  /* CREATE2 / CREATE_FAST answered on NumCPUs threads (tor's cpuworkers). */
  onion_workers_cfg_t wc = { base, (unsigned)rr->n_workers, 0, 0 };
  rr->workers = onion_workers_new(&wc, &sc.keys);
  memwipe(&sc, sizeof(sc));
  if (!rr->sw || !rr->workers) {
    *errmsg = al_strdup("cannot start the cell engine or its onion "
                        "workers");
    goto fail;
  }
  cellswitch_set_workers(rr->sw, rr->workers);
  if (relay_hs_run_init(rr) < 0) {
    *errmsg = al_strdup("cannot set up the onion-service relay roles");
    goto fail;
  }
  relay_run_dos_init(rr, &cfg->dos);
  relay_run_cc_refresh(rr);
  if (relay_listen_open(rr, errmsg) < 0)
    goto fail;
  return rr;
fail:
  relay_run_free(rr);
  return NULL;
}

static void
heartbeat_cb(int what, void *arg)
{
  (void)what;
  relay_run_log_heartbeat(arg);
}

/* Descriptor publishing hand-over: the publisher (relay_publish.c, set by
 * app_relay.c through relay_run_set_publisher()) runs the relay's
 * directory view, the descriptor upload and the consensus check. */
static void
relay_run_publish_seam(relay_run_t *rr)
{
  /* Feed the BEGIN_DIR cache from the relay's directory view, before the
   * bootstrap starts. */
  if (rr->dirserve)
    relay_run_set_dir_document_cb(rr, dircache_on_document,
                                  relay_dirserve_cache(rr));
  if (!rr->pub) {
    log_notice("Not publishing a server descriptor: no publisher was set up.");
    return;
  }
  if (relay_publish_start(rr->pub) < 0)
    log_warn("Couldn't start publishing our server descriptor.");
}

int
relay_run_start(relay_run_t *rr)
{
  rr->start_msec = evloop_monotonic_msec();
  if (relay_listen_enable(rr) < 0)
    return -1;
  if (cellswitch_watch_memory(rr->sw) < 0)
    log_warn("MaxMemInQueues: couldn't watch the relay's queues; they are "
             "bounded by their per-circuit cap only.");
  relay_link_rotate_start(rr);
  if (rr->heartbeat_sec > 0)
    rr->heartbeat = evloop_timer_add((uint32_t)rr->heartbeat_sec * 1000u, 1,
                                     heartbeat_cb, rr);
  log_notice("Relay %s is up with %d onion-handshake worker thread%s.",
             rr->nickname, rr->n_workers, rr->n_workers == 1 ? "" : "s");
  relay_dirserve_start(rr->dirserve);
  relay_run_publish_seam(rr);
  /* Consensus parameters and relay addresses, re-read every 10 s. */
  relay_run_dos_refresh(rr);
  rr->dos_timer = evloop_timer_add(10 * 1000u, 1, dos_timer_cb, rr);
  return 0;
}

void
relay_run_free_(relay_run_t *rr)
{
  if (!rr)
    return;
  relay_publish_free(rr->pub);
  relay_link_rotate_stop(rr);
  evloop_handle_free(rr->heartbeat);
  evloop_handle_free(rr->dos_timer);
  relay_listen_close(rr);
  cellswitch_free(rr->sw);     /* cancels the pending requests */
  relay_hs_free(rr->hs);       /* after the engine (no hooks then) */
  dos_free(rr->dos);           /* after the engine that used it */
  exit_free(rr->exit);         /* after the engine: its circuits close
                                * their exit streams through the hooks */
  onion_workers_free(rr->workers);
  relay_dirserve_free(rr->dirserve);
  link_keys_free(rr->lk);
  link_keys_free(rr->old_lk);
  tls_context_free(rr->client_tls);
  relay_ports_clear(&rr->ports);
  al_free(rr->nickname);
  al_free(rr->datadir);
  al_free(rr);
}

/* "1 day 2:03 hours" / "2:03 hours", as tor words uptime. */
static void
format_uptime(char *buf, size_t len, uint64_t sec)
{
  uint64_t d = sec / 86400, h = sec % 86400 / 3600, m = sec % 3600 / 60;
  if (d)
    snprintf(buf, len, "%llu day%s %llu:%02llu hours", (unsigned long long)d,
             d == 1 ? "" : "s", (unsigned long long)h, (unsigned long long)m);
  else
    snprintf(buf, len, "%llu:%02llu hours", (unsigned long long)h,
             (unsigned long long)m);
}

char *
relay_run_format_heartbeat(char *buf, size_t len, uint64_t uptime_sec,
                           size_t n_circuits, uint64_t bytes_sent,
                           uint64_t bytes_received)
{
  char up[64];
  format_uptime(up, sizeof(up), uptime_sec);
  snprintf(buf, len, "Heartbeat: allium's uptime is %s, with %zu circuit%s "
           "open. I've sent %.2f MB and received %.2f MB.", up, n_circuits,
           n_circuits == 1 ? "" : "s", (double)bytes_sent / 1e6,
           (double)bytes_received / 1e6);
  return buf;
}

void
relay_run_log_heartbeat(relay_run_t *rr)
{
  cellswitch_stats_t s;
  char line[256];
  cellswitch_get_stats(rr->sw, &s);
  uint64_t up = (evloop_monotonic_msec() - rr->start_msec) / 1000;
  /* Cell bytes on the wire (514 per cell; TLS framing not counted). */
  relay_run_format_heartbeat(line, sizeof(line), up, s.n_circuits,
                             s.cells_out * 514, s.cells_in * 514);
  log_notice("%s", line);
  log_info("Heartbeat: %zu channels (%zu open), %llu circuits created "
           "(ntor %llu, ntor v3 %llu, CREATE_FAST %llu), %llu "
           "CREATE refused, %llu extends, %llu cells for unknown circuits.",
           s.n_channels, s.n_channels_open,
           (unsigned long long)s.circuits_created,
           (unsigned long long)s.created_ntor,
           (unsigned long long)s.created_ntor_v3,
           (unsigned long long)s.created_fast,
           (unsigned long long)s.creates_refused,
           (unsigned long long)s.extends,
           (unsigned long long)s.unknown_circ_cells);
  /* Back-pressure counters: a stalled transfer shows up here first. */
  log_info("Heartbeat: %zu cells queued (%zu pooled), %llu channel read "
           "pauses (%llu ended by the time limit), %llu output-buffer "
           "blocks, %llu circuits closed for a full queue, %llu by the "
           "memory limit.", s.cells_queued, s.cells_pooled,
           (unsigned long long)s.reads_paused,
           (unsigned long long)s.pauses_overridden,
           (unsigned long long)s.outbuf_blocked,
           (unsigned long long)s.queue_overflows,
           (unsigned long long)s.oom_circuits_closed);
  if (s.cc_circuits)
    log_notice("Heartbeat: congestion control negotiated on %llu circuits "
               "ending here; the closed ones sent %llu and received %llu "
               "DATA cells, got %llu and sent %llu circuit SENDMEs.",
               (unsigned long long)s.cc_circuits,
               (unsigned long long)s.cc_data_sent,
               (unsigned long long)s.cc_data_received,
               (unsigned long long)s.cc_sendmes_received,
               (unsigned long long)s.cc_sendmes_sent);
  relay_dirserve_log_heartbeat(rr->dirserve, &s);
  relay_dos_log_heartbeat(rr->dos);
  relay_hs_run_log_heartbeat(rr);
  relay_run_log_exit(rr);
}

/* ---- SIGHUP (app_relay.c: app_relay_reconfigure()) ---- */

bool
relay_run_set_nickname(relay_run_t *rr, const char *nickname)
{
  const char *n = nickname ? nickname : "Unnamed";
  if (!strcmp(rr->nickname, n))
    return false;
  al_free(rr->nickname);
  rr->nickname = al_strdup(n);
  return true;
}

void
relay_run_set_heartbeat(relay_run_t *rr, int heartbeat_sec)
{
  if (heartbeat_sec == rr->heartbeat_sec)
    return;
  rr->heartbeat_sec = heartbeat_sec;
  if (!rr->start_msec)
    return;   /* not started: relay_run_start() sets the timer */
  evloop_handle_free(rr->heartbeat);
  if (heartbeat_sec > 0)
    rr->heartbeat = evloop_timer_add((uint32_t)heartbeat_sec * 1000u, 1,
                                     heartbeat_cb, rr);
}

void
relay_run_keys_changed(relay_run_t *rr, const relay_keys_t *keys)
{
  circ_relay_keys_t ck;
  rr->keys = keys;
  circ_keys_from(&ck, keys, rr->datadir);
  cellswitch_set_keys(rr->sw, &ck);   /* and the worker pool's */
  memwipe(&ck, sizeof(ck));
  log_info("Circuit keys replaced (onion-key rotation).");
}

cellswitch_t *
relay_run_switch(relay_run_t *rr)
{
  return rr->sw;
}

const relay_ports_t *
relay_run_ports(const relay_run_t *rr)
{
  return &rr->ports;
}

const relay_address_t *
relay_run_address(const relay_run_t *rr)
{
  return &rr->addr;
}

int
relay_run_n_workers(const relay_run_t *rr)
{
  return rr->n_workers;
}

/* ---- directory presence (relay_publish.c) ---- */

const relay_keys_t *
relay_run_keys(const relay_run_t *rr)
{
  return rr->keys;
}

const char *
relay_run_nickname(const relay_run_t *rr)
{
  return rr->nickname;
}

void
relay_run_set_publisher(relay_run_t *rr, struct relay_publish_t *pub)
{
  relay_publish_free(rr->pub);
  rr->pub = pub;
  if (pub && rr->doc_fn)
    dir_boot_set_document_cb(relay_publish_dir_boot(pub), rr->doc_fn,
                             rr->doc_arg);
}

void
relay_run_set_dir_document_cb(relay_run_t *rr, dir_boot_document_fn fn,
                              void *arg)
{
  rr->doc_fn = fn;
  rr->doc_arg = arg;
  if (rr->pub)
    dir_boot_set_document_cb(relay_publish_dir_boot(rr->pub), fn, arg);
}

dir_boot_t *
relay_run_dir_boot(relay_run_t *rr)
{
  return relay_publish_dir_boot(rr->pub);
}

nodelist_t *
relay_run_nodelist(relay_run_t *rr)
{
  return relay_publish_nodelist(rr->pub);
}

/* ---- exit (feature/exit) ---- */

int
relay_run_enable_exit(relay_run_t *rr, const policy_t *policy,
                      bool ipv6_exit, const exit_resolver_t *resolver)
{
  if (rr->exit || !policy)
    return -1;
  exit_cfg_t ec;
  memset(&ec, 0, sizeof(ec));
  ec.policy = policy;
  ec.ipv6_exit = ipv6_exit;
  ec.resolver = resolver;
  rr->exit = exit_new(rr->base, rr->sw, &ec);
  return rr->exit ? 0 : -1;
}

struct exit_t *
relay_run_exit(relay_run_t *rr)
{
  return rr ? rr->exit : NULL;
}

size_t
relay_run_own_addrs(const relay_run_t *rr, policy_addr_t *out)
{
  size_t n = 0;
  const relay_port_t *v4 = relay_ports_advertised(&rr->ports, 4);
  const relay_port_t *v6 = relay_ports_advertised(&rr->ports, 6);
  static const uint8_t zero[16];
  memset(out, 0, 2 * sizeof(*out));
  if (rr->addr.has_v4 || (v4 && memcmp(v4->addr, zero, 4))) {
    out[n].family = 4;
    memcpy(out[n++].addr, rr->addr.has_v4 ? rr->addr.v4 : v4->addr, 4);
  }
  if (rr->addr.has_v6 || (v6 && memcmp(v6->addr, zero, 16))) {
    out[n].family = 6;
    memcpy(out[n++].addr, rr->addr.has_v6 ? rr->addr.v6 : v6->addr, 16);
  }
  return n;
}

static void
relay_run_log_exit(relay_run_t *rr)
{
  if (!rr->exit)
    return;
  exit_stats_t x;
  exit_get_stats(rr->exit, &x);
  log_notice("Heartbeat: exit: %llu BEGIN (%llu connected, %llu refused by "
             "the exit policy, %llu from clients' circuits, %llu names not "
             "resolved, %llu connects failed), %llu RESOLVE (%llu "
             "answered), %zu streams open, %llu bytes to the network and "
             "%llu from it.",
             (unsigned long long)x.begins, (unsigned long long)x.connected,
             (unsigned long long)x.refused_policy,
             (unsigned long long)x.refused_client,
             (unsigned long long)x.resolve_failed,
             (unsigned long long)x.connect_failed,
             (unsigned long long)x.resolves, (unsigned long long)x.resolved,
             x.open_streams, (unsigned long long)x.bytes_to_net,
             (unsigned long long)x.bytes_from_net);
}
