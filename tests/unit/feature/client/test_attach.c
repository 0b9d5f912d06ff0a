/* test_attach.c -- the client's pure decisions: node -> hop spec, may a
 * stream use a circuit (policy, dirtiness, isolation), END reasons, SOCKS
 * answers to RESOLVED, reverse names, BEGIN flags. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "allium/core/cell/relay_msg.h"
#include "allium/core/policy/policy.h"
#include "allium/feature/client/client_attach.h"
#include "allium/feature/hs_client/hs_client_cache.h"
#include "allium/feature/hs_client/hs_client_rend.h"
#include "allium/feature/hs_common/hs_crypto.h"

static void
mk_node(node_t *n)
{
  memset(n, 0, sizeof(*n));
  memset(n->rsa_id, 0xAA, 20);
  n->has_ed25519_id = true;
  memset(n->ed25519_id, 0xBB, 32);
  n->has_ntor_key = true;
  memset(n->ntor_key, 0xCC, 32);
  memcpy(n->ipv4, "\x0a\x00\x00\x07", 4);
  n->orport = 9001;
}

Test(client_attach, hop_spec_ipv4)
{
  node_t n;
  circ_hop_spec_t h;
  mk_node(&n);
  cr_assert_eq(client_hop_spec_from_node(&n, &h), 0);
  uint8_t aa[20], bb[32], cc[32];
  memset(aa, 0xAA, 20);
  memset(bb, 0xBB, 32);
  memset(cc, 0xCC, 32);
  cr_assert_arr_eq(h.rsa_id, aa, 20);
  cr_assert(h.has_ed_id);
  cr_assert_arr_eq(h.ed_id, bb, 32);
  cr_assert_arr_eq(h.ntor_key, cc, 32);
  cr_assert_eq(h.n_addr, 1);
  cr_assert_eq(h.addr[0].type, RELAY_LSPEC_IPV4);
  cr_assert_arr_eq(h.addr[0].u.ipv4.addr, "\x0a\x00\x00\x07", 4);
  cr_assert_eq(h.addr[0].u.ipv4.port, 9001);
}

Test(client_attach, hop_spec_ipv6_and_missing)
{
  node_t n;
  circ_hop_spec_t h;
  mk_node(&n);
  n.has_ipv6 = true;
  n.ipv6[0] = 0x20;
  n.ipv6[15] = 0x01;
  n.ipv6_port = 443;
  n.has_ed25519_id = false;
  cr_assert_eq(client_hop_spec_from_node(&n, &h), 0);
  cr_assert(!h.has_ed_id);
  cr_assert_eq(h.n_addr, 2);
  cr_assert_eq(h.addr[1].type, RELAY_LSPEC_IPV6);
  cr_assert_eq(h.addr[1].u.ipv6.addr[0], 0x20);
  cr_assert_eq(h.addr[1].u.ipv6.addr[15], 0x01);
  cr_assert_eq(h.addr[1].u.ipv6.port, 443);
  n.has_ntor_key = false;
  cr_assert_eq(client_hop_spec_from_node(&n, &h), -1);
  mk_node(&n);
  memset(n.ipv4, 0, 4);
  cr_assert_eq(client_hop_spec_from_node(&n, &h), -1);
  mk_node(&n);
  n.orport = 0;
  cr_assert_eq(client_hop_spec_from_node(&n, &h), -1);
  cr_assert_eq(client_hop_spec_from_node(NULL, &h), -1);
}

static node_t exit_node;
static policy_t *exit_policy;

static void
exit_setup(void)
{
  mk_node(&exit_node);
  exit_policy = policy_new();
  cr_assert_eq(policy_add_entry(exit_policy, "accept *:80", 11), 0);
  cr_assert_eq(policy_add_entry(exit_policy, "accept *:443", 12), 0);
  cr_assert_eq(policy_add_entry(exit_policy, "reject *:*", 10), 0);
  exit_node.full_policy = exit_policy;
}

static void
exit_teardown(void)
{
  policy_free(exit_policy);
}

static proxy_iso_attrs_t
iso(const char *user, const char *dest, uint16_t port)
{
  proxy_iso_attrs_t a;
  memset(&a, 0, sizeof(a));
  a.listener_id = 0;
  a.session_group = -1;
  a.iso_flags = PROXY_ISO_DEFAULT;
  a.proto = PROXY_PROTO_SOCKS5;
  a.client_addr.family = 4;
  memcpy(a.client_addr.addr, "\x7f\0\0\x01", 4);
  if (user) {
    a.has_auth = true;
    a.auth1 = (const uint8_t *)user;
    a.auth1_len = strlen(user);
    a.auth2 = (const uint8_t *)"pw";
    a.auth2_len = 2;
  }
  a.dest_addr = dest;
  a.dest_port = port;
  return a;
}

Test(client_attach, policy_built_closed, .init = exit_setup,
     .fini = exit_teardown)
{
  client_circ_view_t v = { true, false, &exit_node, 0, NULL, NULL };
  proxy_iso_attrs_t s = iso(NULL, "example.com", 80);
  cr_assert_eq(client_circ_may_attach(&v, NULL, 80, &s, 5000, 600),
               CLIENT_ATTACH_OK);
  cr_assert_eq(client_circ_may_attach(&v, NULL, 443, &s, 5000, 600),
               CLIENT_ATTACH_OK);
  cr_assert_eq(client_circ_may_attach(&v, NULL, 22, &s, 5000, 600),
               CLIENT_ATTACH_POLICY);
  v.exit = NULL;
  cr_assert_eq(client_circ_may_attach(&v, NULL, 80, &s, 5000, 600),
               CLIENT_ATTACH_POLICY);
  v.exit = &exit_node;
  v.built = false;
  cr_assert_eq(client_circ_may_attach(&v, NULL, 80, &s, 5000, 600),
               CLIENT_ATTACH_NOT_BUILT);
  v.built = true;
  v.closed = true;
  cr_assert_eq(client_circ_may_attach(&v, NULL, 80, &s, 5000, 600),
               CLIENT_ATTACH_CLOSED);
}

Test(client_attach, exit_policy_with_address, .init = exit_setup,
     .fini = exit_teardown)
{
  /* accept only 127.0.0.1:* : unknown addresses are probably rejected */
  policy_t *p = policy_new();
  cr_assert_eq(policy_add_entry(p, "accept 127.0.0.1:*", 18), 0);
  cr_assert_eq(policy_add_entry(p, "reject *:*", 10), 0);
  exit_node.full_policy = p;
  policy_addr_t lo, other;
  cr_assert_eq(policy_addr_parse("127.0.0.1", 9, &lo), 0);
  cr_assert_eq(policy_addr_parse("10.9.8.7", 8, &other), 0);
  cr_assert(client_exit_allows(&exit_node, &lo, 23000));
  cr_assert(!client_exit_allows(&exit_node, &other, 23000));
  cr_assert(!client_exit_allows(&exit_node, NULL, 23000));
  cr_assert(!client_exit_allows(NULL, &lo, 80));
  proxy_iso_attrs_t s = iso(NULL, "127.0.0.1", 23000);
  client_circ_view_t v = { true, false, &exit_node, 0, NULL, NULL };
  cr_assert_eq(client_circ_may_attach(&v, &lo, 23000, &s, 5000, 600),
               CLIENT_ATTACH_OK);
  cr_assert_eq(client_circ_may_attach(&v, &other, 23000, &s, 5000, 600),
               CLIENT_ATTACH_POLICY);
  cr_assert_eq(client_circ_may_attach(&v, NULL, 23000, &s, 5000, 600),
               CLIENT_ATTACH_POLICY);
  exit_node.full_policy = exit_policy;
  policy_free(p);
}

