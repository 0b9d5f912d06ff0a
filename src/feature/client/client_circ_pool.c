/* client_circ_pool.c -- the client's pool of exit circuits: 3-hop paths
 * (path-spec 2.2, exit first for the wanted port, guard from guard-spec 4.6
 * or -- UseEntryGuards 0 -- chosen like a middle), turned into hop specs
 * with link specifiers (tor-spec 5.1.2) and built by the channel manager;
 * guard success / failure (guard-spec 4.7, 4.8) and the state file;
 * preemptive circuits for the predicted ports 80 / 443 (path-spec 2.1.1,
 * simplified); closing circuits unused past MaxCircuitDirtiness (path-spec
 * 2.1.3 "Circuit lifetime"); bootstrap phases 80..100 (control-spec 4.1.10).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "client"
#include "allium/core/cell/circ_cells.h"
#include "allium/core/mainloop/bootstrap.h"
#include "allium/feature/nodelist/routerset.h"
#include "allium/feature/pathsel/guards.h"
#include "allium/feature/pathsel/pathsel.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/container/hashmap.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "client_st.h"

static const uint16_t predicted_ports[] = { 443, 80 };

/* A clean (no stream yet) live circuit whose exit allows port exists. */
static bool
have_clean_circ_for(const client_t *c, uint16_t port)
{
  for (const client_circ_t *k = c->circs; k; k = k->next) {
    if (k->closed || k->first_use_msec || k->ctl_controller)
      continue;
    const node_t *exit = client_circ_exit_node(c, k);
    if (exit && client_exit_allows(exit, NULL, port))
      return true;
  }
  return false;
}

/* path-spec 2.1.1: a clean circuit for each port used in the last hour,
 * up to CLIENT_PREEMPTIVE_MAX clean circuits.  Returns false when a port
 * had no usable exit (the caller backs off). */
static bool
circ_launch_predicted(client_t *c, uint64_t now, size_t clean)
{
  uint16_t ports[CLIENT_PREDICT_MAX];
  size_t n = client_predict_ports(&c->predict, now, ports, CLIENT_PREDICT_MAX);
  bool ok = true;
  for (size_t i = 0; i < n && clean < CLIENT_PREEMPTIVE_MAX; i++) {
    if (have_clean_circ_for(c, ports[i]))
      continue;
    client_launch_t w = { ports[i], NULL, true, false };
    if (client_circ_launch(c, &w))
      clean++;
    else
      ok = false;
  }
  return ok;
}

const node_t *
client_circ_exit_node(const client_t *c, const client_circ_t *circ)
{
  return nodelist_find_by_rsa_id(c->nl, circ->exit_id);
}

size_t
client_circ_count(const client_t *c, bool built, bool clean_only)
{
  size_t n = 0;
  for (const client_circ_t *k = c->circs; k; k = k->next) {
    if (k->closed || (built && !k->built))
      continue;
    if (clean_only && (k->first_use_msec || k->ctl_controller))
      continue;
    n++;
  }
  return n;
}

static size_t
n_building(const client_t *c)
{
  size_t n = 0;
  for (const client_circ_t *k = c->circs; k; k = k->next)
    if (!k->closed && !k->built)
      n++;
  return n;
}

static void
circ_on_hop(chanmgr_t *cm, uint64_t h, unsigned hop, void *arg)
{
  (void)cm;
  (void)h;
  client_circ_t *circ = arg;
  if (hop < circ->n_path) {
    circ->n_done = (uint8_t)(hop + 1);
    client_ctl_circ_event(circ->c, circ, "EXTENDED", NULL);
  }
  if (circ->c->built_any)
    return;
  if (hop == 0) {
    bootstrap_report(BOOTSTRAP_AP_CONN_DONE);
    bootstrap_report(BOOTSTRAP_AP_HANDSHAKE_DONE);
    bootstrap_report(BOOTSTRAP_CIRCUIT_CREATE);
  }
}

