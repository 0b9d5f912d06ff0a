/* exit_stream_begin.c -- the start of an exit stream: RELAY_BEGIN (tor-spec
 * 6.2: target, flags, refusals with the right END reason of 6.3, the name
 * lookup, then exit_conn_connect()) and RELAY_RESOLVE (6.4: forward, PTR
 * and address-literal lookups answered with RELAY_RESOLVED).
 * See include/allium/feature/exit/exit_stream.h. */
#define LOG_MODULE "exit"
#include <string.h>

#include "allium/core/cell/relay_cell.h"
#include "allium/feature/exit/exit_parse.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "exit_stream_st.h"

/* Refuse a BEGIN before any connection object exists. */
static void
refuse(exit_circ_t *ec, uint16_t id, uint8_t reason)
{
  (void)relay_stream_end(ec->t, id, reason);
}

/* The lookup of a BEGIN's name finished. */
static void
begin_resolved(void *arg, const exit_dns_answer_t *a)
{
  exit_conn_t *xc = arg;
  exit_t *x = xc->ec->x;
  uint64_t circ = xc->ec->circ;
  const exit_dns_addr_t *pick = NULL;
  xc->req = NULL;
  for (size_t i = 0; a->status == EXIT_DNS_OK && i < a->n_addrs &&
                     i < EXIT_DNS_MAX_ADDRS; i++) {
    const exit_dns_addr_t *d = &a->addrs[i];
    bool ok = (d->family == 4 && xc->want_v4) ||
              (d->family == 6 && xc->want_v6);
    if (!ok)
      continue;
    if (!pick || (xc->prefer_v6 && pick->family == 4 && d->family == 6))
      pick = d;
    if (!xc->prefer_v6 && pick->family == 4)
      break;
  }
  if (!pick) {
    x->st.resolve_failed++;
    log_info_rl(60, "Refusing an exit stream: the name did not resolve "
                "(END RESOLVEFAILED).");
    (void)relay_stream_end(xc->ec->t, xc->id, RELAY_END_RESOLVEFAILED);
    xc->ended = true;
    exit_conn_free(xc);
  } else {
    exit_addr_from_dns(pick, &xc->addr);
    xc->ttl = a->ttl;
    exit_conn_connect(xc);
  }
  cellswitch_circ_flush(x->sw, circ);
}

void
exit_on_begin(exit_circ_t *ec, const relay_stream_event_t *ev,
              bool prev_is_relay)
{
  exit_t *x = ec->x;
  uint16_t id = ev->stream_id;
  exit_begin_t b;
  x->st.begins++;
  if (!prev_is_relay && !x->cfg.allow_client_circuits) {
    /* tor: no exit streams on a circuit a client opened straight to us. */
    x->st.refused_client++;
    log_info_rl(60, "Refusing a BEGIN on a circuit whose previous hop is "
                "not a relay.");
    refuse(ec, id, RELAY_END_TORPROTOCOL);
    return;
  }
  int r = exit_begin_from(ev->host, ev->port, ev->flags, &b);
  if (r == EXIT_PARSE_E_FAMILY) {
    x->st.refused_policy++;
    refuse(ec, id, RELAY_END_EXITPOLICY);
    return;
  }
  if (r < 0) {
    x->st.resolve_failed++;
    refuse(ec, id, r == EXIT_PARSE_E_NAME ? RELAY_END_RESOLVEFAILED
                                          : RELAY_END_TORPROTOCOL);
    return;
  }
  if (b.is_name &&
      policy_eval(x->cfg.policy, NULL, b.port) == POLICY_RESULT_REJECTED) {
    x->st.refused_policy++;   /* no address on that port is allowed */
    refuse(ec, id, RELAY_END_EXITPOLICY);
    return;
  }
  exit_conn_t *xc = exit_conn_new(ec, id);
  xc->counted = true;
  x->st.open_streams++;
  xc->port = b.port;
  xc->want_v4 = b.ipv4_ok;
  xc->want_v6 = b.ipv6_ok && x->cfg.ipv6_exit;
  xc->prefer_v6 = b.ipv6_preferred;
  if (!b.is_name) {
    xc->addr = b.addr;
    xc->ttl = EXIT_LITERAL_TTL;
    exit_conn_connect(xc);
    return;
  }
  unsigned want = (xc->want_v4 ? EXIT_DNS_WANT_IPV4 : 0) |
                  (xc->want_v6 ? EXIT_DNS_WANT_IPV6 : 0) |
                  (xc->prefer_v6 ? EXIT_DNS_PREFER_IPV6 : 0);
  xc->state = EXIT_CONN_RESOLVING;
  if (want & (EXIT_DNS_WANT_IPV4 | EXIT_DNS_WANT_IPV6) && x->resolver.resolve)
    xc->req = x->resolver.resolve(x->resolver.ctx, b.name, want,
                                  begin_resolved, xc);
  if (!xc->req) {
    x->st.resolve_failed++;
    log_info_rl(60, "Refusing an exit stream: %s (END RESOLVEFAILED).",
                x->resolver.resolve ? "the lookup could not start"
                                    : "no resolver");
    (void)relay_stream_end(ec->t, id, RELAY_END_RESOLVEFAILED);
    xc->ended = true;
    exit_conn_free(xc);
  }
}