Test(client_attach, dirtiness, .init = exit_setup, .fini = exit_teardown)
{
  proxy_iso_attrs_t s = iso(NULL, "example.com", 80);
  client_circ_view_t v = { true, false, &exit_node, 1000, &s, NULL };
  cr_assert_eq(client_circ_may_attach(&v, NULL, 80, &s, 1000 + 599999, 600),
               CLIENT_ATTACH_OK);
  cr_assert_eq(client_circ_may_attach(&v, NULL, 80, &s, 1000 + 600000, 600),
               CLIENT_ATTACH_DIRTY);
  cr_assert_eq(client_circ_may_attach(&v, NULL, 80, &s, 1000 + 10000, 10),
               CLIENT_ATTACH_DIRTY);
  v.first_use_msec = 0;   /* clean: never too dirty */
  cr_assert_eq(client_circ_may_attach(&v, NULL, 80, &s, 1000 + 600000000ull, 600),
               CLIENT_ATTACH_OK);
}

Test(client_attach, isolation_by_socks_username, .init = exit_setup,
     .fini = exit_teardown)
{
  proxy_iso_attrs_t alice = iso("alice", "example.com", 80);
  proxy_iso_attrs_t alice2 = iso("alice", "example.org", 443);
  proxy_iso_attrs_t bob = iso("bob", "example.com", 80);
  proxy_iso_attrs_t none = iso(NULL, "example.com", 80);
  client_circ_view_t v = { true, false, &exit_node, 1000, &alice, NULL };
  cr_assert_eq(client_circ_may_attach(&v, NULL, 80, &bob, 2000, 600),
               CLIENT_ATTACH_ISOLATION);
  cr_assert_eq(client_circ_may_attach(&v, NULL, 80, &none, 2000, 600),
               CLIENT_ATTACH_ISOLATION);
  cr_assert_eq(client_circ_may_attach(&v, NULL, 443, &alice2, 2000, 600),
               CLIENT_ATTACH_OK);
  /* IsolateDestPort on the port: the same user to another port splits. */
  alice.iso_flags |= PROXY_ISO_DESTPORT;
  cr_assert_eq(client_circ_may_attach(&v, NULL, 443, &alice2, 2000, 600),
               CLIENT_ATTACH_ISOLATION);
  /* Another listener without a shared SessionGroup never shares. */
  alice.iso_flags = PROXY_ISO_DEFAULT;
  alice2.listener_id = 1;
  cr_assert_eq(client_circ_may_attach(&v, NULL, 443, &alice2, 2000, 600),
               CLIENT_ATTACH_ISOLATION);
}

