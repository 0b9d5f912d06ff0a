/* client_attach.c -- the pure decisions of the client side: relay ->
 * circuit hop spec (tor-spec 5.1.2 EXTEND2 link specifiers), whether a
 * stream may use a circuit (tor-spec 6.2; path-spec 2.1; tor(1)
 * MaxCircuitDirtiness and the isolation flags), retry or report after an
 * END before CONNECTED (tor-spec 6.3), and SOCKS replies to RESOLVED
 * (tor-spec 6.4; socks-extensions.txt "RESOLVE", "RESOLVE_PTR").
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define LOG_MODULE "client"

#include "allium/core/cell/relay_msg.h"
#include "allium/core/circuit/congestion_codec.h"
#include "allium/core/policy/policy.h"
#include "allium/feature/client/client_attach.h"
#include "allium/feature/hs_client/hs_client_rend.h"
#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/lib/log/log.h"

int
client_hop_spec_from_node(const node_t *n, circ_hop_spec_t *out)
{
  if (!n || !out)
    return -1;
  memset(out, 0, sizeof(*out));
  if (!n->has_ntor_key || n->orport == 0)
    return -1;
  static const uint8_t zero4[4] = { 0 };
  if (!memcmp(n->ipv4, zero4, 4))
    return -1;
  memcpy(out->rsa_id, n->rsa_id, sizeof(out->rsa_id));
  if (n->has_ed25519_id) {
    memcpy(out->ed_id, n->ed25519_id, sizeof(out->ed_id));
    out->has_ed_id = true;
  }
  memcpy(out->ntor_key, n->ntor_key, sizeof(out->ntor_key));
  out->addr[0].type = RELAY_LSPEC_IPV4;
  out->addr[0].len = 6;
  memcpy(out->addr[0].u.ipv4.addr, n->ipv4, 4);
  out->addr[0].u.ipv4.port = n->orport;
  out->n_addr = 1;
  if (n->has_ipv6 && n->ipv6_port != 0) {
    out->addr[1].type = RELAY_LSPEC_IPV6;
    out->addr[1].len = 18;
    memcpy(out->addr[1].u.ipv6.addr, n->ipv6, 16);
    out->addr[1].u.ipv6.port = n->ipv6_port;
    out->n_addr = 2;
  }
  return 0;
}

int
client_hop_spec_first_hop(const node_t *n, const pathsel_options_t *o,
                          circ_hop_spec_t *out)
{
  if (!pathsel_node_reachable(o, n) || client_hop_spec_from_node(n, out) < 0)
    return -1;
  bool use4 = o ? o->client_use_ipv4 : true;
  if (pathsel_first_hop_use_ipv6(o, n) && out->n_addr == 2) {
    relay_lspec_t v4 = out->addr[0];
    out->addr[0] = out->addr[1];
    out->addr[1] = v4;
    if (!use4)
      out->n_addr = 1;
  } else if (!use4) {
    return -1;
  }
  return 0;
}

static int32_t
cc_param_from_nodelist(void *arg, const char *name, int32_t def, int32_t min,
                       int32_t max)
{
  return nodelist_get_param(arg, name, def, min, max);
}

bool
client_hop_spec_set_cc(const node_t *exit, const nodelist_t *nl,
                       circ_hop_spec_t *out)
{
  out->want_cc = false;
  if (!exit || !out->has_ed_id || !cc_protover_supports_cc(exit->protocols))
    return false;
  cc_params_load(&out->cc_params, cc_param_from_nodelist, (void *)nl);
  out->want_cc = out->cc_params.alg != CC_ALG_FIXED;
  return out->want_cc;
}

bool
client_exit_allows(const node_t *n, const policy_addr_t *dest, uint16_t port)
{
  if (!n)
    return false;
  if (dest && (dest->family == 4 || dest->family == 6) && port &&
      n->full_policy) {
    policy_result_t r = policy_eval(n->full_policy, dest, port);
    return r == POLICY_RESULT_ACCEPTED || r == POLICY_RESULT_PROBABLY_ACCEPTED;
  }
  return node_allows_exit_port(n, port);
}

client_attach_verdict_t
client_circ_may_attach(const client_circ_view_t *v, const policy_addr_t *dest,
                       uint16_t port,
                       const proxy_iso_attrs_t *stream, uint64_t now_msec,
                       uint32_t max_dirtiness_sec)
{
  if (v->closed)
    return CLIENT_ATTACH_CLOSED;
  if (!v->built)
    return CLIENT_ATTACH_NOT_BUILT;
  if (!client_exit_allows(v->exit, dest, port))
    return CLIENT_ATTACH_POLICY;
  if (v->first_use_msec != 0 &&
      now_msec >= v->first_use_msec &&
      now_msec - v->first_use_msec >= (uint64_t)max_dirtiness_sec * 1000)
    return CLIENT_ATTACH_DIRTY;
  if (v->iso && stream) {
    bool ok = v->iso_state ? proxy_iso_circ_may_add(v->iso, v->iso_state, stream)
                           : proxy_iso_may_share(v->iso, stream);
    if (!ok)
      return CLIENT_ATTACH_ISOLATION;
  }
  return CLIENT_ATTACH_OK;
}

bool
client_end_reason_retriable(uint8_t reason)
{
  switch (reason) {
  case RELAY_END_EXITPOLICY:    /* another exit may allow it */
  case RELAY_END_TIMEOUT:
  case RELAY_END_DESTROY:       /* the circuit went away */
  case RELAY_END_RESOURCELIMIT:
  case RELAY_END_HIBERNATING:
  case RELAY_END_INTERNAL:
  case RELAY_END_MISC:
  case RELAY_END_NOROUTE:
  case RELAY_END_TORPROTOCOL:
    return true;
  case RELAY_END_RESOLVEFAILED: /* the name does not exist: say so */
  case RELAY_END_CONNECTREFUSED:
  case RELAY_END_CONNRESET:
  case RELAY_END_DONE:
  default:
    return false;
  }
}