/* ---- RESOLVE ---- */

/* Answer RESOLVE id with the RESOLVED body[0..len). */
static void
send_resolved(exit_circ_t *ec, uint16_t id, const uint8_t *body, size_t len)
{
  relay_resolved_t r;
  if (relay_resolved_decode(&r, body, len) < 0) {
    (void)relay_stream_end(ec->t, id, RELAY_END_INTERNAL);
    return;
  }
  (void)relay_stream_resolved(ec->t, id, &r);
}

static void
send_resolved_error(exit_circ_t *ec, uint16_t id, exit_dns_status_t st)
{
  exit_dns_answer_t a;
  uint8_t body[RELAY_BODY_MAX];
  size_t len;
  memset(&a, 0, sizeof(a));
  a.status = st;
  if (exit_resolved_build(&a, true, true, body, sizeof(body), &len) == 0)
    send_resolved(ec, id, body, len);
}

static void
resolve_done(void *arg, const exit_dns_answer_t *a)
{
  exit_conn_t *xc = arg;
  exit_circ_t *ec = xc->ec;
  exit_t *x = ec->x;
  uint64_t circ = ec->circ;
  uint8_t body[RELAY_BODY_MAX];
  size_t len;
  xc->req = NULL;
  if (a->status == EXIT_DNS_OK)
    x->st.resolved++;
  if (exit_resolved_build(a, xc->want_v4, xc->want_v6, body, sizeof(body),
                          &len) == 0)
    send_resolved(ec, xc->id, body, len);
  else
    (void)relay_stream_end(ec->t, xc->id, RELAY_END_INTERNAL);
  exit_conn_free(xc);
  cellswitch_circ_flush(x->sw, circ);
}

void
exit_on_resolve(exit_circ_t *ec, const relay_stream_event_t *ev)
{
  exit_t *x = ec->x;
  uint16_t id = ev->stream_id;
  exit_resolve_t r;
  uint8_t body[RELAY_BODY_MAX];
  size_t len;
  x->st.resolves++;
  if (exit_resolve_from(ev->host, &r) < 0) {
    send_resolved_error(ec, id, EXIT_DNS_INVALID);
    return;
  }
  if (r.is_literal) {
    x->st.resolved++;
    if (exit_resolved_addr(&r.addr, EXIT_LITERAL_TTL, body, sizeof(body),
                           &len) == 0)
      send_resolved(ec, id, body, len);
    return;
  }
  exit_conn_t *xc = exit_conn_new(ec, id);
  xc->state = EXIT_CONN_LOOKUP;
  xc->want_v4 = true;
  xc->want_v6 = x->cfg.ipv6_exit;
  if (r.is_ptr && x->resolver.resolve_ptr) {
    exit_dns_addr_t a;
    memset(&a, 0, sizeof(a));
    a.family = r.addr.family;
    memcpy(a.addr, r.addr.addr, 16);
    xc->req = x->resolver.resolve_ptr(x->resolver.ctx, &a, resolve_done, xc);
  } else if (!r.is_ptr && x->resolver.resolve) {
    unsigned want = EXIT_DNS_WANT_IPV4 |
                    (xc->want_v6 ? EXIT_DNS_WANT_IPV6 : 0);
    xc->req = x->resolver.resolve(x->resolver.ctx, r.name, want,
                                  resolve_done, xc);
  }
  if (!xc->req) {
    log_info_rl(60, "Answering a RESOLVE with an error: %s.",
                x->resolver.resolve ? "the lookup could not start"
                                    : "no resolver");
    send_resolved_error(ec, id, EXIT_DNS_TRANSIENT);
    exit_conn_free(xc);
  }
}
