/* test_guards_state.c -- the "Guard" lines of the state file (guard-spec
 * A.5): round trip, unknown fields kept, other instances kept, malformed
 * lines refused, atomic rewrite keeping other lines. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allium/feature/pathsel/guards.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"

static const char *good =
  "Guard in=default rsa_id=0101010101010101010101010101010101010101 nickname=r0 "
  "sampled_on=2026-11-20T10:00:00 sampled_by=0.4.9.11 listed=1 "
  "confirmed_on=2026-11-21T00:00:00 confirmed_idx=1 pb_use_attempts=2.000000 "
  "pb_circ_successes=3.500000 future_field=xyz\n"
  "Guard in=default rsa_id=0202020202020202020202020202020202020202 nickname=r1 "
  "sampled_on=2026-11-20T10:05:00 sampled_by=0.4.9.11 listed=1 "
  "confirmed_on=2026-11-22T00:00:00 confirmed_idx=0\n"
  "Guard in=default rsa_id=0303030303030303030303030303030303030303 "
  "sampled_on=2016-02-29T23:59:59 unlisted_since=2016-03-01T00:00:00 listed=0\n"
  "Guard in=bridges rsa_id=0404040404040404040404040404040404040404 "
  "bridge_addr=127.0.0.1:9999 sampled_on=2026-11-20T10:00:00 listed=1\n";

Test(guards_state, load_fields)
{
  guard_selection_t *gs = guard_selection_new("default");
  cr_assert_eq(guards_state_load(gs, good), 0);
  cr_assert_eq(guard_selection_n_sampled(gs), 3);
  guard_entry_t *a = guard_selection_get_sampled(gs, 0), *b = guard_selection_get_sampled(gs, 1),
                *c = guard_selection_get_sampled(gs, 2);
  cr_assert_str_eq(a->nickname, "r0");
  cr_assert_eq(a->rsa_id[19], 1);
  cr_assert_eq(a->sampled_on, 1795168800);  /* 2026-11-20T10:00:00Z */
  cr_assert_str_eq(a->sampled_by, "0.4.9.11");
  cr_assert(a->listed);
  cr_assert_eq(a->confirmed_idx, 1);
  cr_assert_eq(b->confirmed_idx, 0);
  cr_assert_str_eq(a->extra, "pb_use_attempts=2.000000 pb_circ_successes=3.500000 future_field=xyz");
  cr_assert(!c->listed);
  cr_assert_eq(c->sampled_on, 1456790399);  /* 2016-02-29T23:59:59Z */
  cr_assert_eq(c->unlisted_since, 1456790400);
  cr_assert_eq(c->confirmed_idx, -1);
  cr_assert_eq(guard_selection_n_confirmed(gs), 2);
  /* primaries: confirmed order first (b, a); c is not listed */
  size_t np;
  guard_entry_t *const *p = guard_selection_get_primary(gs, &np);
  cr_assert_eq(np, 2);
  cr_assert_eq(p[0], b);
  cr_assert_eq(p[1], a);
  guard_selection_free(gs);
}

Test(guards_state, round_trip)
{
  guard_selection_t *gs = guard_selection_new("default");
  cr_assert_eq(guards_state_load(gs, good), 0);
  char *enc = guards_state_encode(gs);
  cr_assert_not_null(strstr(enc, "future_field=xyz"));
  cr_assert_not_null(strstr(enc, "pb_use_attempts=2.000000"));
  cr_assert_not_null(strstr(enc, "Guard in=bridges rsa_id=0404040404040404040404040404040404040404 "
                                 "bridge_addr=127.0.0.1:9999"));
  cr_assert_not_null(strstr(enc, "sampled_on=2016-02-29T23:59:59"));
  cr_assert_not_null(strstr(enc, "unlisted_since=2016-03-01T00:00:00 listed=0"));
  cr_assert_not_null(strstr(enc, "confirmed_on=2026-11-22T00:00:00 confirmed_idx=0"));
  guard_selection_t *gs2 = guard_selection_new("default");
  cr_assert_eq(guards_state_load(gs2, enc), 0);
  char *enc2 = guards_state_encode(gs2);
  cr_assert_str_eq(enc, enc2);
  al_free(enc);
  al_free(enc2);
  guard_selection_free(gs);
  guard_selection_free(gs2);
}

