/* test_hs_service_live.c -- the service side against a live tor network
 * (integration scenario hs-service-desc): make a service directory with
 * src/feature/keys/hs_keys.c, optionally an authorized client through a real
 * authorized_clients/<name>.auth file, and build the descriptor of the current
 * time period with hs_service_desc_build(); the scenario hands it to tor
 * (HSPOST) and has a tor client fetch and decode it.  Skipped unless the
 * scenario sets ALLIUM_HSSERVICE_LIVE=<work folder>; ALLIUM_HSSERVICE_AUTH=1
 * adds a client.  The network is a TestingTorNetwork with 20 s voting: time
 * periods of 8 minutes with a 4 minute rotation offset (see hs-desc-tor). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "allium/feature/hs_common/hs_auth_files.h"
#include "allium/feature/hs_service/hs_service_desc.h"
#include "allium/feature/keys/hs_keys.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"

#define LIVE_PERIOD_LEN 8
#define LIVE_OFFSET 4

static void
put(const char *path, const char *text)
{
  cr_assert_eq(fs_write_file_atomic(path, text, strlen(text), 0600), 0, "%s", path);
}

/* A client key pair: its .auth file (tor's service-side format) in the
 * service's authorized_clients/, its secret in base64 (what tor's
 * ONION_CLIENT_AUTH_ADD takes) in work/client_key. */
static void
add_client(const char *work, const char *hs)
{
  x25519_keypair_t k;
  char b32[64], b64[64];
  cr_assert_eq(x25519_keypair_generate(&k), 0);
  cr_assert_eq(base32_encode(b32, sizeof(b32), k.pub, 32), 52);
  cr_assert_gt(base64_encode(b64, sizeof(b64), k.sec, 32, 0), 0);
  char *auth = al_asprintf("%s/authorized_clients/tor-client.auth", hs);
  char *line = al_asprintf("descriptor:x25519:%s\n", b32);
  put(auth, line);
  char *kf = al_asprintf("%s/client_key", work);
  put(kf, b64);
  al_free(auth);
  al_free(line);
  al_free(kf);
}

Test(hs_service_live, build_for_tor)
{
  const char *work = getenv("ALLIUM_HSSERVICE_LIVE");
  if (!work)
    cr_skip_test("no live network (run tests/integration/run hs-service-desc)");
  cr_assert_eq(crypto_global_init(), 0);
  char *hs = al_asprintf("%s/hs", work);
  ed25519_keypair_t id;
  char addr[HS_ONION_ADDR_LEN + 1];
  cr_assert_eq(hs_keys_load_or_create(hs, HS_KEYS_CREATE, &id, addr), 0);
  const char *want_auth = getenv("ALLIUM_HSSERVICE_AUTH");
  if (want_auth && !strcmp(want_auth, "1"))
    add_client(work, hs);
  char *adir = al_asprintf("%s/authorized_clients", hs), *err = NULL;
  hs_auth_clients_t *clients = NULL;
  cr_assert_eq(hs_auth_load_dir(adir, &clients, &err), 0, "%s", err ? err : "");
  /* Three introduction points with made-up addresses and keys: a client
   * decodes the descriptor without contacting them. */
  static relay_extend2_t ls[3];
  hs_service_intro_t ip[3];
  for (int i = 0; i < 3; i++) {
    memset(&ls[i], 0, sizeof(ls[i]));
    ls[i].n_spec = 3;
    ls[i].spec[0].type = RELAY_LSPEC_IPV4;
    ls[i].spec[0].u.ipv4.addr[0] = 127;
    ls[i].spec[0].u.ipv4.addr[3] = 1;
    ls[i].spec[0].u.ipv4.port = (uint16_t)(1000 + i);
    ls[i].spec[1].type = RELAY_LSPEC_LEGACY_ID;
    crypto_rand(ls[i].spec[1].u.legacy_id, RELAY_LEGACY_ID_LEN);
    ls[i].spec[2].type = RELAY_LSPEC_ED25519_ID;
    crypto_rand(ls[i].spec[2].u.ed25519_id, RELAY_ED25519_ID_LEN);
    x25519_keypair_t k;
    ed25519_keypair_t a;
    cr_assert_eq(x25519_keypair_generate(&k), 0);
    memcpy(ip[i].onion_key, k.pub, 32);
    cr_assert_eq(x25519_keypair_generate(&k), 0);
    memcpy(ip[i].enc_key, k.pub, 32);
    cr_assert_eq(ed25519_keypair_generate(&a), 0);
    ip[i].auth_key = a.pub;
    ip[i].lspecs = &ls[i];
  }
  hs_service_desc_params_t p;
  memset(&p, 0, sizeof(p));
  p.identity = &id;
  p.now = time(NULL);
  p.period_length = LIVE_PERIOD_LEN;
  p.rotation_offset = LIVE_OFFSET;
  p.period_num = hs_time_period_num(p.now, LIVE_PERIOD_LEN, LIVE_OFFSET);
  p.intro = ip;
  p.n_intro = 3;
  p.client_pubs = (const uint8_t (*)[X25519_KEY_LEN])clients->keys;
  p.n_clients = clients->n;
  p.flow_control_sendme_inc = 31;
  hs_service_desc_t *d = NULL;
  cr_assert_eq(hs_service_desc_build(&p, &d), 0);
  char *df = al_asprintf("%s/desc", work), *af = al_asprintf("%s/addr", work);
  put(df, d->text);
  put(af, addr);
  printf("hs-service-live: built the descriptor of %s for period %llu: %zu bytes, revision "
         "%llu, %zu authorized client%s\n", addr, (unsigned long long)p.period_num, d->len,
         (unsigned long long)d->revision_counter, clients->n, clients->n == 1 ? "" : "s");
  fflush(stdout);
  hs_service_desc_free(d);
  hs_auth_clients_free(clients);
  ed25519_keypair_wipe(&id);
  al_free(df);
  al_free(af);
  al_free(adir);
  al_free(hs);
}
