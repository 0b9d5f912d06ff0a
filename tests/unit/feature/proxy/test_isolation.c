/* test_isolation.c -- SocksPort / HTTPTunnelPort value parsing and the
 * stream isolation rule (tor(1) SocksPort, HTTPTunnelPort). */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/feature/proxy/isolation.h"
#include "allium/lib/malloc/malloc.h"

static proxy_port_cfg_t
ok(const char *v, proxy_port_kind_t kind)
{
  proxy_port_cfg_t c;
  char *err = NULL;
  cr_assert_eq(proxy_port_parse(v, kind, &c, &err), 0, "'%s': %s", v,
               err ? err : "");
  cr_assert_null(err);
  return c;
}

static void
bad(const char *v, proxy_port_kind_t kind, const char *needle)
{
  proxy_port_cfg_t c;
  char *err = NULL;
  cr_assert_eq(proxy_port_parse(v, kind, &c, &err), -1, "'%s'", v);
  cr_assert_not_null(err);
  cr_assert_not_null(strstr(err, needle), "'%s' -> %s", v, err);
  cr_assert_null(c.unix_path);
  al_free(err);
  /* NULL err is fine too */
  cr_assert_eq(proxy_port_parse(v, kind, &c, NULL), -1);
}

Test(port_parse, defaults)
{
  proxy_port_cfg_t c = ok("9050", PROXY_PORT_SOCKS);
  cr_assert_eq(c.port, 9050);
  cr_assert_eq(c.addr.family, 4);
  cr_assert_eq(memcmp(c.addr.addr, "\x7f\x00\x00\x01", 4), 0);
  cr_assert(!c.is_auto && !c.is_unix && !c.disabled);
  cr_assert_eq(c.flags, PROXY_PF_DEFAULT);
  cr_assert_eq(c.iso_flags, PROXY_ISO_DEFAULT);
  cr_assert_eq(c.session_group, -1);
  proxy_port_cfg_clear(&c);
  c = ok("0", PROXY_PORT_SOCKS);
  cr_assert(c.disabled);
  proxy_port_cfg_clear(&c);
  c = ok("  auto  ", PROXY_PORT_SOCKS);
  cr_assert(c.is_auto);
  proxy_port_cfg_clear(&c);
  c = ok("192.0.2.1:auto", PROXY_PORT_HTTP_TUNNEL);
  cr_assert(c.is_auto);
  cr_assert_eq(c.addr.addr[0], 192);
  proxy_port_cfg_clear(&c);
  c = ok("[::1]:9150", PROXY_PORT_SOCKS);
  cr_assert_eq(c.addr.family, 6);
  cr_assert_eq(c.addr.addr[15], 1);
  cr_assert_eq(c.port, 9150);
  proxy_port_cfg_clear(&c);
}