static void
circ_guard_success(client_t *c, client_circ_t *circ)
{
  if (!circ->has_guard)
    return;
  guard_entry_t *g = guard_selection_find(c->gs, circ->guard_id);
  if (!g)
    return;
  guard_reachable_t before = g->reachable;
  guard_circ_state_t st = guard_mark_success(c->gs, g, circ->guard_state,
                                             time(NULL), NULL);
  if (before != GUARD_REACHABLE_YES && g->reachable == GUARD_REACHABLE_YES)
    client_ctl_guard_event(c, g->rsa_id, g->nickname, "UP");
  if (st != GUARD_CIRC_COMPLETE)
    log_info("Circuit %llu: its guard is usable only if no better guard "
             "answers (state %d); using it anyway",
             (unsigned long long)circ->num, (int)st);
  circ->guard_state = st;
  client_save_guards(c);
}

/* "$FP~nick,$FP~nick,..." of circ's hops into buf (relay identities are
 * public directory facts, as in tor's own circuit logs). */
static void
circ_path_text(client_t *c, uint64_t h, char *buf, size_t len)
{
  uint8_t id[20];
  size_t off = 0;
  buf[0] = '\0';
  for (size_t hop = 0; chanmgr_circ_hop_id(c->cm, h, hop, id) == 0; hop++) {
    char fp[41];
    node_format_rsa_id(id, fp);
    const node_t *n = nodelist_find_by_rsa_id(c->nl, id);
    int w = snprintf(buf + off, len - off, "%s$%s~%s", hop ? "," : "", fp,
                     n ? n->nickname : "?");
    if (w < 0 || (size_t)w >= len - off)
      break;
    off += (size_t)w;
  }
}

static void
circ_on_built(chanmgr_t *cm, uint64_t h, void *arg)
{
  (void)cm;
  client_circ_t *circ = arg;
  client_t *c = circ->c;
  char path[256];
  circ->built = true;
  circ->n_done = circ->n_path;
  client_ctl_circ_event(c, circ, "BUILT", NULL);
  c->fail_streak = 0;
  c->preempt_after_msec = 0;
  /* App -> circuit: resume a paused app as soon as its queue drains. */
  relay_streams_set_drain_mark(chanmgr_streams(c->cm, h),
                               CLIENT_PAUSE_BYTES / 2);
  circ_path_text(c, h, path, sizeof(path));
  log_info("Circuit %llu built: %s (%llu ms)", (unsigned long long)circ->num,
           path, (unsigned long long)(client_now_msec() - circ->launched_msec));
  circ_guard_success(c, circ);
  if (!c->built_any) {
    c->built_any = true;
    bootstrap_report(BOOTSTRAP_DONE);
  }
  client_attach_waiting(c);
}

static void
circ_on_closed(chanmgr_t *cm, uint64_t h, const chanmgr_close_info_t *info,
               void *arg)
{
  (void)cm;
  (void)h;
  client_circ_t *circ = arg;
  client_t *c = circ->c;
  if (circ->closed)
    return;
  circ->closed = true;
  if (info && !info->was_built)
    client_ctl_circ_event(c, circ, "FAILED", info);
  client_ctl_circ_event(c, circ, "CLOSED", info);
  log_info("Circuit %llu closed (%s, reason %u%s)",
           (unsigned long long)circ->num, info && info->what ? info->what : "",
           info ? info->reason : 0, info && info->remote ? ", remote" : "");
  if (info && !info->was_built) {
    uint64_t now = client_now_msec();
    if (c->fail_streak < 7)
      c->fail_streak++;
    c->preempt_after_msec = now + (500u << c->fail_streak);
    if (info->failed_hop == 0 && circ->has_guard) {
      guard_entry_t *g = guard_selection_find(c->gs, circ->guard_id);
      if (g) {
        guard_reachable_t before = g->reachable;
        guard_mark_failure(c->gs, g, time(NULL));
        if (before != GUARD_REACHABLE_NO && g->reachable == GUARD_REACHABLE_NO)
          client_ctl_guard_event(c, g->rsa_id, g->nickname, "DOWN");
        client_save_guards(c);
      }
    }
  }
  client_conns_circ_closed(c, circ);
}

