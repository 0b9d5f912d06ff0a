/* nodelist_ctl.c -- the peer database seen from the control port, through
 * the control bus (core/mainloop/ctlbus.h):
 *   GETINFO (control-spec 3.9) "ns/id/<FP>", "ns/name/<nick>", "ns/all":
 *     router status entries in the form of dir-spec 3.4.1 ("r", "a", "s",
 *     "v", "pr", "w", "p" lines, as the consensus has them); "md/id/<FP>",
 *     "md/name/<nick>", "md/all": microdescriptor text (dir-spec 3.3);
 *     "consensus/valid-after", "consensus/fresh-until",
 *     "consensus/valid-until"; "dir/status-vote/current/consensus" (the
 *     document text handed over by nodelist_ctl_set_consensus_text(),
 *     else 551 "not available");
 *   events (control-spec 4.1.2 NEWDESC, 4.1.12 NS, 4.1.20 NEWCONSENSUS).
 * With a microdesc-flavour consensus an "r" line still has the descriptor
 * digest field, filled with the first 20 bytes of the microdescriptor
 * digest ("m"), as tor does on its control port, so that one parser reads
 * both flavours.
 * Unknown relays: ns/id, ns/name, md/id, md/name answer "552 Unrecognized
 * key" (CTLINFO_UNKNOWN, as tor); a malformed fingerprint and a known relay
 * without a microdescriptor are 551 (CTLINFO_ERR).  Nothing is formatted
 * for events unless ctlev_wanted(). */
#define LOG_MODULE "nodelist"
#include "allium/core/mainloop/ctlbus.h"
#include "allium/feature/nodelist/nodelist.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/time/civil.h"
#include "nodelist_internal.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The text of the current consensus, when the owner hands it over. */
static char *cons_text;
static size_t cons_len;

static void
drop_consensus_text(void)
{
  al_free(cons_text);
  cons_text = NULL;
  cons_len = 0;
}

/* ---- a growable string ---- */

typedef struct sbuf_t {
  char *s;
  size_t len, cap;
} sbuf_t;

static void
sbuf_add(sbuf_t *b, const char *p, size_t n)
{
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
      cap *= 2;
    b->s = al_realloc(b->s, cap);
    b->cap = cap;
  }
  memcpy(b->s + b->len, p, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static void
sbuf_adds(sbuf_t *b, const char *p)
{
  sbuf_add(b, p, strlen(p));
}

__attribute__((format(printf, 2, 3)))
static void
sbuf_addf(sbuf_t *b, const char *fmt, ...)
{
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof(small), fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n < sizeof(small)) {
    sbuf_add(b, small, (size_t)n);
    return;
  }
  char *big = al_malloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  sbuf_add(b, big, (size_t)n);
  al_free(big);
}

/* The buffer's text (never NULL; caller al_free()s). */
static char *
sbuf_take(sbuf_t *b)
{
  if (!b->s)
    return al_strdup("");
  char *s = b->s;
  b->s = NULL;
  b->len = b->cap = 0;
  return s;
}

/* ---- router status entries (dir-spec 3.4.1) ---- */

static const struct {
  uint32_t bit;
  const char *name;
} flag_names[] = {   /* alphabetical, as "known-flags" and "s" lines */
  { CONSENSUS_FLAG_AUTHORITY, "Authority" },
  { CONSENSUS_FLAG_BADEXIT, "BadExit" },
  { CONSENSUS_FLAG_EXIT, "Exit" },
  { CONSENSUS_FLAG_FAST, "Fast" },
  { CONSENSUS_FLAG_GUARD, "Guard" },
  { CONSENSUS_FLAG_HSDIR, "HSDir" },
  { CONSENSUS_FLAG_MIDDLEONLY, "MiddleOnly" },
  { CONSENSUS_FLAG_NOEDCONSENSUS, "NoEdConsensus" },
  { CONSENSUS_FLAG_RUNNING, "Running" },
  { CONSENSUS_FLAG_STABLE, "Stable" },
  { CONSENSUS_FLAG_STALEDESC, "StaleDesc" },
  { CONSENSUS_FLAG_SYBIL, "Sybil" },
  { CONSENSUS_FLAG_V2DIR, "V2Dir" },
  { CONSENSUS_FLAG_VALID, "Valid" },
};

