/* test_x25519.c -- X25519 against RFC 7748 5.2 / 6.1 and tor's loop vectors
 * (x25519.json), plus small-order inputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/crypto/x25519.h"
#include "helpers/vectors.h"

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
}

TestSuite(x25519, .init = setup);

static const json_t *
vec_array(json_t *doc)
{
  const json_t *arr = json_get(doc, "vectors");
  cr_assert_not_null(arr);
  cr_assert(arr->n >= 8);
  return arr;
}

static int
slow_tests(void)
{
  const char *s = getenv("ALLIUM_SLOW_TESTS");
  return s && !strcmp(s, "1");
}

static void
check_scalarmult(const json_t *v)
{
  uint8_t k[32], u[32], want[32], out[32];
  vectors_hex_fixed(v, "scalar", k, 32);
  vectors_hex_fixed(v, "u_coordinate", u, 32);
  vectors_hex_fixed(v, "output", want, 32);
  cr_assert_eq(x25519_scalarmult(out, k, u), 0);
  cr_assert_arr_eq(out, want, 32, "%s", json_get_str(v, "name"));
  /* Toggling the top bit of u must not change anything. */
  u[31] ^= 0x80;
  cr_assert_eq(x25519_scalarmult(out, k, u), 0);
  cr_assert_arr_eq(out, want, 32);
  /* Any other bit must. */
  u[0] ^= 0x02;
  cr_assert_eq(x25519_scalarmult(out, k, u), 0);
  cr_assert(memcmp(out, want, 32) != 0);
}

static void
check_iterated(const json_t *v)
{
  uint8_t k[32], u[32], want[32], out[32];
  const json_t *it = json_get(v, "iterations");
  cr_assert_not_null(it);
  long n = (long)it->number;
  if (n > 1000 && !slow_tests())
    return;
  vectors_hex_fixed(v, "initial_k", k, 32);
  vectors_hex_fixed(v, "initial_u", u, 32);
  vectors_hex_fixed(v, "output", want, 32);
  for (long i = 0; i < n; i++) {
    cr_assert_eq(x25519_scalarmult(out, k, u), 0);
    memcpy(u, k, 32);
    memcpy(k, out, 32);
  }
  cr_assert_arr_eq(k, want, 32, "%s", json_get_str(v, "name"));
}

static void
check_dh(const json_t *v)
{
  uint8_t a[32], A[32], b[32], B[32], want[32], out[32], s1[32], s2[32];
  vectors_hex_fixed(v, "alice_private", a, 32);
  vectors_hex_fixed(v, "alice_public", A, 32);
  vectors_hex_fixed(v, "bob_private", b, 32);
  vectors_hex_fixed(v, "bob_public", B, 32);
  vectors_hex_fixed(v, "shared_secret", want, 32);
  cr_assert_eq(x25519_public_from_secret(out, a), 0);
  cr_assert_arr_eq(out, A, 32);
  cr_assert_eq(x25519_public_from_secret(out, b), 0);
  cr_assert_arr_eq(out, B, 32);
  cr_assert_eq(x25519_scalarmult(s1, a, B), 0);
  cr_assert_eq(x25519_scalarmult(s2, b, A), 0);
  cr_assert_arr_eq(s1, want, 32);
  cr_assert_arr_eq(s2, want, 32);
}

static void
xor32(uint8_t *a, const uint8_t *b)
{
  for (int i = 0; i < 32; i++)
    a[i] ^= b[i];
}

static void
check_tor_loop(const json_t *v)
{
  uint8_t e1[32] = {3}, e2[32] = {5}, k[32] = {9};
  uint8_t e1k[32], e2k[32], e1e2k[32], e2e1k[32], want[32];
  const json_t *rj = json_get(v, "rounds");
  cr_assert_not_null(rj);
  long rounds = (long)rj->number;
  if (rounds > 1000 && !slow_tests())
    return;
  for (long i = 0; i < rounds; i++) {
    cr_assert_eq(x25519_scalarmult(e1k, e1, k), 0);
    cr_assert_eq(x25519_scalarmult(e2k, e2, k), 0);
    cr_assert_eq(x25519_scalarmult(e1e2k, e1, e2k), 0);
    cr_assert_eq(x25519_scalarmult(e2e1k, e2, e1k), 0);
    cr_assert_arr_eq(e1e2k, e2e1k, 32);
    if (i == rounds - 1)
      break;
    xor32(e1, e2k);
    xor32(e2, e1k);
    xor32(k, e1e2k);
  }
  vectors_hex_fixed(v, "final_e1", want, 32);
  cr_assert_arr_eq(e1, want, 32, "%s", json_get_str(v, "name"));
  vectors_hex_fixed(v, "final_e2k", want, 32);
  cr_assert_arr_eq(e2k, want, 32);
  vectors_hex_fixed(v, "final_e1e2k", want, 32);
  cr_assert_arr_eq(e1e2k, want, 32);
}

Test(x25519, vectors)
{
  json_t *doc = vectors_load("x25519.json");
  const json_t *arr = vec_array(doc);
  int seen_scalar = 0, seen_iter = 0, seen_dh = 0, seen_loop = 0;
  for (size_t i = 0; i < arr->n; i++) {
    const json_t *v = json_at(arr, i);
    const char *kind = json_get_str(v, "kind");
    cr_assert_not_null(kind);
    if (!strcmp(kind, "scalarmult")) {
      check_scalarmult(v);
      seen_scalar++;
    } else if (!strcmp(kind, "iterated")) {
      check_iterated(v);
      seen_iter++;
    } else if (!strcmp(kind, "dh")) {
      check_dh(v);
      seen_dh++;
    } else if (!strcmp(kind, "tor_loop")) {
      check_tor_loop(v);
      seen_loop++;
    } else {
      cr_assert_fail("unknown vector kind %s", kind);
    }
  }
  cr_assert_eq(seen_scalar, 2);
  cr_assert_eq(seen_iter, 3);
  cr_assert_eq(seen_dh, 1);
  cr_assert_eq(seen_loop, 2);
  json_free(doc);
}