static void
circ_on_stream(chanmgr_t *cm, uint64_t h, const relay_stream_event_t *ev,
               void *arg)
{
  (void)cm;
  (void)h;
  client_circ_t *circ = arg;
  client_conn_stream_event(circ->c, circ, ev);
}

static void
circ_on_data(chanmgr_t *cm, uint64_t h, uint16_t stream_id,
             const uint8_t *data, size_t len, void *arg)
{
  (void)cm;
  (void)h;
  client_circ_t *circ = arg;
  client_conn_stream_data(circ->c, circ, stream_id, data, len);
}

static bool
port_is_long_lived(const client_t *c, uint16_t port)
{
  for (size_t i = 0; i < c->n_long_lived; i++)
    if (c->long_lived[i] == port)
      return true;
  return false;
}

/* Exit candidates for a known destination address (the port-only rule
 * finds none when exits accept only some addresses, e.g. test networks
 * whose exits allow 127.0.0.1 only). */
typedef struct addr_exit_filter_t {
  const pathsel_options_t *o;
  const policy_addr_t *dest;
  uint16_t port;
} addr_exit_filter_t;

static bool
addr_exit_filter(const node_t *n, void *arg)
{
  const addr_exit_filter_t *f = arg;
  const pathsel_options_t *o = f->o;
  if (!node_is_usable(n))
    return false;
  if ((o->need_fast && !(n->flags & NODE_FLAG_FAST)) ||
      (o->need_stable && !(n->flags & NODE_FLAG_STABLE)))
    return false;
  /* ExitNodes, ExcludeExitNodes and ExcludeNodes, never relaxed here */
  if (!pathsel_exit_config_ok(o, n, false))
    return false;
  return client_exit_allows(n, f->dest, f->port);
}

/* The last hop: an exit for port (dest: its address, or NULL), or for
 * internal circuits a node chosen like a middle. */
static const node_t *
choose_last_hop(client_t *c, const pathsel_options_t *o, uint16_t port,
                const policy_addr_t *dest, bool internal)
{
  if (internal)
    return pathsel_choose_middle(c->nl, o, NULL, NULL);
  const node_t *n = pathsel_choose_exit(c->nl, o, port, NULL, NULL);
  if (!n && dest && dest->family) {
    addr_exit_filter_t f = { o, dest, port };
    n = pathsel_choose_weighted(c->nl, PATHSEL_POS_EXIT, addr_exit_filter,
                                &f, NULL);
  }
  return n;
}

/* A 3-hop path (path-spec 2.2): last hop first, then the guard
 * (guard-spec 4.6; UseEntryGuards 0: chosen like a middle), then the
 * middle.  0 or a PATHSEL_ERR_*; *g gets the guard entry used, if any. */
static int
choose_path(client_t *c, const pathsel_options_t *o, uint16_t port,
            const policy_addr_t *dest, bool internal, const node_t *hops[3],
            guard_entry_t **g, guard_circ_state_t *gstate)
{
  *g = NULL;
  pathsel_avoid_t av = { { NULL }, 0 };
  hops[2] = choose_last_hop(c, o, port, dest, internal);
  if (!hops[2])
    return PATHSEL_ERR_NONODE;
  av.nodes[av.n++] = hops[2];
  if (c->use_entry_guards) {
    int r = guard_choose(c->gs, c->nl, o, &av, false, time(NULL), NULL, g,
                         gstate);
    if (r != 0)
      return r;
    hops[0] = nodelist_find_by_rsa_id(c->nl, (*g)->rsa_id);
  } else {
    hops[0] = pathsel_choose_first_hop(c->nl, o, &av, NULL);
  }
  if (!hops[0]) {
    if (*g)
      (*g)->is_pending = false;
    *g = NULL;
    return PATHSEL_ERR_NOGUARD;
  }
  av.nodes[av.n++] = hops[0];
  hops[1] = pathsel_choose_middle(c->nl, o, &av, NULL);
  if (!hops[1]) {
    if (*g)
      (*g)->is_pending = false;
    *g = NULL;
    return PATHSEL_ERR_NONODE;
  }
  return 0;
}

