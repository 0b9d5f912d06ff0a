/* test_hs_service_upload.c -- hs_service_upload.c: the HTTP status parser,
 * and whole uploads over the fake channel manager
 * (tests/unit/feature/client/fake_origin_channels.c) with the test playing
 * the HSDir: the BEGIN_DIR, the POST bytes, and answers 200 / 400 / END
 * early / circuit loss / timeout / oversized. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "allium/core/cell/relay_msg.h"
#include "allium/feature/hs_service/hs_service_publish.h"
#include "allium/feature/hs_service/hs_service_upload.h"
#include "allium/lib/malloc/malloc.h"
#include "feature/client/fake_origin_channels.h"

/* ---- parse_status ---- */

static int
ps(const char *s)
{
  return hs_service_upload_parse_status((const uint8_t *)s, strlen(s));
}

Test(hs_service_upload, parse_status_ok)
{
  cr_assert_eq(ps("HTTP/1.0 200 OK\r\n\r\n"), 200);
  cr_assert_eq(ps("HTTP/1.0 200 Service descriptor (v3) stored\r\n"), 200);
  cr_assert_eq(ps("HTTP/1.0 400 Invalid v3 descriptor\r\n\r\n"), 400);
  cr_assert_eq(ps("HTTP/1.1 404 Not found\r\nContent-Length: 0\r\n\r\n"), 404);
  cr_assert_eq(ps("HTTP/1.0 503\r\n"), 503);           /* no reason */
  cr_assert_eq(ps("HTTP/1.0 200 \r\n"), 200);          /* empty reason */
}

Test(hs_service_upload, parse_status_malformed)
{
  cr_assert_eq(hs_service_upload_parse_status(NULL, 10), -1);
  cr_assert_eq(ps(""), -1);
  cr_assert_eq(ps("HTTP/1.0 200 OK"), -1);             /* no CRLF yet */
  cr_assert_eq(ps("HTTP/1.0 200 OK\n\n"), -1);         /* LF only */
  cr_assert_eq(ps("HTTP/1.0 200 OK\r"), -1);
  cr_assert_eq(ps("HTTP/1."), -1);                     /* truncated */
  cr_assert_eq(ps("HTTP/1.0 20"), -1);
  cr_assert_eq(ps("HTTP/2.0 200 OK\r\n"), -1);
  cr_assert_eq(ps("HTTP/1.x 200 OK\r\n"), -1);
  cr_assert_eq(ps("http/1.0 200 OK\r\n"), -1);
  cr_assert_eq(ps("HTTP/1.0  200 OK\r\n"), -1);
  cr_assert_eq(ps("HTTP/1.0 20x OK\r\n"), -1);
  cr_assert_eq(ps("HTTP/1.0 2000 OK\r\n"), -1);
  cr_assert_eq(ps("HTTP/1.0 099 OK\r\n"), -1);
  cr_assert_eq(ps("HTTP/1.0 600 OK\r\n"), -1);
  cr_assert_eq(ps("HTTP/1.0 -20 OK\r\n"), -1);
  cr_assert_eq(ps("HTTP/1.0 200OK\r\n"), -1);
  cr_assert_eq(ps(" HTTP/1.0 200 OK\r\n"), -1);
  cr_assert_eq(ps("GET / HTTP/1.0\r\n"), -1);
  cr_assert_eq(ps("\r\n"), -1);
}

Test(hs_service_upload, parse_status_nul_bytes)
{
  static const uint8_t a[] = "HTTP/1.0 200 O\0K\r\n";
  cr_assert_eq(hs_service_upload_parse_status(a, sizeof(a) - 1), -1);
  static const uint8_t b[] = "HTTP/1.0\0200 OK\r\n";
  cr_assert_eq(hs_service_upload_parse_status(b, sizeof(b) - 1), -1);
  static const uint8_t c[] = "HTTP/1.0 2\0\0 OK\r\n";
  cr_assert_eq(hs_service_upload_parse_status(c, sizeof(c) - 1), -1);
  /* a NUL after the status line does not matter here */
  static const uint8_t d[] = "HTTP/1.0 200 OK\r\n\0\0";
  cr_assert_eq(hs_service_upload_parse_status(d, sizeof(d) - 1), 200);
  /* only the first len bytes count */
  static const uint8_t e[] = "HTTP/1.0 200 OK\r\n";
  cr_assert_eq(hs_service_upload_parse_status(e, 10), -1);
}

