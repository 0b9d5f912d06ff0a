/* client.c -- the client object: configuration (tor(1) SocksPort,
 * HTTPTunnelPort, UseEntryGuards, CircuitBuildTimeout, CircuitStreamTimeout,
 * SocksTimeout, MaxCircuitDirtiness, LongLivedPorts), the guard state file
 * (guard-spec A.5), the housekeeping timer, directory-info changes
 * (guard-spec 4.10 "whenever a new consensus arrives") and status logging.
 */
#include <string.h>

#include <event2/event.h>

#define LOG_MODULE "client"
#include "allium/feature/hs_client/hs_client_fetch.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/evloop/evloop.h"
#include "client_hs_svc.h"
#include "client_st.h"

uint64_t
client_now_msec(void)
{
  return evloop_monotonic_msec();
}

void
client_iso_copy(client_iso_t *dst, const proxy_iso_attrs_t *src)
{
  memset(dst, 0, sizeof(*dst));
  dst->a = *src;
  if (src->auth1_len) {
    dst->auth1 = al_memdup(src->auth1, src->auth1_len);
    dst->a.auth1 = dst->auth1;
  } else {
    dst->a.auth1 = NULL;
  }
  if (src->auth2_len) {
    dst->auth2 = al_memdup(src->auth2, src->auth2_len);
    dst->a.auth2 = dst->auth2;
  } else {
    dst->a.auth2 = NULL;
  }
  dst->dest = al_strdup(src->dest_addr ? src->dest_addr : "");
  dst->a.dest_addr = dst->dest;
}

void
client_iso_clear(client_iso_t *iso)
{
  if (iso->auth1)
    al_free_secret(iso->auth1, iso->a.auth1_len);
  if (iso->auth2)
    al_free_secret(iso->auth2, iso->a.auth2_len);
  al_free(iso->dest);
  memset(iso, 0, sizeof(*iso));
}

void
client_save_guards(client_t *c)
{
  if (!c->gs || !c->state_file)
    return;
  char *enc = guards_state_encode(c->gs);
  if (!enc)
    return;
  if (c->guard_state_saved && !strcmp(enc, c->guard_state_saved)) {
    al_free(enc);
    return;
  }
  int r = guards_state_write_file(c->gs, c->state_file);
  if (r != 0) {
    log_warn("Could not write the guard state to %s (error %d)",
             c->state_file, r);
    al_free(enc);
    return;
  }
  log_info("Saved the guard state");
  al_free(c->guard_state_saved);
  c->guard_state_saved = enc;
}

static void
client_tick_cb(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  client_t *c = arg;
  client_conns_tick(c);
  hs_client_fetcher_tick(c->hs_fetch, client_now_msec());
  client_hs_tick(c);
  client_hs_svc_tick(c);
  if (c->enough_dirinfo)
    client_circ_maintain(c);
  client_attach_waiting(c);
  client_circ_sweep(c);
  client_listeners_sweep(c);
  client_ctl_tick(c);
}

static void
client_copy_cfg(client_t *c, const client_cfg_t *cfg)
{
  c->base = cfg->base;
  c->cm = cfg->cm;
  c->nl = cfg->nl;
  c->path_opts = cfg->path_opts;
  c->state_file = cfg->state_file ? al_strdup(cfg->state_file) : NULL;
  c->use_entry_guards = cfg->use_entry_guards;
  c->vanguards_lite = !cfg->no_vanguards_lite;
  c->build_timeout_msec = cfg->circuit_build_timeout_msec
    ? cfg->circuit_build_timeout_msec : 60000;
  c->stream_timeout_msec = cfg->stream_timeout_msec
    ? cfg->stream_timeout_msec : 10000;
  c->socks_timeout_msec = cfg->socks_timeout_msec
    ? cfg->socks_timeout_msec : 120000;
  c->max_dirtiness_sec = cfg->max_dirtiness_sec ? cfg->max_dirtiness_sec : 600;
  c->handshake_timeout_msec = CLIENT_HANDSHAKE_TIMEOUT_MSEC;
  if (cfg->n_long_lived_ports && cfg->long_lived_ports) {
    c->long_lived = al_memdup(cfg->long_lived_ports,
                              cfg->n_long_lived_ports * sizeof(uint16_t));
    c->n_long_lived = cfg->n_long_lived_ports;
  }
  c->conn_limit = cfg->conn_limit > 0 ? cfg->conn_limit : 4096;
  c->socks_policy = cfg->socks_policy;
  c->socks_safety = cfg->socks_safety;
  c->testing_network = cfg->testing_network;
  c->hs_single_onion = cfg->onion_services_single_hop;
  c->leave_unattached = cfg->leave_streams_unattached;
  client_addrmap_set_config(c, cfg->map_address);
  c->auth_dir = cfg->onion_auth;
  c->auth_dir_path = cfg->onion_auth_dir ? al_strdup(cfg->onion_auth_dir)
                                         : NULL;
}

static void
client_copy_ports(client_t *c, const client_cfg_t *cfg)
{
  c->n_listeners = cfg->n_ports;
  if (!cfg->n_ports)
    return;
  c->listeners = al_calloc(cfg->n_ports, sizeof(client_listener_t *));
  for (size_t i = 0; i < cfg->n_ports; i++)
    c->listeners[i] = client_listener_new(c, &cfg->ports[i]);
}

