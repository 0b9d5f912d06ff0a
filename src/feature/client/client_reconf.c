/* client_reconf.c -- applying a reloaded configuration to a running client
 * (tor(1) SIGNALS: SIGHUP reloads the configuration): SocksPort /
 * HTTPTunnelPort listeners kept, closed or opened by their binding, the
 * new port flags, SocksPolicy, timeouts, and new node restrictions, after
 * which circuits built under the old rules take no new streams.  Also the
 * life cycle of listener objects (a removed listener lives on, closed,
 * while connections accepted on it remain).
 */
#include <string.h>
#include <time.h>

#define LOG_MODULE "client"
#include "allium/core/cell/circ_cells.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "client_st.h"

client_listener_t *
client_listener_new(client_t *c, const proxy_port_cfg_t *cfg)
{
  client_listener_t *l = al_calloc(1, sizeof(*l));
  l->c = c;
  l->idx = c->next_listener_idx++;
  l->cfg = *cfg;
  l->cfg.unix_path = cfg->unix_path ? al_strdup(cfg->unix_path) : NULL;
  return l;
}

static void
listener_free(client_listener_t *l)
{
  client_listener_close(l);
  proxy_port_cfg_clear(&l->cfg);
  al_free(l);
}

void
client_listeners_sweep(client_t *c)
{
  client_listener_t **pp = &c->retired;
  while (*pp) {
    client_listener_t *l = *pp;
    if (l->n_conns > 0) {
      pp = &l->next_retired;
      continue;
    }
    *pp = l->next_retired;
    listener_free(l);
  }
}

void
client_listeners_free_all(client_t *c)
{
  for (size_t i = 0; i < c->n_listeners; i++)
    listener_free(c->listeners[i]);
  al_free(c->listeners);
  c->listeners = NULL;
  c->n_listeners = 0;
  while (c->retired) {
    client_listener_t *l = c->retired;
    c->retired = l->next_retired;
    listener_free(l);
  }
}

/* The listen address, with the default (none given: 127.0.0.1) spelt
 * out, so "9050" and "127.0.0.1:9050" are one binding. */
static policy_addr_t
listen_addr(const proxy_port_cfg_t *p)
{
  policy_addr_t a = p->addr;
  if (a.family == 0) {
    memset(&a, 0, sizeof(a));
    a.family = 4;
    memcpy(a.addr, "\x7f\0\0\x01", 4);
  }
  return a;
}

/* Do a and b bind the same socket? */
static bool
same_binding(const proxy_port_cfg_t *a, const proxy_port_cfg_t *b)
{
  if (a->kind != b->kind || a->is_unix != b->is_unix)
    return false;
  if (a->is_unix)
    return a->unix_path && b->unix_path && !strcmp(a->unix_path,
                                                   b->unix_path);
  if (a->is_auto != b->is_auto || (!a->is_auto && a->port != b->port))
    return false;
  policy_addr_t x = listen_addr(a), y = listen_addr(b);
  size_t n = x.family == 6 ? 16 : 4;
  return x.family == y.family && !memcmp(x.addr, y.addr, n);
}

/* Take the flags of cfg (same binding) for new connections on l. */
static void
listener_update_flags(client_listener_t *l, const proxy_port_cfg_t *cfg)
{
  l->cfg.flags = cfg->flags;
  l->cfg.iso_flags = cfg->iso_flags;
  l->cfg.session_group = cfg->session_group;
}

static const char *
kind_name(const proxy_port_cfg_t *p)
{
  return p->kind == PROXY_PORT_HTTP_TUNNEL ? "HTTP tunnel" : "Socks";
}

/* Close l; free it now, or once its connections are gone. */
static void
listener_retire(client_t *c, client_listener_t *l)
{
  if (l->cfg.is_unix)
    log_notice("Closing no-longer-configured %s listener on %s",
               kind_name(&l->cfg), l->cfg.unix_path);
  else
    log_notice("Closing no-longer-configured %s listener on port %u",
               kind_name(&l->cfg), l->bound_port);
  client_listener_close(l);
  if (l->n_conns == 0) {
    listener_free(l);
    return;
  }
  l->next_retired = c->retired;
  c->retired = l;
}

/* The new listener array: old listeners with a binding that is still
 * configured (in the new order), new ones for the rest; the others are
 * closed first, so that a port may move from one listener to another.
 * Returns how many new listeners failed to bind. */
