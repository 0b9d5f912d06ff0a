/* client_conn_req.c -- an application connection's request, once its
 * SOCKS (RFC 1928 / 1929, SOCKS4a; socks-extensions.txt) or HTTP CONNECT
 * handshake is read: the port's checks (tor(1) SocksPort flags), isolation
 * attributes, and where it goes next -- a circuit (client_conn.c), or, for a
 * CONNECT to a valid .onion, a descriptor fetch (feature/hs_client;
 * rend-spec-v3 2.2) answered with proposal 304's extended errors.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#define LOG_MODULE "client"
#include "allium/core/policy/policy.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "client_st.h"

/* ---------------------------------------------------------------- */
/* Requests */

/* Checks common to SOCKS and HTTP CONNECT targets; 0 or a SOCKS5 code. */
#define CONN_CHECK_TARGET(k, atyp) \
  client_check_target((k)->command == SOCKS_CMD_CONNECT, (k)->host, \
                      (k)->port, (atyp), (k)->l->cfg.flags)

static void
conn_fill_iso(client_conn_t *k, proxy_client_proto_t proto, bool has_auth,
              const uint8_t *a1, size_t l1, const uint8_t *a2, size_t l2)
{
  proxy_iso_attrs_t a = k->iso.a;   /* client_addr filled at accept */
  a.listener_id = (uint32_t)k->l->idx;
  a.session_group = k->l->cfg.session_group;
  a.iso_flags = k->l->cfg.iso_flags;
  a.proto = proto;
  a.has_auth = has_auth;
  a.auth1 = a1;
  a.auth1_len = a1 ? l1 : 0;
  a.auth2 = a2;
  a.auth2_len = a2 ? l2 : 0;
  a.dest_addr = k->host;
  a.dest_port = k->port;
  a.nym_epoch = k->c->nym_epoch;
  client_iso_clear(&k->iso);
  client_iso_copy(&k->iso, &a);
}

static void
conn_request_ready(client_conn_t *k)
{
  memset(&k->dest, 0, sizeof(k->dest));
  if (k->command == SOCKS_CMD_CONNECT &&
      policy_addr_parse(k->host, strlen(k->host), &k->dest) != 0)
    memset(&k->dest, 0, sizeof(k->dest));
  k->state = CONN_WAIT_CIRC;
  k->request_msec = client_now_msec();
  if (!k->ctl_id)
    k->ctl_id = client_ctl_new_stream_id();
  k->ctl_new = true;
  client_ctl_stream_event(k, k->command == SOCKS_CMD_CONNECT ? "NEW"
                                                             : "NEWRESOLVE",
                          0);
  if (k->command == SOCKS_CMD_CONNECT)
    client_predict_note(&k->c->predict, k->port, k->request_msec);
  if (!k->onion)
    log_info("Stream %llu: request for %s port %u",
             (unsigned long long)k->num, safe_str(k->host), k->port);
  client_conn_try_attach(k);
}

int
client_conn_ctl_resolve(client_listener_t *l, const char *name, bool reverse)
{
  client_t *c = l->c;
  socks_addr_t t;
  memset(&t, 0, sizeof(t));
  if (reverse) {
    policy_addr_t pa;
    if (policy_addr_parse(name, strlen(name), &pa) != 0)
      return -1;
    t.atyp = pa.family == 4 ? SOCKS_ATYP_IPV4 : SOCKS_ATYP_IPV6;
    memcpy(t.addr, pa.addr, sizeof(t.addr));
  } else if (strlen(name) >= sizeof(t.hostname) ||
             client_onion_target(name, NULL) != 0) {
    return -1;
  }
  client_conn_t *k = al_calloc(1, sizeof(*k));
  k->c = c;
  k->l = l;
  k->num = c->next_conn_num++;
  k->first_byte = -1;
  k->accepted_msec = client_now_msec();
  k->socks_version = 5;
  k->command = reverse ? SOCKS_CMD_RESOLVE_PTR : SOCKS_CMD_RESOLVE;
  k->ctl_resolve = true;
  k->ctl_auto = true;   /* not left for ATTACHSTREAM */
  if (reverse) {
    k->target = t;
    (void)client_ptr_name(&t, k->host, sizeof(k->host));
  } else {
    snprintf(k->host, sizeof(k->host), "%s", name);
  }
  conn_fill_iso(k, PROXY_PROTO_DNS, false, NULL, 0, NULL, 0);
  l->n_conns++;
  k->next = c->conns;
  if (c->conns)
    c->conns->prev = k;
  c->conns = k;
  conn_request_ready(k);
  return 0;
}