static int circ_launch_hs_spec(client_t *c, const circ_hop_spec_t *last,
                               const chanmgr_circ_cbs_t *cbs,
                               uint64_t *circ_out, const char *purpose);

static int
circ_launch_hs_node(void *arg, const node_t *last,
                    const chanmgr_circ_cbs_t *cbs, uint64_t *circ_out,
                    const char *purpose)
{
  circ_hop_spec_t spec;
  if (!last || client_hop_spec_from_node(last, &spec) != 0)
    return -1;
  return circ_launch_hs_spec(arg, &spec, cbs, circ_out, purpose);
}

int
client_circ_launch_hs(void *arg, const node_t *last,
                      const chanmgr_circ_cbs_t *cbs, uint64_t *circ_out)
{
  return circ_launch_hs_node(arg, last, cbs, circ_out, "HS_VANGUARDS");
}

int
client_circ_launch_hs_fetch(void *arg, const node_t *last,
                            const chanmgr_circ_cbs_t *cbs, uint64_t *circ_out)
{
  return circ_launch_hs_node(arg, last, cbs, circ_out, "HS_CLIENT_HSDIR");
}

int
client_circ_launch_hs_upload(void *arg, const node_t *last,
                             const chanmgr_circ_cbs_t *cbs,
                             uint64_t *circ_out)
{
  return circ_launch_hs_node(arg, last, cbs, circ_out, "HS_SERVICE_HSDIR");
}

void
client_circ_vanguards_refresh(client_t *c)
{
  if (c && c->vanguards_lite && c->enough_dirinfo)
    (void)vanguards_refresh(&c->vanguards, c->nl, &c->path_opts, time(NULL),
                            NULL);
}

/* The second hop of an onion-service circuit (proposal 333): a layer-2
 * node compatible with the hops in av and not the last hop; an ordinary
 * middle only when vanguards-lite is off or no layer-2 node fits. */
static const node_t *
hs_second_hop(client_t *c, const pathsel_options_t *o,
              const pathsel_avoid_t *av, const uint8_t last_id[20])
{
  if (!c->vanguards_lite)
    return pathsel_choose_middle(c->nl, o, av, NULL);
  time_t now = time(NULL);
  /* Cheap when nothing changed; replaces members that expired since the
   * last consensus. */
  (void)vanguards_refresh(&c->vanguards, c->nl, &c->path_opts, now, NULL);
  const node_t *n = vanguards_choose(&c->vanguards, c->nl, o, av, now, NULL);
  if (n && memcmp(n->rsa_id, last_id, 20) != 0) {
    char hex[41];
    base16_encode(hex, sizeof(hex), n->rsa_id, 20);
    log_info("vanguards-lite: onion-service circuit via layer-2 node $%s",
              hex);
    return n;
  }
  log_info_rl(300, "vanguards-lite: none of the %zu layer-2 nodes fits this "
              "onion-service circuit; using an ordinary middle", c->vanguards.n);
  return pathsel_choose_middle(c->nl, o, av, NULL);
}

int
client_circ_launch_hs_spec(client_t *c, const circ_hop_spec_t *last,
                           const chanmgr_circ_cbs_t *cbs, uint64_t *circ_out)
{
  return circ_launch_hs_spec(c, last, cbs, circ_out, "HS_VANGUARDS");
}