static void
add_b64(sbuf_t *b, const uint8_t *p, size_t n)
{
  char enc[64];
  if (base64_encode(enc, sizeof(enc), p, n, BASE64_FLAG_NOPAD) > 0)
    sbuf_adds(b, enc);
}

/* Append r's entry, every line ending in "\n". */
static void
format_entry(sbuf_t *b, const consensus_t *c, const consensus_router_t *r)
{
  char when[20], ip[INET6_ADDRSTRLEN];
  sbuf_addf(b, "r %s ", r->nickname);
  add_b64(b, r->identity, 20);
  sbuf_adds(b, " ");
  if (c->flavor == CONSENSUS_FLAVOR_MICRODESC)
    add_b64(b, r->md_digest, 20);
  else
    add_b64(b, r->desc_digest, 20);
  civil_format_iso(r->published, ' ', when);
  inet_ntop(AF_INET, r->ipv4, ip, sizeof(ip));
  sbuf_addf(b, " %s %s %u %u\n", when, ip, (unsigned)r->orport,
            (unsigned)r->dirport);
  if (r->has_ipv6) {
    inet_ntop(AF_INET6, r->ipv6, ip, sizeof(ip));
    sbuf_addf(b, "a [%s]:%u\n", ip, (unsigned)r->ipv6_port);
  }
  sbuf_adds(b, "s");
  for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
    if (r->flags & flag_names[i].bit)
      sbuf_addf(b, " %s", flag_names[i].name);
  sbuf_adds(b, "\n");
  if (r->version)
    sbuf_addf(b, "v %s\n", r->version);
  if (r->protocols)
    sbuf_addf(b, "pr %s\n", r->protocols);
  if (r->has_bandwidth)
    sbuf_addf(b, "w Bandwidth=%u%s\n", (unsigned)r->bandwidth,
              r->unmeasured ? " Unmeasured=1" : "");
  if (r->policy_summary)
    sbuf_addf(b, "p %s\n", r->policy_summary);
}

/* An answer without its last "\n" (the control port frames the lines). */
static char *
answer_of(sbuf_t *b)
{
  if (b->len && b->s[b->len - 1] == '\n')
    b->s[--b->len] = '\0';
  return sbuf_take(b);
}

/* "$FP", "FP", optionally followed by "~nick" or "=nick" (control-spec
 * 2.4 LongName): the 20-byte id.  0 or -1. */
static int
parse_fp(const char *s, uint8_t id[20])
{
  if (*s == '$')
    s++;
  size_t n = strcspn(s, "~=");
  return base16_decode_exact(id, 20, s, n);
}

/* The node a "…/id/<FP>" or "…/name/<nick>" key names: 1 found (*out),
 * CTLINFO_UNKNOWN, or CTLINFO_ERR (malformed). */
static int
lookup(const nodelist_t *nl, const char *rest, bool by_id,
       const node_t **out, const char **errmsg)
{
  if (by_id) {
    uint8_t id[20];
    if (parse_fp(rest, id) < 0) {
      *errmsg = "Not a relay fingerprint (40 hex digits, optional $)";
      return CTLINFO_ERR;
    }
    *out = nodelist_find_by_rsa_id(nl, id);
  } else {
    *out = nodelist_find_by_nickname(nl, rest);
  }
  return *out ? 1 : CTLINFO_UNKNOWN;
}