Test(client_attach, end_reasons)
{
  const uint8_t retry[] = { RELAY_END_EXITPOLICY, RELAY_END_TIMEOUT,
                            RELAY_END_DESTROY, RELAY_END_RESOURCELIMIT,
                            RELAY_END_HIBERNATING, RELAY_END_INTERNAL,
                            RELAY_END_MISC, RELAY_END_NOROUTE };
  for (size_t i = 0; i < sizeof(retry); i++)
    cr_assert(client_end_reason_retriable(retry[i]), "reason %u", retry[i]);
  const uint8_t report[] = { RELAY_END_RESOLVEFAILED, RELAY_END_CONNECTREFUSED,
                             RELAY_END_CONNRESET, RELAY_END_DONE, 200 };
  for (size_t i = 0; i < sizeof(report); i++)
    cr_assert(!client_end_reason_retriable(report[i]), "reason %u",
              report[i]);
  cr_assert_eq(client_end_reason_socks5(RELAY_END_CONNECTREFUSED),
               SOCKS5_CONNECTION_REFUSED);
  cr_assert_eq(client_end_reason_socks5(RELAY_END_RESOLVEFAILED),
               SOCKS5_HOST_UNREACHABLE);
  cr_assert_eq(client_end_reason_socks5(RELAY_END_EXITPOLICY),
               SOCKS5_NOT_ALLOWED);
  cr_assert_eq(client_end_reason_socks5(RELAY_END_TIMEOUT),
               SOCKS5_TTL_EXPIRED);
  cr_assert_eq(client_end_reason_socks5(RELAY_END_MISC),
               SOCKS5_GENERAL_FAILURE);
  cr_assert_eq(client_end_reason_socks5(RELAY_END_DESTROY),
               SOCKS5_GENERAL_FAILURE);
}

