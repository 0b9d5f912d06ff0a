/* client_ctl.c -- the client's side of the control port (control-spec):
 * circuit and stream IDs, the CIRC (4.1.1), STREAM (4.1.2), GUARD (4.1.12),
 * STREAM_BW (4.1.13) and CIRC_BW (4.1.26) events, the GETINFO keys of 3.9
 * "circuit-status", "stream-status", "orconn-status", "entry-guards",
 * "status/circuit-established", "status/enough-dir-info", and the commands
 * CLOSECIRCUIT (3.17), CLOSESTREAM (3.16) and SIGNAL NEWNYM (3.7).
 *
 * Everything goes through the control bus (core/mainloop/ctlbus.h); events
 * are formatted only while ctlev_wanted() says a controller listens.  The
 * controller is trusted: stream targets appear as given (as tor does).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <arpa/inet.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/mainloop/ctlbus.h"
#include "allium/feature/client/client_ctl_onion.h"
#include "allium/feature/hs_client/hs_client_fetch.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/time/civil.h"
#include "client_st.h"

/* Process-wide IDs, from 1 (tor's global circuit and stream IDs). */
static uint32_t next_circ_id = 1;
static uint64_t next_stream_id = 1;

/* ---------------------------------------------------------------- */
/* A growing string for GETINFO answers. */

typedef struct ctl_sb_t {
  char *s;
  size_t len, cap;
} ctl_sb_t;

