/* test_dir_url.c -- request paths and batching (dir-spec 3.11, 4.3, app. B). */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/feature/dirclient/dir_url.h"
#include "allium/lib/malloc/malloc.h"

Test(dir_url, consensus_paths)
{
  char *p = dir_url_consensus(NULL, NULL, 0, 0, true);
  cr_assert_str_eq(p, "/tor/status-vote/current/consensus.z");
  al_free(p);
  p = dir_url_consensus("ns", NULL, 0, 0, false);
  cr_assert_str_eq(p, "/tor/status-vote/current/consensus");
  al_free(p);
  p = dir_url_consensus("microdesc", NULL, 0, 0, true);
  cr_assert_str_eq(p, "/tor/status-vote/current/consensus-microdesc.z");
  al_free(p);
  cr_assert_null(dir_url_consensus("Micro", NULL, 0, 0, true));
  cr_assert_null(dir_url_consensus("a/b", NULL, 0, 0, true));
  cr_assert_null(dir_url_consensus("", NULL, 0, 0, true));
}

Test(dir_url, consensus_with_authorities_sorted_prefixes)
{
  uint8_t ids[3][20];
  memset(ids[0], 0xEE, 20);
  memset(ids[1], 0x0A, 20);
  memset(ids[2], 0x7F, 20);
  ids[1][2] = 0xBC;
  char *p = dir_url_consensus("microdesc", (const uint8_t (*)[20])ids, 3,
                              DIR_URL_CONSENSUS_FP_PREFIX, true);
  cr_assert_str_eq(p, "/tor/status-vote/current/consensus-microdesc/"
                      "0A0ABC+7F7F7F+EEEEEE.z");
  al_free(p);
  p = dir_url_consensus(NULL, (const uint8_t (*)[20])ids, 1, 20, false);
  cr_assert_str_eq(p, "/tor/status-vote/current/consensus/"
                      "EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE");
  al_free(p);
  cr_assert_null(dir_url_consensus(NULL, (const uint8_t (*)[20])ids, 3, 0, true));
  cr_assert_null(dir_url_consensus(NULL, (const uint8_t (*)[20])ids, 3, 21, true));
  cr_assert_null(dir_url_consensus(NULL, NULL, 3, 3, true));
  uint8_t many[97][20];
  memset(many, 1, sizeof(many));
  cr_assert_null(dir_url_consensus(NULL, (const uint8_t (*)[20])many, 97, 3, true));
}

Test(dir_url, fixed_paths)
{
  char *p = dir_url_keys_all(true);
  cr_assert_str_eq(p, "/tor/keys/all.z");
  al_free(p);
  p = dir_url_server_all(false);
  cr_assert_str_eq(p, "/tor/server/all");
  al_free(p);
}

Test(dir_url, keys_and_server_small)
{
  uint8_t ids[2][20], sks[2][20];
  for (int i = 0; i < 20; i++) {
    ids[0][i] = (uint8_t)(0xf0 + (i % 16));
    ids[1][i] = (uint8_t)i;
    sks[0][i] = 0xab;
    sks[1][i] = 0x01;
  }
  dir_url_list_t l = { 0 };
  cr_assert_eq(dir_url_keys_fp(&l, (const uint8_t (*)[20])ids, 2, true), 0);
  cr_assert_eq(l.n, 1);
  cr_assert_str_eq(l.paths[0], "/tor/keys/fp/"
      "000102030405060708090A0B0C0D0E0F10111213+"
      "F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFFF0F1F2F3.z");
  cr_assert_eq(dir_url_keys_fp_sk(&l, (const uint8_t (*)[20])ids,
                                  (const uint8_t (*)[20])sks, 2, false), 0);
  cr_assert_eq(l.n, 1);
  cr_assert_str_eq(l.paths[0], "/tor/keys/fp-sk/"
      "000102030405060708090A0B0C0D0E0F10111213-"
      "0101010101010101010101010101010101010101+"
      "F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFFF0F1F2F3-"
      "ABABABABABABABABABABABABABABABABABABABAB");
  cr_assert_eq(dir_url_server_d(&l, (const uint8_t (*)[20])ids, 1, true), 0);
  cr_assert_str_eq(l.paths[0], "/tor/server/d/"
      "F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFFF0F1F2F3.z");
  cr_assert_eq(dir_url_server_fp(&l, (const uint8_t (*)[20])ids + 1, 1, false), 0);
  cr_assert_str_eq(l.paths[0], "/tor/server/fp/"
      "000102030405060708090A0B0C0D0E0F10111213");
  cr_assert_eq(dir_url_server_d(&l, NULL, 0, true), 0);
  cr_assert_eq(l.n, 0);
  cr_assert_eq(dir_url_server_d(&l, NULL, 3, true), -1);
  cr_assert_eq(l.n, 0);
  dir_url_list_clear(&l);
  dir_url_list_clear(NULL);
}