Test(client_attach, resolved_replies)
{
  uint8_t out[300];
  /* A 93.184.216.34 ttl 60, then AAAA */
  const uint8_t a4[] = { 0x04, 4, 93, 184, 216, 34, 0, 0, 0, 60,
                         0x06, 16, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
                         0, 0, 0, 1, 0, 0, 0, 60 };
  int n = client_resolved_reply(5, SOCKS_CMD_RESOLVE, a4, sizeof(a4), out,
                                sizeof(out));
  const uint8_t want5[] = { 5, 0, 0, 1, 93, 184, 216, 34, 0, 0 };
  cr_assert_eq(n, (int)sizeof(want5));
  cr_assert_arr_eq(out, want5, sizeof(want5));
  n = client_resolved_reply(4, SOCKS_CMD_RESOLVE, a4, sizeof(a4), out,
                            sizeof(out));
  const uint8_t want4[] = { 0, 90, 0, 0, 93, 184, 216, 34 };
  cr_assert_eq(n, (int)sizeof(want4));
  cr_assert_arr_eq(out, want4, sizeof(want4));
  /* AAAA only: SOCKS5 answers with it; SOCKS4 cannot. */
  n = client_resolved_reply(5, SOCKS_CMD_RESOLVE, a4 + 10, sizeof(a4) - 10,
                            out, sizeof(out));
  cr_assert_eq(n, 22);
  cr_assert_eq(out[1], 0);
  cr_assert_eq(out[3], SOCKS_ATYP_IPV6);
  cr_assert_eq(out[4], 0x20);
  cr_assert_eq(out[19], 1);
  n = client_resolved_reply(4, SOCKS_CMD_RESOLVE, a4 + 10, sizeof(a4) - 10,
                            out, sizeof(out));
  cr_assert_eq(n, 8);
  cr_assert_eq(out[1], SOCKS4_REJECTED);
  /* error answer */
  const uint8_t err[] = { 0xF0, 0, 0, 0, 0, 0 };
  n = client_resolved_reply(5, SOCKS_CMD_RESOLVE, err, sizeof(err), out,
                            sizeof(out));
  cr_assert_eq(n, 10);
  cr_assert_eq(out[1], SOCKS5_HOST_UNREACHABLE);
  /* malformed (truncated) */
  n = client_resolved_reply(5, SOCKS_CMD_RESOLVE, a4, 5, out, sizeof(out));
  cr_assert_eq(n, 10);
  cr_assert_eq(out[1], SOCKS5_GENERAL_FAILURE);
  n = client_resolved_reply(5, SOCKS_CMD_RESOLVE, NULL, 0, out, sizeof(out));
  cr_assert_eq(out[1], SOCKS5_GENERAL_FAILURE);
  /* PTR */
  const uint8_t ptr[] = { 0x00, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.',
                          'c', 'o', 'm', 0, 0, 1, 0 };
  n = client_resolved_reply(5, SOCKS_CMD_RESOLVE_PTR, ptr, sizeof(ptr), out,
                            sizeof(out));
  const uint8_t wantp[] = { 5, 0, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
                            '.', 'c', 'o', 'm', 0, 0 };
  cr_assert_eq(n, (int)sizeof(wantp));
  cr_assert_arr_eq(out, wantp, sizeof(wantp));
  /* PTR question, address answer only: unreachable */
  n = client_resolved_reply(5, SOCKS_CMD_RESOLVE_PTR, a4, 10, out,
                            sizeof(out));
  cr_assert_eq(out[1], SOCKS5_HOST_UNREACHABLE);
  cr_assert_eq(client_resolved_reply(3, SOCKS_CMD_RESOLVE, a4, 10, out,
                                     sizeof(out)), -1);
  cr_assert_eq(client_resolved_reply(5, SOCKS_CMD_RESOLVE, a4, 10, out, 4),
               -1);
}

Test(client_attach, ptr_names)
{
  socks_addr_t a;
  char buf[80];
  memset(&a, 0, sizeof(a));
  a.atyp = SOCKS_ATYP_IPV4;
  memcpy(a.addr, "\x5d\xb8\xd8\x22", 4);
  cr_assert_eq(client_ptr_name(&a, buf, sizeof(buf)), 0);
  cr_assert_str_eq(buf, "34.216.184.93.in-addr.arpa");
  cr_assert_eq(client_ptr_name(&a, buf, 10), -1);
  a.atyp = SOCKS_ATYP_IPV6;
  memset(a.addr, 0, 16);
  a.addr[0] = 0x20;
  a.addr[1] = 0x01;
  a.addr[2] = 0x0d;
  a.addr[3] = 0xb8;
  a.addr[15] = 0x01;
  cr_assert_eq(client_ptr_name(&a, buf, sizeof(buf)), 0);
  cr_assert_str_eq(buf, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
                        "8.b.d.0.1.0.0.2.ip6.arpa");
  a.atyp = SOCKS_ATYP_HOSTNAME;
  cr_assert_eq(client_ptr_name(&a, buf, sizeof(buf)), -1);
}