client_t *
client_new(const client_cfg_t *cfg)
{
  if (!cfg || !cfg->base || !cfg->nl || (cfg->n_ports && !cfg->ports))
    return NULL;
  client_t *c = al_calloc(1, sizeof(*c));
  client_predict_init(&c->predict, client_now_msec());
  client_copy_cfg(c, cfg);
  client_copy_ports(c, cfg);
  c->next_circ_num = 1;
  c->next_conn_num = 1;
  c->gs = guard_selection_new("default");
  if (c->state_file) {
    int r = guards_state_read_file(c->gs, c->state_file);
    if (r < 0)
      log_warn("Could not read the guard state from %s (error %d)",
               c->state_file, r);
    else if (r > 0)
      log_warn("Skipped %d malformed Guard lines in %s", r, c->state_file);
    c->guard_state_saved = guards_state_encode(c->gs);
  }
  if (cfg->cm) {
    hs_client_fetch_cfg_t hc;
    memset(&hc, 0, sizeof(hc));
    hc.cm = cfg->cm;
    hc.nl = cfg->nl;
    hc.testing_network = cfg->testing_network;
    hc.auth = cfg->onion_auth;
    hc.launch = client_circ_launch_hs_fetch;
    hc.launch_arg = c;
    hc.path_opts = &c->path_opts;
    hc.observe = client_ctl_fetch_observe;
    hc.observe_arg = c;
    c->hs_fetch = hs_client_fetcher_new(&hc);
  }
  if (cfg->onion_services &&
      client_hs_svc_start(c, cfg->onion_services) < 0) {
    client_free(c);
    return NULL;
  }
  c->tick = event_new(c->base, -1, EV_PERSIST, client_tick_cb, c);
  struct timeval tv = { 0, CLIENT_TICK_MSEC * 1000 };
  if (!c->tick || event_add(c->tick, &tv) != 0) {
    client_free(c);
    return NULL;
  }
  return c;
}

int
client_open_listeners(client_t *c, char **err)
{
  if (err)
    *err = NULL;
  if (!c)
    return -1;
  for (size_t i = 0; i < c->n_listeners; i++) {
    client_listener_t *l = c->listeners[i];
    if (l->cfg.disabled || l->lev)
      continue;
    if (client_listener_open(l, err) != 0)
      return -1;
  }
  return 0;
}

uint16_t
client_listener_port(const client_t *c, size_t i)
{
  if (!c || i >= c->n_listeners || !c->listeners[i]->lev)
    return 0;
  return c->listeners[i]->bound_port;
}

void
client_dirinfo_changed(client_t *c, bool enough)
{
  if (!c)
    return;
  if (!enough) {
    log_info("Directory information not enough to build circuits yet");
    return;
  }
  if (!c->enough_dirinfo)
    log_info("We have enough directory information to build circuits");
  c->enough_dirinfo = true;
  client_ctl_guard_update(c, time(NULL));
  client_circ_vanguards_refresh(c);
  client_save_guards(c);
  client_circ_maintain(c);
  client_attach_waiting(c);
  client_hs_svc_dirinfo(c);
}

void
client_log_status(const client_t *c)
{
  if (!c)
    return;
  size_t built = client_circ_count(c, true, false);
  size_t all = client_circ_count(c, false, false);
  size_t streams = 0, waiting = 0;
  for (const client_conn_t *k = c->conns; k; k = k->next) {
    if (k->state == CONN_OPEN || k->state == CONN_CONNECTING ||
        k->state == CONN_RESOLVING)
      streams++;
    else if (k->state == CONN_WAIT_CIRC)
      waiting++;
  }
  log_notice("Client: %zu circuits open, %zu building; %zu streams, %zu "
             "waiting for a circuit; %llu bytes from the network, %llu "
             "bytes sent", built, all - built, streams, waiting,
             (unsigned long long)c->bytes_in,
             (unsigned long long)c->bytes_out);
  client_hs_svc_log_status(c);
}

void
client_set_onion_auth(client_t *c, const struct hs_auth_store_t *auth)
{
  if (!c || !c->hs_fetch)
    return;
  c->auth_dir = auth;
  client_ctl_onion_auth_apply(c);
  hs_client_cache_clear_failures(hs_client_fetcher_cache(c->hs_fetch));
}

void
client_set_handshake_timeout(client_t *c, uint32_t msec)
{
  if (c)
    c->handshake_timeout_msec = msec;
}

size_t
client_n_conns(const client_t *c)
{
  size_t n = 0;
  for (const client_conn_t *k = c ? c->conns : NULL; k; k = k->next)
    n++;
  return n;
}

size_t
client_n_circuits(const client_t *c)
{
  return c ? client_circ_count(c, false, false) : 0;
}

void
client_free_(client_t *c)
{
  if (!c)
    return;
  client_ctl_detach(c);
  if (c->tick)
    event_free(c->tick);
  client_conn_close_all(c);
  client_hs_free_all(c);
  client_hs_svc_free_all(c);
  hs_client_fetcher_free(c->hs_fetch);
  client_listeners_free_all(c);
  client_circ_close_all(c);
  client_hs_free_routes(c);
  client_ctl_shims_free(c);
  client_save_guards(c);
  guard_selection_free(c->gs);
  client_addrmap_free_all(c);
  al_free(c->guard_state_saved);
  al_free(c->state_file);
  al_free(c->auth_dir_path);
  al_free(c->long_lived);
  al_free(c);
}