/* ---------------------------------------------------------------- */
/* Onion services (rend-spec-v3; proposal 304 replies) */

/* Refuse an onion-service request with a proposal 304 code (sent as such
 * only with ExtendedErrors; HTTP CONNECT gets the matching status line). */
void
client_conn_fail_onion(client_conn_t *k, uint8_t code)
{
  log_info_rl(60, "Stream %llu: onion service request failed (reply %u)",
              (unsigned long long)k->num, code);
  if (k->ctl_new) {
    k->ctl_reason = RELAY_END_RESOLVEFAILED;
    client_ctl_stream_event(k, "FAILED", k->ctl_reason);
  }
  if (k->http) {
    const char *resp = http_connect_onion_failure_response(code, NULL);
    client_conn_write(k, resp, strlen(resp));
  } else {
    client_conn_socks_reply(k, (k->l->cfg.flags & PROXY_PF_EXTENDED_ERRORS)
                        ? code : SOCKS5_GENERAL_FAILURE, NULL);
  }
  client_conn_close_after_flush(k);
}

/* A CONNECT to a valid onion address: a joined rendezvous circuit for
 * it, or client_hs.c's attempt to reach it (client_conn.c). */
static void
conn_onion_request(client_conn_t *k, const ed25519_public_key_t *pk)
{
  k->onion = true;
  k->onion_pk = *pk;
  log_info("Stream %llu: request for an onion service, port %u",
           (unsigned long long)k->num, k->port);
  conn_request_ready(k);
}

/* CONNECT to a valid .onion: handled here (1), else 0. */
static int
conn_maybe_onion(client_conn_t *k)
{
  ed25519_public_key_t pk;
  if (k->command != SOCKS_CMD_CONNECT || client_onion_target(k->host, &pk) <= 0)
    return 0;
  conn_onion_request(k, &pk);
  return 1;
}

static void
addr_text(const socks_addr_t *t, char *out, size_t outlen)
{
  if (t->atyp == SOCKS_ATYP_HOSTNAME)
    snprintf(out, outlen, "%s", t->hostname);
  else if (!inet_ntop(t->atyp == SOCKS_ATYP_IPV4 ? AF_INET : AF_INET6,
                      t->addr, out, (socklen_t)outlen))
    out[0] = '\0';
}

/* The SOCKS address type of host (after an address-map rewrite); *out
 * gets the address for an IP. */
static uint8_t
host_atyp(const char *host, uint16_t port, socks_addr_t *out)
{
  policy_addr_t pa;
  memset(out, 0, sizeof(*out));
  out->port = port;
  if (policy_addr_parse(host, strlen(host), &pa) != 0) {
    out->atyp = SOCKS_ATYP_HOSTNAME;
    snprintf(out->hostname, sizeof(out->hostname), "%s", host);
  } else {
    out->atyp = pa.family == 4 ? SOCKS_ATYP_IPV4 : SOCKS_ATYP_IPV6;
    memcpy(out->addr, pa.addr, pa.family == 4 ? 4 : 16);
  }
  return out->atyp;
}

