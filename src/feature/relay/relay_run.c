/* relay_run.c -- the relay role at run time: credentials (the TLS server
 * context with a fresh RSA-2048 link key, and CERTS types 2, 4, 5, 7 --
 * tor-spec 4.2, cert-spec 2.1/2.3), the cell engine, link-certificate
 * rotation before expiry, the heartbeat (tor(1) HeartbeatPeriod) and the
 * hand-over to descriptor publishing.  Listeners are in relay_listen.c.
 * See include/allium/feature/relay/relay_run.h. */
#define LOG_MODULE "relay"
#include "allium/feature/relay/relay_run.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "allium/core/channel/link_handshake.h"
#include "allium/core/channel/torcert.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "relay_run_st.h"

/** Rotate the link key and its certificates this long before they expire
 * (they live TLS_LINK_CERT_LIFETIME, two days). */
#define RELAY_LINK_ROTATE_SEC (TLS_LINK_CERT_LIFETIME / 2)
/** The RSA->ed25519 crosscert lives as long as tor makes it. */
#define RELAY_CROSSCERT_LIFETIME (365 * 24 * 3600)

static void
gen_free(relay_creds_gen_t *g)
{
  if (!g)
    return;
  tls_context_free(g->tls);
  al_free(g->link_cert);
  al_free(g->crosscert);
  al_free(g);
}

/* A TLS server context and the certificates that go with it. */
static relay_creds_gen_t *
gen_new(const relay_keys_t *k, time_t now)
{
  relay_creds_gen_t *g = al_calloc(1, sizeof(*g));
  size_t len;
  g->tls = tls_context_new_server(relay_keys_identity_rsa(k), 2048, now,
                                  TLS_LINK_CERT_LIFETIME);
  if (!g->tls)
    goto fail;
  const uint8_t *der = tls_context_link_cert_der(g->tls, &len);
  if (link_make_tls_link_cert(&g->link_cert, &g->link_cert_len,
                              relay_keys_signing_keypair(k), der, len, now,
                              TLS_LINK_CERT_LIFETIME) < 0)
    goto fail;
  if (rsa_crosscert_create(&g->crosscert, &g->crosscert_len,
                           relay_keys_master_public(k),
                           relay_keys_identity_rsa(k), now,
                           RELAY_CROSSCERT_LIFETIME) < 0)
    goto fail;
  g->creds.id_cert = tls_context_id_cert_der(g->tls, &g->creds.id_cert_len);
  g->creds.signing_cert =
    relay_keys_signing_cert_encoded(k, &g->creds.signing_cert_len);
  g->creds.link_cert = g->link_cert;
  g->creds.link_cert_len = g->link_cert_len;
  g->creds.crosscert = g->crosscert;
  g->creds.crosscert_len = g->crosscert_len;
  if (!g->creds.id_cert || !g->creds.signing_cert)
    goto fail;
  return g;
fail:
  gen_free(g);
  return NULL;
}

static void
circ_keys_from(circ_relay_keys_t *ck, const relay_keys_t *k)
{
  memset(ck, 0, sizeof(*ck));
  memcpy(ck->rsa_id, relay_keys_identity_digest(k), 20);
  ck->ntor = *relay_keys_onion_ntor(k);
  /* TODO(desc): the previous ntor key once onion-key rotation exists
   * (ck->has_old / ck->ntor_old). */
}

static int
count_workers(int num_cpus)
{
  long n = num_cpus > 0 ? num_cpus : sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1)
    n = 1;
  return n > 16 ? 16 : (int)n;
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
  if (relay_ports_parse(cfg->orport, &rr->ports, errmsg) < 0 ||
      relay_address_parse(cfg->address, cfg->address_disable_ipv6,
                          &rr->addr, errmsg) < 0)
    goto fail;
  if (!rr->ports.n) {
    *errmsg = al_strdup("no ORPort to run a relay on");
    goto fail;
  }
  rr->gen = gen_new(cfg->keys, time(NULL));
  rr->client_tls = tls_context_new_client();
  if (!rr->gen || !rr->client_tls) {
    *errmsg = al_strdup("cannot build the TLS context and link "
                        "certificates");
    goto fail;
  }
  cellswitch_config_t sc;
  memset(&sc, 0, sizeof(sc));
  circ_keys_from(&sc.keys, cfg->keys);
  sc.server_tls = rr->gen->tls;
  sc.creds = &rr->gen->creds;
  sc.client_tls = rr->client_tls;
  sc.extend_allow_private = cfg->extend_allow_private;
  if (cfg->dircache) {
    rr->dirserve = relay_dirserve_new(cfg->datadir);
    sc.hooks.dir_request = relay_dirserve_hook;
    sc.hooks.arg = rr;
  }
  /* TODO(circ): sc.hooks.answer_create -> onion_workers with n_workers
   * threads, then cellswitch_create_answered() from the reply queue. */
  rr->sw = cellswitch_new(base, &sc);
  memwipe(&sc, sizeof(sc));
  if (!rr->sw) {
    *errmsg = al_strdup("cannot start the cell engine");
    goto fail;
  }
  if (relay_listen_open(rr, errmsg) < 0)
    goto fail;
  return rr;