Test(guards_state, malformed_lines)
{
  static const char *bad[] = {
    "in=default sampled_on=2026-11-20T10:00:00 listed=1",                   /* no rsa_id */
    "rsa_id=0101010101010101010101010101010101010101 sampled_on=2026-11-20T10:00:00 listed=1",
    "in=default rsa_id=01010101 sampled_on=2026-11-20T10:00:00 listed=1",
    "in=default rsa_id=0101010101010101010101010101010101010G01 sampled_on=2026-11-20T10:00:00 listed=1",
    "in=default rsa_id=0101010101010101010101010101010101010101 listed=1",   /* no sampled_on */
    "in=default rsa_id=0101010101010101010101010101010101010101 sampled_on=2026-13-20T10:00:00 listed=1",
    "in=default rsa_id=0101010101010101010101010101010101010101 sampled_on=2026-02-30T10:00:00 listed=1",
    "in=default rsa_id=0101010101010101010101010101010101010101 sampled_on=yesterday listed=1",
    "in=default rsa_id=0101010101010101010101010101010101010101 sampled_on=2026-11-20T10:00:00",
    "in=default rsa_id=0101010101010101010101010101010101010101 sampled_on=2026-11-20T10:00:00 listed=2",
    "in=default rsa_id=0101010101010101010101010101010101010101 sampled_on=2026-11-20T10:00:00 listed=1 junk",
    "in=default rsa_id=0101010101010101010101010101010101010101 sampled_on=2026-11-20T10:00:00 listed=1 =v",
    "in=default rsa_id=0101010101010101010101010101010101010101 sampled_on=2026-11-20T10:00:00 listed=1 nickname=bad-nick",
    "in=default rsa_id=0101010101010101010101010101010101010101 sampled_on=2026-11-20T10:00:00 listed=1 confirmed_idx=-4",
    "in=default rsa_id=0101010101010101010101010101010101010101 sampled_on=2026-11-20T10:00:00 listed=1 confirmed_on=2026-11-20",
    "",
  };
  guard_selection_t *gs = guard_selection_new("default");
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    cr_assert_eq(guards_state_parse_line(gs, bad[i]), -1, "line %zu accepted", i);
  cr_assert_eq(guard_selection_n_sampled(gs), 0);
  /* a too-long line */
  char *big = al_malloc(10000);
  memset(big, 'a', 9999);
  big[9999] = '\0';
  cr_assert_eq(guards_state_parse_line(gs, big), -1);
  al_free(big);
  cr_assert_eq(guards_state_parse_line(gs, NULL), -1);

  /* a whole file: good lines survive, bad and duplicate ones are counted */
  const char *file =
    "# comment\nEntryGuardPathBias x\nGuard\n"
    "Guard in=default rsa_id=0101010101010101010101010101010101010101 sampled_on=2026-11-20T10:00:00 listed=1\n"
    "Guard in=default rsa_id=0101010101010101010101010101010101010101 sampled_on=2026-11-20T10:00:00 listed=1\n"
    "Guard in=default rsa_id=zz sampled_on=2026-11-20T10:00:00 listed=1\n"
    "Guard   in=default   rsa_id=0202020202020202020202020202020202020202\tsampled_on=2026-11-20T10:00:00 listed=0";
  cr_assert_eq(guards_state_load(gs, file), 3);
  cr_assert_eq(guard_selection_n_sampled(gs), 2);
  guard_selection_free(gs);
}

