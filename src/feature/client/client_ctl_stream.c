/* client_ctl_stream.c -- the control commands that steer the client's
 * circuits and streams (control-spec 3.8 MAPADDRESS, 3.10 EXTENDCIRCUIT,
 * 3.11 SETCIRCUITPURPOSE, 3.13 ATTACHSTREAM, 3.16 CLOSESTREAM, 3.17
 * CLOSECIRCUIT, 3.29 DROPGUARDS), the address map behind MAPADDRESS and
 * the MapAddress option (tor(1) MapAddress; its ADDRMAP events, 4.1.7, and
 * GETINFO "address-mappings/..." keys, 3.9), registered on the control bus
 * (core/mainloop/ctlbus.h).  Arguments: client_ctl_args.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>

#define LOG_MODULE "client"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/mainloop/ctlbus.h"
#include "allium/core/policy/policy.h"
#include "allium/feature/client/client_ctl_args.h"
#include "allium/feature/control/control_proto.h"
#include "allium/lib/conf/confline.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/time/civil.h"
#include "client_st.h"

#define AMAP_MAX CLIENT_ADDRMAP_MAX /* mappings at most */
#define AMAP_CHAIN 16              /* rewrites followed at most */
#define VIRT4_BASE 0x7fc00000u     /* 127.192.0.0/10 (VirtualAddrNetworkIPv4) */
#define VIRT4_SIZE (1u << 22)

enum { AMAP_CONFIG = 0, AMAP_CONTROL = 1 };

typedef struct client_addrmap_ent_t {
  char *from;                      /* as looked up: IPv6 without brackets */
  char *to;
  uint8_t src;                     /* AMAP_CONFIG / AMAP_CONTROL */
  bool virt;                       /* from was allocated (MAPADDRESS 0.0.0.0) */
} client_addrmap_ent_t;

/* ---------------------------------------------------------------- */
/* Replies */

static char *
reply_take(bytes_writer_t *w)
{
  size_t n;
  bytes_put_u8(w, 0);
  uint8_t *b = bytes_writer_steal(w, &n);
  return b ? (char *)b : al_strdup("551 Internal error\r\n");
}

