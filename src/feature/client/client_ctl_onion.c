/* client_ctl_onion.c -- onion services on the control port: ADD_ONION
 * (control-spec 3.27), DEL_ONION (3.28), GETINFO onions/current and
 * onions/detached (3.9), HSFETCH (3.26), ONION_CLIENT_AUTH_ADD / _REMOVE /
 * _VIEW (3.30-3.32), and the HS_DESC (4.1.25) and HS_DESC_CONTENT
 * (4.1.26) events.
 *
 * ADD_ONION services run in memory only, hosted like configured ones
 * (client_hs_svc_add()); a service dies with the controller connection
 * that made it unless it was added with Flags=Detach.  Client
 * authorization keys given here are kept next to the ClientOnionAuthDir
 * ones: the fetcher gets one store holding both (these win), rebuilt at
 * every change.  Commands reach us through core/mainloop/ctlbus.h; replies
 * are written with feature/control/control_proto.h.  Keys and onion
 * addresses appear in replies and events only, never in the log.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "allium/core/mainloop/ctlbus.h"
#include "allium/feature/client/client_ctl_onion.h"
#include "allium/feature/control/control_proto.h"
#include "allium/feature/hs_common/hs_auth_private.h"
#include "allium/lib/bytes/bytes.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"
#include "client_hs_svc.h"

/** A service made by ADD_ONION. */
typedef struct ctl_svc_t {
  struct ctl_svc_t *next;
  ed25519_public_key_t pk;
  char id[HS_ONION_ADDR_NO_SUFFIX_LEN + 1];
  uint64_t owner;              /* controller connection; 0: detached */
} ctl_svc_t;

/** A client authorization key given (or removed) on the control port. */
typedef struct ctl_auth_t {
  struct ctl_auth_t *next;
  hs_auth_private_t e;
  char name[CLIENT_ONION_MAX_NAME + 1];
  bool permanent;
  bool removed;                /* hides a ClientOnionAuthDir key */
} ctl_auth_t;

/** An HSFETCH under way. */
typedef struct ctl_fetch_t {
  struct ctl_fetch_t *next;
  struct client_ctl_onion_t *st;
  ed25519_public_key_t pk;
} ctl_fetch_t;

/** An event to publish after the command's reply has gone out. */
typedef struct ctl_later_t {
  struct ctl_later_t *next;
  char *msg;
} ctl_later_t;

typedef struct client_ctl_onion_t {
  client_t *c;
  ctl_svc_t *svcs;
  ctl_auth_t *auth;
  hs_auth_store_t *merged;     /* auth_dir + auth, given to the fetcher */
  ctl_fetch_t *fetches;
  ctl_later_t *later, **later_tail;
  struct event *later_ev;
} client_ctl_onion_t;

/* ---------------------------------------------------------------- */
/* Replies */

/* The reply written in w (a heap writer, emptied) as a string; -1 when
 * the writer failed. */
static int
reply_take(bytes_writer_t *w, char **reply)
{
  bytes_put_u8(w, 0);
  size_t len = 0;
  *reply = (char *)bytes_writer_steal(w, &len);
  bytes_writer_clear(w);
  return *reply ? 0 : -1;
}

static int
reply_one(char **reply, int code, const char *text)
{
  bytes_writer_t w;
  bytes_writer_init_heap(&w, 0);
  control_reply_line(&w, code, ' ', "%s", text);
  return reply_take(&w, reply);
}

/* ---------------------------------------------------------------- */
/* HS_DESC (4.1.25) */

static void
later_cb(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  client_ctl_onion_t *st = arg;
  while (st->later) {
    ctl_later_t *l = st->later;
    st->later = l->next;
    ctlev_publish(CTLEV_HS_DESC, "%s", l->msg);
    al_free(l->msg);
    al_free(l);
  }
  st->later_tail = &st->later;
}

