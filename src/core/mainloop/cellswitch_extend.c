/* cellswitch_extend.c -- the cell engine's EXTEND2 handling (tor-spec
 * 5.1.2 and 2 "Connections"): find the channel to the next hop by its RSA
 * identity (one channel per relay, reused; an ed25519 identity in the
 * request must match the channel's), or open one; never extend to
 * ourselves or back over the channel the circuit came from; refuse
 * private addresses unless configured (tor's ExtendAllowPrivateAddresses);
 * then CREATE2 with a fresh circuit id of our half (5.1.1) once the channel
 * is open.  See include/allium/core/mainloop/cellswitch.h. */
#define LOG_MODULE "cellswitch"
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/lib/log/log.h"
#include "cellswitch_st.h"

void cs_extend_request(cs_circ_t *c, const circ_event_t *ev);

/** What an EXTEND2's link specifiers say. */
typedef struct cs_target_t {
  struct sockaddr_storage ss;
  socklen_t sslen;
  const uint8_t *rsa;
  ed25519_public_key_t ed;
  bool has_ed;
  bool is_private;
} cs_target_t;

static bool
ipv4_is_private(const uint8_t a[4])
{
  return a[0] == 0 || a[0] == 10 || a[0] == 127 ||
         (a[0] == 169 && a[1] == 254) || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
         (a[0] == 192 && a[1] == 168) || a[0] >= 224;
}

static bool
ipv6_is_private(const uint8_t a[16])
{
  static const uint8_t zero[15] = { 0 };
  if (!memcmp(a, zero, 15) && (a[15] == 0 || a[15] == 1))
    return true;                       /* :: and ::1 */
  return (a[0] & 0xfe) == 0xfc ||      /* fc00::/7 */
         (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||   /* fe80::/10 */
         a[0] == 0xff;                 /* multicast */
}

/* Fill t from the request; an IPv4 address is preferred. */
static int
target_parse(cs_target_t *t, const circ_extend_target_t *x)
{
  const relay_lspec_t *v4 = NULL, *v6 = NULL;
  memset(t, 0, sizeof(*t));
  for (unsigned i = 0; i < x->n_lspec; i++) {
    const relay_lspec_t *l = &x->lspec[i];
    if (l->type == RELAY_LSPEC_IPV4 && !v4)
      v4 = l;
    else if (l->type == RELAY_LSPEC_IPV6 && !v6)
      v6 = l;
    else if (l->type == RELAY_LSPEC_LEGACY_ID && !t->rsa)
      t->rsa = l->u.legacy_id;
    else if (l->type == RELAY_LSPEC_ED25519_ID && !t->has_ed) {
      memcpy(t->ed.pubkey, l->u.ed25519_id, sizeof(t->ed.pubkey));
      t->has_ed = true;
    }
  }
  if (!t->rsa || (!v4 && !v6))
    return -1;
  if (v4) {
    struct sockaddr_in *sin = (struct sockaddr_in *)&t->ss;
    sin->sin_family = AF_INET;
    memcpy(&sin->sin_addr, v4->u.ipv4.addr, 4);
    sin->sin_port = htons(v4->u.ipv4.port);
    t->sslen = sizeof(*sin);
    t->is_private = ipv4_is_private(v4->u.ipv4.addr);
    return v4->u.ipv4.port ? 0 : -1;
  }
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->ss;
  sin6->sin6_family = AF_INET6;
  memcpy(&sin6->sin6_addr, v6->u.ipv6.addr, 16);
  sin6->sin6_port = htons(v6->u.ipv6.port);
  t->sslen = sizeof(*sin6);
  t->is_private = ipv6_is_private(v6->u.ipv6.addr);
  return v6->u.ipv6.port ? 0 : -1;
}

static void
extend_refuse(cs_circ_t *c, uint8_t reason, const char *why)
{
  c->sw->st.extends_refused++;
  log_info_rl(60, "Refusing an EXTEND2: %s.", why);
  circ_relay_extend_failed(c->rc, reason);
}

/* Park c on chan until it opens (the CREATE2 kept in a pooled slot). */
static void
extend_wait(cs_circ_t *c, cs_chan_t *chan, const circ_event_t *ev)
{
  c->create2 = cs_cell_alloc(c->sw);
  memset(&c->create2->cc, 0, sizeof(c->create2->cc));
  c->create2->cc.dir = CIRC_DIR_NEXT;
  memcpy(c->create2->cc.payload, ev->extend.create2, CELL_PAYLOAD_LEN);
  c->waiting_for = chan;
  dlist_push_tail(&chan->waiting, &c->wait_node);
  if (chan->open)
    cs_circ_channel_opened(chan);
}

void
cs_extend_request(cs_circ_t *c, const circ_event_t *ev)
{
  cellswitch_t *sw = c->sw;
  cs_target_t t;
  if (target_parse(&t, &ev->extend) < 0) {
    extend_refuse(c, CELL_DESTROY_PROTOCOL,
                  "no RSA identity or no usable address");
    return;
  }
  if (!memcmp(t.rsa, sw->cfg.keys.rsa_id, 20)) {
    extend_refuse(c, CELL_DESTROY_PROTOCOL, "the next hop is ourselves");
    return;
  }
  if (t.is_private && !sw->cfg.extend_allow_private) {
    extend_refuse(c, CELL_DESTROY_PROTOCOL, "a private address");
    return;
  }
  cs_chan_t *chan = cs_chan_by_rsa(sw, t.rsa);
  if (chan && chan->closed)
    chan = NULL;
  if (chan && chan == c->prev.chan) {
    extend_refuse(c, CELL_DESTROY_PROTOCOL,
                  "the next hop is the previous one (same channel)");
    return;
  }
  if (chan && t.has_ed && chan->has_ed && chan->open &&
      memcmp(chan->ed_id.pubkey, t.ed.pubkey, sizeof(t.ed.pubkey))) {
    extend_refuse(c, CELL_DESTROY_OR_IDENTITY,
                  "the ed25519 identity does not match the open channel");
    return;
  }
  if (!chan) {
    chan = cs_chan_connect(sw, (const struct sockaddr *)&t.ss, t.sslen,
                           t.rsa, t.has_ed ? &t.ed : NULL);
    if (!chan) {
      extend_refuse(c, CELL_DESTROY_CONNECTFAILED,
                    "cannot start a connection");
      return;
    }
  }
  extend_wait(c, chan, ev);
}