static int
info_ns(const char *key, void *arg, char **answer, const char **errmsg)
{
  const nodelist_t *nl = arg;
  const consensus_t *c = nodelist_get_consensus(nl);
  sbuf_t b = { 0 };
  if (!strcasecmp(key, "ns/all")) {
    for (size_t i = 0; c && i < c->n_routers; i++)
      format_entry(&b, c, &c->routers[i]);
    *answer = answer_of(&b);
    return 0;
  }
  bool by_id = !strncasecmp(key, "ns/id/", 6);
  if (!by_id && strncasecmp(key, "ns/name/", 8))
    return CTLINFO_UNKNOWN;
  const node_t *n = NULL;
  int r = lookup(nl, key + (by_id ? 6 : 8), by_id, &n, errmsg);
  if (r != 1)
    return r;
  const consensus_router_t *cr = c ? consensus_find_router(c, n->rsa_id) : NULL;
  if (!cr)
    return CTLINFO_UNKNOWN;
  format_entry(&b, c, cr);
  *answer = answer_of(&b);
  return 0;
}

static int
info_md(const char *key, void *arg, char **answer, const char **errmsg)
{
  const nodelist_t *nl = arg;
  sbuf_t b = { 0 };
  if (!strcasecmp(key, "md/all")) {
    for (size_t i = 0; i < nodelist_n_nodes(nl); i++) {
      const microdesc_t *md = nodelist_node_microdesc(nl, i);
      if (md && md->body)
        sbuf_add(&b, md->body, md->body_len);
    }
    *answer = answer_of(&b);
    return 0;
  }
  bool by_id = !strncasecmp(key, "md/id/", 6);
  if (!by_id && strncasecmp(key, "md/name/", 8))
    return CTLINFO_UNKNOWN;
  const node_t *n = NULL;
  int r = lookup(nl, key + (by_id ? 6 : 8), by_id, &n, errmsg);
  if (r != 1)
    return r;
  const node_t *first = nodelist_get_node(nl, 0);
  const microdesc_t *md = nodelist_node_microdesc(nl, (size_t)(n - first));
  if (!md || !md->body) {
    *errmsg = "Microdescriptor not available";
    return CTLINFO_ERR;
  }
  sbuf_add(&b, md->body, md->body_len);
  *answer = answer_of(&b);
  return 0;
}

static int
info_consensus(const char *key, void *arg, char **answer, const char **errmsg)
{
  const consensus_t *c = nodelist_get_consensus(arg);
  if (!strcasecmp(key, "dir/status-vote/current/consensus")) {
    if (!c || !cons_text) {
      *errmsg = "Consensus document not available";
      return CTLINFO_ERR;
    }
    sbuf_t b = { 0 };
    sbuf_add(&b, cons_text, cons_len);
    *answer = answer_of(&b);
    return 0;
  }
  time_t t;
  if (!strcasecmp(key, "consensus/valid-after"))
    t = c ? c->valid_after : 0;
  else if (!strcasecmp(key, "consensus/fresh-until"))
    t = c ? c->fresh_until : 0;
  else if (!strcasecmp(key, "consensus/valid-until"))
    t = c ? c->valid_until : 0;
  else
    return CTLINFO_UNKNOWN;
  if (!c) {
    *errmsg = "No consensus yet";
    return CTLINFO_ERR;
  }
  char buf[20];
  civil_format_iso(t, ' ', buf);
  *answer = al_strdup(buf);
  return 0;
}

static const struct {
  const char *key;
  ctlinfo_fn fn;
  const char *doc;
} info_keys[] = {
  { "ns/id/", info_ns, "Router status entry of a relay, by fingerprint" },
  { "ns/name/", info_ns, "Router status entry of a relay, by nickname" },
  { "ns/all", info_ns, "Router status entries of every relay in the consensus" },
  { "md/id/", info_md, "Microdescriptor of a relay, by fingerprint" },
  { "md/name/", info_md, "Microdescriptor of a relay, by nickname" },
  { "md/all", info_md, "Every microdescriptor held" },
  { "consensus/valid-after", info_consensus, "The consensus's valid-after time" },
  { "consensus/fresh-until", info_consensus, "The consensus's fresh-until time" },
  { "consensus/valid-until", info_consensus, "The consensus's valid-until time" },
  { "dir/status-vote/current/consensus", info_consensus,
    "The current consensus document" },
};