/* Queue msg (taken) for the loop's next turn: after "250 OK". */
static void
later_add(client_ctl_onion_t *st, char *msg)
{
  ctl_later_t *l = al_calloc(1, sizeof(*l));
  l->msg = msg;
  *st->later_tail = l;
  st->later_tail = &l->next;
  struct timeval tv = { 0, 0 };
  if (st->later_ev)
    event_add(st->later_ev, &tv);
}

static char *
hs_desc_text(client_t *c, const char *action, const ed25519_public_key_t *pk,
             const char *auth, const uint8_t *hsdir,
             const ed25519_public_key_t *blinded, const char *reason)
{
  char addr[HS_ONION_ADDR_LEN + 1] = "UNKNOWN";
  if (pk && hs_onion_address_encode(addr, sizeof(addr), pk) == 0)
    addr[HS_ONION_ADDR_NO_SUFFIX_LEN] = '\0';
  char dir[80] = "UNKNOWN";
  if (hsdir) {
    char fp[41];
    base16_encode(fp, sizeof(fp), hsdir, 20);
    const node_t *n = c && c->nl ? nodelist_find_by_rsa_id(c->nl, hsdir)
                                 : NULL;
    const char *nick = n ? n->nickname : "";
    snprintf(dir, sizeof(dir), "$%s%s%s", fp, *nick ? "~" : "", nick);
  }
  char desc[64] = "";
  if (blinded) {
    desc[0] = ' ';
    base64_encode(desc + 1, sizeof(desc) - 1, blinded->pubkey, 32,
                  BASE64_FLAG_NOPAD);
  }
  return al_asprintf("%s %s %s %s%s%s%s", action, addr, auth, dir, desc,
                     reason ? " REASON=" : "", reason ? reason : "");
}

void
client_ctl_hs_desc_event(client_t *c, const char *action,
                         const ed25519_public_key_t *pk, const char *auth,
                         const uint8_t *hsdir,
                         const ed25519_public_key_t *blinded,
                         const char *reason)
{
  if (!ctlev_wanted(CTLEV_HS_DESC))
    return;
  char *s = hs_desc_text(c, action, pk, auth, hsdir, blinded, reason);
  ctlev_publish(CTLEV_HS_DESC, "%s", s);
  al_free(s);
}

/* ---------------------------------------------------------------- */
/* ADD_ONION, DEL_ONION */

/* The one-service configuration of an ADD_ONION (ports taken). */
static hs_service_configs_t *
add_config(client_onion_add_t *a)
{
  hs_service_configs_t *cfgs = al_calloc(1, sizeof(*cfgs));
  cfgs->n = 1;
  cfgs->svc = al_calloc(1, sizeof(*cfgs->svc));
  hs_service_config_t *s = &cfgs->svc[0];
  s->ports = a->ports;
  s->n_ports = a->n_ports;
  a->ports = NULL;
  a->n_ports = 0;
  s->version = 3;
  s->max_streams = a->max_streams;
  s->max_streams_close_circuit = a->max_streams_close;
  s->num_intro_points = HS_CONFIG_DEFAULT_INTRO;
  s->intro_dos_rate = HS_CONFIG_DOS_RATE_DEFAULT;
  s->intro_dos_burst = HS_CONFIG_DOS_BURST_DEFAULT;
  return cfgs;
}

static void
add_reply(bytes_writer_t *w, const ctl_svc_t *s, const client_onion_add_t *a)
{
  control_reply_line(w, 250, '-', "ServiceID=%s", s->id);
  if (a->key_new && !a->discard_pk) {
    char b64[BASE64_ENCODED_LEN(ED25519_SECKEY_LEN) + 1];
    base64_encode(b64, sizeof(b64), a->key.sec.seckey, ED25519_SECKEY_LEN, 0);
    control_reply_line(w, 250, '-', "PrivateKey=ED25519-V3:%s", b64);
    memwipe(b64, sizeof(b64));
  }
  for (size_t i = 0; i < a->n_clients; i++) {
    char b32[BASE32_ENCODED_LEN(32) + 1];
    base32_encode(b32, sizeof(b32), a->clients[i], 32);
    control_reply_line(w, 250, '-', "ClientAuthV3=%s", b32);
  }
  control_reply_line(w, 250, ' ', "OK");
}