static int
circ_launch_hs_spec(client_t *c, const circ_hop_spec_t *last,
                    const chanmgr_circ_cbs_t *cbs, uint64_t *circ_out,
                    const char *purpose)
{
  if (!c || !last || !cbs || !circ_out || !c->enough_dirinfo || !c->cm)
    return -1;
  pathsel_options_t o = c->path_opts;
  pathsel_avoid_t av = { { NULL }, 0 };
  const node_t *hops[2] = { NULL, NULL };
  /* The last hop may be outside the consensus (an introduction point). */
  const node_t *ln = nodelist_find_by_rsa_id(c->nl, last->rsa_id);
  if (ln)
    av.nodes[av.n++] = ln;
  guard_entry_t *g = NULL;
  guard_circ_state_t gst = GUARD_CIRC_USABLE_ON_COMPLETION;
  if (c->use_entry_guards) {
    if (guard_choose(c->gs, c->nl, &o, &av, false, time(NULL), NULL, &g,
                     &gst) != 0 || !g)
      return -1;
    /* The guard's fate is learnt from exit circuits; this one-off
     * internal circuit does not hold the guard pending. */
    g->is_pending = false;
    hops[0] = nodelist_find_by_rsa_id(c->nl, g->rsa_id);
  } else {
    hops[0] = pathsel_choose_first_hop(c->nl, &o, &av, NULL);
  }
  if (!hops[0] || memcmp(hops[0]->rsa_id, last->rsa_id, 20) == 0)
    return -1;
  av.nodes[av.n++] = hops[0];
  hops[1] = hs_second_hop(c, &o, &av, last->rsa_id);
  if (!hops[1] || memcmp(hops[1]->rsa_id, last->rsa_id, 20) == 0)
    return -1;
  circ_hop_spec_t spec[3];
  if (client_hop_spec_first_hop(hops[0], &o, &spec[0]) != 0 ||
      client_hop_spec_from_node(hops[1], &spec[1]) != 0)
    return -1;
  spec[2] = *last;
  chanmgr_launch_t l = { spec, 3, false, c->build_timeout_msec };
  return client_ctl_launch(c, &l, cbs, circ_out, purpose);
}

int
client_circ_launch_direct(client_t *c, const circ_hop_spec_t *last,
                          const chanmgr_circ_cbs_t *cbs, uint64_t *circ_out)
{
  if (!c || !last || !cbs || !circ_out || !c->enough_dirinfo || !c->cm)
    return -1;
  chanmgr_launch_t l = { last, 1, false, c->build_timeout_msec };
  return client_ctl_launch(c, &l, cbs, circ_out, "HS_VANGUARDS");
}

client_circ_t *
client_circ_adopt_hs(client_t *c, uint64_t handle,
                     const ed25519_public_key_t *pk)
{
  client_circ_t *circ = al_calloc(1, sizeof(*circ));
  circ->c = c;
  circ->num = c->next_circ_num++;
  circ->handle = handle;
  circ->built = true;
  circ->hs = true;
  circ->hs_pk = *pk;
  circ->launched_msec = client_now_msec();
  /* Dirty from the start: never counted as a clean exit circuit, closed
   * when idle past MaxCircuitDirtiness. */
  circ->first_use_msec = circ->launched_msec ? circ->launched_msec : 1;
  relay_streams_set_drain_mark(chanmgr_streams(c->cm, handle),
                               CLIENT_PAUSE_BYTES / 2);
  circ->next = c->circs;
  c->circs = circ;
  if (!client_ctl_hand_over(c, circ)) {
    client_ctl_circ_new_handle(c, circ);
    client_ctl_circ_event(c, circ, "BUILT", NULL);
  }
  log_info("Circuit %llu (handle %llu): rendezvous circuit joined with an "
           "onion service", (unsigned long long)circ->num,
           (unsigned long long)handle);
  return circ;
}

void
client_circ_hs_closed(client_circ_t *circ, const chanmgr_close_info_t *info)
{
  circ_on_closed(NULL, circ->handle, info, circ);
}

static void
circ_unlink(client_t *c, client_circ_t *circ)
{
  for (client_circ_t **pp = &c->circs; *pp; pp = &(*pp)->next)
    if (*pp == circ) {
      *pp = circ->next;
      return;
    }
}

/* One attempt: choose a path and hand it to the channel manager.  0, or
 * -1 (no path: retrying now will not help), or -2 (try another path). */