Test(hs_service_upload, parse_status_oversized)
{
  size_t n = 20000;
  uint8_t *buf = al_malloc(n);
  memcpy(buf, "HTTP/1.0 200 ", 13);
  memset(buf + 13, 'a', n - 13);
  /* the reason runs past 8 KiB before its CRLF */
  buf[9000] = '\r';
  buf[9001] = '\n';
  cr_assert_eq(hs_service_upload_parse_status(buf, n), -1);
  /* within 8 KiB: fine, whatever follows */
  buf[8000] = '\r';
  buf[8001] = '\n';
  cr_assert_eq(hs_service_upload_parse_status(buf, n), 200);
  memset(buf, 'x', n);
  cr_assert_eq(hs_service_upload_parse_status(buf, n), -1);
  al_free(buf);
}

/* ---- uploads over the fake channel manager ---- */

static char cm_dummy;
#define FAKE_CM ((chanmgr_t *)(void *)&cm_dummy)

static int n_launch;

static int
launch(void *arg, const node_t *last, const chanmgr_circ_cbs_t *cbs,
       uint64_t *circ_out)
{
  (void)arg;
  n_launch++;
  circ_hop_spec_t hops[3];
  memset(hops, 0, sizeof(hops));
  hops[0].rsa_id[0] = 1;
  hops[1].rsa_id[0] = 2;
  memcpy(hops[2].rsa_id, last->rsa_id, 20);
  chanmgr_launch_t l;
  memset(&l, 0, sizeof(l));
  l.hops = hops;
  l.n_hops = 3;
  return chanmgr_launch(FAKE_CM, &l, cbs, circ_out);
}

static int
launch_fails(void *arg, const node_t *last, const chanmgr_circ_cbs_t *cbs,
             uint64_t *circ_out)
{
  (void)arg;
  (void)last;
  (void)cbs;
  (void)circ_out;
  n_launch++;
  return -1;
}

#define MAX_RESULTS 16
static int results[MAX_RESULTS];
static int n_results;

static void
on_result(void *arg, int status)
{
  (void)arg;
  cr_assert_lt(n_results, MAX_RESULTS);
  results[n_results++] = status;
}

static hs_service_uploader_t *up;
static node_t hsdir;
static char desc[30000];

static void
setup(void)
{
  fake_reset();
  n_launch = 0;
  n_results = 0;
  memset(&hsdir, 0, sizeof(hsdir));
  memset(hsdir.rsa_id, 0xAB, 20);
  snprintf(hsdir.nickname, sizeof(hsdir.nickname), "hsdir1");
  for (size_t i = 0; i < sizeof(desc); i++)
    desc[i] = (char)('a' + i % 26);
  hs_service_upload_cfg_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.cm = FAKE_CM;
  cfg.launch = launch;
  cfg.attempt_timeout_msec = 5000;
  cfg.max_pending = 3;
  up = hs_service_uploader_new(&cfg);
  cr_assert_not_null(up);
}

static void
teardown(void)
{
  hs_service_uploader_free(up);
  fake_reset();
}

/* Build circuit i, check the BEGIN_DIR, answer CONNECTED; the stream id. */
static uint16_t
hsdir_accept(size_t i)
{
  fake_build(i);
  const fake_msg_t *m = fake_last_msg(i, RELAY_BEGIN_DIR);
  cr_assert_not_null(m);
  cr_assert_eq(m->len, 0);
  uint16_t sid = m->stream_id;
  cr_assert_neq(sid, 0);
  fake_exit_send(i, RELAY_CONNECTED, sid, NULL, 0);
  return sid;
}