static int
cmd_add_onion(uint64_t conn, const char *args, const char *data, void *arg,
              char **reply)
{
  (void)data;
  client_ctl_onion_t *st = arg;
  client_onion_add_t a;
  const char *why = NULL;
  int code = client_onion_parse_add(args, st->c->hs_single_onion, &a, &why);
  if (code) {
    client_onion_add_clear(&a);
    return reply_one(reply, code, why);
  }
  if (a.key_new && ed25519_keypair_generate(&a.key) < 0) {
    client_onion_add_clear(&a);
    return reply_one(reply, 551, "Failed to generate ED25519-V3 key");
  }
  if (client_hs_svc_exists(st->c, &a.key.pub)) {
    client_onion_add_clear(&a);
    return reply_one(reply, 550, "Onion address collision");
  }
  ctl_svc_t *s = al_calloc(1, sizeof(*s));
  s->pk = a.key.pub;
  s->owner = a.detach ? 0 : conn;
  char addr[HS_ONION_ADDR_LEN + 1];
  hs_onion_address_encode(addr, sizeof(addr), &s->pk);
  memcpy(s->id, addr, HS_ONION_ADDR_NO_SUFFIX_LEN);
  int e = client_hs_svc_add(st->c, add_config(&a), &a.key,
                            (const uint8_t(*)[32])a.clients, a.n_clients);
  if (e != 0) {
    al_free(s);
    client_onion_add_clear(&a);
    return reply_one(reply, e == -2 ? 550 : 551, e == -2
                     ? "Onion address collision"
                     : "Failed to add Onion Service");
  }
  s->next = st->svcs;
  st->svcs = s;
  bytes_writer_t w;
  bytes_writer_init_heap(&w, 0);
  add_reply(&w, s, &a);
  client_onion_add_clear(&a);
  return reply_take(&w, reply);
}

/* Stop and forget *sp. */
static void
svc_drop(client_ctl_onion_t *st, ctl_svc_t **sp)
{
  ctl_svc_t *s = *sp;
  *sp = s->next;
  (void)client_hs_svc_remove(st->c, &s->pk);
  al_free(s);
}

static int
cmd_del_onion(uint64_t conn, const char *args, const char *data, void *arg,
              char **reply)
{
  (void)data;
  client_ctl_onion_t *st = arg;
  control_arg_t *a = NULL;
  size_t n = 0;
  if (control_args_parse(args, 4, &a, &n) < 0 || n != 1 ||
      a[0].has_value) {
    control_args_free(a, n);
    return reply_one(reply, 512, "Invalid argument count");
  }
  ed25519_public_key_t pk;
  int bad = client_onion_parse_id(a[0].key, &pk);
  control_args_free(a, n);
  if (bad)
    return reply_one(reply, 512, "Malformed Onion Service id");
  for (ctl_svc_t **sp = &st->svcs; *sp; sp = &(*sp)->next) {
    ctl_svc_t *s = *sp;
    if (memcmp(s->pk.pubkey, pk.pubkey, 32) ||
        (s->owner && s->owner != conn))
      continue;
    svc_drop(st, sp);
    return reply_one(reply, 250, "OK");
  }
  return reply_one(reply, 552, "Unknown Onion Service id");
}

static void
on_conn_closed(uint64_t conn, void *arg)
{
  client_ctl_onion_t *st = arg;
  ctl_svc_t **sp = &st->svcs;
  while (*sp) {
    if ((*sp)->owner == conn)
      svc_drop(st, sp);
    else
      sp = &(*sp)->next;
  }
}

