/* test_isolation_circ.c -- transitive stream isolation (tor(1) SocksPort
 * isolation flags, SessionGroup): a stream may join a circuit only if it
 * may share with every stream the circuit has carried.  The three-stream
 * cases, then a randomised comparison against the pairwise rule. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "allium/feature/proxy/isolation.h"

static proxy_iso_attrs_t
stream(uint32_t listener, int group, uint32_t flags, const char *dest,
       uint16_t port)
{
  proxy_iso_attrs_t a;
  memset(&a, 0, sizeof(a));
  a.listener_id = listener;
  a.session_group = group;
  a.iso_flags = flags;
  a.proto = PROXY_PROTO_SOCKS5;
  a.client_addr.family = 4;
  a.client_addr.addr[0] = 127;
  a.client_addr.addr[3] = 1;
  a.dest_addr = dest;
  a.dest_port = port;
  return a;
}

/* Two ports in SessionGroup 1; port 2 isolates by destination address.
 * A (port 1, a.example) and B (port 2, a.example) share a circuit; C (port
 * 1, b.example) may share with A but not with B, so it cannot join. */
Test(isolation_circ, third_stream_isolated_from_second)
{
  proxy_iso_attrs_t a = stream(1, 1, PROXY_ISO_DEFAULT, "a.example", 443);
  proxy_iso_attrs_t b = stream(2, 1, PROXY_ISO_DEFAULT | PROXY_ISO_DESTADDR,
                               "a.example", 443);
  proxy_iso_attrs_t c = stream(1, 1, PROXY_ISO_DEFAULT, "b.example", 443);
  cr_assert(proxy_iso_may_share(&a, &b));
  cr_assert(proxy_iso_may_share(&a, &c));
  cr_assert_not(proxy_iso_may_share(&b, &c));
  proxy_iso_circ_t st;
  memset(&st, 0, sizeof(st));
  cr_assert(proxy_iso_circ_may_add(&a, &st, &a), "empty circuit");
  proxy_iso_circ_add(&a, &st, &a);
  cr_assert(proxy_iso_circ_may_add(&a, &st, &b));
  proxy_iso_circ_add(&a, &st, &b);
  cr_assert_not(proxy_iso_circ_may_add(&a, &st, &c),
                "C joined a circuit carrying B, which isolates from C");
  /* without B, C joins; then B can no longer join (order does not matter) */
  proxy_iso_circ_t st2;
  memset(&st2, 0, sizeof(st2));
  proxy_iso_circ_add(&a, &st2, &a);
  cr_assert(proxy_iso_circ_may_add(&a, &st2, &c));
  proxy_iso_circ_add(&a, &st2, &c);
  cr_assert_not(proxy_iso_circ_may_add(&a, &st2, &b));
  /* a stream like A to a third destination still joins st2 */
  proxy_iso_attrs_t d = stream(1, 1, PROXY_ISO_DEFAULT, "c.example", 80);
  cr_assert(proxy_iso_circ_may_add(&a, &st2, &d));
}