Test(guards_state, file_rewrite_is_atomic_and_keeps_other_lines)
{
  char dir[] = "/tmp/pathsel-state-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char *path = al_asprintf("%s/state", dir);
  guard_selection_t *gs = guard_selection_new("default");
  cr_assert_eq(guards_state_read_file(gs, path), 0, "missing file is fine");
  const char *orig =
    "# Tor state file last generated on 2026-11-24 00:00:00 local time\n"
    "Guard in=default rsa_id=0909090909090909090909090909090909090909 sampled_on=2026-11-20T10:00:00 listed=1\n"
    "TorVersion Tor 0.4.9.11\nLastWritten 2026-11-24 00:00:00\n";
  cr_assert_eq(fs_write_file_atomic(path, orig, strlen(orig), 0600), 0);
  cr_assert_eq(guards_state_load(gs, good), 0);
  cr_assert_eq(guards_state_write_file(gs, path), 0);
  char *text = NULL;
  cr_assert_eq(fs_read_file(path, &text, NULL, 1 << 20), 0);
  cr_assert_not_null(strstr(text, "TorVersion Tor 0.4.9.11\n"));
  cr_assert_not_null(strstr(text, "# Tor state file"));
  cr_assert_null(strstr(text, "0909090909"), "old Guard lines replaced");
  cr_assert_not_null(strstr(text, "future_field=xyz"));
  al_free(text);
  guard_selection_t *gs2 = guard_selection_new("default");
  cr_assert_eq(guards_state_read_file(gs2, path), 0);
  cr_assert_eq(guard_selection_n_sampled(gs2), 3);
  char *e1 = guards_state_encode(gs), *e2 = guards_state_encode(gs2);
  cr_assert_str_eq(e1, e2);
  al_free(e1);
  al_free(e2);
  unlink(path);
  rmdir(dir);
  al_free(path);
  guard_selection_free(gs);
  guard_selection_free(gs2);
}

Test(guards_state, mutated_lines_never_crash)
{
  const char *base =
    "in=default rsa_id=0101010101010101010101010101010101010101 nickname=r0 "
    "sampled_on=2026-11-20T10:00:00 sampled_by=0.4.9.11 listed=1 "
    "confirmed_on=2026-11-21T00:00:00 confirmed_idx=1 unlisted_since=2026-11-21T00:00:00";
  static const char alphabet[] = "=0 9aZ-T:\t\xff";
  uint64_t x = 12345;
  size_t len = strlen(base);
  char *buf = al_malloc(len + 1);
  guard_selection_t *gs = guard_selection_new("default");
  for (int i = 0; i < 3000; i++) {
    memcpy(buf, base, len + 1);
    for (int k = 0; k < 1 + i % 4; k++) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      buf[(x >> 33) % len] = alphabet[(x >> 20) % (sizeof(alphabet) - 1)];
    }
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    if ((x >> 40) % 5 == 0)
      buf[(x >> 13) % len] = '\0';   /* truncation */
    int r = guards_state_parse_line(gs, buf);
    cr_assert(r == 0 || r == -1);
  }
  cr_assert_leq(guard_selection_n_sampled(gs), 3000);
  char *enc = guards_state_encode(gs);
  guard_selection_t *gs2 = guard_selection_new("default");
  cr_assert_eq(guards_state_load(gs2, enc), 0);
  cr_assert_eq(guard_selection_n_sampled(gs2), guard_selection_n_sampled(gs));
  char *enc2 = guards_state_encode(gs2);   /* confirmed indices now compact */
  guard_selection_t *gs3 = guard_selection_new("default");
  cr_assert_eq(guards_state_load(gs3, enc2), 0);
  char *enc3 = guards_state_encode(gs3);
  cr_assert_str_eq(enc2, enc3, "whatever was accepted round-trips");
  guard_selection_free(gs3);
  al_free(enc);
  al_free(enc2);
  al_free(enc3);
  al_free(buf);
  guard_selection_free(gs);
  guard_selection_free(gs2);
}