static int
getinfo_onions(const char *key, void *arg, char **answer, const char **errmsg)
{
  client_ctl_onion_t *st = arg;
  uint64_t want;
  if (!strcmp(key, "onions/current"))
    want = ctlinfo_conn_id();
  else if (!strcmp(key, "onions/detached"))
    want = 0;
  else
    return CTLINFO_UNKNOWN;
  size_t n = 0;
  for (const ctl_svc_t *s = st->svcs; s; s = s->next)
    n += s->owner == want;
  if (!n || (want == 0 && !strcmp(key, "onions/current"))) {
    *errmsg = "No onion services of the specified type.";
    return CTLINFO_ERR;
  }
  char *out = al_malloc(n * (HS_ONION_ADDR_NO_SUFFIX_LEN + 1) + 1), *p = out;
  for (const ctl_svc_t *s = st->svcs; s; s = s->next) {
    if (s->owner != want)
      continue;
    if (p != out)
      *p++ = '\n';
    memcpy(p, s->id, HS_ONION_ADDR_NO_SUFFIX_LEN);
    p += HS_ONION_ADDR_NO_SUFFIX_LEN;
  }
  *p = '\0';
  *answer = out;
  return 0;
}

/* ---------------------------------------------------------------- */
/* Client authorization (3.30-3.32) */

void
client_ctl_onion_auth_apply(client_t *c)
{
  client_ctl_onion_t *st = c ? c->ctl_onion : NULL;
  if (!c || !c->hs_fetch)
    return;
  if (!st || !st->auth) {
    hs_client_fetcher_set_auth(c->hs_fetch, c->auth_dir);
    if (st)
      hs_auth_store_free(st->merged);
    return;
  }
  hs_auth_store_t *m = hs_auth_store_new();
  const hs_auth_private_t *e;
  for (size_t i = 0; (e = hs_auth_store_get(c->auth_dir, i)) != NULL; i++) {
    bool ours = false;   /* replaced or removed here */
    for (const ctl_auth_t *k = st->auth; k && !ours; k = k->next)
      ours = !memcmp(k->e.service_pk.pubkey, e->service_pk.pubkey, 32);
    if (!ours)
      (void)hs_auth_store_add(m, e);
  }
  for (const ctl_auth_t *k = st->auth; k; k = k->next)
    if (!k->removed)
      (void)hs_auth_store_add(m, &k->e);
  hs_client_fetcher_set_auth(c->hs_fetch, m);
  hs_auth_store_free(st->merged);
  st->merged = m;
}

static ctl_auth_t *
auth_find(client_ctl_onion_t *st, const ed25519_public_key_t *pk)
{
  for (ctl_auth_t *k = st->auth; k; k = k->next)
    if (!memcmp(k->e.service_pk.pubkey, pk->pubkey, 32))
      return k;
  return NULL;
}

/* Is there a key for pk now (ours or the directory's)? */
static bool
auth_known(client_ctl_onion_t *st, const ed25519_public_key_t *pk)
{
  ctl_auth_t *k = auth_find(st, pk);
  if (k)
    return !k->removed;
  return hs_auth_store_find(st->c->auth_dir, pk) != NULL;
}

static char *
auth_file_path(const client_t *c, const char *id)
{
  return al_asprintf("%s/%s%s", c->auth_dir_path, id, HS_AUTH_PRIVATE_SUFFIX);
}

/* Write "<id>:descriptor:x25519:<base32 secret>" to <dir>/<id>.auth_private
 * (rend-spec-v3 G.1.3), mode 0600.  0 or -1. */
static int
auth_write_file(const client_t *c, const char *id, const uint8_t secret[32])
{
  char b32[BASE32_ENCODED_LEN(32) + 1];
  base32_encode(b32, sizeof(b32), secret, 32);
  char *line = al_asprintf("%s:descriptor:x25519:%s\n", id, b32);
  memwipe(b32, sizeof(b32));
  char *path = auth_file_path(c, id);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  size_t len = strlen(line);
  int rv = fd >= 0 && write(fd, line, len) == (ssize_t)len ? 0 : -1;
  if (fd >= 0 && close(fd) != 0)
    rv = -1;
  if (rv != 0 && fd >= 0)
    (void)unlink(path);
  memwipe(line, len);
  al_free(line);
  al_free(path);
  return rv;
}