Test(port_parse, flags)
{
  proxy_port_cfg_t c = ok("127.0.0.1:9050 IsolateDestAddr isolatedestport "
                          "NoIsolateSOCKSAuth IsolateClientProtocol "
                          "SessionGroup=7 KeepAliveIsolateSOCKSAuth",
                          PROXY_PORT_SOCKS);
  cr_assert_eq(c.iso_flags, PROXY_ISO_CLIENTADDR | PROXY_ISO_DESTADDR |
                            PROXY_ISO_DESTPORT | PROXY_ISO_CLIENTPROTOCOL);
  cr_assert_eq(c.session_group, 7);
  cr_assert(c.flags & PROXY_PF_KEEPALIVE_ISO_SOCKSAUTH);
  proxy_port_cfg_clear(&c);
  c = ok("9050 NoIPv4Traffic IPv6Traffic PreferIPv6 NoDNSRequest "
         "NoOnionTraffic CacheDNS UseIPv4Cache NoPreferIPv6Automap "
         "PreferSOCKSNoAuth ExtendedErrors", PROXY_PORT_SOCKS);
  cr_assert_eq(c.flags, PROXY_PF_IPV6_TRAFFIC | PROXY_PF_PREFER_IPV6 |
                        PROXY_PF_CACHE_IPV4_DNS | PROXY_PF_CACHE_IPV6_DNS |
                        PROXY_PF_USE_IPV4_CACHE |
                        PROXY_PF_PREFER_SOCKS_NOAUTH |
                        PROXY_PF_EXTENDED_ERRORS);
  proxy_port_cfg_clear(&c);
  c = ok("9050 IPv6Traffic OnionTrafficOnly", PROXY_PORT_SOCKS);
  cr_assert_eq(c.flags, PROXY_PF_ONION_TRAFFIC | PROXY_PF_PREFER_IPV6_AUTOMAP);
  proxy_port_cfg_clear(&c);
  /* last conflicting flag wins */
  c = ok("9050 OnionTrafficOnly IPv4Traffic DNSRequest UseDNSCache "
         "NoUseIPv6Cache", PROXY_PORT_SOCKS);
  cr_assert_eq(c.flags, PROXY_PF_DEFAULT | PROXY_PF_USE_IPV4_CACHE);
  proxy_port_cfg_clear(&c);
  c = ok("9050 NoIsolateClientAddr IsolateClientAddr", PROXY_PORT_SOCKS);
  cr_assert_eq(c.iso_flags, PROXY_ISO_DEFAULT);
  proxy_port_cfg_clear(&c);
  c = ok("unix:/run/allium/socks WorldWritable GroupWritable "
         "RelaxDirModeCheck IsolateClientAddr", PROXY_PORT_SOCKS);
  cr_assert(c.is_unix);
  cr_assert_str_eq(c.unix_path, "/run/allium/socks");
  cr_assert_eq(c.iso_flags, PROXY_ISO_SOCKSAUTH);  /* forced off */
  cr_assert(c.flags & PROXY_PF_WORLD_WRITABLE);
  cr_assert_eq(c.addr.family, 0);
  proxy_port_cfg_clear(&c);
  c = ok("unix:\"/tmp/with space/s\\\\x\" IsolateDestPort", PROXY_PORT_SOCKS);
  cr_assert_str_eq(c.unix_path, "/tmp/with space/s\\x");
  cr_assert(c.iso_flags & PROXY_ISO_DESTPORT);
  proxy_port_cfg_clear(&c);
  c = ok("8118 IsolateDestAddr SessionGroup=0", PROXY_PORT_HTTP_TUNNEL);
  cr_assert_eq(c.session_group, 0);
  cr_assert_eq(c.kind, PROXY_PORT_HTTP_TUNNEL);
  proxy_port_cfg_clear(&c);
  proxy_port_cfg_clear(&c);  /* twice is fine */
}

Test(port_parse, errors)
{
  bad("9050 IsolateEverything", PROXY_PORT_SOCKS, "'IsolateEverything'");
  bad("9050 NoOnionTrafficOnly", PROXY_PORT_SOCKS, "'NoOnionTrafficOnly'");
  bad("9050 IsolateDestAddr Frobnicate", PROXY_PORT_SOCKS, "'Frobnicate'");
  bad("9050 No", PROXY_PORT_SOCKS, "'No'");
  bad("8118 IPv6Traffic", PROXY_PORT_HTTP_TUNNEL, "'IPv6Traffic'");
  bad("8118 OnionTrafficOnly", PROXY_PORT_HTTP_TUNNEL, "not allowed");
  bad("unix:/x", PROXY_PORT_HTTP_TUNNEL, "unix");
  bad("", PROXY_PORT_SOCKS, "empty");
  bad("   ", PROXY_PORT_SOCKS, "empty");
  bad("65536", PROXY_PORT_SOCKS, "'65536'");
  bad("-1", PROXY_PORT_SOCKS, "bad address");
  bad("90x", PROXY_PORT_SOCKS, "bad address");
  bad("127.0.0.1", PROXY_PORT_SOCKS, "bad address");
  bad("127.0.0.1:", PROXY_PORT_SOCKS, "bad address");
  bad("127.0.0.1:0", PROXY_PORT_SOCKS, "bad address");
  bad("1.2.3:9050", PROXY_PORT_SOCKS, "bad address");
  bad("::1:9050", PROXY_PORT_SOCKS, "bad address");
  bad("[::1]9050", PROXY_PORT_SOCKS, "bad address");
  bad("[::1:9050", PROXY_PORT_SOCKS, "bad address");
  bad("unix:", PROXY_PORT_SOCKS, "empty unix path");
  bad("unix:\"/x", PROXY_PORT_SOCKS, "quoted");
  bad("unix:\"/x\\q\"", PROXY_PORT_SOCKS, "quoted");
  bad("unix:\"/x\"junk", PROXY_PORT_SOCKS, "junk");
  bad("9050 SessionGroup=", PROXY_PORT_SOCKS, "SessionGroup");
  bad("9050 SessionGroup=-1", PROXY_PORT_SOCKS, "SessionGroup");
  bad("9050 SessionGroup=1x", PROXY_PORT_SOCKS, "SessionGroup");
  bad("9050 SessionGroup=99999999999", PROXY_PORT_SOCKS, "SessionGroup");
  bad("unix:/x Frob", PROXY_PORT_SOCKS, "'Frob'");
}