/* The bytes the service sent on circuit i's stream sid. */
static size_t
sent_bytes(size_t i, uint16_t sid, uint8_t *out, size_t max)
{
  fake_circ_t *fc = fake_circ(i);
  size_t n = 0;
  for (size_t k = 0; k < fc->n_msgs; k++) {
    const fake_msg_t *m = &fc->msgs[k];
    if (m->command != RELAY_DATA || m->stream_id != sid)
      continue;
    cr_assert_leq(n + m->len, max);
    memcpy(out + n, m->body, m->len);
    n += m->len;
  }
  return n;
}

static void
hsdir_say(size_t i, uint16_t sid, const char *s)
{
  fake_exit_send(i, RELAY_DATA, sid, (const uint8_t *)s, strlen(s));
}

static void
hsdir_end(size_t i, uint16_t sid)
{
  uint8_t reason = RELAY_END_DONE;
  fake_exit_send(i, RELAY_END, sid, &reason, 1);
}

TestSuite(hs_service_upload_run, .init = setup, .fini = teardown);

Test(hs_service_upload_run, bad_arguments)
{
  hs_service_upload_cfg_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cr_assert_null(hs_service_uploader_new(NULL));
  cr_assert_null(hs_service_uploader_new(&cfg));
  cfg.cm = FAKE_CM;
  cr_assert_null(hs_service_uploader_new(&cfg));
  cr_assert_eq(hs_service_upload_start(NULL, &hsdir, desc, 10, on_result,
                                       NULL), -1);
  cr_assert_eq(hs_service_upload_start(up, NULL, desc, 10, on_result, NULL),
               -1);
  cr_assert_eq(hs_service_upload_start(up, &hsdir, NULL, 10, on_result,
                                       NULL), -1);
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 0, on_result, NULL),
               -1);
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 10, NULL, NULL), -1);
  cr_assert_eq(n_launch, 0);
  hs_service_uploader_free_(NULL);
  hs_service_uploader_tick(NULL, 0);
  hs_service_upload_cancel(NULL, on_result, NULL);
  cr_assert_eq(hs_service_uploader_n_pending(NULL), 0);
}

Test(hs_service_upload_run, launch_fails)
{
  hs_service_upload_cfg_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.cm = FAKE_CM;
  cfg.launch = launch_fails;
  hs_service_uploader_t *u = hs_service_uploader_new(&cfg);
  cr_assert_not_null(u);
  cr_assert_eq(hs_service_upload_start(u, &hsdir, desc, 100, on_result, NULL),
               -1);
  cr_assert_eq(n_launch, 1);
  cr_assert_eq(hs_service_uploader_n_pending(u), 0);
  hs_service_uploader_tick(u, 1000);
  hs_service_uploader_tick(u, 100000);
  cr_assert_eq(n_results, 0);
  hs_service_uploader_free(u);
  cr_assert_null(u);
  /* the fake channel manager refusing works the same */
  fake_set_launch_fails(true);
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 100, on_result,
                                       NULL), -1);
  cr_assert_eq(n_results, 0);
  cr_assert_eq(hs_service_uploader_n_pending(up), 0);
}

Test(hs_service_upload_run, stored_200)
{
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, sizeof(desc),
                                       on_result, NULL), 0);
  cr_assert_eq(n_results, 0);                   /* not from inside start */
  cr_assert_eq(hs_service_uploader_n_pending(up), 1);
  cr_assert_eq(fake_n_circs(), 1);
  fake_circ_t *fc = fake_circ(0);
  cr_assert_eq(fc->n_hops, 3);
  cr_assert_arr_eq(fc->hops[2].rsa_id, hsdir.rsa_id, 20);
  hs_service_uploader_tick(up, 1000);
  uint16_t sid = hsdir_accept(0);
  /* the whole request arrived, byte for byte */
  size_t want_len = 0;
  char *want = hs_service_publish_request(desc, sizeof(desc), &want_len);
  cr_assert_not_null(want);
  cr_assert(!strncmp(want, "POST /tor/hs/3/publish HTTP/1.0\r\n", 33));
  static uint8_t got[40000];
  size_t got_len = sent_bytes(0, sid, got, sizeof(got));
  cr_assert_eq(got_len, want_len);
  cr_assert_arr_eq(got, want, want_len);
  al_free(want);
  cr_assert_eq(n_results, 0);
  /* tor's answer: a head, then END */
  hsdir_say(0, sid, "HTTP/1.0 200 Service descriptor (v3) stored\r\n");
  cr_assert_eq(n_results, 0);
  hsdir_say(0, sid, "\r\n");
  cr_assert_eq(n_results, 0);                   /* no length: wait for END */
  cr_assert(fc->alive);
  hsdir_end(0, sid);
  cr_assert_eq(n_results, 1);
  cr_assert_eq(results[0], 200);
  cr_assert_not(fc->alive);                     /* closed by the uploader */
  cr_assert_eq(hs_service_uploader_n_pending(up), 0);
  hs_service_uploader_tick(up, 100000);
  cr_assert_eq(n_results, 1);
}