uint8_t
client_end_reason_socks5(uint8_t reason)
{
  return socks5_reply_from_end_reason(reason);
}

/* Reply with status and bound address (NULL: none). */
static int
resolved_encode(uint8_t version, uint8_t status5, const socks_addr_t *a,
                uint8_t *out, size_t outlen)
{
  if (version == 4)
    return socks_reply_encode(4, socks4_status_from_socks5(status5), a, out,
                              outlen);
  return socks_reply_encode(5, status5, a, out, outlen);
}

int
client_resolved_reply(uint8_t version, uint8_t command, const uint8_t *body,
                      size_t len, uint8_t *out, size_t outlen)
{
  if ((version != 4 && version != 5) || !out)
    return -1;
  relay_resolved_t m;
  if (!body || relay_resolved_decode(&m, body, len) != 0 || m.n == 0)
    return resolved_encode(version, SOCKS5_GENERAL_FAILURE, NULL, out, outlen);
  socks_addr_t a;
  memset(&a, 0, sizeof(a));
  for (size_t i = 0; i < m.n; i++) {
    const relay_resolved_answer_t *ans = &m.answers[i];
    if (command == SOCKS_CMD_RESOLVE_PTR) {
      if (ans->type != RELAY_RESOLVED_HOSTNAME || ans->len == 0 ||
          memchr(ans->value, 0, ans->len) || version != 5)
        continue;
      a.atyp = SOCKS_ATYP_HOSTNAME;
      memcpy(a.hostname, ans->value, ans->len);   /* len <= 255 */
      a.hostname[ans->len] = '\0';
      return resolved_encode(version, SOCKS5_SUCCEEDED, &a, out, outlen);
    }
    if (ans->type == RELAY_RESOLVED_IPV4 && ans->len == 4) {
      a.atyp = SOCKS_ATYP_IPV4;
      memcpy(a.addr, ans->value, 4);
      return resolved_encode(version, SOCKS5_SUCCEEDED, &a, out, outlen);
    }
    if (ans->type == RELAY_RESOLVED_IPV6 && ans->len == 16 && version == 5) {
      a.atyp = SOCKS_ATYP_IPV6;
      memcpy(a.addr, ans->value, 16);
      return resolved_encode(version, SOCKS5_SUCCEEDED, &a, out, outlen);
    }
  }
  return resolved_encode(version, SOCKS5_HOST_UNREACHABLE, NULL, out, outlen);
}

int
client_ptr_name(const socks_addr_t *a, char *out, size_t outlen)
{
  if (!a || !out)
    return -1;
  if (a->atyp == SOCKS_ATYP_IPV4) {
    int r = snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa", a->addr[3],
                     a->addr[2], a->addr[1], a->addr[0]);
    return (r < 0 || (size_t)r >= outlen) ? -1 : 0;
  }
  if (a->atyp == SOCKS_ATYP_IPV6) {
    static const char hex[] = "0123456789abcdef";
    if (outlen < 64 + sizeof("ip6.arpa"))
      return -1;
    size_t o = 0;
    for (int i = 15; i >= 0; i--) {
      out[o++] = hex[a->addr[i] & 0xf];
      out[o++] = '.';
      out[o++] = hex[a->addr[i] >> 4];
      out[o++] = '.';
    }
    memcpy(out + o, "ip6.arpa", sizeof("ip6.arpa"));
    return 0;
  }
  return -1;
}

uint32_t
client_begin_flags(uint32_t port_flags)
{
  uint32_t f = 0;
  if (port_flags & PROXY_PF_IPV6_TRAFFIC)
    f |= RELAY_BEGIN_FLAG_IPV6_OK;
  if (!(port_flags & PROXY_PF_IPV4_TRAFFIC))
    f |= RELAY_BEGIN_FLAG_IPV4_NOT_OK;
  if (port_flags & PROXY_PF_PREFER_IPV6)
    f |= RELAY_BEGIN_FLAG_IPV6_PREFERRED;
  return f;
}

/* ---- predicted ports (path-spec 2.1.1) ---- */