Test(client_attach, begin_flags)
{
  cr_assert_eq(client_begin_flags(PROXY_PF_DEFAULT), 0);
  cr_assert_eq(client_begin_flags(PROXY_PF_DEFAULT | PROXY_PF_IPV6_TRAFFIC),
               RELAY_BEGIN_FLAG_IPV6_OK);
  cr_assert_eq(client_begin_flags(PROXY_PF_IPV6_TRAFFIC | PROXY_PF_PREFER_IPV6),
               RELAY_BEGIN_FLAG_IPV6_OK | RELAY_BEGIN_FLAG_IPV4_NOT_OK |
               RELAY_BEGIN_FLAG_IPV6_PREFERRED);
}

/* path-spec 2.1.1: port 80 is predicted at start; ports used within the
 * hour are predicted, most recent first; older ones drop out; a full
 * table replaces its least recently used port. */
Test(attach, predicted_ports)
{
  client_predict_t p;
  uint16_t out[CLIENT_PREDICT_MAX];
  client_predict_init(&p, 1000);
  cr_assert_eq(client_predict_ports(&p, 1000, out, CLIENT_PREDICT_MAX), 1);
  cr_assert_eq(out[0], 80);
  client_predict_note(&p, 443, 2000);
  client_predict_note(&p, 0, 2500);           /* ignored */
  client_predict_note(&p, 80, 3000);
  size_t n = client_predict_ports(&p, 3000, out, CLIENT_PREDICT_MAX);
  cr_assert_eq(n, 2);
  cr_assert_eq(out[0], 80);
  cr_assert_eq(out[1], 443);
  cr_assert_eq(client_predict_ports(&p, 3000, out, 1), 1);
  /* An hour after 443's last use only 80 (used later) is left. */
  n = client_predict_ports(&p, 2000 + CLIENT_PREDICT_WINDOW_MSEC + 1, out,
                           CLIENT_PREDICT_MAX);
  cr_assert_eq(n, 1);
  cr_assert_eq(out[0], 80);
  /* Full: the least recently used entry (443 at 2000) is replaced. */
  for (uint16_t i = 0; i < CLIENT_PREDICT_MAX - 2; i++)
    client_predict_note(&p, (uint16_t)(5000 + i), 4000 + i);
  cr_assert_eq(p.n, CLIENT_PREDICT_MAX);
  client_predict_note(&p, 9999, 9000);
  cr_assert_eq(p.n, CLIENT_PREDICT_MAX);
  n = client_predict_ports(&p, 9000, out, CLIENT_PREDICT_MAX);
  cr_assert_eq(n, CLIENT_PREDICT_MAX);
  cr_assert_eq(out[0], 9999);
  for (size_t i = 0; i < n; i++)
    cr_assert_neq(out[i], 443);
}

/* Transitive isolation through the attach decision: A and B (B's port
 * isolates by destination, same SessionGroup) share; C may share with A
 * but not with B, so it may not join the circuit carrying both. */
Test(client_attach, isolation_is_transitive, .init = exit_setup,
     .fini = exit_teardown)
{
  proxy_iso_attrs_t a = iso(NULL, "a.example", 80);
  proxy_iso_attrs_t b = iso(NULL, "a.example", 80);
  proxy_iso_attrs_t c = iso(NULL, "b.example", 80);
  a.session_group = b.session_group = c.session_group = 3;
  b.listener_id = a.listener_id + 1;
  b.iso_flags |= PROXY_ISO_DESTADDR;
  proxy_iso_circ_t st;
  memset(&st, 0, sizeof(st));
  proxy_iso_circ_add(&a, &st, &a);
  client_circ_view_t v = { true, false, &exit_node, 1000, &a, &st };
  cr_assert_eq(client_circ_may_attach(&v, NULL, 80, &b, 2000, 600),
               CLIENT_ATTACH_OK);
  proxy_iso_circ_add(&a, &st, &b);
  cr_assert_eq(client_circ_may_attach(&v, NULL, 80, &c, 2000, 600),
               CLIENT_ATTACH_ISOLATION);
  /* the first-stream-only view (no memory) would have let C in */
  v.iso_state = NULL;
  cr_assert_eq(client_circ_may_attach(&v, NULL, 80, &c, 2000, 600),
               CLIENT_ATTACH_OK);
}

/* First hop: the address we connect to comes first; a family we may not
 * use is left out (tor(1) ClientUseIPv4 / ClientUseIPv6 /
 * ClientPreferIPv6ORPort). */