Test(hs_service_upload_run, refused_400_with_length)
{
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 500, on_result,
                                       NULL), 0);
  uint16_t sid = hsdir_accept(0);
  hsdir_say(0, sid, "HTTP/1.0 400 Invalid\r\nContent-length: 5\r\n\r\nab");
  cr_assert_eq(n_results, 0);
  hsdir_say(0, sid, "cde");                     /* body complete: done */
  cr_assert_eq(n_results, 1);
  cr_assert_eq(results[0], 400);
  cr_assert_not(fake_circ(0)->alive);
}

Test(hs_service_upload_run, content_length_zero_done_at_once)
{
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 500, on_result,
                                       NULL), 0);
  uint16_t sid = hsdir_accept(0);
  hsdir_say(0, sid, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  cr_assert_eq(n_results, 1);
  cr_assert_eq(results[0], 200);
}

Test(hs_service_upload_run, end_early)
{
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 500, on_result,
                                       NULL), 0);
  uint16_t sid = hsdir_accept(0);
  hsdir_say(0, sid, "HTTP/1.0 200 OK\r\n");     /* head not finished */
  hsdir_end(0, sid);
  cr_assert_eq(n_results, 1);
  cr_assert_eq(results[0], -1);
  cr_assert_not(fake_circ(0)->alive);
}

Test(hs_service_upload_run, end_before_answer)
{
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 500, on_result,
                                       NULL), 0);
  uint16_t sid = hsdir_accept(0);
  hsdir_end(0, sid);
  cr_assert_eq(n_results, 1);
  cr_assert_eq(results[0], -1);
}

Test(hs_service_upload_run, end_before_connected)
{
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 500, on_result,
                                       NULL), 0);
  fake_build(0);
  const fake_msg_t *m = fake_last_msg(0, RELAY_BEGIN_DIR);
  cr_assert_not_null(m);
  hsdir_end(0, m->stream_id);
  cr_assert_eq(n_results, 1);
  cr_assert_eq(results[0], -1);
  cr_assert_eq(fake_count_msgs(0, RELAY_DATA), 0);
}

Test(hs_service_upload_run, body_short_at_end)
{
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 500, on_result,
                                       NULL), 0);
  uint16_t sid = hsdir_accept(0);
  hsdir_say(0, sid, "HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  hsdir_end(0, sid);
  cr_assert_eq(n_results, 1);
  cr_assert_eq(results[0], -1);
}

Test(hs_service_upload_run, malformed_answer)
{
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 500, on_result,
                                       NULL), 0);
  uint16_t sid = hsdir_accept(0);
  hsdir_say(0, sid, "HTTP/9 OK\r\n\r\n");
  cr_assert_eq(n_results, 1);                   /* head in, no status */
  cr_assert_eq(results[0], -1);
  cr_assert_not(fake_circ(0)->alive);
}