static int
cmd_auth_add(uint64_t conn, const char *args, const char *data, void *arg,
             char **reply)
{
  (void)conn;
  (void)data;
  client_ctl_onion_t *st = arg;
  client_onion_auth_add_t r;
  const char *why = NULL;
  int code = client_onion_parse_auth_add(args, &r, &why);
  if (code)
    return reply_one(reply, code, why);
  char addr[HS_ONION_ADDR_LEN + 1];
  hs_onion_address_encode(addr, sizeof(addr), &r.pk);
  addr[HS_ONION_ADDR_NO_SUFFIX_LEN] = '\0';
  if (r.permanent && (!st->c->auth_dir_path ||
                      auth_write_file(st->c, addr, r.secret) < 0)) {
    memwipe(&r, sizeof(r));
    return reply_one(reply, 551, "Unable to store creds");
  }
  bool existed = auth_known(st, &r.pk);
  ctl_auth_t *k = auth_find(st, &r.pk);
  if (!k) {
    k = al_calloc(1, sizeof(*k));
    k->next = st->auth;
    st->auth = k;
  }
  k->e.service_pk = r.pk;
  memcpy(k->e.secret, r.secret, 32);
  memcpy(k->name, r.name, sizeof(k->name));
  k->permanent = r.permanent;
  k->removed = false;
  memwipe(&r, sizeof(r));
  client_ctl_onion_auth_apply(st->c);
  if (st->c->hs_fetch)
    hs_client_cache_clear_failures(hs_client_fetcher_cache(st->c->hs_fetch));
  if (existed)
    return reply_one(reply, 251, "Client for onion existed and replaced");
  return reply_one(reply, 250, "OK");
}

/* The single HSAddress argument of REMOVE (required) and VIEW
 * (optional).  1 with *pk, 0 when absent and allowed, -1. */
static int
one_addr_arg(const char *args, bool required, ed25519_public_key_t *pk)
{
  control_arg_t *a = NULL;
  size_t n = 0;
  if (control_args_parse(args, 4, &a, &n) < 0 || n > 1 ||
      (n == 0 && required) || (n == 1 && a[0].has_value)) {
    control_args_free(a, n);
    return -1;
  }
  int rv = n == 0 ? 0 : client_onion_parse_id(a[0].key, pk) == 0 ? 1 : -1;
  control_args_free(a, n);
  return rv;
}

static int
cmd_auth_remove(uint64_t conn, const char *args, const char *data, void *arg,
                char **reply)
{
  (void)conn;
  (void)data;
  client_ctl_onion_t *st = arg;
  ed25519_public_key_t pk;
  if (one_addr_arg(args, true, &pk) != 1)
    return reply_one(reply, 512, "Invalid v3 address");
  if (!auth_known(st, &pk))
    return reply_one(reply, 251, "No credentials for this address");
  char addr[HS_ONION_ADDR_LEN + 1];
  hs_onion_address_encode(addr, sizeof(addr), &pk);
  addr[HS_ONION_ADDR_NO_SUFFIX_LEN] = '\0';
  ctl_auth_t *k = auth_find(st, &pk);
  bool from_dir = hs_auth_store_find(st->c->auth_dir, &pk) != NULL;
  if ((!k || k->permanent || from_dir) && st->c->auth_dir_path) {
    char *path = auth_file_path(st->c, addr);
    (void)unlink(path);   /* tor's name; other names stay (as tor) */
    al_free(path);
  }
  if (!k) {
    k = al_calloc(1, sizeof(*k));
    k->next = st->auth;
    st->auth = k;
    k->e.service_pk = pk;
  }
  memwipe(k->e.secret, sizeof(k->e.secret));
  k->removed = true;
  client_ctl_onion_auth_apply(st->c);
  return reply_one(reply, 250, "OK");
}