/* The same with IsolateDestPort and with SOCKS auth across a SessionGroup. */
Test(isolation_circ, third_stream_other_fields)
{
  proxy_iso_attrs_t a = stream(1, 7, PROXY_ISO_DEFAULT, "x", 80);
  proxy_iso_attrs_t b = stream(2, 7, PROXY_ISO_DEFAULT | PROXY_ISO_DESTPORT, "y", 80);
  proxy_iso_attrs_t c = stream(1, 7, PROXY_ISO_DEFAULT, "z", 443);
  proxy_iso_circ_t st;
  memset(&st, 0, sizeof(st));
  proxy_iso_circ_add(&a, &st, &a);
  cr_assert(proxy_iso_circ_may_add(&a, &st, &b));
  proxy_iso_circ_add(&a, &st, &b);
  cr_assert_not(proxy_iso_circ_may_add(&a, &st, &c));
  /* first stream had no auth, a second from a port not isolating on auth
   * (NoIsolateSOCKSAuth) carried "alice": a third with auth "bob" from an
   * isolating port differs from one of them and must not join */
  proxy_iso_attrs_t p = stream(3, 9, PROXY_ISO_CLIENTADDR, "x", 80);
  proxy_iso_attrs_t q = stream(3, 9, PROXY_ISO_CLIENTADDR, "x", 80);
  q.has_auth = true;
  q.auth1 = (const uint8_t *)"alice";
  q.auth1_len = 5;
  proxy_iso_attrs_t r = stream(4, 9, PROXY_ISO_DEFAULT, "x", 80);
  r.has_auth = true;
  r.auth1 = (const uint8_t *)"alice";
  r.auth1_len = 5;
  memset(&st, 0, sizeof(st));
  proxy_iso_circ_add(&p, &st, &p);
  cr_assert(proxy_iso_circ_may_add(&p, &st, &q));
  proxy_iso_circ_add(&p, &st, &q);
  cr_assert(proxy_iso_may_share(&q, &r));
  cr_assert_not(proxy_iso_may_share(&p, &r));
  cr_assert_not(proxy_iso_circ_may_add(&p, &st, &r));
  /* different SessionGroup or NEWNYM epoch: never */
  proxy_iso_attrs_t g = stream(3, 8, 0, "x", 80);
  cr_assert_not(proxy_iso_circ_may_add(&p, &st, &g));
  proxy_iso_attrs_t e = p;
  e.nym_epoch = 1;
  cr_assert_not(proxy_iso_circ_may_add(&p, &st, &e));
}

/* splitmix64 */
static uint64_t
next(uint64_t *s)
{
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

#define NSTREAMS 12
static const char *const dests[] = { "a", "b", "A" };
static const uint8_t *const auths[] = { (const uint8_t *)"u", (const uint8_t *)"v" };

/* Each attribute takes its usual value 3 times in 4, so that streams
 * often, but not always, may share. */
static bool
rare(uint64_t *seed)
{
  return (next(seed) & 3) == 0;
}

static proxy_iso_attrs_t
random_stream(uint64_t *seed)
{
  proxy_iso_attrs_t a = stream(rare(seed) ? 2 : 1, rare(seed) ? -1 : 5, 0,
                               dests[rare(seed) ? 1 + (next(seed) & 1) : 0],
                               (uint16_t)(rare(seed) ? 443 : 80));
  for (uint32_t f = 1; f <= PROXY_ISO_DESTADDR; f <<= 1)
    if (rare(seed))
      a.iso_flags |= f;
  a.proto = rare(seed) ? PROXY_PROTO_SOCKS4 : PROXY_PROTO_SOCKS5;
  a.client_addr.addr[3] = (uint8_t)(rare(seed) ? 2 : 1);
  if (rare(seed)) {
    a.has_auth = true;
    a.auth1 = auths[next(seed) & 1];
    a.auth1_len = 1;
  }
  a.nym_epoch = (next(seed) & 15) == 0;
  return a;
}

/* Offer random streams to one circuit: proxy_iso_circ_may_add must agree
 * with "may share with every carried stream", for thousands of sequences. */
Test(isolation_circ, matches_pairwise_rule)
{
  uint64_t seed = 42;
  size_t joined_after_two = 0, refused = 0;
  for (int round = 0; round < 20000; round++) {
    proxy_iso_attrs_t carried[NSTREAMS];
    size_t n = 0;
    proxy_iso_circ_t st;
    memset(&st, 0, sizeof(st));
    for (int k = 0; k < NSTREAMS; k++) {
      proxy_iso_attrs_t s = random_stream(&seed);
      bool want = true;
      for (size_t i = 0; i < n; i++)
        want = want && proxy_iso_may_share(&carried[i], &s);
      bool got = proxy_iso_circ_may_add(n ? &carried[0] : NULL, &st, &s);
      cr_assert_eq(got, want, "round %d stream %d: %d vs pairwise %d", round, k,
                   got, want);
      if (!got) {
        refused++;
        continue;
      }
      proxy_iso_circ_add(n ? &carried[0] : &s, &st, &s);
      carried[n++] = s;
      if (n >= 3)
        joined_after_two++;
    }
  }
  /* the generator exercises both outcomes */
  cr_assert_gt(joined_after_two, 1000);
  cr_assert_gt(refused, 1000);
}