static char *
reply_one(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *
reply_one(int code, const char *fmt, ...)
{
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  bytes_writer_t w;
  bytes_writer_init_heap(&w, 0);
  control_reply_line(&w, code, ' ', "%s", text);
  return reply_take(&w);
}

/* ---------------------------------------------------------------- */
/* The address map */

/* The lookup form of an address: IPv6 without brackets. */
static void
amap_key(const char *s, char *out, size_t len)
{
  size_t n = strlen(s);
  if (n > 2 && s[0] == '[' && s[n - 1] == ']')
    snprintf(out, len, "%.*s", (int)(n - 2), s + 1);
  else
    snprintf(out, len, "%s", s);
}

static client_addrmap_ent_t *
amap_find(client_t *c, const char *from)
{
  char key[300];
  amap_key(from, key, sizeof(key));
  for (size_t i = 0; i < c->n_amap; i++)
    if (!strcasecmp(c->amap[i].from, key))
      return &c->amap[i];
  return NULL;
}

static void
amap_remove_at(client_t *c, size_t i)
{
  al_free(c->amap[i].from);
  al_free(c->amap[i].to);
  c->amap[i] = c->amap[--c->n_amap];
}

static void
amap_event(const char *from, const char *to)
{
  if (ctlev_wanted(CTLEV_ADDRMAP))
    ctlev_publish(CTLEV_ADDRMAP, "%s %s NEVER CACHED=\"YES\"", from, to);
}

/* Map from to to (replacing a mapping of from); from == to removes it, as
 * tor.  0, or -1 when the map is full. */
static int
amap_set(client_t *c, const char *from, const char *to, uint8_t src, bool virt)
{
  char key[300];
  amap_key(from, key, sizeof(key));
  client_addrmap_ent_t *e = amap_find(c, key);
  if (!strcasecmp(key, to)) {
    if (e)
      amap_remove_at(c, (size_t)(e - c->amap));
    return 0;
  }
  if (!e) {
    if (c->n_amap == AMAP_MAX)
      return -1;
    c->amap = al_realloc(c->amap, (c->n_amap + 1) * sizeof(*c->amap));
    e = &c->amap[c->n_amap++];
    e->from = al_strdup(key);
  } else {
    al_free(e->to);
  }
  e->to = al_strdup(to);
  e->src = src;
  e->virt = virt;
  amap_event(from, to);
  return 0;
}

bool
client_addrmap_rewrite(client_t *c, char *host, size_t len)
{
  bool changed = false;
  if (!c)
    return false;
  for (int i = 0; i < AMAP_CHAIN; i++) {
    const client_addrmap_ent_t *e = amap_find(c, host);
    char key[300];
    if (!e)
      break;
    amap_key(e->to, key, sizeof(key));
    if (strlen(key) >= len || !strcasecmp(key, host))
      break;
    memcpy(host, key, strlen(key) + 1);
    changed = true;
  }
  return changed;
}

void
client_addrmap_set_config(client_t *c, const config_line_t *l)
{
  for (size_t i = c->n_amap; i-- > 0;)
    if (c->amap[i].src == AMAP_CONFIG)
      amap_remove_at(c, i);
  for (; l; l = l->next) {
    char from[256], to[256], extra[2];
    int n = sscanf(l->value, "%255s %255s %1s", from, to, extra);
    if (n != 2 || !client_ctl_addr_ok(from) || !client_ctl_addr_ok(to)) {
      log_warn("MapAddress \"%s\": expected two addresses (wildcards are "
               "not supported); ignored", l->value);
      continue;
    }
    if (amap_set(c, from, to, AMAP_CONFIG, false) != 0)
      log_warn("MapAddress: too many mappings; the rest are ignored");
  }
}

void
client_addrmap_free_all(client_t *c)
{
  while (c->n_amap)
    amap_remove_at(c, c->n_amap - 1);
  al_free(c->amap);
  c->amap = NULL;
  al_free(c->ctl_listener);   /* its streams are gone (client_free) */
}

/* An unused virtual address of the kind of from ("0.0.0.0", "::", ".")
 * into out; an existing virtual mapping to to is reused.  0 or -1. */
static int
amap_virtual(client_t *c, char kind, const char *to, char *out, size_t len)
{
  for (size_t i = 0; i < c->n_amap; i++) {
    const client_addrmap_ent_t *e = &c->amap[i];
    bool v6 = strchr(e->from, ':') != NULL;
    bool name = !v6 && strstr(e->from, ".virtual") != NULL;
    char k = name ? '.' : v6 ? ':' : '0';
    if (e->virt && k == kind && !strcasecmp(e->to, to)) {
      snprintf(out, len, "%s", e->from);
      return 0;
    }
  }
  for (int tries = 0; tries < 64; tries++) {
    if (kind == '0') {
      uint32_t off = c->amap_next_virt++ % VIRT4_SIZE;
      if ((off & 0xff) == 0 || (off & 0xff) == 0xff)
        continue;
      uint32_t a = VIRT4_BASE + off;
      snprintf(out, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff,
               (a >> 8) & 0xff, a & 0xff);
    } else if (kind == ':') {
      uint8_t b[16] = { 0xfe, 0x80 };
      char txt[INET6_ADDRSTRLEN];
      crypto_rand(b + 8, 8);
      if (!inet_ntop(AF_INET6, b, txt, sizeof(txt)))
        return -1;
      snprintf(out, len, "%s", txt);
    } else {
      uint8_t r[10];
      char b32[20];
      crypto_rand(r, sizeof(r));
      if (base32_encode(b32, sizeof(b32), r, sizeof(r)) < 0)
        return -1;
      b32[16] = '\0';
      for (char *p = b32; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
      snprintf(out, len, "%s.virtual", b32);
    }
    if (!amap_find(c, out))
      return 0;
  }
  return -1;
}

/* One MAPADDRESS pair; appends its reply line (sep '-': fixed later). */
static void
mapaddress_one(client_t *c, const control_arg_t *a, bytes_writer_t *w)
{
  if (!a->has_value || !*a->key || !*a->value) {
    control_reply_line(w, 512, '-', "syntax error: mapping '%s' is not of "
                       "expected form 'foo=bar'.", a->key);
    return;
  }
  const char *from = a->key, *to = a->value;
  if (!client_ctl_addr_ok(to)) {
    control_reply_line(w, 512, '-', "syntax error: invalid address '%s'", to);
    return;
  }
  char kind = !strcmp(from, ".") ? '.' : !strcmp(from, "0.0.0.0") ? '0'
              : !strcmp(from, "::") ? ':' : 0;
  if (kind) {
    char virt[300];
    if (amap_virtual(c, kind, to, virt, sizeof(virt)) != 0 ||
        amap_set(c, virt, to, AMAP_CONTROL, true) != 0)
      control_reply_line(w, 451, '-', "resource exhausted: skipping '%s=%s'",
                         from, to);
    else
      control_reply_line(w, 250, '-', "%s=%s", virt, to);
    return;
  }
  if (!client_ctl_addr_ok(from))
    control_reply_line(w, 512, '-', "syntax error: invalid address mapping "
                       " '%s=%s': bad address", from, to);
  else if (amap_set(c, from, to, AMAP_CONTROL, false) != 0)
    control_reply_line(w, 451, '-', "resource exhausted: skipping '%s=%s'",
                       from, to);
  else
    control_reply_line(w, 250, '-', "%s=%s", from, to);
}

static int
cmd_mapaddress(uint64_t conn_id, const char *args, const char *data,
               void *arg, char **reply)
{
  (void)conn_id;
  (void)data;
  client_t *c = arg;
  control_arg_t *a = NULL;
  size_t n = 0;
  if (control_args_parse(args, 64, &a, &n) != 0) {
    *reply = reply_one(512, "syntax error: malformed arguments to "
                       "mapaddress.");
    return 0;
  }
  if (n == 0) {
    control_args_free(a, n);
    *reply = reply_one(512, "syntax error: not enough arguments to "
                       "mapaddress.");
    return 0;
  }
  bytes_writer_t w;
  bytes_writer_init_heap(&w, 0);
  size_t last = 0;
  for (size_t i = 0; i < n; i++) {
    last = bytes_writer_len(&w);
    mapaddress_one(c, &a[i], &w);
  }
  control_args_free(a, n);
  /* The last line ends the reply: "250 ..." not "250-...". */
  if (w.buf && last + 3 < w.len)
    w.buf[last + 3] = ' ';
  *reply = reply_take(&w);
  return 0;
}

static int
amap_getinfo(const char *key, void *arg, char **answer, const char **errmsg)
{
  client_t *c = arg;
  (void)errmsg;
  int want;
  if (!strcmp(key, "address-mappings/all"))
    want = -1;
  else if (!strcmp(key, "address-mappings/config"))
    want = AMAP_CONFIG;
  else if (!strcmp(key, "address-mappings/control"))
    want = AMAP_CONTROL;
  else if (!strcmp(key, "address-mappings/cache"))
    want = -2;   /* the client keeps no DNS cache */
  else
    return CTLINFO_UNKNOWN;
  bytes_writer_t w;
  bytes_writer_init_heap(&w, 0);
  for (size_t i = 0; want != -2 && i < c->n_amap; i++) {
    const client_addrmap_ent_t *e = &c->amap[i];
    if (want >= 0 && e->src != want)
      continue;
    char line[600];
    int len = snprintf(line, sizeof(line), "%s%s %s NEVER",
                       bytes_writer_len(&w) ? "\n" : "", e->from, e->to);
    if (len > 0)
      bytes_put_bytes(&w, line, strlen(line));
  }
  bytes_put_u8(&w, 0);
  size_t len;
  char *s = (char *)bytes_writer_steal(&w, &len);
  *answer = s ? s : al_strdup("");
  return 0;
}

/* ---------------------------------------------------------------- */
/* Lookups */

static client_circ_t *
circ_by_ctl_id(client_t *c, uint32_t id)
{
  for (client_circ_t *k = c->circs; k && id; k = k->next)
    if (!k->closed && k->ctl_id == id)
      return k;
  return NULL;
}

static bool
shim_has_id(client_t *c, uint32_t id)
{
  const client_circ_t *k;
  for (size_t i = 0; id && (k = client_ctl_shim_info(c, i)) != NULL; i++)
    if (k->ctl_id == id)
      return true;
  return false;
}

static client_conn_t *
stream_by_ctl_id(client_t *c, uint64_t id)
{
  for (client_conn_t *k = c->conns; k; k = k->next)
    if (k->ctl_new && k->ctl_id == id && k->state != CONN_DEAD &&
        k->state != CONN_CLOSING)
      return k;
  return NULL;
}

/* ---------------------------------------------------------------- */
/* CLOSECIRCUIT, CLOSESTREAM */

static int
cmd_closecircuit(uint64_t conn_id, const char *args, const char *data,
                 void *arg, char **reply)
{
  (void)conn_id;
  (void)data;
  char err[CLIENT_CTL_ERR_LEN];
  uint32_t id;
  bool if_unused;
  int code = client_ctl_parse_closecircuit(args, &id, &if_unused, err,
                                           sizeof(err));
  if (code)
    *reply = reply_one(code, "%s", err);
  else if (!circ_by_ctl_id(arg, id) && !shim_has_id(arg, id))
    *reply = reply_one(552, "Unknown circuit \"%u\"", id);
  else {
    /* IfUnused with streams: tor leaves the circuit and says OK. */
    (void)client_ctl_close_circuit(arg, id, if_unused);
    *reply = reply_one(250, "OK");
  }
  return 0;
}

static int
cmd_closestream(uint64_t conn_id, const char *args, const char *data,
                void *arg, char **reply)
{
  (void)conn_id;
  (void)data;
  char err[CLIENT_CTL_ERR_LEN];
  uint64_t id;
  uint8_t reason;
  int code = client_ctl_parse_closestream(args, &id, &reason, err,
                                          sizeof(err));
  if (code)
    *reply = reply_one(code, "%s", err);
  else if (!stream_by_ctl_id(arg, id) ||
           client_ctl_close_stream(arg, id, reason) != 0)
    *reply = reply_one(552, "Unknown stream \"%llu\"",
                       (unsigned long long)id);
  else
    *reply = reply_one(250, "OK");
  return 0;
}

/* ---------------------------------------------------------------- */
/* ATTACHSTREAM */

/* May k (a stream the controller names) be attached by the controller?
 * tor: waiting for the controller (__LeaveStreamsUnattached, or detached
 * after a failure), or sent BEGIN / RESOLVE already (it moves); allium
 * also lets a controller attach a stream still waiting for a circuit. */
static bool
stream_attachable(const client_conn_t *k)
{
  return !k->onion && (k->state == CONN_WAIT_CIRC ||
                       k->state == CONN_CONNECTING ||
                       k->state == CONN_RESOLVING);
}

/* The checks on the chosen circuit; NULL if fine, else the 551 text. */
static const char *
attach_refusal(client_t *c, const client_conn_t *k, const client_circ_t *circ,
               unsigned hop)
{
  if (!circ->built)
    return "Can't attach stream to non-open origin circuit";
  if (circ->hs)
    return "Can't attach stream to an onion-service circuit";
  if (circ->n_path < 2 || hop == 1)
    return "Can't attach stream to one-hop circuit.";
  if (hop && hop != circ->n_path)
    return hop > circ->n_path ? "Circuit doesn't have that many hops."
           : "Streams can only exit at the circuit's last hop in allium.";
  if (k->command == SOCKS_CMD_CONNECT &&
      !client_exit_allows(client_circ_exit_node(c, circ), &k->dest, k->port))
    return "Unable to attach stream: the exit's policy refuses it";
  return NULL;
}

static int
cmd_attachstream(uint64_t conn_id, const char *args, const char *data,
                 void *arg, char **reply)
{
  (void)conn_id;
  (void)data;
  client_t *c = arg;
  char err[CLIENT_CTL_ERR_LEN];
  client_ctl_attach_args_t a;
  int code = client_ctl_parse_attach(args, &a, err, sizeof(err));
  if (code) {
    *reply = reply_one(code, "%s", err);
    return 0;
  }
  client_conn_t *k = stream_by_ctl_id(c, a.stream_id);
  client_circ_t *circ = a.circ_id ? circ_by_ctl_id(c, a.circ_id) : NULL;
  const char *why;
  if (!k)
    *reply = reply_one(552, "Unknown stream \"%llu\"",
                       (unsigned long long)a.stream_id);
  else if (a.circ_id && !circ && !shim_has_id(c, a.circ_id))
    *reply = reply_one(552, "Unknown circuit \"%u\"", a.circ_id);
  else if (!stream_attachable(k))
    *reply = reply_one(555, "Connection is not managed by controller.");
  else if (a.circ_id && !circ)
    *reply = reply_one(551, "Can't attach stream to this circuit");
  else if (circ && (why = attach_refusal(c, k, circ, a.hop)) != NULL)
    *reply = reply_one(551, "%s", why);
  else if (client_conn_ctl_attach(k, circ) != 0)
    *reply = reply_one(551, "Unable to attach stream");
  else
    *reply = reply_one(250, "OK");
  return 0;
}

/* ---------------------------------------------------------------- */
/* EXTENDCIRCUIT, SETCIRCUITPURPOSE */

static void
set_purpose(client_t *c, client_circ_t *circ, bool controller)
{
  const char *old = client_ctl_purpose(circ);
  circ->ctl_controller = controller;
  circ->ctl_purpose = controller ? "CONTROLLER" : NULL;
  if (strcmp(old, client_ctl_purpose(circ)))
    client_ctl_circ_minor(c, circ, "PURPOSE_CHANGED", old);
}

/* The relays of the path; NULL with the reply set. */
static bool
extend_nodes(client_t *c, const client_ctl_extend_args_t *a,
             const node_t **hops, char **reply)
{
  for (size_t i = 0; i < a->n_path; i++) {
    uint8_t id[20];
    bool has_id;
    char nick[20];
    const node_t *n = NULL;
    if (client_ctl_parse_server_spec(a->path[i], id, &has_id, nick) == 0)
      n = has_id ? nodelist_find_by_rsa_id(c->nl, id)
                 : nodelist_find_by_nickname(c->nl, nick);
    if (n && has_id && nick[0] && strcasecmp(n->nickname, nick))
      n = NULL;
    if (!n) {
      *reply = reply_one(552, "No such router \"%s\"", a->path[i]);
      return false;
    }
    hops[i] = n;
  }
  return true;
}

static int
cmd_extendcircuit(uint64_t conn_id, const char *args, const char *data,
                  void *arg, char **reply)
{
  (void)conn_id;
  (void)data;
  client_t *c = arg;
  char err[CLIENT_CTL_ERR_LEN];
  client_ctl_extend_args_t a;
  int code = client_ctl_parse_extend(args, &a, err, sizeof(err));
  if (code) {
    *reply = reply_one(code, "%s", err);
    return 0;
  }
  if (a.circ_id) {
    if (!circ_by_ctl_id(c, a.circ_id) && !shim_has_id(c, a.circ_id))
      *reply = reply_one(552, "Unknown circuit \"%u\"", a.circ_id);
    else
      *reply = reply_one(551, "Couldn't extend circuit %u: allium extends "
                         "only the circuits it builds (EXTENDCIRCUIT 0)",
                         a.circ_id);
    return 0;
  }
  const node_t *hops[CLIENT_CTL_PATH_MAX];
  if (!extend_nodes(c, &a, hops, reply))
    return 0;
  client_circ_t *circ = NULL;
  if (!c->enough_dirinfo) {
    *reply = reply_one(551, "Couldn't start circuit: not enough directory "
                       "information yet");
    return 0;
  }
  if (a.n_path) {
    circ = client_circ_launch_path(c, hops, a.n_path, a.controller);
  } else {
    client_launch_t w = { 0, NULL, false, false };
    circ = client_circ_launch(c, &w);
    if (!circ) {
      w.internal = true;
      circ = client_circ_launch(c, &w);
    }
    if (circ && a.controller)
      set_purpose(c, circ, true);
  }
  if (!circ)
    *reply = reply_one(551, "Couldn't start circuit");
  else
    *reply = reply_one(250, "EXTENDED %u", circ->ctl_id);
  return 0;
}

static int
cmd_setcircuitpurpose(uint64_t conn_id, const char *args, const char *data,
                      void *arg, char **reply)
{
  (void)conn_id;
  (void)data;
  client_t *c = arg;
  char err[CLIENT_CTL_ERR_LEN];
  uint32_t id;
  bool controller;
  int code = client_ctl_parse_purpose(args, &id, &controller, err,
                                      sizeof(err));
  client_circ_t *circ = code ? NULL : circ_by_ctl_id(c, id);
  if (code)
    *reply = reply_one(code, "%s", err);
  else if (!circ || circ->hs)
    *reply = reply_one(552, "Unknown circuit \"%u\"", id);
  else {
    set_purpose(c, circ, controller);
    *reply = reply_one(250, "OK");
  }
  return 0;
}

/* ---------------------------------------------------------------- */
/* RESOLVE (control-spec 3.23): answers as ADDRMAP events (4.1.7) */

/* The name the controller asked about: for a reverse lookup, the address. */
static void
resolve_asked(const client_conn_t *k, char *out, size_t len)
{
  const socks_addr_t *t = &k->target;
  out[0] = '\0';
  if (k->command != SOCKS_CMD_RESOLVE_PTR)
    snprintf(out, len, "%s", k->host);
  else if (!inet_ntop(t->atyp == SOCKS_ATYP_IPV4 ? AF_INET : AF_INET6,
                      t->addr, out, (socklen_t)len))
    out[0] = '\0';
}

/* The answer of body for k's question into out; false if none. */
static bool
resolve_pick(const client_conn_t *k, const uint8_t *body, size_t len,
             char *out, size_t outlen, uint32_t *ttl)
{
  relay_resolved_t m;
  if (!body || relay_resolved_decode(&m, body, len) != 0)
    return false;
  bool ptr = k->command == SOCKS_CMD_RESOLVE_PTR;
  for (int pass = 0; pass < 2; pass++)
    for (uint8_t i = 0; i < m.n; i++) {
      const relay_resolved_answer_t *a = &m.answers[i];
      uint8_t want = ptr ? RELAY_RESOLVED_HOSTNAME
                     : pass == 0 ? RELAY_RESOLVED_IPV4 : RELAY_RESOLVED_IPV6;
      if (a->type != want)
        continue;
      *ttl = a->ttl;
      if (ptr) {
        if (!client_ctl_addr_ok_n(a->value, a->len))
          continue;
        snprintf(out, outlen, "%.*s", (int)a->len, (const char *)a->value);
        return true;
      }
      if (inet_ntop(want == RELAY_RESOLVED_IPV4 ? AF_INET : AF_INET6,
                    a->value, out, (socklen_t)outlen))
        return true;
    }
  return false;
}

void
client_ctl_resolve_answer(client_conn_t *k, const uint8_t *body, size_t len)
{
  if (!k->ctl_resolve || k->ctl_answered)
    return;
  k->ctl_answered = true;
  if (!ctlev_wanted(CTLEV_ADDRMAP))
    return;
  char asked[RELAY_HOST_MAX], answer[300], local[32], utc[20];
  uint32_t ttl = 0;
  resolve_asked(k, asked, sizeof(asked));
  bool ok = resolve_pick(k, body, len, answer, sizeof(answer), &ttl);
  time_t when = time(NULL) + (ok ? (time_t)ttl : 0);
  struct tm tm;
  if (!localtime_r(&when, &tm) ||
      !strftime(local, sizeof(local), "%Y-%m-%d %H:%M:%S", &tm))
    snprintf(local, sizeof(local), "1970-01-01 00:00:00");
  civil_format_iso(when, ' ', utc);
  ctlev_publish(CTLEV_ADDRMAP, "%s %s \"%s\"%s EXPIRES=\"%s\" CACHED=\"NO\" "
                "STREAMID=%llu", asked, ok ? answer : "<error>", local,
                ok ? "" : " error=yes", utc, (unsigned long long)k->ctl_id);
}

static int
cmd_resolve(uint64_t conn_id, const char *args, const char *data, void *arg,
            char **reply)
{
  (void)conn_id;
  (void)data;
  client_t *c = arg;
  control_arg_t *a = NULL;
  size_t n = 0;
  if (control_args_parse(args, 64, &a, &n) != 0) {
    *reply = reply_one(512, "Invalid arguments to RESOLVE");
    return 0;
  }
  bool reverse = false;
  for (size_t i = 0; i < n; i++)
    if (a[i].has_value && !strcasecmp(a[i].key, "mode"))
      reverse = !strcasecmp(a[i].value, "reverse");
  if (!c->ctl_listener) {
    c->ctl_listener = al_calloc(1, sizeof(*c->ctl_listener));
    c->ctl_listener->c = c;
    c->ctl_listener->idx = SIZE_MAX;
  }
  bytes_writer_t w;
  bytes_writer_init_heap(&w, 0);
  for (size_t i = 0; i < n; i++) {
    if (a[i].has_value)
      continue;
    /* tor: a bad address gets its own line before the final OK */
    if (!client_ctl_addr_ok(a[i].key) ||
        client_conn_ctl_resolve(c->ctl_listener, a[i].key, reverse) != 0)
      control_reply_line(&w, 512, '-', "Invalid address \"%s\"", a[i].key);
  }
  control_args_free(a, n);
  control_reply_line(&w, 250, ' ', "OK");
  *reply = reply_take(&w);
  return 0;
}

/* ---------------------------------------------------------------- */
/* DROPGUARDS */

static int
cmd_dropguards(uint64_t conn_id, const char *args, const char *data,
               void *arg, char **reply)
{
  (void)conn_id;
  (void)data;
  client_t *c = arg;
  if (args && *args) {
    *reply = reply_one(512, "Too many arguments to DROPGUARDS");
    return 0;
  }
  /* Forget every sampled guard; the next update samples afresh.  The
   * circuits built through the old guards go on. */
  size_t n = guard_selection_n_sampled(c->gs);
  for (size_t i = 0; i < n; i++) {
    const guard_entry_t *g = guard_selection_get_sampled(c->gs, i);
    if (g)
      client_ctl_guard_event(c, g->rsa_id, g->nickname, "DROPPED");
  }
  guard_selection_free(c->gs);
  c->gs = guard_selection_new("default");
  for (client_circ_t *k = c->circs; k; k = k->next)
    k->has_guard = false;
  if (c->enough_dirinfo)
    client_ctl_guard_update(c, time(NULL));
  client_save_guards(c);
  log_notice_rl(10, "Dropped every entry guard on a controller's request.");
  *reply = reply_one(250, "OK");
  return 0;
}

/* ---------------------------------------------------------------- */

void
client_ctl_stream_attach(client_t *c)
{
  static const struct { const char *key, *doc; } keys[] = {
    { "address-mappings/all", "Every address mapping (MAPADDRESS, MapAddress)." },
    { "address-mappings/config", "The address mappings of MapAddress." },
    { "address-mappings/cache", "The client's DNS cache (always empty)." },
    { "address-mappings/control", "The address mappings of MAPADDRESS." },
  };
  static const struct { const char *kw; ctlcmd_fn fn; } cmds[] = {
    { "MAPADDRESS", cmd_mapaddress },
    { "EXTENDCIRCUIT", cmd_extendcircuit },
    { "SETCIRCUITPURPOSE", cmd_setcircuitpurpose },
    { "ATTACHSTREAM", cmd_attachstream },
    { "CLOSESTREAM", cmd_closestream },
    { "CLOSECIRCUIT", cmd_closecircuit },
    { "DROPGUARDS", cmd_dropguards },
    { "RESOLVE", cmd_resolve },
  };
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    (void)ctlinfo_register(keys[i].key, amap_getinfo, c, keys[i].doc);
  for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
    (void)ctlcmd_register(cmds[i].kw, cmds[i].fn, c);
}