static void
view_line(bytes_writer_t *w, const hs_auth_private_t *e, const char *name,
          bool permanent)
{
  char addr[HS_ONION_ADDR_LEN + 1];
  char b64[BASE64_ENCODED_LEN(32) + 1];
  hs_onion_address_encode(addr, sizeof(addr), &e->service_pk);
  addr[HS_ONION_ADDR_NO_SUFFIX_LEN] = '\0';
  base64_encode(b64, sizeof(b64), e->secret, 32, 0);
  control_reply_line(w, 250, '-', "CLIENT %s x25519:%s%s%s%s", addr, b64,
                     name && *name ? " ClientName=" : "",
                     name && *name ? name : "",
                     permanent ? " Flags=Permanent" : "");
  memwipe(b64, sizeof(b64));
}

static int
cmd_auth_view(uint64_t conn, const char *args, const char *data, void *arg,
              char **reply)
{
  (void)conn;
  (void)data;
  client_ctl_onion_t *st = arg;
  ed25519_public_key_t pk;
  int has = one_addr_arg(args, false, &pk);
  if (has < 0)
    return reply_one(reply, 512, "Invalid v3 address");
  bytes_writer_t wb, *w = &wb;
  bytes_writer_init_heap(w, 0);
  char addr[HS_ONION_ADDR_LEN + 1] = "";
  if (has) {
    hs_onion_address_encode(addr, sizeof(addr), &pk);
    addr[HS_ONION_ADDR_NO_SUFFIX_LEN] = '\0';
  }
  control_reply_line(w, 250, '-', "ONION_CLIENT_AUTH_VIEW%s%s",
                     has ? " " : "", addr);
  for (const ctl_auth_t *k = st->auth; k; k = k->next)
    if (!k->removed && (!has || !memcmp(k->e.service_pk.pubkey, pk.pubkey,
                                        32)))
      view_line(w, &k->e, k->name, k->permanent);
  const hs_auth_private_t *e;
  for (size_t i = 0; (e = hs_auth_store_get(st->c->auth_dir, i)) != NULL;
       i++)
    if (!auth_find(st, &e->service_pk) &&
        (!has || !memcmp(e->service_pk.pubkey, pk.pubkey, 32)))
      view_line(w, e, NULL, true);
  control_reply_line(w, 250, ' ', "OK");
  return reply_take(w, reply);
}

/* ---------------------------------------------------------------- */
/* HSFETCH (3.26) */

static const char *
fetch_reason(hs_client_desc_status_t s)
{
  switch (s) {
  case HS_CLIENT_DESC_NOT_FOUND:
    return "NOT_FOUND";
  case HS_CLIENT_DESC_INVALID:
  case HS_CLIENT_DESC_NEED_AUTH:
  case HS_CLIENT_DESC_BAD_AUTH:
    return "BAD_DESC";
  default:
    return "UNEXPECTED";
  }
}

/* A fetch the cache answered: its event after the reply. */
static void
fetch_result_later(client_ctl_onion_t *st, const ed25519_public_key_t *pk,
                   hs_client_desc_status_t s)
{
  if (!ctlev_wanted(CTLEV_HS_DESC))
    return;
  later_add(st, hs_desc_text(st->c, s == HS_CLIENT_DESC_OK ? "RECEIVED"
                             : "FAILED", pk, "NO_AUTH", NULL, NULL,
                             s == HS_CLIENT_DESC_OK ? NULL
                             : fetch_reason(s)));
}

/* The fetch is over; its HS_DESC events came from the fetcher's observer
 * (client_ctl_fetch_observe()). */
