/* test_hs_service_publish.c -- a service's introduction point keys and
 * ESTABLISH_INTRO (verified as an intro point verifies it, DoS extension
 * read back as an intro point reads it), the upload request, and the
 * upload targets (checked against the ring computed here with the blinded
 * key derived from the key pair rather than the public key). */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/feature/hs_service/hs_service_publish.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/malloc/malloc.h"

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
}

TestSuite(hs_service_publish, .init = setup);

Test(hs_service_publish, establish_intro_verifies)
{
  hs_service_ip_t *ip = hs_service_ip_new();
  cr_assert_not_null(ip);
  cr_assert_arr_eq(ip->keys.auth_key, ip->auth.pub.pubkey, 32);
  uint8_t kh[HS_CELL_KH_LEN], body[512];
  size_t n = 0;
  crypto_rand(kh, sizeof(kh));
  hs_establish_intro_t *m = al_calloc(1, sizeof(*m));
  hs_intro_dos_t dos;

  /* no DoS defence: no extension */
  cr_assert_eq(hs_service_ip_establish(ip, kh, NULL, body, sizeof(body), &n),
               0);
  cr_assert_eq(hs_establish_intro_verify(m, body, n, kh), 0);
  cr_assert_arr_eq(m->auth_key, ip->keys.auth_key, 32);
  cr_assert_eq(m->exts.n, 0);

  /* with it: rate and burst as configured */
  hs_service_config_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.intro_dos_enabled = 1;
  cfg.intro_dos_rate = 25;
  cfg.intro_dos_burst = 200;
  cr_assert_eq(hs_service_ip_establish(ip, kh, &cfg, body, sizeof(body), &n),
               0);
  cr_assert_eq(hs_establish_intro_verify(m, body, n, kh), 0);
  hs_intro_dos_from_exts(&dos, &m->exts);
  cr_assert_eq(dos.verdict, HS_INTRO_DOS_ENABLE);
  cr_assert_eq(dos.rate_per_sec, 25);
  cr_assert_eq(dos.burst_per_sec, 200);

  /* another circuit's KH does not verify */
  kh[0] ^= 1;
  cr_assert_lt(hs_establish_intro_verify(m, body, n, kh), 0);
  /* too small a buffer, bad arguments */
  cr_assert_lt(hs_service_ip_establish(ip, kh, &cfg, body, 50, &n), 0);
  cr_assert_lt(hs_service_ip_establish(NULL, kh, &cfg, body, 512, &n), 0);
  /* burst below rate is refused rather than sent */
  cfg.intro_dos_burst = 10;
  cr_assert_lt(hs_service_ip_establish(ip, kh, &cfg, body, 512, &n), 0);
  al_free(m);

  /* two intro points never share keys */
  hs_service_ip_t *ip2 = hs_service_ip_new();
  cr_assert_arr_neq(ip2->keys.auth_key, ip->keys.auth_key, 32);
  cr_assert_arr_neq(ip2->keys.enc.pub, ip->keys.enc.pub, 32);
  hs_service_ip_free(ip);
  hs_service_ip_free(ip2);
  cr_assert_null(ip);
  hs_service_ip_free(ip);
}

Test(hs_service_publish, request)
{
  const char *d = "hs-descriptor 3\nsignature x\n";
  size_t n = 0;
  char *r = hs_service_publish_request(d, strlen(d), &n);
  cr_assert_not_null(r);
  const char *want = "POST /tor/hs/3/publish HTTP/1.0\r\n"
                     "Content-Length: 28\r\n\r\nhs-descriptor 3\nsignature x\n";
  cr_assert_str_eq(r, want);
  cr_assert_eq(n, strlen(want));
  al_free(r);
  cr_assert_null(hs_service_publish_request(d, 0, &n));
  cr_assert_null(hs_service_publish_request(NULL, 3, &n));
}

#define N_NODES 10
static node_t nodes[N_NODES];
static const node_t *nodeptrs[N_NODES];

Test(hs_service_publish, targets_match_ring)
{
  for (int i = 0; i < N_NODES; i++) {
    uint8_t b[2] = { 'n', (uint8_t)i };
    cr_assert_eq(digest_sha3_256(nodes[i].ed25519_id, b, 2), 0);
    nodes[i].has_ed25519_id = true;
    nodes[i].flags = NODE_FLAG_HSDIR | NODE_FLAG_RUNNING | NODE_FLAG_VALID;
    nodes[i].protocols = (char *)"HSDir=2";
    nodeptrs[i] = &nodes[i];
  }
  consensus_t c;
  memset(&c, 0, sizeof(c));
  c.valid_after = 1460505600 + 13 * 3600;   /* 13:00: after the SRV */
  c.fresh_until = c.valid_after + 3600;
  c.valid_until = c.valid_after + 3 * 3600;
  c.has_srv_current = c.has_srv_previous = true;
  memset(c.srv_current, 0xcc, 32);
  memset(c.srv_previous, 0xbb, 32);
  hs_ring_params_t p;
  hs_ring_params_from_consensus(&c, false, &p);
  ed25519_keypair_t id;
  cr_assert_eq(ed25519_keypair_generate(&id), 0);

  for (int second = 0; second < 2; second++) {
    const node_t *got[16], *want[16];
    uint64_t tp = 0, wtp = 0;
    uint8_t srv[32];
    size_t n = hs_service_publish_targets(&c, nodeptrs, N_NODES, &p, &id.pub,
                                          second, &tp, got, 16);
    hs_ring_store_tp_srv(&c, &p, second, &wtp, srv);
    cr_assert_eq(tp, wtp);
    ed25519_keypair_t bk;
    cr_assert_eq(hs_blind_keypair(&bk, &id, NULL, 0, tp, p.period_length), 0);
    hs_ring_t *r = hs_ring_build(nodeptrs, N_NODES, srv, tp, &p);
    size_t wn = hs_ring_responsible(r, &bk.pub, tp, &p, p.spread_store, want,
                                    16);
    hs_ring_free(r);
    cr_assert_eq(n, 8);   /* 2 replicas x spread 4 among 10 HSDirs */
    cr_assert_eq(n, wn);
    for (size_t i = 0; i < n; i++)
      cr_assert_eq(got[i], want[i], "target %zu", i);
    if (second)
      cr_assert_eq(tp, wtp);
  }
  /* the two descriptors are for different periods */
  uint64_t t0 = 0, t1 = 0;
  const node_t *o[16];
  hs_service_publish_targets(&c, nodeptrs, N_NODES, &p, &id.pub, false, &t0,
                             o, 16);
  hs_service_publish_targets(&c, nodeptrs, N_NODES, &p, &id.pub, true, &t1,
                             o, 16);
  cr_assert_eq(t1, t0 + 1);
  cr_assert_eq(hs_service_publish_targets(&c, NULL, 0, &p, &id.pub, false,
                                          &t0, o, 16), 0);
  cr_assert_eq(hs_service_publish_targets(&c, nodeptrs, 0, &p, &id.pub,
                                          false, &t0, o, 16), 0);
}