Test(client_attach, first_hop_address_family)
{
  node_t n;
  memset(&n, 0, sizeof(n));
  n.has_ntor_key = true;
  n.ipv4[0] = 10;
  n.ipv4[3] = 1;
  n.orport = 9001;
  pathsel_options_t o;
  pathsel_options_init(&o);
  circ_hop_spec_t h;
  cr_assert_eq(client_hop_spec_first_hop(&n, &o, &h), 0);
  cr_assert_eq(h.n_addr, 1);
  cr_assert_eq(h.addr[0].type, RELAY_LSPEC_IPV4);
  o.client_use_ipv4 = false;
  cr_assert_eq(client_hop_spec_first_hop(&n, &o, &h), -1, "no IPv6 ORPort");
  n.has_ipv6 = true;
  n.ipv6[0] = 0x20;
  n.ipv6[15] = 1;
  n.ipv6_port = 9002;
  cr_assert_eq(client_hop_spec_first_hop(&n, &o, &h), 0);
  cr_assert_eq(h.n_addr, 1);
  cr_assert_eq(h.addr[0].type, RELAY_LSPEC_IPV6);
  cr_assert_eq(h.addr[0].u.ipv6.port, 9002);
  o.client_use_ipv4 = true;
  cr_assert_eq(client_hop_spec_first_hop(&n, &o, &h), 0);
  cr_assert_eq(h.n_addr, 2);
  cr_assert_eq(h.addr[0].type, RELAY_LSPEC_IPV4, "IPv4 preferred by default");
  o.prefer_ipv6_orport = true;
  cr_assert_eq(client_hop_spec_first_hop(&n, &o, &h), 0);
  cr_assert_eq(h.n_addr, 2);
  cr_assert_eq(h.addr[0].type, RELAY_LSPEC_IPV6);
  cr_assert_eq(h.addr[1].type, RELAY_LSPEC_IPV4);
  o.client_use_ipv6 = false;
  cr_assert_eq(client_hop_spec_first_hop(&n, &o, &h), 0);
  cr_assert_eq(h.addr[0].type, RELAY_LSPEC_IPV4);
}

Test(client_attach, check_target)
{
  const uint32_t all = PROXY_PF_DNS_REQUEST | PROXY_PF_IPV4_TRAFFIC |
                       PROXY_PF_IPV6_TRAFFIC;
  cr_assert_eq(client_check_target(true, "example.com", 80,
                                   SOCKS_ATYP_HOSTNAME, all), 0);
  cr_assert_eq(client_check_target(true, "example.com", 0,
                                   SOCKS_ATYP_HOSTNAME, all),
               SOCKS5_GENERAL_FAILURE);
  cr_assert_eq(client_check_target(false, "example.com", 0,
                                   SOCKS_ATYP_HOSTNAME, all), 0);
  cr_assert_eq(client_check_target(true, "", 80, SOCKS_ATYP_HOSTNAME, all),
               SOCKS5_GENERAL_FAILURE);
  cr_assert_eq(client_check_target(true, "[::1]", 80, SOCKS_ATYP_HOSTNAME,
                                   all), SOCKS5_GENERAL_FAILURE);
  cr_assert_eq(client_check_target(true, "x.ONION.", 80, SOCKS_ATYP_HOSTNAME,
                                   all), SOCKS5_GENERAL_FAILURE);
  cr_assert_eq(client_check_target(true, "x.onion", 80, SOCKS_ATYP_HOSTNAME,
                                   all | PROXY_PF_EXTENDED_ERRORS),
               SOCKS5_HS_BAD_ADDRESS);
  cr_assert_eq(client_check_target(true, "a.b.exit", 80, SOCKS_ATYP_HOSTNAME,
                                   all), SOCKS5_NOT_ALLOWED);
  cr_assert_eq(client_check_target(true, "onion", 80, SOCKS_ATYP_HOSTNAME,
                                   all), 0, "no dot: not the .onion TLD");
  cr_assert_eq(client_check_target(true, "example.com", 80,
                                   SOCKS_ATYP_HOSTNAME,
                                   all & ~PROXY_PF_DNS_REQUEST),
               SOCKS5_NOT_ALLOWED);
  cr_assert_eq(client_check_target(true, "1.2.3.4", 80, SOCKS_ATYP_IPV4,
                                   all & ~PROXY_PF_IPV4_TRAFFIC),
               SOCKS5_NOT_ALLOWED);
  cr_assert_eq(client_check_target(true, "::1", 80, SOCKS_ATYP_IPV6,
                                   all & ~PROXY_PF_IPV6_TRAFFIC),
               SOCKS5_NOT_ALLOWED);
  cr_assert_eq(client_check_target(true, "::1", 80, SOCKS_ATYP_IPV6, all), 0);
}