static proxy_iso_attrs_t
base(void)
{
  proxy_iso_attrs_t a;
  memset(&a, 0, sizeof(a));
  a.listener_id = 1;
  a.session_group = -1;
  a.iso_flags = PROXY_ISO_DEFAULT;
  a.proto = PROXY_PROTO_SOCKS5;
  a.client_addr.family = 4;
  a.client_addr.addr[0] = 127;
  a.client_addr.addr[3] = 1;
  a.dest_addr = "example.com";
  a.dest_port = 443;
  return a;
}

Test(isolation, rules)
{
  proxy_iso_attrs_t a = base(), b = base();
  cr_assert(proxy_iso_may_share(&a, &b));
  /* destinations differ: fine by default */
  b.dest_addr = "other.example";
  b.dest_port = 80;
  cr_assert(proxy_iso_may_share(&a, &b));
  b.proto = PROXY_PROTO_SOCKS4;
  cr_assert(proxy_iso_may_share(&a, &b));
  /* ... unless either side isolates on them */
  b.iso_flags |= PROXY_ISO_DESTADDR;
  cr_assert(!proxy_iso_may_share(&a, &b));
  cr_assert(!proxy_iso_may_share(&b, &a));
  b.dest_addr = "EXAMPLE.com";
  cr_assert(proxy_iso_may_share(&a, &b));
  b.iso_flags = PROXY_ISO_DEFAULT | PROXY_ISO_DESTPORT;
  cr_assert(!proxy_iso_may_share(&a, &b));
  b.dest_port = 443;
  cr_assert(proxy_iso_may_share(&a, &b));
  b.iso_flags |= PROXY_ISO_CLIENTPROTOCOL;
  cr_assert(!proxy_iso_may_share(&a, &b));
  b = base();
  /* client address */
  b.client_addr.addr[3] = 2;
  cr_assert(!proxy_iso_may_share(&a, &b));
  a.iso_flags = b.iso_flags = PROXY_ISO_SOCKSAUTH;
  cr_assert(proxy_iso_may_share(&a, &b));
  /* SOCKS auth */
  b = base();
  b.has_auth = true;
  b.auth1 = (const uint8_t *)"u";
  b.auth1_len = 1;
  cr_assert(!proxy_iso_may_share(&a, &b));
  a.has_auth = true;
  a.auth1 = (const uint8_t *)"u";
  a.auth1_len = 1;
  cr_assert(proxy_iso_may_share(&a, &b));
  a.auth2 = (const uint8_t *)"p";
  a.auth2_len = 1;
  cr_assert(!proxy_iso_may_share(&a, &b));
  b.auth2 = (const uint8_t *)"p";
  b.auth2_len = 1;
  cr_assert(proxy_iso_may_share(&a, &b));
  a.iso_flags = b.iso_flags = PROXY_ISO_CLIENTADDR;
  a.auth1 = (const uint8_t *)"v";
  cr_assert(proxy_iso_may_share(&a, &b));
}

Test(isolation, listeners_and_groups)
{
  proxy_iso_attrs_t a = base(), b = base();
  b.listener_id = 2;
  cr_assert(!proxy_iso_may_share(&a, &b));
  a.session_group = b.session_group = 3;
  cr_assert(proxy_iso_may_share(&a, &b));
  b.session_group = 4;
  cr_assert(!proxy_iso_may_share(&a, &b));
  b.session_group = -1;
  b.listener_id = 1;
  cr_assert(!proxy_iso_may_share(&a, &b));  /* group vs no group */
  a = base();
  b = base();
  b.nym_epoch = 1;
  cr_assert(!proxy_iso_may_share(&a, &b));
  /* unix clients: no client address */
  a.nym_epoch = 1;
  a.client_addr.family = b.client_addr.family = 0;
  cr_assert(proxy_iso_may_share(&a, &b));
  a.dest_addr = NULL;
  a.iso_flags |= PROXY_ISO_DESTADDR;
  cr_assert(!proxy_iso_may_share(&a, &b));
  b.dest_addr = NULL;
  cr_assert(proxy_iso_may_share(&a, &b));
}