static void
fetch_cb(void *arg, hs_client_desc_status_t s, const hs_client_desc_t *desc)
{
  (void)s;
  (void)desc;
  ctl_fetch_t *f = arg;
  client_ctl_onion_t *st = f->st;
  for (ctl_fetch_t **fp = &st->fetches; *fp; fp = &(*fp)->next)
    if (*fp == f) {
      *fp = f->next;
      break;
    }
  al_free(f);
}

/* "650+HS_DESC_CONTENT addr descid hsdir", the descriptor, "650 OK"
 * (4.1.26); a failure: address UNKNOWN and an empty descriptor. */
static void
hs_desc_content(client_t *c, const ed25519_public_key_t *pk,
                const uint8_t *hsdir, const ed25519_public_key_t *blinded,
                const uint8_t *body, size_t len)
{
  /* the HS_DESC text gives "X addr UNKNOWN $fp descid": reuse its fields */
  char *t = hs_desc_text(c, "X", body ? pk : NULL, "NO_AUTH", hsdir, blinded,
                         NULL);
  char *addr = t + 2, *sp = strchr(addr, ' ');
  char *dir = sp ? strchr(sp + 1, ' ') : NULL;
  char *desc = dir ? strchr(dir + 1, ' ') : NULL;
  if (!sp || !dir || !desc) {
    al_free(t);
    return;
  }
  *sp = *dir = *desc = '\0';
  char *head = al_asprintf("HS_DESC_CONTENT %s %s %s", addr, desc + 1,
                           dir + 1);
  bytes_writer_t w;
  bytes_writer_init_heap(&w, 0);
  control_reply_data(&w, 650, head, body ? (const char *)body : "",
                     body ? len : 0);
  control_reply_line(&w, 650, ' ', "OK");
  size_t n = 0;
  uint8_t *msg = bytes_writer_steal(&w, &n);
  if (msg)
    ctlev_publish_raw(CTLEV_HS_DESC_CONTENT, (const char *)msg, n);
  al_free(msg);
  al_free(head);
  al_free(t);
}

void
client_ctl_fetch_observe(void *arg, hs_client_fetch_ev_t ev,
                         const ed25519_public_key_t *pk, const uint8_t *hsdir,
                         const ed25519_public_key_t *blinded,
                         const char *reason, const uint8_t *body, size_t len)
{
  static const char *const actions[] = { "REQUESTED", "RECEIVED", "FAILED" };
  if ((unsigned)ev > 2)
    return;
  if (ctlev_wanted(CTLEV_HS_DESC))
    client_ctl_hs_desc_event(arg, actions[ev], pk, "NO_AUTH", hsdir,
                             hsdir ? blinded : NULL, reason);
  if (ev != HS_CLIENT_FETCH_EV_REQUESTED && hsdir &&
      ctlev_wanted(CTLEV_HS_DESC_CONTENT))
    hs_desc_content(arg, pk, hsdir, blinded, body, len);
}

/* SERVER=$fp: 40 hex digits (optionally "$" and "~nick" / "=nick") of a
 * relay we know.  The fetch itself asks the responsible HSDirs. */
static bool
server_ok(const client_t *c, const char *v)
{
  if (*v == '$')
    v++;
  size_t n = strcspn(v, "~=");
  uint8_t id[20];
  return base16_decode_exact(id, 20, v, n) == 0 && c->nl &&
         nodelist_find_by_rsa_id(c->nl, id) != NULL;
}