/* Proposal 324 10.1: congestion control only with FlowCtrl=2 + Relay=4
 * and a known ed25519 id (ntor v3); nl NULL gives cc_alg's default 2. */
Test(client_attach, hop_spec_congestion_control)
{
  node_t n;
  circ_hop_spec_t h;
  mk_node(&n);
  char pr[] = "Cons=1-2 FlowCtrl=1-2 Link=3-5 Relay=2-4";
  n.protocols = pr;
  cr_assert_eq(client_hop_spec_from_node(&n, &h), 0);
  cr_assert_not(h.want_cc, "not set by default");
  cr_assert(client_hop_spec_set_cc(&n, NULL, &h));
  cr_assert(h.want_cc);
  cr_assert_eq(h.cc_params.alg, 2);
  cr_assert_eq(h.cc_params.sendme_inc, 31);
  char old[] = "FlowCtrl=1 Relay=2-4";
  n.protocols = old;
  cr_assert_not(client_hop_spec_set_cc(&n, NULL, &h));
  cr_assert_not(h.want_cc);
  char nov3[] = "FlowCtrl=1-2 Relay=2-3";
  n.protocols = nov3;
  cr_assert_not(client_hop_spec_set_cc(&n, NULL, &h));
  n.protocols = NULL;
  cr_assert_not(client_hop_spec_set_cc(&n, NULL, &h));
  n.protocols = pr;
  h.has_ed_id = false;
  cr_assert_not(client_hop_spec_set_cc(&n, NULL, &h), "ntor v3 needs the ed25519 id");
  cr_assert_not(client_hop_spec_set_cc(NULL, NULL, &h));
  n.protocols = NULL;
}

/* A valid v3 address of a fixed key (deterministic), in host. */
static void
make_onion(char host[HS_ONION_ADDR_LEN + 1], ed25519_public_key_t *pk)
{
  ed25519_keypair_t kp;
  uint8_t seed[ED25519_SEED_LEN];
  memset(seed, 0x42, sizeof(seed));
  cr_assert_eq(ed25519_keypair_from_seed(&kp, seed), 0);
  *pk = kp.pub;
  cr_assert_eq(hs_onion_address_encode(host, HS_ONION_ADDR_LEN + 1, pk), 0);
  ed25519_keypair_wipe(&kp);
}

Test(client_attach, onion_target)
{
  char addr[HS_ONION_ADDR_LEN + 1], buf[300];
  ed25519_public_key_t pk, got;
  make_onion(addr, &pk);
  cr_assert_eq(client_onion_target(addr, &got), 1);
  cr_assert_arr_eq(got.pubkey, pk.pubkey, 32);
  /* subdomains (only the last label counts), upper case, trailing dot */
  snprintf(buf, sizeof(buf), "www.a.b.%s", addr);
  cr_assert_eq(client_onion_target(buf, NULL), 1);
  snprintf(buf, sizeof(buf), "%s.", addr);
  for (char *p = buf; *p; p++)
    if (*p >= 'a' && *p <= 'z')
      *p = (char)(*p - 32);
  cr_assert_eq(client_onion_target(buf, &got), 1);
  cr_assert_arr_eq(got.pubkey, pk.pubkey, 32);
  /* not .onion at all */
  cr_assert_eq(client_onion_target("example.com", NULL), 0);
  cr_assert_eq(client_onion_target("onion", NULL), 0);
  cr_assert_eq(client_onion_target("example.onionx", NULL), 0);
  /* bad: v2-style length, empty, label glued to a subdomain */
  cr_assert_eq(client_onion_target("expyuzz4wqqyqhjn.onion", NULL), -1);
  cr_assert_eq(client_onion_target(".onion", NULL), -1);
  snprintf(buf, sizeof(buf), "x%s", addr);
  cr_assert_eq(client_onion_target(buf, NULL), -1, "57-character label");
  snprintf(buf, sizeof(buf), "%.*s.onion", 55, addr);
  cr_assert_eq(client_onion_target(buf, NULL), -1, "truncated");
  /* every single-character change of the address is refused (checksum,
   * version or alphabet) */
  for (size_t i = 0; i < HS_ONION_ADDR_NO_SUFFIX_LEN; i++) {
    snprintf(buf, sizeof(buf), "%s", addr);
    buf[i] = buf[i] == 'a' ? 'b' : 'a';
    cr_assert_eq(client_onion_target(buf, NULL), -1, "changed char %zu", i);
  }
  snprintf(buf, sizeof(buf), "%s", addr);
  buf[3] = '1';   /* not in the base32 alphabet */
  cr_assert_eq(client_onion_target(buf, NULL), -1);
}