static int
circ_try_launch(client_t *c, const client_launch_t *want, client_circ_t **out)
{
  pathsel_options_t o = c->path_opts;
  uint16_t port = want->port;
  if (port_is_long_lived(c, port))
    o.need_stable = true;
  const node_t *hops[3] = { NULL, NULL, NULL };
  guard_entry_t *g = NULL;
  guard_circ_state_t gst = GUARD_CIRC_USABLE_ON_COMPLETION;
  int r = choose_path(c, &o, port, want->dest, want->internal, hops, &g,
                      &gst);
  if (r != 0) {
    log_info_rl(60, "No path for a%s circuit to port %u yet (%d)",
                want->internal ? "n internal" : "", port, r);
    return -1;
  }
  circ_hop_spec_t spec[3];
  for (int i = 0; i < 3; i++)
    if ((i == 0 ? client_hop_spec_first_hop(hops[i], &o, &spec[i])
                : client_hop_spec_from_node(hops[i], &spec[i])) != 0) {
      if (g)
        g->is_pending = false;
      return -2;
    }
  if (!want->internal)
    (void)client_hop_spec_set_cc(hops[2], c->nl, &spec[2]);
  client_circ_t *circ = al_calloc(1, sizeof(*circ));
  circ->c = c;
  circ->num = c->next_circ_num++;
  circ->port = port;
  circ->preemptive = want->preemptive;
  circ->launched_msec = client_now_msec();
  memcpy(circ->exit_id, hops[2]->rsa_id, 20);
  if (g) {
    circ->has_guard = true;
    memcpy(circ->guard_id, g->rsa_id, 20);
    circ->guard_state = gst;
  }
  circ->next = c->circs;
  c->circs = circ;
  chanmgr_launch_t l = { spec, 3, false, c->build_timeout_msec };
  chanmgr_circ_cbs_t cbs = { circ_on_hop, circ_on_built, circ_on_closed,
                             circ_on_stream, NULL, circ, circ_on_data };
  uint64_t h = 0;
  if (chanmgr_launch(c->cm, &l, &cbs, &h) != 0) {
    circ_unlink(c, circ);
    al_free(circ);
    if (g)
      g->is_pending = false;
    return -2;
  }
  circ->handle = h;
  circ->internal = want->internal;
  circ->need_uptime = o.need_stable;
  client_ctl_circ_new(c, circ, hops, 3);
  client_ctl_circ_event(c, circ, "LAUNCHED", NULL);
  *out = circ;
  return 0;
}

client_circ_t *
client_circ_launch_path(client_t *c, const node_t *const *hops, size_t n,
                        bool controller)
{
  circ_hop_spec_t spec[CLIENT_CTL_MAX_HOPS];
  if (!c || !c->cm || !hops || n == 0 || n > CLIENT_CTL_MAX_HOPS)
    return NULL;
  for (size_t i = 0; i < n; i++)
    if (!hops[i] ||
        (i == 0 ? client_hop_spec_first_hop(hops[i], &c->path_opts, &spec[i])
                : client_hop_spec_from_node(hops[i], &spec[i])) != 0)
      return NULL;
  if (n > 1)
    (void)client_hop_spec_set_cc(hops[n - 1], c->nl, &spec[n - 1]);
  client_circ_t *circ = al_calloc(1, sizeof(*circ));
  circ->c = c;
  circ->num = c->next_circ_num++;
  circ->launched_msec = client_now_msec();
  memcpy(circ->exit_id, hops[n - 1]->rsa_id, 20);
  circ->ctl_controller = controller;
  circ->ctl_purpose = controller ? "CONTROLLER" : NULL;
  circ->next = c->circs;
  c->circs = circ;
  chanmgr_launch_t l = { spec, n, false, c->build_timeout_msec };
  chanmgr_circ_cbs_t cbs = { circ_on_hop, circ_on_built, circ_on_closed,
                             circ_on_stream, NULL, circ, circ_on_data };
  uint64_t h = 0;
  if (chanmgr_launch(c->cm, &l, &cbs, &h) != 0) {
    circ_unlink(c, circ);
    al_free(circ);
    return NULL;
  }
  circ->handle = h;
  client_ctl_circ_new(c, circ, hops, n);
  client_ctl_circ_event(c, circ, "LAUNCHED", NULL);
  log_info_rl(10, "Launched circuit %llu (handle %llu) on a controller's "
              "path of %zu hops", (unsigned long long)circ->num,
              (unsigned long long)h, n);
  return circ->closed ? NULL : circ;
}