static void
sb_printf(ctl_sb_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf(ctl_sb_t *b, const char *fmt, ...)
{
  for (;;) {
    if (!b->s) {
      b->cap = 256;
      b->s = al_malloc(b->cap);
      b->s[0] = '\0';
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
      return;
    if ((size_t)n < b->cap - b->len) {
      b->len += (size_t)n;
      return;
    }
    b->cap = (b->len + (size_t)n + 1) * 2;
    b->s = al_realloc(b->s, b->cap);
  }
}

static char *
sb_take(ctl_sb_t *b)
{
  if (!b->s)
    return al_strdup("");
  return b->s;
}

/* ---------------------------------------------------------------- */
/* Names */

/* control-spec 4.1.1 circuit closure reasons, by DESTROY reason. */
static const char *
circ_reason_name(uint8_t r)
{
  static const char *const names[] = {
    "NONE", "TORPROTOCOL", "INTERNAL", "REQUESTED", "HIBERNATING",
    "RESOURCELIMIT", "CONNECTFAILED", "OR_IDENTITY", "CHANNEL_CLOSED",
    "FINISHED", "TIMEOUT", "DESTROYED", "NOSUCHSERVICE",
  };
  return r < sizeof(names) / sizeof(names[0]) ? names[r] : "NONE";
}

/* control-spec 4.1.2 stream reasons, by END reason (tor-spec 6.3). */
static const char *
stream_reason_name(uint8_t r)
{
  static const char *const names[] = {
    "MISC", "MISC", "RESOLVEFAILED", "CONNECTREFUSED", "EXITPOLICY",
    "DESTROY", "DONE", "TIMEOUT", "NOROUTE", "HIBERNATING", "INTERNAL",
    "RESOURCELIMIT", "CONNRESET", "TORPROTOCOL", "NOTDIRECTORY",
  };
  return r < sizeof(names) / sizeof(names[0]) ? names[r] : "MISC";
}

/* "$FP~nick" (LongName, control-spec 2.4); "$FP" without a nickname. */
static void
long_name(const client_t *c, const uint8_t id[20], const char *nick,
          char *buf, size_t len)
{
  char fp[41];
  base16_encode(fp, sizeof(fp), id, 20);
  if (!nick) {
    const node_t *n = c ? nodelist_find_by_rsa_id(c->nl, id) : NULL;
    nick = n ? n->nickname : NULL;
  }
  snprintf(buf, len, "$%s%s%s", fp, nick && *nick ? "~" : "",
           nick && *nick ? nick : "");
}

/* ---------------------------------------------------------------- */
/* Circuits */

static void
circ_stamp(client_circ_t *circ)
{
  struct timeval tv;
  gettimeofday(&tv, NULL);
  circ->ctl_id = next_circ_id++;
  if (!next_circ_id)
    next_circ_id = 1;
  circ->created_sec = tv.tv_sec;
  circ->created_usec = (uint32_t)tv.tv_usec;
}

void
client_ctl_circ_new(client_t *c, client_circ_t *circ,
                    const node_t *const *hops, size_t n_hops)
{
  (void)c;
  circ_stamp(circ);
  circ->n_path = 0;
  for (size_t i = 0; i < n_hops && i < CLIENT_CTL_MAX_HOPS; i++)
    if (hops[i])
      memcpy(circ->path_ids[circ->n_path++], hops[i]->rsa_id, 20);
}

void
client_ctl_circ_new_specs(client_circ_t *circ, const circ_hop_spec_t *hops,
                          size_t n_hops)
{
  circ_stamp(circ);
  circ->n_path = 0;
  for (size_t i = 0; i < n_hops && i < CLIENT_CTL_MAX_HOPS; i++)
    memcpy(circ->path_ids[circ->n_path++], hops[i].rsa_id, 20);
}

const char *
client_ctl_purpose(const client_circ_t *circ)
{
  if (circ->ctl_purpose)
    return circ->ctl_purpose;
  return circ->hs ? "HS_CLIENT_REND" : "GENERAL";
}

void
client_ctl_circ_new_handle(client_t *c, client_circ_t *circ)
{
  circ_stamp(circ);
  circ->n_path = 0;
  while (circ->n_path < CLIENT_CTL_MAX_HOPS &&
         chanmgr_circ_hop_id(c->cm, circ->handle, circ->n_path,
                             circ->path_ids[circ->n_path]) == 0)
    circ->n_path++;
  circ->n_done = circ->n_path;
}

/* "ID STATUS [PATH] BUILD_FLAGS=... PURPOSE=... TIME_CREATED=..." */
static void
circ_format(const client_t *c, const client_circ_t *circ, const char *status,
            ctl_sb_t *b)
{
  sb_printf(b, "%u %s", circ->ctl_id, status);
  for (uint8_t i = 0; i < circ->n_done && i < circ->n_path; i++) {
    char name[64];
    long_name(c, circ->path_ids[i], NULL, name, sizeof(name));
    sb_printf(b, "%s%s", i ? "," : " ", name);
  }
  bool internal = circ->internal || circ->hs;
  sb_printf(b, " BUILD_FLAGS=%s%sNEED_CAPACITY%s",
            internal ? "IS_INTERNAL," : "",
            circ->n_path == 1 ? "ONEHOP_TUNNEL," : "",
            circ->need_uptime ? ",NEED_UPTIME" : "");
  sb_printf(b, " PURPOSE=%s", client_ctl_purpose(circ));
  if (circ->hs)
    sb_printf(b, " HS_STATE=HSCR_JOINED");
  char iso[20];
  civil_format_iso((time_t)circ->created_sec, 'T', iso);
  sb_printf(b, " TIME_CREATED=%s.%06u", iso, circ->created_usec);
}

void
client_ctl_circ_event(client_t *c, const client_circ_t *circ,
                      const char *status, const chanmgr_close_info_t *info)
{
  if (!ctlev_wanted(CTLEV_CIRC) || !circ->ctl_id)
    return;
  ctl_sb_t b = { NULL, 0, 0 };
  circ_format(c, circ, status, &b);
  if (info) {
    /* tor: REASON is the local reason, or DESTROYED with REMOTE_REASON
     * when the network closed it. */
    if (info->remote)
      sb_printf(&b, " REASON=DESTROYED REMOTE_REASON=%s",
                circ_reason_name(info->reason));
    else
      sb_printf(&b, " REASON=%s", circ_reason_name(info->reason));
  }
  ctlev_publish(CTLEV_CIRC, "%s", b.s);
  al_free(b.s);
}

void
client_ctl_circ_minor(client_t *c, const client_circ_t *circ,
                      const char *event, const char *old_purpose)
{
  if (!ctlev_wanted(CTLEV_CIRC_MINOR) || !circ->ctl_id)
    return;
  ctl_sb_t b = { NULL, 0, 0 };
  circ_format(c, circ, event, &b);
  if (old_purpose)
    sb_printf(&b, " OLD_PURPOSE=%s", old_purpose);
  ctlev_publish(CTLEV_CIRC_MINOR, "%s", b.s);
  al_free(b.s);
}

static const char *
circ_status(const client_circ_t *circ)
{
  if (circ->built)
    return "BUILT";
  return circ->n_done ? "EXTENDED" : "LAUNCHED";
}

static client_circ_t *
circ_by_id(client_t *c, uint32_t id)
{
  for (client_circ_t *k = c->circs; k; k = k->next)
    if (!k->closed && k->ctl_id && k->ctl_id == id)
      return k;
  return NULL;
}

int
client_ctl_close_circuit(client_t *c, uint32_t id, bool if_unused)
{
  client_circ_t *circ = c && id ? circ_by_id(c, id) : NULL;
  if (!circ && c && id) {
    const client_circ_t *k;
    for (size_t i = 0; (k = client_ctl_shim_info(c, i)) != NULL; i++)
      if (k->ctl_id == id) {
        /* outside the pool: no application stream on it */
        chanmgr_close_circ(c->cm, k->handle, CELL_DESTROY_REQUESTED);
        return 0;
      }
  }
  if (!circ || (if_unused && circ->n_streams))
    return -1;
  if (circ->handle && c->cm)
    chanmgr_close_circ(c->cm, circ->handle, CELL_DESTROY_REQUESTED);
  if (!circ->closed) {
    /* Never handed to the channel manager: no close event will come. */
    chanmgr_close_info_t info = { CELL_DESTROY_REQUESTED, false,
                                  circ->built, 0, "controller" };
    client_ctl_circ_event(c, circ, "CLOSED", &info);
    circ->closed = true;
    client_conns_circ_closed(c, circ);
  }
  return 0;
}

/* ---------------------------------------------------------------- */
/* Streams */

uint64_t
client_ctl_new_stream_id(void)
{
  return next_stream_id++;
}

/* "ip:port" of the application (v6 in brackets); "" if unknown. */
static void
source_addr(const client_conn_t *k, char *buf, size_t len)
{
  char a[INET6_ADDRSTRLEN] = "";
  const policy_addr_t *pa = &k->iso.a.client_addr;
  buf[0] = '\0';
  if (pa->family == 4 && inet_ntop(AF_INET, pa->addr, a, sizeof(a)))
    snprintf(buf, len, "%s:%u", a, k->src_port);
  else if (pa->family == 6 && inet_ntop(AF_INET6, pa->addr, a, sizeof(a)))
    snprintf(buf, len, "[%s]:%u", a, k->src_port);
}

void
client_ctl_stream_event(client_conn_t *k, const char *status, uint8_t reason)
{
  if (!ctlev_wanted(CTLEV_STREAM) || !k->ctl_id)
    return;
  char src[64];
  source_addr(k, src, sizeof(src));
  char why[64] = "";
  /* control-spec 4.1.2: REASON=END when the exit sent the END, its own
   * reason in REMOTE_REASON. */
  if (reason && k->ctl_remote)
    snprintf(why, sizeof(why), " REASON=END REMOTE_REASON=%s",
             stream_reason_name(reason));
  else if (reason)
    snprintf(why, sizeof(why), " REASON=%s", stream_reason_name(reason));
  ctlev_publish(CTLEV_STREAM, "%llu %s %u %s:%u%s%s%s PURPOSE=USER",
                (unsigned long long)k->ctl_id, status,
                k->circ ? k->circ->ctl_id : 0, k->host, k->port, why,
                src[0] ? " SOURCE_ADDR=" : "", src);
}

static const char *
stream_status(const client_conn_t *k)
{
  bool resolve = k->command != SOCKS_CMD_CONNECT;
  switch (k->state) {
  case CONN_WAIT_CIRC:
  case CONN_WAIT_HS:
    return resolve ? "NEWRESOLVE" : "NEW";
  case CONN_CONNECTING:
    return "SENTCONNECT";
  case CONN_RESOLVING:
    return "SENTRESOLVE";
  case CONN_OPEN:
    return "SUCCEEDED";
  default:
    return NULL;
  }
}

static client_conn_t *
stream_by_id(client_t *c, uint64_t id)
{
  for (client_conn_t *k = c->conns; k; k = k->next)
    if (k->ctl_new && k->ctl_id == id && stream_status(k))
      return k;
  return NULL;
}

int
client_ctl_close_stream(client_t *c, uint64_t id, uint8_t reason)
{
  client_conn_t *k = c && id ? stream_by_id(c, id) : NULL;
  if (!k)
    return -1;
  client_conn_ctl_close(k, reason ? reason : RELAY_END_MISC);
  return 0;
}

/* ---------------------------------------------------------------- */
/* Guards */

void
client_ctl_guard_event(client_t *c, const uint8_t rsa_id[20],
                       const char *nick, const char *status)
{
  if (!ctlev_wanted(CTLEV_GUARD))
    return;
  char name[64];
  long_name(c, rsa_id, nick, name, sizeof(name));
  ctlev_publish(CTLEV_GUARD, "ENTRY %s %s", name, status);
}

/* What GUARD events compare across an update. */
typedef struct guard_snap_t {
  uint8_t id[20];
  char nick[20];
  bool listed;
} guard_snap_t;

static bool
snap_find(const guard_snap_t *s, size_t n, const uint8_t id[20], size_t *at)
{
  for (size_t i = 0; i < n; i++)
    if (!memcmp(s[i].id, id, 20)) {
      *at = i;
      return true;
    }
  return false;
}

void
client_ctl_guard_update(client_t *c, time_t now)
{
  if (!ctlev_wanted(CTLEV_GUARD)) {
    guard_selection_update(c->gs, c->nl, &c->path_opts, now, NULL);
    return;
  }
  size_t n = guard_selection_n_sampled(c->gs);
  guard_snap_t *old = al_calloc(n ? n : 1, sizeof(*old));
  for (size_t i = 0; i < n; i++) {
    const guard_entry_t *g = guard_selection_get_sampled(c->gs, i);
    memcpy(old[i].id, g->rsa_id, 20);
    memcpy(old[i].nick, g->nickname, sizeof(old[i].nick));
    old[i].nick[sizeof(old[i].nick) - 1] = '\0';
    old[i].listed = g->listed;
  }
  guard_selection_update(c->gs, c->nl, &c->path_opts, now, NULL);
  size_t m = guard_selection_n_sampled(c->gs);
  bool *seen = al_calloc(n ? n : 1, sizeof(bool));
  for (size_t i = 0; i < m; i++) {
    const guard_entry_t *g = guard_selection_get_sampled(c->gs, i);
    size_t at;
    if (!snap_find(old, n, g->rsa_id, &at)) {
      client_ctl_guard_event(c, g->rsa_id, g->nickname, "NEW");
      continue;
    }
    seen[at] = true;
    if (old[at].listed != g->listed)
      client_ctl_guard_event(c, g->rsa_id, g->nickname,
                             g->listed ? "GOOD" : "BAD");
  }
  for (size_t i = 0; i < n; i++)
    if (!seen[i])
      client_ctl_guard_event(c, old[i].id, old[i].nick, "DROPPED");
  al_free(seen);
  al_free(old);
}

/* control-spec 3.9 "entry-guards" status of g. */
static const char *
guard_status(const guard_entry_t *g)
{
  if (!g->listed)
    return "unlisted";
  if (!g->filtered)
    return "unusable";
  if (g->reachable == GUARD_REACHABLE_NO)
    return "down";
  if (g->reachable == GUARD_REACHABLE_YES || g->confirmed_idx >= 0)
    return "up";
  return "never-connected";
}

/* ---------------------------------------------------------------- */
/* CIRC_BW and STREAM_BW */

static void
bw_round(client_t *c, const char *iso)
{
  bool want_circ = ctlev_wanted(CTLEV_CIRC_BW);
  bool want_stream = ctlev_wanted(CTLEV_STREAM_BW);
  for (client_circ_t *k = c->circs; k; k = k->next) {
    uint64_t in = k->bytes_in - k->ctl_bw_in, out = k->bytes_out - k->ctl_bw_out;
    k->ctl_bw_in = k->bytes_in;
    k->ctl_bw_out = k->bytes_out;
    if (want_circ && k->ctl_id && (in || out))
      ctlev_publish(CTLEV_CIRC_BW, "ID=%u READ=%llu WRITTEN=%llu TIME=%s",
                    k->ctl_id, (unsigned long long)in,
                    (unsigned long long)out, iso);
  }
  for (client_conn_t *k = c->conns; k; k = k->next) {
    uint64_t in = k->bytes_in - k->ctl_bw_in, out = k->bytes_out - k->ctl_bw_out;
    k->ctl_bw_in = k->bytes_in;
    k->ctl_bw_out = k->bytes_out;
    if (want_stream && k->ctl_id && (in || out))
      ctlev_publish(CTLEV_STREAM_BW, "%llu %llu %llu %s",
                    (unsigned long long)k->ctl_id, (unsigned long long)out,
                    (unsigned long long)in, iso);
  }
}

void
client_ctl_tick(client_t *c)
{
  if (!ctlev_wanted(CTLEV_CIRC_BW) && !ctlev_wanted(CTLEV_STREAM_BW))
    return;
  uint64_t now = client_now_msec();
  if (c->ctl_bw_msec && now - c->ctl_bw_msec < 1000)
    return;
  c->ctl_bw_msec = now;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  char day[20], iso[32];
  civil_format_iso(tv.tv_sec, 'T', day);
  snprintf(iso, sizeof(iso), "%s.%06u", day, (unsigned)tv.tv_usec);
  bw_round(c, iso);
}

/* ---------------------------------------------------------------- */
/* GETINFO (control-spec 3.9) */

static char *
info_circuit_status(client_t *c)
{
  ctl_sb_t b = { NULL, 0, 0 };
  for (const client_circ_t *k = c->circs; k; k = k->next) {
    if (k->closed || !k->ctl_id)
      continue;
    if (b.len)
      sb_printf(&b, "\n");
    circ_format(c, k, circ_status(k), &b);
  }
  const client_circ_t *k;
  for (size_t i = 0; (k = client_ctl_shim_info(c, i)) != NULL; i++) {
    if (b.len)
      sb_printf(&b, "\n");
    circ_format(c, k, circ_status(k), &b);
  }
  return sb_take(&b);
}

static char *
info_stream_status(client_t *c)
{
  ctl_sb_t b = { NULL, 0, 0 };
  for (const client_conn_t *k = c->conns; k; k = k->next) {
    const char *st = stream_status(k);
    if (!k->ctl_new || !st)
      continue;
    sb_printf(&b, "%s%llu %s %u %s:%u", b.len ? "\n" : "",
              (unsigned long long)k->ctl_id, st,
              k->circ ? k->circ->ctl_id : 0, k->host, k->port);
  }
  return sb_take(&b);
}

static char *
info_entry_guards(client_t *c)
{
  ctl_sb_t b = { NULL, 0, 0 };
  size_t n = c->gs ? guard_selection_n_sampled(c->gs) : 0;
  for (size_t i = 0; i < n; i++) {
    const guard_entry_t *g = guard_selection_get_sampled(c->gs, i);
    if (!g)
      continue;
    char name[64];
    long_name(c, g->rsa_id, g->nickname, name, sizeof(name));
    sb_printf(&b, "%s%s %s", b.len ? "\n" : "", name, guard_status(g));
  }
  return sb_take(&b);
}

static int
client_getinfo(const char *key, void *arg, char **answer, const char **errmsg)
{
  client_t *c = arg;
  (void)errmsg;
  if (!strcmp(key, "circuit-status"))
    *answer = info_circuit_status(c);
  else if (!strcmp(key, "stream-status"))
    *answer = info_stream_status(c);
  else if (!strcmp(key, "orconn-status"))
    *answer = c->cm ? chanmgr_orconn_status(c->cm) : al_strdup("");
  else if (!strcmp(key, "entry-guards"))
    *answer = info_entry_guards(c);
  else if (!strcmp(key, "status/circuit-established"))
    *answer = al_strdup(c->built_any ? "1" : "0");
  else if (!strcmp(key, "status/enough-dir-info"))
    *answer = al_strdup(c->enough_dirinfo ? "1" : "0");
  else
    return CTLINFO_UNKNOWN;
  return 0;
}

static const char *
client_nick(const uint8_t rsa_id[20], void *arg)
{
  client_t *c = arg;
  const node_t *n = nodelist_find_by_rsa_id(c->nl, rsa_id);
  return n ? n->nickname : NULL;
}

void
client_ctl_attach(client_t *c)
{
  static const struct { const char *key, *doc; } keys[] = {
    { "circuit-status", "Status of the client's circuits." },
    { "stream-status", "Status of the client's application streams." },
    { "orconn-status", "Status of the client's OR connections." },
    { "entry-guards", "The client's entry guards and their status." },
    { "status/circuit-established", "Whether we have built a circuit." },
    { "status/enough-dir-info",
      "Whether we have enough directory information to build circuits." },
  };
  if (!c || c->ctl_attached)
    return;
  c->ctl_attached = true;
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    (void)ctlinfo_register(keys[i].key, client_getinfo, c, keys[i].doc);
  if (c->cm)
    chanmgr_set_namer(c->cm, client_nick, c);
  client_ctl_stream_attach(c);
  client_ctl_onion_attach(c);
}

void
client_ctl_detach(client_t *c)
{
  if (!c || !c->ctl_attached)
    return;
  ctlinfo_unregister(c);
  ctlcmd_unregister(c);
  client_ctl_onion_detach(c);
  if (c->cm)
    chanmgr_set_namer(c->cm, NULL, NULL);
  c->ctl_attached = false;
}

/* ---------------------------------------------------------------- */
/* NEWNYM */

void
client_newnym(client_t *c)
{
  if (!c)
    return;
  /* tor(1) NEWNYM: circuits that carried streams take no new ones (they
   * close when idle, client_circ_maintain()); clean ones stay usable, and
   * the new epoch keeps later streams off circuits older streams used. */
  for (client_circ_t *k = c->circs; k; k = k->next)
    if (!k->closed && k->first_use_msec)
      k->no_new_streams = true;
  c->nym_epoch++;
  /* The client keeps no DNS cache of its own; remembered onion-service
   * failures are forgotten so the next request tries afresh. */
  if (c->hs_fetch)
    hs_client_cache_clear_failures(hs_client_fetcher_cache(c->hs_fetch));
  client_circ_maintain(c);
}