Test(hs_service_upload_run, oversized_answer)
{
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 500, on_result,
                                       NULL), 0);
  uint16_t sid = hsdir_accept(0);
  hsdir_say(0, sid, "HTTP/1.0 200 OK\r\nX: ");
  char chunk[RELAY_BODY_MAX + 1];
  memset(chunk, 'y', RELAY_BODY_MAX);
  chunk[RELAY_BODY_MAX] = '\0';
  for (int k = 0; k < 40 && n_results == 0; k++)
    hsdir_say(0, sid, chunk);
  cr_assert_eq(n_results, 1);
  cr_assert_eq(results[0], -1);
  cr_assert_not(fake_circ(0)->alive);
}

Test(hs_service_upload_run, circuit_fails)
{
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 500, on_result,
                                       NULL), 0);
  fake_close(0, false, 1);                      /* build failed */
  cr_assert_eq(n_results, 1);
  cr_assert_eq(results[0], -1);
  cr_assert_eq(hs_service_uploader_n_pending(up), 0);
  /* and once built, mid-transfer */
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 500, on_result,
                                       NULL), 0);
  uint16_t sid = hsdir_accept(1);
  hsdir_say(1, sid, "HTTP/1.0 200");
  fake_close(1, true, CIRC_HOP_NONE);
  cr_assert_eq(n_results, 2);
  cr_assert_eq(results[1], -1);
}

Test(hs_service_upload_run, timeout)
{
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 500, on_result,
                                       NULL), 0);
  hs_service_uploader_tick(up, 100000);        /* deadline: 105000 */
  hsdir_accept(0);
  hs_service_uploader_tick(up, 104999);
  cr_assert_eq(n_results, 0);
  hs_service_uploader_tick(up, 105000);
  cr_assert_eq(n_results, 1);
  cr_assert_eq(results[0], -1);
  cr_assert_not(fake_circ(0)->alive);
  cr_assert_eq(hs_service_uploader_n_pending(up), 0);
}

Test(hs_service_upload_run, cancel_and_free)
{
  int a = 0, b = 0;
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 500, on_result, &a),
               0);
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 500, on_result, &b),
               0);
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 500, on_result, &a),
               0);
  /* max_pending 3 */
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 500, on_result, &b),
               -1);
  cr_assert_eq(fake_n_circs(), 3);
  hs_service_upload_cancel(up, on_result, &a);
  cr_assert_eq(hs_service_uploader_n_pending(up), 1);
  cr_assert_not(fake_circ(0)->alive);
  cr_assert(fake_circ(1)->alive);
  cr_assert_not(fake_circ(2)->alive);
  cr_assert_eq(n_results, 0);
  /* room again */
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 500, on_result, &b),
               0);
  hs_service_uploader_tick(up, 1);
  hs_service_uploader_free(up);
  cr_assert_not(fake_circ(1)->alive);
  cr_assert_not(fake_circ(3)->alive);
  cr_assert_eq(n_results, 0);
}

/* A callback that starts the next upload and cancels another. */
static int chain_left;

static void
on_chain(void *arg, int status)
{
  on_result(arg, status);
  hs_service_upload_cancel(up, on_result, NULL);
  if (chain_left-- > 0)
    cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 100, on_chain,
                                         NULL), 0);
}

Test(hs_service_upload_run, callbacks_may_start_and_cancel)
{
  chain_left = 2;
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 100, on_chain, NULL),
               0);
  cr_assert_eq(hs_service_upload_start(up, &hsdir, desc, 100, on_result,
                                       NULL), 0);
  uint16_t sid = hsdir_accept(0);
  hsdir_say(0, sid, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
  cr_assert_eq(n_results, 1);
  cr_assert_not(fake_circ(1)->alive);           /* cancelled */
  cr_assert_eq(fake_n_circs(), 3);              /* the next one */
  cr_assert_eq(hs_service_uploader_n_pending(up), 1);
  hs_service_uploader_tick(up, 10);
  hs_service_uploader_tick(up, 6000);           /* the new one times out */
  cr_assert_eq(n_results, 2);
  cr_assert_eq(results[1], -1);
  cr_assert_eq(fake_n_circs(), 4);              /* and started another */
  cr_assert_eq(chain_left, 0);
  hs_service_uploader_tick(up, 6001);
  cr_assert_eq(hs_service_uploader_n_pending(up), 1);
}