client_circ_t *
client_circ_launch(client_t *c, const client_launch_t *want)
{
  if (!c->enough_dirinfo || !c->cm || n_building(c) >= CLIENT_MAX_BUILDING)
    return NULL;
  if (c->use_entry_guards)
    guard_selection_retry(c->gs, time(NULL));
  for (int tries = 0; tries < 3; tries++) {
    client_circ_t *circ = NULL;
    int r = circ_try_launch(c, want, &circ);
    if (r == -1)
      return NULL;
    if (r == 0) {
      if (!c->launched_any) {
        c->launched_any = true;
        bootstrap_report(BOOTSTRAP_AP_CONN);
      }
      log_info("Launched circuit %llu (handle %llu) for port %u%s%s",
               (unsigned long long)circ->num,
               (unsigned long long)circ->handle, want->port,
               want->preemptive ? " (preemptive)" : "",
               want->internal ? " (internal)" : "");
      return circ->closed ? NULL : circ;
    }
  }
  return NULL;
}

void
client_circ_maintain(client_t *c)
{
  uint64_t now = client_now_msec();
  /* Close circuits that are dirty past MaxCircuitDirtiness and idle. */
  for (client_circ_t *k = c->circs; k; k = k->next) {
    if (k->closed || !k->built || k->n_streams || !k->first_use_msec)
      continue;
    if (k->no_new_streams ||
        now - k->first_use_msec >= (uint64_t)c->max_dirtiness_sec * 1000) {
      log_info("Closing circuit %llu: dirty and idle",
               (unsigned long long)k->num);
      chanmgr_close_circ(c->cm, k->handle, CELL_DESTROY_FINISHED);
    }
  }
  if (!c->enough_dirinfo || now < c->preempt_after_msec)
    return;
  size_t clean = client_circ_count(c, false, true);
  const size_t n_pred = sizeof(predicted_ports) / sizeof(predicted_ports[0]);
  while (clean < CLIENT_PREEMPTIVE) {
    client_launch_t w = { 0, NULL, true, false };
    client_circ_t *circ = NULL;
    for (size_t i = 0; i < n_pred && !circ; i++) {
      w.port = predicted_ports[c->preemptive_rr++ % n_pred];
      circ = client_circ_launch(c, &w);
    }
    if (!circ && clean == 0) {
      /* No exit for the predicted ports (a test network whose exits allow
       * some addresses only): one circuit anyway, internal-style, so that
       * bootstrap completes and its last hop may still serve streams. */
      w.port = 0;
      w.internal = true;
      circ = client_circ_launch(c, &w);
    }
    if (!circ) {
      if (c->preempt_after_msec <= now)
        c->preempt_after_msec = now + 5000;
      return;
    }
    clean++;
  }
  if (!circ_launch_predicted(c, now, clean) && c->preempt_after_msec <= now)
    c->preempt_after_msec = now + 5000;
}

static void
circ_free(client_circ_t *circ)
{
  if (circ->has_iso)
    client_iso_clear(&circ->iso);
  hmap_free(circ->conns);
  al_free(circ);
}

void
client_circ_sweep(client_t *c)
{
  client_circ_t **pp = &c->circs;
  while (*pp) {
    client_circ_t *k = *pp;
    if (k->closed) {
      *pp = k->next;
      circ_free(k);
    } else {
      pp = &k->next;
    }
  }
}

void
client_circ_close_all(client_t *c)
{
  for (client_circ_t *k = c->circs; k; k = k->next)
    if (!k->closed && k->handle)
      chanmgr_close_circ(c->cm, k->handle, CELL_DESTROY_FINISHED);
  for (client_circ_t *k = c->circs; k; k = k->next)
    k->closed = true;
  client_circ_sweep(c);
}