Test(dir_url, microdesc_base64_nopad)
{
  uint8_t d[2][32];
  memset(d[0], 0, 32);
  memset(d[1], 0xff, 32);
  dir_url_list_t l = { 0 };
  cr_assert_eq(dir_url_microdescs(&l, (const uint8_t (*)[32])d, 2, true), 0);
  cr_assert_eq(l.n, 1);
  cr_assert_str_eq(l.paths[0], "/tor/micro/d/"
      "//////////////////////////////////////////8-"
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.z");
  dir_url_list_clear(&l);
}

/* n distinct digests; check count per batch, path length, coverage. */
static void
check_batches(const dir_url_list_t *l, size_t n, size_t per, size_t itemlen,
              const char *prefix)
{
  size_t total = 0;
  cr_assert_eq(l->n, (n + per - 1) / per);
  for (size_t i = 0; i < l->n; i++) {
    const char *p = l->paths[i];
    cr_assert_leq(strlen(p), DIR_URL_MAX_PATH);
    cr_assert(!strncmp(p, prefix, strlen(prefix)));
    size_t body = strlen(p) - strlen(prefix) - 2;
    cr_assert_eq((body + 1) % (itemlen + 1), 0);
    size_t k = (body + 1) / (itemlen + 1);
    cr_assert_leq(k, per);
    total += k;
  }
  cr_assert_eq(total, n);
}

Test(dir_url, microdesc_batches_of_92)
{
  size_t n = 200;
  uint8_t (*d)[32] = al_calloc(n + 5, 32);
  for (size_t i = 0; i < n; i++) {
    d[i][0] = (uint8_t)i;
    d[i][1] = (uint8_t)(i >> 8);
  }
  /* duplicates are dropped */
  memcpy(d[n], d[3], 32);
  memcpy(d[n + 1], d[3], 32);
  dir_url_list_t l = { 0 };
  cr_assert_eq(dir_url_microdescs(&l, (const uint8_t (*)[32])d, n + 2, true), 0);
  check_batches(&l, n, DIR_URL_MAX_MICRODESCS, 43, "/tor/micro/d/");
  cr_assert_eq(l.n, 3);
  /* exactly 92 fits one request */
  cr_assert_eq(dir_url_microdescs(&l, (const uint8_t (*)[32])d, 92, true), 0);
  cr_assert_eq(l.n, 1);
  cr_assert_eq(dir_url_microdescs(&l, (const uint8_t (*)[32])d, 93, false), 0);
  cr_assert_eq(l.n, 2);
  dir_url_list_clear(&l);
  al_free(d);
}

Test(dir_url, hex_batches_of_96_and_path_limit)
{
  size_t n = 300;
  uint8_t (*ids)[20] = al_calloc(n, 20);
  for (size_t i = 0; i < n; i++) {
    ids[i][5] = (uint8_t)i;
    ids[i][6] = (uint8_t)(i >> 8);
  }
  dir_url_list_t l = { 0 };
  cr_assert_eq(dir_url_server_d(&l, (const uint8_t (*)[20])ids, n, true), 0);
  check_batches(&l, n, DIR_URL_MAX_FPS, 40, "/tor/server/d/");
  cr_assert_eq(l.n, 4);
  cr_assert_eq(dir_url_keys_fp(&l, (const uint8_t (*)[20])ids, 96, true), 0);
  cr_assert_eq(l.n, 1);
  /* fp-sk pairs are 81 characters: the path limit splits them first. */
  cr_assert_eq(dir_url_keys_fp_sk(&l, (const uint8_t (*)[20])ids,
                                  (const uint8_t (*)[20])ids, 96, true), 0);
  cr_assert_eq(l.n, 2);
  size_t total = 0;
  for (size_t i = 0; i < l.n; i++) {
    cr_assert_leq(strlen(l.paths[i]), DIR_URL_MAX_PATH);
    size_t body = strlen(l.paths[i]) - strlen("/tor/keys/fp-sk/") - 2;
    total += (body + 1) / 82;
  }
  cr_assert_eq(total, 96);
  /* batches are sorted: first path holds the smallest digest */
  cr_assert(strcmp(l.paths[0], l.paths[1]) < 0);
  dir_url_list_clear(&l);
  al_free(ids);
}