Test(x25519, keypair_generate)
{
  x25519_keypair_t a, b;
  uint8_t pub[32], s1[32], s2[32];
  cr_assert_eq(x25519_keypair_generate(&a), 0);
  cr_assert_eq(x25519_keypair_generate(&b), 0);
  cr_assert((a.sec[0] & 7) == 0 && (a.sec[31] & 0xc0) == 0x40);
  cr_assert(memcmp(a.sec, b.sec, 32) != 0);
  cr_assert_eq(x25519_public_from_secret(pub, a.sec), 0);
  cr_assert_arr_eq(pub, a.pub, 32);
  cr_assert_eq(x25519_scalarmult(s1, a.sec, b.pub), 0);
  cr_assert_eq(x25519_scalarmult(s2, b.sec, a.pub), 0);
  cr_assert_arr_eq(s1, s2, 32);
}

Test(x25519, small_order_points)
{
  /* Points of small order (RFC 7748 section 6.1 "all-zero" check): u = 0,
   * u = 1, a point of order 8, and p-1 / p / p+1 encodings. */
  static const char *bad[] = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  };
  x25519_keypair_t kp;
  uint8_t out[32], zero[32] = {0};
  cr_assert_eq(x25519_keypair_generate(&kp), 0);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    uint8_t u[32];
    for (int j = 0; j < 32; j++) {
      unsigned x;
      cr_assert_eq(sscanf(bad[i] + 2 * j, "%2x", &x), 1);
      u[j] = (uint8_t)x;
    }
    memset(out, 0xaa, sizeof(out));
    cr_assert_eq(x25519_scalarmult(out, kp.sec, u), -1, "point %zu", i);
    cr_assert_arr_eq(out, zero, 32);
  }
}

/* The fixed-base fast path (Edwards table + birational map, x25519.c) must
 * give exactly the Montgomery ladder's X25519(k, 9) for every scalar: random
 * ones, unclamped ones (both paths clamp), and edge patterns that exercise
 * the field reduction of the map. */
static void
check_base_matches_ladder(const uint8_t k[32])
{
  uint8_t fast[32], ref[32];
  cr_assert_eq(x25519_public_from_secret_ladder(ref, k), 0);
  cr_assert_eq(x25519_public_from_secret(fast, k), 0);
  cr_assert_arr_eq(fast, ref, 32);
  cr_assert_lt(fast[31], 0x80);   /* canonical: below p, top bit clear */
}

Test(x25519, fast_base_matches_ladder)
{
  uint8_t k[32];
  for (int i = 0; i < 2000; i++) {
    crypto_rand(k, sizeof(k));
    check_base_matches_ladder(k);
  }
  for (int b = 0; b < 256; b++) {   /* all-equal bytes: 00.., 01.., ff.. */
    memset(k, b, sizeof(k));
    check_base_matches_ladder(k);
  }
  for (int bit = 0; bit < 256; bit++) {   /* single bits */
    memset(k, 0, sizeof(k));
    k[bit / 8] = (uint8_t)(1u << (bit % 8));
    check_base_matches_ladder(k);
  }
}

Test(x25519, fast_base_keypair_agrees)
{
  /* Key pairs made by the fast path agree on DH with each other. */
  for (int i = 0; i < 64; i++) {
    x25519_keypair_t a, b;
    uint8_t s1[32], s2[32];
    cr_assert_eq(x25519_keypair_generate(&a), 0);
    cr_assert_eq(x25519_keypair_generate(&b), 0);
    cr_assert_eq(x25519_scalarmult(s1, a.sec, b.pub), 0);
    cr_assert_eq(x25519_scalarmult(s2, b.sec, a.pub), 0);
    cr_assert_arr_eq(s1, s2, 32);
  }
}

Test(x25519, null_args)
{
  uint8_t k[32] = { 1 }, out[32];
  cr_assert_lt(x25519_public_from_secret(NULL, k), 0);
  cr_assert_lt(x25519_public_from_secret(out, NULL), 0);
  cr_assert_lt(x25519_public_from_secret_ladder(NULL, k), 0);
  cr_assert_lt(x25519_keypair_generate(NULL), 0);
}

Test(x25519, keypairs_distinct_across_pool_refills)
{
  /* More keys than one pool holds (x25519.c: 16 per refill). */
  enum { N = 100 };
  static uint8_t secs[N][32];
  for (int i = 0; i < N; i++) {
    x25519_keypair_t kp;
    cr_assert_eq(x25519_keypair_generate(&kp), 0);
    memcpy(secs[i], kp.sec, 32);
    for (int j = 0; j < i; j++)
      cr_assert(memcmp(secs[i], secs[j], 32) != 0);
  }
}

Test(x25519, fork_child_does_not_reuse_parent_pool)
{
  x25519_keypair_t a, parent_next, child_next;
  int fds[2];
  cr_assert_eq(x25519_keypair_generate(&a), 0);   /* the pool now has keys left */
  cr_assert_eq(pipe(fds), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    x25519_keypair_t k;
    if (x25519_keypair_generate(&k) < 0 ||
        write(fds[1], k.sec, 32) != 32)
      _exit(1);
    _exit(0);
  }
  close(fds[1]);
  cr_assert_eq(read(fds[0], child_next.sec, 32), 32);
  close(fds[0]);
  int status = 0;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  cr_assert_eq(x25519_keypair_generate(&parent_next), 0);
  cr_assert(memcmp(parent_next.sec, child_next.sec, 32) != 0);
}