void
client_conn_socks_request(client_conn_t *k)
{
  const socks_request_t *req = socks_state_request(k->socks);
  k->socks_version = req->version;
  k->command = req->command;
  k->target = req->target;
  addr_text(&req->target, k->host, sizeof(k->host));
  k->port = req->command == SOCKS_CMD_CONNECT ? req->target.port : 0;
  /* MAPADDRESS / MapAddress come before everything else (tor). */
  socks_addr_t target = req->target;
  if ((req->command == SOCKS_CMD_CONNECT ||
       req->command == SOCKS_CMD_RESOLVE) &&
      client_addrmap_rewrite(k->c, k->host, sizeof(k->host)))
    (void)host_atyp(k->host, req->target.port, &target);
  conn_fill_iso(k, req->version == 4 ? PROXY_PROTO_SOCKS4 : PROXY_PROTO_SOCKS5,
                req->has_auth, req->username, req->username_len,
                req->password, req->password_len);
  /* tor(1) SafeSocks / TestSocks / WarnUnsafeSocks */
  socks_safety_t sf;
  socks_request_safety(req, &k->c->socks_safety, &sf);
  socks_safety_log(&sf, req, k->num);
  if (sf.refuse) {
    client_conn_fail(k, SOCKS5_NOT_ALLOWED, RELAY_END_MISC);
    return;
  }
  uint8_t code = 0;
  uint8_t atyp = target.atyp;
  switch (req->command) {
  case SOCKS_CMD_CONNECT:
    code = CONN_CHECK_TARGET(k, atyp);
    break;
  case SOCKS_CMD_RESOLVE:
    if (atyp != SOCKS_ATYP_HOSTNAME) {
      /* Already an address: the answer is the address itself. */
      client_conn_socks_reply(k, SOCKS5_SUCCEEDED, &target);
      client_conn_close_after_flush(k);
      return;
    }
    code = CONN_CHECK_TARGET(k, atyp);
    break;
  case SOCKS_CMD_RESOLVE_PTR:
    if (req->version != 5 ||
        client_ptr_name(&req->target, k->host, sizeof(k->host)) != 0)
      code = SOCKS5_ADDRESS_TYPE_NOT_SUPPORTED;
    break;
  default:
    code = SOCKS5_COMMAND_NOT_SUPPORTED;
    break;
  }
  if (code) {
    client_conn_fail(k, code, RELAY_END_MISC);
    return;
  }
  if (conn_maybe_onion(k))
    return;
  conn_request_ready(k);
}

void
client_conn_http_request(client_conn_t *k)
{
  const http_connect_request_t *req = http_connect_request(k->hc);
  k->command = SOCKS_CMD_CONNECT;
  snprintf(k->host, sizeof(k->host), "%s", req->host);
  (void)client_addrmap_rewrite(k->c, k->host, sizeof(k->host));
  k->port = req->port;
  const char *a1 = req->proxy_auth, *a2 = req->stream_isolation;
  conn_fill_iso(k, PROXY_PROTO_HTTP_CONNECT, a1 || a2,
                (const uint8_t *)a1, a1 ? strlen(a1) : 0,
                (const uint8_t *)a2, a2 ? strlen(a2) : 0);
  policy_addr_t pa;
  uint8_t atyp = SOCKS_ATYP_HOSTNAME;
  if (policy_addr_parse(k->host, strlen(k->host), &pa) == 0)
    atyp = pa.family == 4 ? SOCKS_ATYP_IPV4 : SOCKS_ATYP_IPV6;
  /* HTTPTunnelPort has no ExtendedErrors flag: ask for the precise code
   * to tell onion-service refusals apart. */
  uint8_t code = client_check_target(true, k->host, k->port, atyp,
                                     k->l->cfg.flags |
                                     PROXY_PF_EXTENDED_ERRORS);
  if (code >= SOCKS5_HS_DESC_NOT_FOUND && code <= SOCKS5_HS_INTRO_TIMEDOUT) {
    const char *resp = http_connect_onion_failure_response(code, NULL);
    client_conn_write(k, resp, strlen(resp));
    client_conn_close_after_flush(k);
    return;
  }
  if (code) {
    static const char forbidden[] =
      "HTTP/1.0 403 Forbidden\r\nContent-Type: text/plain\r\n\r\n"
      "Refused by the proxy's settings.\n";
    log_info_rl(60, "Stream %llu refused", (unsigned long long)k->num);
    client_conn_write(k, forbidden, sizeof(forbidden) - 1);
    client_conn_close_after_flush(k);
    return;
  }
  if (conn_maybe_onion(k))
    return;
  conn_request_ready(k);
}