void
nodelist_ctl_attach(nodelist_t *nl)
{
  if (!nl)
    return;
  for (size_t i = 0; i < sizeof(info_keys) / sizeof(info_keys[0]); i++)
    (void)ctlinfo_register(info_keys[i].key, info_keys[i].fn, nl,
                           info_keys[i].doc);
  nodelist_set_ctl_attached(nl, true);
}

void
nodelist_ctl_detach(nodelist_t *nl)
{
  if (!nl || !nodelist_ctl_is_attached(nl))
    return;
  ctlinfo_unregister(nl);
  nodelist_set_ctl_attached(nl, false);
  drop_consensus_text();
}

void
nodelist_ctl_set_consensus_text(nodelist_t *nl, const char *text, size_t len)
{
  if (!nl || !nodelist_ctl_is_attached(nl) || !text)
    return;
  drop_consensus_text();
  cons_text = al_memdup(text, len);
  cons_len = len;
}

/* ---- events ---- */

char *
nodelist_ctl_frame_event(const char *name, const char *text, size_t *len)
{
  sbuf_t b = { 0 };
  sbuf_addf(&b, "650+%s\r\n", name);
  const char *p = text;
  while (*p) {
    size_t n = strcspn(p, "\n");
    if (*p == '.')
      sbuf_adds(&b, ".");   /* dot-stuffing (control-spec 2.3) */
    sbuf_add(&b, p, n);
    sbuf_adds(&b, "\r\n");
    p += n;
    if (*p == '\n')
      p++;
  }
  sbuf_adds(&b, ".\r\n650 OK\r\n");
  *len = b.len;
  return b.s;
}

static void
publish_block(ctlev_type_t t, const char *text)
{
  size_t len;
  char *msg = nodelist_ctl_frame_event(ctlev_name(t), text, &len);
  ctlev_publish_raw(t, msg, len);
  al_free(msg);
}

/* Did r's entry change since prev (or is it new)? */
static bool
entry_changed(const consensus_t *c, const consensus_router_t *r,
              const consensus_t *prev)
{
  const consensus_router_t *o = prev ? consensus_find_router(prev, r->identity)
                                     : NULL;
  if (!o)
    return true;
  sbuf_t a = { 0 }, b = { 0 };
  format_entry(&a, c, r);
  format_entry(&b, prev, o);
  bool changed = a.len != b.len || memcmp(a.s, b.s, a.len) != 0;
  al_free(a.s);
  al_free(b.s);
  return changed;
}

void
nodelist_ctl_on_consensus(const nodelist_t *nl, const consensus_t *prev)
{
  const consensus_t *c = nodelist_get_consensus(nl);
  drop_consensus_text();   /* it was the previous consensus's */
  if (!c)
    return;
  if (ctlev_wanted(CTLEV_NS)) {
    sbuf_t b = { 0 };
    for (size_t i = 0; i < c->n_routers; i++)
      if (entry_changed(c, &c->routers[i], prev))
        format_entry(&b, c, &c->routers[i]);
    if (b.len)
      publish_block(CTLEV_NS, b.s);
    al_free(b.s);
  }
  if (ctlev_wanted(CTLEV_NEWCONSENSUS)) {
    sbuf_t b = { 0 };
    for (size_t i = 0; i < c->n_routers; i++)
      format_entry(&b, c, &c->routers[i]);
    publish_block(CTLEV_NEWCONSENSUS, b.s ? b.s : "");
    al_free(b.s);
  }
}

void
nodelist_ctl_on_descriptors(const nodelist_t *nl, const size_t *idx, size_t n)
{
  if (!ctlev_wanted(CTLEV_NEWDESC) || n == 0)
    return;
  sbuf_t b = { 0 };
  for (size_t i = 0; i < n; i++) {
    const node_t *nd = nodelist_get_node(nl, idx[i]);
    if (!nd)
      continue;
    char fp[41];
    node_format_rsa_id(nd->rsa_id, fp);
    sbuf_addf(&b, "%s$%s~%s", b.len ? " " : "", fp, nd->nickname);
  }
  if (b.len)
    ctlev_publish(CTLEV_NEWDESC, "%s", b.s);
  al_free(b.s);
}