fail:
  relay_run_free(rr);
  return NULL;
}

/* Every RELAY_LINK_ROTATE_SEC: a new link key and certificates for new
 * channels.  The generation before stays until the next rotation (channels
 * in their handshake still read its certificates; OpenSSL keeps the
 * context of established sessions alive by itself). */
static void
rotate_link(int what, void *arg)
{
  relay_run_t *rr = arg;
  (void)what;
  relay_creds_gen_t *g = gen_new(rr->keys, time(NULL));
  if (!g) {
    log_warn("Couldn't rotate the link key; keeping the current one.");
    return;
  }
  gen_free(rr->old_gen);
  rr->old_gen = rr->gen;
  rr->gen = g;
  cellswitch_set_server_creds(rr->sw, g->tls, &g->creds);
  log_info("Rotated the TLS link key and its certificates.");
}

static void
heartbeat_cb(int what, void *arg)
{
  (void)what;
  relay_run_log_heartbeat(arg);
}

/* Descriptor publishing hand-over.
 * TODO(desc): the coordinator wires router_desc / desc_publish here: build
 * the server descriptor from relay_run_ports(), relay_run_address(), the
 * keys and the engine's counters, upload it to every authority and
 * republish on schedule.  Until then the relay serves circuits but no
 * client can find it through a consensus -- said once, at notice. */
static void
relay_run_publish_seam(relay_run_t *rr)
{
  (void)rr;
  log_notice("Not publishing a server descriptor: descriptor upload is not "
             "built into this version yet.");
}

int
relay_run_start(relay_run_t *rr)
{
  rr->start_msec = evloop_monotonic_msec();
  if (relay_listen_enable(rr) < 0)
    return -1;
  if (cellswitch_watch_memory(rr->sw) < 0)
    log_info("MaxMemInQueues: the client's pass holds the memory callback; "
             "relay queues are bounded by their per-circuit cap.");
  rr->rotate = evloop_timer_add(RELAY_LINK_ROTATE_SEC * 1000u, 1,
                                rotate_link, rr);
  if (rr->heartbeat_sec > 0)
    rr->heartbeat = evloop_timer_add((uint32_t)rr->heartbeat_sec * 1000u, 1,
                                     heartbeat_cb, rr);
  log_notice("Relay %s is up with %d onion-handshake worker%s planned%s.",
             rr->nickname, rr->n_workers, rr->n_workers == 1 ? "" : "s",
             rr->assume_reachable ? "" :
             " (the ORPort reachability self-test is not built in yet: "
             "assuming reachable)");
  relay_dirserve_start(rr->dirserve);
  relay_run_publish_seam(rr);
  return 0;
}

void
relay_run_free_(relay_run_t *rr)
{
  if (!rr)
    return;
  evloop_handle_free(rr->rotate);
  evloop_handle_free(rr->heartbeat);
  relay_listen_close(rr);
  cellswitch_free(rr->sw);
  relay_dirserve_free(rr->dirserve);
  gen_free(rr->gen);
  gen_free(rr->old_gen);
  tls_context_free(rr->client_tls);
  relay_ports_clear(&rr->ports);
  al_free(rr->nickname);
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
  log_info("Heartbeat: %zu channels (%zu open), %llu circuits created, %llu "
           "CREATE refused, %llu extends, %llu cells for unknown circuits.",
           s.n_channels, s.n_channels_open,
           (unsigned long long)s.circuits_created,
           (unsigned long long)s.creates_refused,
           (unsigned long long)s.extends,
           (unsigned long long)s.unknown_circ_cells);
  relay_dirserve_log_heartbeat(rr->dirserve, &s);
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