static int
cmd_hsfetch(uint64_t conn, const char *args, const char *data, void *arg,
            char **reply)
{
  (void)conn;
  (void)data;
  client_ctl_onion_t *st = arg;
  control_arg_t *a = NULL;
  size_t n = 0;
  if (control_args_parse(args, 16, &a, &n) < 0 || n == 0 || a[0].has_value) {
    control_args_free(a, n);
    return reply_one(reply, 512, "Invalid argument count");
  }
  ed25519_public_key_t pk;
  int code = 0;
  if (client_onion_parse_id(a[0].key, &pk) < 0)
    code = 552;
  for (size_t i = 1; i < n && !code; i++)
    if (!a[i].has_value || strcasecmp(a[i].key, "SERVER"))
      code = 513;
    else if (!server_ok(st->c, a[i].value))
      code = 552;
  control_args_free(a, n);
  if (code)
    return reply_one(reply, code, code == 513 ? "Unexpected argument"
                     : "Invalid argument");
  if (!st->c->hs_fetch)
    return reply_one(reply, 551, "No directory access");
  ctl_fetch_t *f = al_calloc(1, sizeof(*f));
  f->st = st;
  f->pk = pk;
  hs_client_desc_status_t s = HS_CLIENT_DESC_NOT_FOUND;
  const hs_client_desc_t *d = NULL;
  int r = hs_client_fetch_start(st->c->hs_fetch, &pk, fetch_cb, f, &s, &d);
  if (r == 0) {
    f->next = st->fetches;   /* REQUESTED comes at the fetcher's tick */
    st->fetches = f;
  } else {
    al_free(f);
    if (r < 0 && ctlev_wanted(CTLEV_HS_DESC))
      later_add(st, hs_desc_text(st->c, "FAILED", &pk, "NO_AUTH", NULL,
                                 NULL, "QUERY_NO_HSDIR"));
    else
      fetch_result_later(st, &pk, s);
  }
  return reply_one(reply, 250, "OK");
}

/* ---------------------------------------------------------------- */
/* Attach / detach */

void
client_ctl_onion_attach(client_t *c)
{
  if (!c || c->ctl_onion)
    return;
  client_ctl_onion_t *st = al_calloc(1, sizeof(*st));
  st->c = c;
  st->later_tail = &st->later;
  if (c->base)
    st->later_ev = event_new(c->base, -1, 0, later_cb, st);
  c->ctl_onion = st;
  (void)ctlcmd_register("ADD_ONION", cmd_add_onion, st);
  (void)ctlcmd_register("DEL_ONION", cmd_del_onion, st);
  (void)ctlcmd_register("HSFETCH", cmd_hsfetch, st);
  (void)ctlcmd_register("ONION_CLIENT_AUTH_ADD", cmd_auth_add, st);
  (void)ctlcmd_register("ONION_CLIENT_AUTH_REMOVE", cmd_auth_remove, st);
  (void)ctlcmd_register("ONION_CLIENT_AUTH_VIEW", cmd_auth_view, st);
  (void)ctlcmd_on_close(on_conn_closed, st);
  (void)ctlinfo_register("onions/current", getinfo_onions, st,
                         "Onion services owned by the current control "
                         "connection.");
  (void)ctlinfo_register("onions/detached", getinfo_onions, st,
                         "Onion services detached from the control "
                         "connection.");
}

void
client_ctl_onion_detach(client_t *c)
{
  client_ctl_onion_t *st = c ? c->ctl_onion : NULL;
  if (!st)
    return;
  ctlcmd_unregister(st);
  ctlinfo_unregister(st);
  while (st->fetches) {
    ctl_fetch_t *f = st->fetches;
    st->fetches = f->next;
    if (c->hs_fetch)
      hs_client_fetch_cancel(c->hs_fetch, fetch_cb, f);
    al_free(f);
  }
  while (st->later) {
    ctl_later_t *l = st->later;
    st->later = l->next;
    al_free(l->msg);
    al_free(l);
  }
  if (st->later_ev)
    event_free(st->later_ev);
  while (st->svcs) {     /* the services stay; nobody owns them now */
    ctl_svc_t *s = st->svcs;
    st->svcs = s->next;
    al_free(s);
  }
  while (st->auth) {
    ctl_auth_t *k = st->auth;
    st->auth = k->next;
    memwipe(k, sizeof(*k));
    al_free(k);
  }
  if (c->hs_fetch)
    hs_client_fetcher_set_auth(c->hs_fetch, c->auth_dir);
  hs_auth_store_free(st->merged);
  c->ctl_onion = NULL;
  al_free(st);
}