static int
reconf_ports(client_t *c, const proxy_port_cfg_t *ports, size_t n)
{
  client_listener_t **next = al_calloc(n ? n : 1, sizeof(*next));
  bool *used = al_calloc(c->n_listeners ? c->n_listeners : 1, sizeof(bool));
  for (size_t i = 0; i < n; i++) {
    if (ports[i].disabled)
      continue;
    for (size_t j = 0; j < c->n_listeners; j++) {
      if (used[j] || !same_binding(&c->listeners[j]->cfg, &ports[i]))
        continue;
      used[j] = true;
      next[i] = c->listeners[j];
      listener_update_flags(next[i], &ports[i]);
      break;
    }
  }
  for (size_t j = 0; j < c->n_listeners; j++)
    if (!used[j])
      listener_retire(c, c->listeners[j]);
  int failed = 0;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (ports[i].disabled)
      continue;
    if (!next[i]) {
      char *err = NULL;
      next[i] = client_listener_new(c, &ports[i]);
      if (client_listener_open(next[i], &err) != 0) {
        log_warn("Reload: %s", err ? err : "could not open a listener");
        al_free(err);
        listener_free(next[i]);
        next[i] = NULL;
        failed++;
        continue;
      }
    }
    next[k++] = next[i];
  }
  al_free(used);
  al_free(c->listeners);
  c->listeners = next;
  c->n_listeners = k;
  return failed;
}

/* New node rules (tor does the same on such a change): guards again,
 * circuits not used yet closed, used ones kept for their streams only. */
static void
reconf_nodes(client_t *c)
{
  size_t n = 0, kept = 0;
  for (client_circ_t *k = c->circs; k; k = k->next)
    n++;
  /* Handles first: closing may launch circuits (under the new rules) from
   * the close callbacks, which must not be closed in turn. */
  uint64_t *doomed = al_calloc(n ? n : 1, sizeof(uint64_t));
  size_t nd = 0;
  for (client_circ_t *k = c->circs; k; k = k->next) {
    if (k->closed || k->no_new_streams)
      continue;
    if (k->first_use_msec) {
      k->no_new_streams = true;
      kept++;
    } else if (k->handle) {
      doomed[nd++] = k->handle;
    }
  }
  log_notice("Node restrictions changed: closing %zu unused circuit%s; %zu "
             "circuit%s in use take%s no new streams.", nd,
             nd == 1 ? "" : "s", kept, kept == 1 ? "" : "s",
             kept == 1 ? "s" : "");
  if (c->enough_dirinfo) {
    client_ctl_guard_update(c, time(NULL));
    client_save_guards(c);
  }
  for (size_t i = 0; i < nd; i++)
    chanmgr_close_circ(c->cm, doomed[i], CELL_DESTROY_FINISHED);
  al_free(doomed);
}

int
client_reconfigure(client_t *c, const client_cfg_t *cfg, bool nodes_changed)
{
  if (!c || !cfg || (cfg->n_ports && !cfg->ports))
    return -1;
  c->path_opts = cfg->path_opts;
  c->socks_policy = cfg->socks_policy;
  if (cfg->circuit_build_timeout_msec)
    c->build_timeout_msec = cfg->circuit_build_timeout_msec;
  if (cfg->stream_timeout_msec)
    c->stream_timeout_msec = cfg->stream_timeout_msec;
  if (cfg->socks_timeout_msec)
    c->socks_timeout_msec = cfg->socks_timeout_msec;
  if (cfg->max_dirtiness_sec)
    c->max_dirtiness_sec = cfg->max_dirtiness_sec;
  al_free(c->long_lived);
  c->long_lived = NULL;
  c->n_long_lived = 0;
  if (cfg->n_long_lived_ports && cfg->long_lived_ports) {
    c->long_lived = al_memdup(cfg->long_lived_ports,
                              cfg->n_long_lived_ports * sizeof(uint16_t));
    c->n_long_lived = cfg->n_long_lived_ports;
  }
  client_addrmap_set_config(c, cfg->map_address);
  bool was_held = c->leave_unattached;
  c->leave_unattached = cfg->leave_streams_unattached;
  int failed = reconf_ports(c, cfg->ports, cfg->n_ports);
  if (was_held && !c->leave_unattached)
    client_attach_waiting(c);   /* the streams left for a controller */
  if (nodes_changed) {
    reconf_nodes(c);
    if (c->enough_dirinfo)
      client_circ_maintain(c);
    client_attach_waiting(c);
  }
  return failed;
}