Test(client_attach, onion_check_target)
{
  const uint32_t all = PROXY_PF_DNS_REQUEST | PROXY_PF_IPV4_TRAFFIC |
                       PROXY_PF_ONION_TRAFFIC;
  const uint32_t ext = all | PROXY_PF_EXTENDED_ERRORS;
  char addr[HS_ONION_ADDR_LEN + 1], bad[HS_ONION_ADDR_LEN + 1];
  ed25519_public_key_t pk;
  make_onion(addr, &pk);
  memcpy(bad, addr, sizeof(bad));
  bad[10] = bad[10] == 'q' ? 'r' : 'q';
  /* proposal 304: X'F6' for a bad address only with ExtendedErrors */
  cr_assert_eq(client_check_target(true, bad, 80, SOCKS_ATYP_HOSTNAME, ext),
               SOCKS5_HS_BAD_ADDRESS);
  cr_assert_eq(client_check_target(true, bad, 80, SOCKS_ATYP_HOSTNAME, all),
               SOCKS5_GENERAL_FAILURE);
  cr_assert_eq(client_check_target(false, "abc.onion", 0, SOCKS_ATYP_HOSTNAME,
                                   ext), SOCKS5_HS_BAD_ADDRESS, "RESOLVE too");
  /* a valid address passes for CONNECT (the descriptor is fetched), not
   * for RESOLVE */
  cr_assert_eq(client_check_target(true, addr, 80, SOCKS_ATYP_HOSTNAME, ext),
               0);
  cr_assert_eq(client_check_target(false, addr, 0, SOCKS_ATYP_HOSTNAME, ext),
               SOCKS5_GENERAL_FAILURE);
  /* NoOnionTraffic */
  cr_assert_eq(client_check_target(true, addr, 80, SOCKS_ATYP_HOSTNAME,
                                   ext & ~PROXY_PF_ONION_TRAFFIC),
               SOCKS5_NOT_ALLOWED);
  /* port 0 is checked first */
  cr_assert_eq(client_check_target(true, addr, 0, SOCKS_ATYP_HOSTNAME, ext),
               SOCKS5_GENERAL_FAILURE);
}

/* proposal 304: the codes a failed rendezvous attempt gives */
Test(client_attach, hs_rend_status_socks5)
{
  cr_assert_eq(client_hs_rend_status_socks5(HS_CLIENT_REND_OK), 0);
  cr_assert_eq(client_hs_rend_status_socks5(HS_CLIENT_REND_ERR_INTRO), 0xF2);
  cr_assert_eq(client_hs_rend_status_socks5(HS_CLIENT_REND_ERR_REND), 0xF3);
  cr_assert_eq(client_hs_rend_status_socks5(HS_CLIENT_REND_ERR_TIMEOUT),
               0xF7);
  cr_assert_eq(client_hs_rend_status_socks5(HS_CLIENT_REND_ERR_NO_PATH),
               SOCKS5_GENERAL_FAILURE);
  cr_assert_eq(client_hs_rend_status_socks5(-99), SOCKS5_GENERAL_FAILURE);
  /* the descriptor side (hs_client_cache.h): F0 F1 F4 F5 */
  cr_assert_eq(hs_client_desc_status_socks5(HS_CLIENT_DESC_NOT_FOUND), 0xF0);
  cr_assert_eq(hs_client_desc_status_socks5(HS_CLIENT_DESC_INVALID), 0xF1);
  cr_assert_eq(hs_client_desc_status_socks5(HS_CLIENT_DESC_NEED_AUTH), 0xF4);
  cr_assert_eq(hs_client_desc_status_socks5(HS_CLIENT_DESC_BAD_AUTH), 0xF5);
}