void
client_predict_init(client_predict_t *p, uint64_t now)
{
  memset(p, 0, sizeof(*p));
  client_predict_note(p, 80, now);
}

void
client_predict_note(client_predict_t *p, uint16_t port, uint64_t now)
{
  if (port == 0)
    return;
  size_t oldest = 0;
  for (size_t i = 0; i < p->n; i++) {
    if (p->port[i] == port) {
      p->last_msec[i] = now;
      return;
    }
    if (p->last_msec[i] < p->last_msec[oldest])
      oldest = i;
  }
  size_t at = p->n < CLIENT_PREDICT_MAX ? p->n++ : oldest;
  p->port[at] = port;
  p->last_msec[at] = now;
}

size_t
client_predict_ports(const client_predict_t *p, uint64_t now, uint16_t *out,
                     size_t max)
{
  size_t n = 0;
  bool taken[CLIENT_PREDICT_MAX] = { false };
  while (n < max) {
    size_t best = CLIENT_PREDICT_MAX;
    for (size_t i = 0; i < p->n; i++) {
      if (taken[i] || now - p->last_msec[i] > CLIENT_PREDICT_WINDOW_MSEC)
        continue;
      if (best == CLIENT_PREDICT_MAX || p->last_msec[i] > p->last_msec[best])
        best = i;
    }
    if (best == CLIENT_PREDICT_MAX)
      break;
    taken[best] = true;
    out[n++] = p->port[best];
  }
  return n;
}

static bool
host_has_suffix(const char *h, const char *suffix)
{
  size_t hl = strlen(h), sl = strlen(suffix);
  if (hl && h[hl - 1] == '.')
    hl--;
  return hl >= sl && !strncasecmp(h + hl - sl, suffix, sl);
}

int
client_onion_target(const char *host, ed25519_public_key_t *pk_out)
{
  if (!host || !host_has_suffix(host, HS_ONION_SUFFIX))
    return 0;
  size_t hl = strlen(host);
  if (hl && host[hl - 1] == '.')
    hl--;
  size_t pl = hl - strlen(HS_ONION_SUFFIX);   /* the part before ".onion" */
  size_t start = pl;
  while (start > 0 && host[start - 1] != '.')
    start--;
  /* The last label is the address; labels before it are ignored as tor
   * does ("www.<addr>.onion"). */
  if (pl - start != HS_ONION_ADDR_NO_SUFFIX_LEN)
    return -1;
  char label[HS_ONION_ADDR_NO_SUFFIX_LEN + 1];
  memcpy(label, host + start, HS_ONION_ADDR_NO_SUFFIX_LEN);
  label[HS_ONION_ADDR_NO_SUFFIX_LEN] = '\0';
  return hs_onion_address_parse(label, pk_out) == 0 ? 1 : -1;
}

uint8_t
client_check_target(bool connect, const char *host, uint16_t port,
                    uint8_t atyp, uint32_t f)
{
  if (connect && port == 0)
    return SOCKS5_GENERAL_FAILURE;
  if (atyp == SOCKS_ATYP_HOSTNAME) {
    if (strpbrk(host, "[]") || !host[0])
      return SOCKS5_GENERAL_FAILURE;
    int onion = client_onion_target(host, NULL);
    if (onion < 0) {
      /* proposal 304: X'F6' only with ExtendedErrors, as tor. */
      log_info_rl(60, "Refusing a request for an invalid onion address %s",
                  safe_str(host));
      return (f & PROXY_PF_EXTENDED_ERRORS) ? SOCKS5_HS_BAD_ADDRESS
                                            : SOCKS5_GENERAL_FAILURE;
    }
    if (onion > 0) {
      if (!(f & PROXY_PF_ONION_TRAFFIC))
        return SOCKS5_NOT_ALLOWED;
      /* tor resolves no onion address (RESOLVE) */
      return connect ? 0 : SOCKS5_GENERAL_FAILURE;
    }
    if (host_has_suffix(host, ".exit"))
      return SOCKS5_NOT_ALLOWED;
    if (!(f & PROXY_PF_DNS_REQUEST))
      return SOCKS5_NOT_ALLOWED;
  } else if (atyp == SOCKS_ATYP_IPV4 && !(f & PROXY_PF_IPV4_TRAFFIC)) {
    return SOCKS5_NOT_ALLOWED;
  } else if (atyp == SOCKS_ATYP_IPV6 && !(f & PROXY_PF_IPV6_TRAFFIC)) {
    return SOCKS5_NOT_ALLOWED;
  }
  return 0;
}

uint8_t
client_hs_rend_status_socks5(int status)
{
  switch (status) {
  case HS_CLIENT_REND_OK: return 0;
  case HS_CLIENT_REND_ERR_INTRO: return SOCKS5_HS_INTRO_FAILED;
  case HS_CLIENT_REND_ERR_REND: return SOCKS5_HS_REND_FAILED;
  case HS_CLIENT_REND_ERR_TIMEOUT: return SOCKS5_HS_INTRO_TIMEDOUT;
  default: return SOCKS5_GENERAL_FAILURE;
  }
}
