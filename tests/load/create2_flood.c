/* create2_flood.c -- load tool: floods one relay's ORPort with CREATE2
 * cells (tor-spec.txt 5.1 "CREATE and CREATED cells", 5.1.4 the ntor
 * handshake) over K TLS channels and measures how many it answers.
 *
 *   create2-flood --target ADDR:PORT (--datadir DIR | --rsa-id HEX
 *                 --ntor-key B64) [--channels K] [--window W] [--seconds S]
 *                 [--warmup S] [--bogus] [--keep-circuits]
 *                 [--verify-every N] [--timeout-ms MS] [--json]
 *                 [--bind 127.X.Y.Z]
 *
 * Each channel is opened with allium's channel_connect() (TLS, then the link
 * handshake of section 4 as initiator, checking the relay's RSA identity),
 * then keeps at most W CREATE2 cells outstanding: every CREATED2 or DESTROY
 * that answers one frees its slot, and a new CREATE2 goes out at once.  A
 * created circuit is torn down with a DESTROY (reason NONE, as a client
 * sends, 5.4) unless --keep-circuits is given.
 *
 * Onionskins come from a pool of real ntor client handshakes made before
 * the run and sent again and again (a relay keeps no replay cache for ntor:
 * each copy gets a fresh Y and fresh keys), so the tool does not spend its
 * time on curve25519; one reply in --verify-every (default 64) is checked
 * with ntor_client_finish(), so a relay answering garbage is caught.  A
 * check costs two scalar multiplications: at 1 in 64 the tool spends ~1 us
 * per answer on them instead of ~4 us at 1 in 16, out of a relay's ~90-120
 * us per handshake (both relays are measured with the same tool).  --bogus sends 84 random bytes instead
 * (wrong NODEID and KEYID): the relay must process and refuse them.
 *
 * The first --warmup seconds (default 1) are not counted; then for
 * --seconds S (default 10) the tool counts answers and their latency (from
 * the moment the CREATE2 was queued to the moment the answer was read).
 * A circuit unanswered after --timeout-ms (default 10000) is abandoned.
 * Loopback (127.0.0.0/8) targets only.  Exit 0 when the run completed
 * (whatever the rate), 1 on a setup error or a reply that fails ntor
 * verification, 2 on a usage error.
 *
 * Reads a tor (or allium) DataDirectory: `fingerprint` for the RSA identity
 * and `keys/secret_onion_key_ntor` (tor's curve25519 key file: a 32-byte
 * "== c25519v1: onion ==" header, secret key, public key) for the relay's
 * ntor onion key.  Only the public half is used. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/channel/channel.h"
#include "allium/core/onion/onion_ntor.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/crypto/x25519.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#define POOL_SIZE 1024
#define MAX_CHANNELS 256
#define MAX_WINDOW 4096
#define OPEN_TIMEOUT_MSEC 30000

typedef struct slot_t {
  uint32_t circ_id;     /* 0: free */
  uint32_t pool_idx;
  uint64_t t_sent;      /* usec */
} slot_t;

typedef struct flood_t flood_t;

typedef struct conn_t {
  flood_t *f;
  channel_t *ch;
  int open, closed;
  slot_t *slots;
  uint32_t next_id;
} conn_t;

typedef enum phase_t { PH_CONNECT, PH_WARMUP, PH_MEASURE, PH_DONE } phase_t;

typedef struct counts_t {
  uint64_t sent, created, destroyed, timeouts, other;
  uint64_t reasons[256];
} counts_t;

struct flood_t {
  /* options */
  struct sockaddr_in sin;
  struct sockaddr_in bind_sin;   /**< --bind: source address (port 0) */
  int bind;
  uint8_t rsa_id[20];
  uint8_t ntor_key[32];
  int channels, window, bogus, keep, verify_every, json;
  double seconds, warmup;
  uint32_t timeout_ms;
  /* state */
  struct event_base *base;
  tls_context_t *tls;
  struct event *tick;
  conn_t conns[MAX_CHANNELS];
  uint8_t (*skins)[NTOR_ONIONSKIN_LEN];
  ntor_client_state_t **states;
  uint32_t next_skin;
  phase_t phase;
  uint64_t t_begin, t_measure, t_end;
  int n_open, n_closed, n_failed;
  const char *first_error;
  counts_t total, at_measure, at_end;
  uint64_t verify_ok, verify_fail, answered;
  uint32_t *lat;        /* usec, answers read during the window */
  size_t n_lat, cap_lat;
};

static uint64_t now_usec(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- keys ---- */

/** Read "NICKNAME VALUE" (the first line of a fingerprint file). */
static int read_fingerprint(const char *path, uint8_t out[20])
{
  char line[256], nick[128], hex[128];
  FILE *fp = fopen(path, "r");
  if (!fp)
    return -1;
  int ok = fgets(line, sizeof(line), fp) != NULL;
  fclose(fp);
  if (!ok || sscanf(line, "%127s %127s", nick, hex) != 2 || strlen(hex) != 40)
    return -1;
  return base16_decode(out, 20, hex, 40) == 20 ? 0 : -1;
}

/** The public half of tor's secret_onion_key_ntor file, checked against
 * the secret half. */
static int read_ntor_key(const char *path, uint8_t pub[32])
{
  static const char hdr[] = "== c25519v1: onion ==";
  uint8_t buf[97], derived[32];
  FILE *fp = fopen(path, "rb");
  if (!fp)
    return -1;
  size_t n = fread(buf, 1, sizeof(buf), fp);
  fclose(fp);
  int r = -1;
  if (n == 96 && memcmp(buf, hdr, sizeof(hdr) - 1) == 0 &&
      x25519_public_from_secret(derived, buf + 32) == 0 &&
      crypto_memeq(derived, buf + 64, 32)) {
    memcpy(pub, buf + 64, 32);
    r = 0;
  }
  memwipe(buf, sizeof(buf));
  memwipe(derived, sizeof(derived));
  return r;
}

static int load_datadir(flood_t *f, const char *dir)
{
  char path[4096];
  snprintf(path, sizeof(path), "%s/fingerprint", dir);
  if (read_fingerprint(path, f->rsa_id) < 0) {
    fprintf(stderr, "create2-flood: cannot read %s\n", path);
    return -1;
  }
  snprintf(path, sizeof(path), "%s/keys/secret_onion_key_ntor", dir);
  if (read_ntor_key(path, f->ntor_key) < 0) {
    fprintf(stderr, "create2-flood: cannot read the ntor key in %s\n", path);
    return -1;
  }
  return 0;
}

/** Onionskins: real client handshakes, or random bytes with --bogus. */
static int make_pool(flood_t *f)
{
  f->skins = calloc(POOL_SIZE, sizeof(*f->skins));
  f->states = calloc(POOL_SIZE, sizeof(*f->states));
  if (!f->skins || !f->states)
    return -1;
  for (size_t i = 0; i < POOL_SIZE; i++) {
    if (f->bogus) {
      crypto_rand(f->skins[i], NTOR_ONIONSKIN_LEN);
      continue;
    }
    if (ntor_client_create(&f->states[i], f->skins[i], f->rsa_id,
                           f->ntor_key) < 0)
      return -1;
  }
  return 0;
}

/* ---- the flood ---- */

static uint64_t counts_answered(const counts_t *c)
{
  return c->created + c->destroyed;
}

static void send_create(conn_t *c, slot_t *s)
{
  flood_t *f = c->f;
  uint8_t payload[CELL_PAYLOAD_LEN];
  size_t len = 0;
  uint32_t idx = f->next_skin++ % POOL_SIZE;
  cell_create2_t cr = { CELL_HTYPE_NTOR, NTOR_ONIONSKIN_LEN, f->skins[idx] };
  if (cell_create2_encode(&cr, payload, sizeof(payload), &len) < 0)
    return;
  /* Our half of the id space (tor-spec 5.1.1: the initiator sets the top
   * bit); sequential, so a kept circuit's id is never reused. */
  if (++c->next_id >= 0x80000000u)
    c->next_id = 1;
  cell_t cell = { 0x80000000u | c->next_id, CELL_CREATE2,
                  (uint16_t)len, payload };
  if (channel_send_cell(c->ch, &cell) < 0)
    return;
  s->circ_id = cell.circ_id;
  s->pool_idx = idx;
  s->t_sent = now_usec();
  f->total.sent++;
}

static void send_destroy(conn_t *c, uint32_t circ_id)
{
  uint8_t payload[1];
  size_t len = 0;
  cell_destroy_encode(CELL_DESTROY_NONE, payload, sizeof(payload), &len);
  cell_t cell = { circ_id, CELL_DESTROY, (uint16_t)len, payload };
  channel_send_cell(c->ch, &cell);
}

static slot_t *find_slot(conn_t *c, uint32_t circ_id)
{
  for (int i = 0; i < c->f->window; i++)
    if (c->slots[i].circ_id == circ_id)
      return &c->slots[i];
  return NULL;
}

static void record_latency(flood_t *f, uint64_t usec)
{
  if (f->phase != PH_MEASURE)
    return;
  if (f->n_lat == f->cap_lat) {
    size_t cap = f->cap_lat ? 2 * f->cap_lat : 65536;
    uint32_t *p = realloc(f->lat, cap * sizeof(*p));
    if (!p)
      return;
    f->lat = p;
    f->cap_lat = cap;
  }
  f->lat[f->n_lat++] = usec > UINT32_MAX ? UINT32_MAX : (uint32_t)usec;
}

/** Check one CREATED2 in verify_every against the handshake state. */
static void verify_reply(flood_t *f, const slot_t *s, const cell_t *cell)
{
  cell_created2_t cr;
  uint8_t keys[72];
  if (f->bogus || f->verify_every <= 0 ||
      (f->total.created % (uint64_t)f->verify_every) != 0)
    return;
  if (cell_created2_decode(&cr, cell->payload, cell->payload_len) < 0 ||
      cr.hlen != NTOR_REPLY_LEN ||
      ntor_client_finish(f->states[s->pool_idx], cr.hdata, keys,
                         sizeof(keys)) < 0) {
    f->verify_fail++;
    return;
  }
  memwipe(keys, sizeof(keys));
  f->verify_ok++;
}

static void on_cell(channel_t *ch, const cell_t *cell, void *arg)
{
  conn_t *c = arg;
  flood_t *f = c->f;
  (void)ch;
  slot_t *s = NULL;
  if (cell->command == CELL_CREATED2 || cell->command == CELL_DESTROY)
    s = find_slot(c, cell->circ_id);
  if (!s) {
    f->total.other++;
    return;
  }
  record_latency(f, now_usec() - s->t_sent);
  if (cell->command == CELL_CREATED2) {
    f->total.created++;
    verify_reply(f, s, cell);
    if (!f->keep)
      send_destroy(c, s->circ_id);
  } else {
    f->total.destroyed++;
    f->total.reasons[cell->payload_len ? cell->payload[0] : 0]++;
  }
  s->circ_id = 0;
  if (f->phase == PH_WARMUP || f->phase == PH_MEASURE)
    send_create(c, s);
}

static void fill_window(conn_t *c)
{
  for (int i = 0; i < c->f->window; i++)
    if (!c->slots[i].circ_id)
      send_create(c, &c->slots[i]);
}

static void start_warmup(flood_t *f)
{
  f->phase = PH_WARMUP;
  f->t_measure = now_usec() + (uint64_t)(f->warmup * 1e6);
  for (int i = 0; i < f->channels; i++)
    if (f->conns[i].open && !f->conns[i].closed)
      fill_window(&f->conns[i]);
}

static void on_open(channel_t *ch, void *arg)
{
  conn_t *c = arg;
  (void)ch;
  c->open = 1;
  c->f->n_open++;
  /* The flood starts once every channel is open (or failed). */
  if (c->f->n_open + c->f->n_failed == c->f->channels && c->f->n_open)
    start_warmup(c->f);
}

static void on_close(channel_t *ch, int reason, const char *why, void *arg)
{
  conn_t *c = arg;
  flood_t *f = c->f;
  (void)ch;
  if (c->closed)
    return;
  c->closed = 1;
  if (!f->first_error)
    f->first_error = *why ? why : channel_close_reason_name(reason);
  if (!c->open) {
    f->n_failed++;
    if (f->n_open + f->n_failed == f->channels && f->n_open)
      start_warmup(f);
  } else if (f->phase != PH_DONE) {
    f->n_closed++;
    fprintf(stderr, "create2-flood: channel closed during the flood: %s%s%s\n",
            channel_close_reason_name(reason), *why ? ": " : "", why);
  }
}

/** Abandon circuits unanswered for longer than timeout_ms. */
static void sweep_timeouts(flood_t *f, uint64_t now)
{
  uint64_t limit = (uint64_t)f->timeout_ms * 1000u;
  for (int i = 0; i < f->channels; i++) {
    conn_t *c = &f->conns[i];
    if (!c->open || c->closed)
      continue;
    for (int j = 0; j < f->window; j++) {
      slot_t *s = &c->slots[j];
      if (s->circ_id && now - s->t_sent > limit) {
        f->total.timeouts++;
        send_destroy(c, s->circ_id);
        s->circ_id = 0;
        send_create(c, s);
      }
    }
  }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
  flood_t *f = arg;
  uint64_t now = now_usec();
  (void)fd;
  (void)what;
  int live = f->n_open - f->n_closed;
  if (f->phase == PH_CONNECT && now - f->t_begin > OPEN_TIMEOUT_MSEC * 1000u) {
    if (!f->n_open) {
      event_base_loopbreak(f->base);
      return;
    }
    start_warmup(f);  /* go on with the channels that did open */
  }
  if ((f->phase == PH_WARMUP || f->phase == PH_MEASURE) && live <= 0) {
    f->t_end = now;
    f->at_end = f->total;
    f->phase = PH_DONE;
    event_base_loopbreak(f->base);
    return;
  }
  if (f->phase == PH_WARMUP && now >= f->t_measure) {
    f->phase = PH_MEASURE;
    f->t_measure = now;
    f->at_measure = f->total;
  } else if (f->phase == PH_MEASURE &&
             now >= f->t_measure + (uint64_t)(f->seconds * 1e6)) {
    f->t_end = now;
    f->at_end = f->total;
    f->phase = PH_DONE;
    event_base_loopbreak(f->base);
    return;
  }
  if (f->phase == PH_WARMUP || f->phase == PH_MEASURE)
    sweep_timeouts(f, now);
}

/* ---- report ---- */

static int cmp_u32(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static double pct_ms(const flood_t *f, double p)
{
  if (!f->n_lat)
    return -1;
  size_t i = (size_t)(p * (double)(f->n_lat - 1) + 0.5);
  return f->lat[i] / 1000.0;
}

static const char *reason_name(int r)
{
  const char *n = cell_destroy_reason_name((uint8_t)r);
  return n ? n : "UNKNOWN";
}

static void print_text(const flood_t *f, const counts_t *w, double secs)
{
  printf("create2-flood: %d/%d channels open, window %d, %s onionskins, "
         "%s, measured %.2f s after %.1f s warm-up\n",
         f->n_open, f->channels, f->window, f->bogus ? "bogus" : "ntor",
         f->keep ? "circuits kept" : "each created circuit destroyed",
         secs, f->warmup);
  printf("  total: CREATE2 sent %llu, CREATED2 %llu, DESTROY %llu, "
         "unanswered after %u ms %llu, other cells %llu\n",
         (unsigned long long)f->total.sent,
         (unsigned long long)f->total.created,
         (unsigned long long)f->total.destroyed, f->timeout_ms,
         (unsigned long long)f->total.timeouts,
         (unsigned long long)f->total.other);
  for (int r = 0; r < 256; r++)
    if (f->total.reasons[r])
      printf("  DESTROY reason %s (%d): %llu\n", reason_name(r), r,
             (unsigned long long)f->total.reasons[r]);
  printf("  window: CREATE2 sent %llu, answered %llu (%.1f/s), "
         "CREATED2 %.1f/s, DESTROY %.1f/s\n",
         (unsigned long long)w->sent,
         (unsigned long long)counts_answered(w),
         secs > 0 ? counts_answered(w) / secs : 0,
         secs > 0 ? w->created / secs : 0, secs > 0 ? w->destroyed / secs : 0);
  printf("  latency CREATE2 -> answer: p50 %.2f ms, p99 %.2f ms (%zu answers)\n",
         pct_ms(f, 0.5), pct_ms(f, 0.99), f->n_lat);
  if (!f->bogus)
    printf("  ntor replies verified: %llu ok, %llu bad\n",
           (unsigned long long)f->verify_ok,
           (unsigned long long)f->verify_fail);
  printf("  channels closed during the flood: %d\n", f->n_closed);
}

static void print_json(const flood_t *f, const counts_t *w, double secs)
{
  printf("{\"channels\": %d, \"channels_failed\": %d, "
         "\"channels_open\": %d, \"channels_closed\": %d, "
         "\"window\": %d, \"mode\": \"%s\", \"keep_circuits\": %d, "
         "\"seconds\": %.3f, \"sent\": %llu, \"created\": %llu, "
         "\"destroyed\": %llu, \"timeouts\": %llu, \"window_sent\": %llu, "
         "\"window_created\": %llu, \"window_destroyed\": %llu, "
         "\"answered_per_sec\": %.1f, \"created_per_sec\": %.1f, "
         "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"verify_ok\": %llu, "
         "\"verify_fail\": %llu, \"destroy_reasons\": {",
         f->channels, f->n_failed, f->n_open, f->n_closed, f->window,
         f->bogus ? "bogus" : "ntor", f->keep, secs,
         (unsigned long long)f->total.sent,
         (unsigned long long)f->total.created,
         (unsigned long long)f->total.destroyed,
         (unsigned long long)f->total.timeouts, (unsigned long long)w->sent,
         (unsigned long long)w->created, (unsigned long long)w->destroyed,
         secs > 0 ? counts_answered(w) / secs : 0,
         secs > 0 ? w->created / secs : 0, pct_ms(f, 0.5), pct_ms(f, 0.99),
         (unsigned long long)f->verify_ok, (unsigned long long)f->verify_fail);
  const char *sep = "";
  for (int r = 0; r < 256; r++)
    if (f->total.reasons[r]) {
      printf("%s\"%s\": %llu", sep, reason_name(r),
             (unsigned long long)f->total.reasons[r]);
      sep = ", ";
    }
  printf("}}\n");
}

static void report(flood_t *f)
{
  counts_t w;
  memset(&w, 0, sizeof(w));
  double secs = 0;
  if (f->t_end > f->t_measure && f->at_measure.sent) {
    secs = (double)(f->t_end - f->t_measure) / 1e6;
    w.sent = f->at_end.sent - f->at_measure.sent;
    w.created = f->at_end.created - f->at_measure.created;
    w.destroyed = f->at_end.destroyed - f->at_measure.destroyed;
  }
  qsort(f->lat, f->n_lat, sizeof(*f->lat), cmp_u32);
  if (f->json)
    print_json(f, &w, secs);
  else
    print_text(f, &w, secs);
}

/* ---- setup ---- */

static int open_channels(flood_t *f)
{
  channel_target_t t = { (const struct sockaddr *)&f->sin, sizeof(f->sin),
                         f->rsa_id, NULL };
  if (f->bind && channel_set_bind_address((const struct sockaddr *)
                                          &f->bind_sin,
                                          sizeof(f->bind_sin)) < 0)
    return -1;
  for (int i = 0; i < f->channels; i++) {
    conn_t *c = &f->conns[i];
    c->f = f;
    c->slots = calloc((size_t)f->window, sizeof(*c->slots));
    if (!c->slots)
      return -1;
    channel_callbacks_t cbs = { on_open, on_cell, on_close, c };
    c->ch = channel_connect(f->base, f->tls, &t, &cbs);
    if (!c->ch) {
      fprintf(stderr, "create2-flood: cannot start connection %d\n", i);
      return -1;
    }
  }
  return 0;
}

static int run(flood_t *f)
{
  struct timeval tv = { 0, 50000 };
  f->base = event_base_new();
  f->tls = tls_context_new_client();
  if (!f->base || !f->tls || make_pool(f) < 0)
    return -1;
  f->tick = event_new(f->base, -1, EV_PERSIST, on_tick, f);
  if (!f->tick || event_add(f->tick, &tv) < 0)
    return -1;
  f->t_begin = now_usec();
  f->phase = PH_CONNECT;
  if (open_channels(f) < 0)
    return -1;
  event_base_dispatch(f->base);
  if (f->phase == PH_CONNECT || !f->n_open) {
    fprintf(stderr, "create2-flood: no channel opened (%d failed): %s\n",
            f->n_failed, f->first_error ? f->first_error : "timeout");
    return -1;
  }
  if (f->n_failed)
    fprintf(stderr, "create2-flood: %d of %d channels failed to open: %s\n",
            f->n_failed, f->channels, f->first_error);
  report(f);
  return 0;
}

static void cleanup(flood_t *f)
{
  for (int i = 0; i < f->channels && i < MAX_CHANNELS; i++) {
    channel_close(f->conns[i].ch, CHANNEL_CLOSE_REQUESTED);
    channel_free(f->conns[i].ch);
    free(f->conns[i].slots);
  }
  if (f->states)
    for (size_t i = 0; i < POOL_SIZE; i++)
      ntor_client_state_free(f->states[i]);
  free(f->states);
  free(f->skins);
  free(f->lat);
  if (f->tick)
    event_free(f->tick);
  tls_context_free(f->tls);
  if (f->base)
    event_base_free(f->base);
}

/* ---- options ---- */

static void usage(void)
{
  fprintf(stderr,
    "usage: create2-flood --target ADDR:PORT (--datadir DIR | --rsa-id HEX "
    "--ntor-key B64)\n"
    "         [--channels K (4)] [--window W (32)] [--seconds S (10)] "
    "[--warmup S (1)]\n"
    "         [--bogus] [--keep-circuits] [--verify-every N (64)] "
    "[--timeout-ms MS (10000)] [--json]\n"
    "         [--bind 127.X.Y.Z (connect from this loopback address)]\n");
}

static int parse_target(flood_t *f, const char *arg)
{
  char host[64];
  const char *colon = strrchr(arg, ':');
  long port = colon ? strtol(colon + 1, NULL, 10) : 0;
  if (!colon || (size_t)(colon - arg) >= sizeof(host) || port < 1 ||
      port > 65535)
    return -1;
  memcpy(host, arg, (size_t)(colon - arg));
  host[colon - arg] = '\0';
  memset(&f->sin, 0, sizeof(f->sin));
  f->sin.sin_family = AF_INET;
  f->sin.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &f->sin.sin_addr) != 1)
    return -1;
  /* Never anything but loopback. */
  return (ntohl(f->sin.sin_addr.s_addr) >> 24) == 127 ? 0 : -1;
}

/* --bind: a source address in 127.0.0.0/8 (the DoS scenario floods from
 * another address than the tor client's). */
static int parse_bind(flood_t *f, const char *arg)
{
  memset(&f->bind_sin, 0, sizeof(f->bind_sin));
  f->bind_sin.sin_family = AF_INET;
  if (inet_pton(AF_INET, arg, &f->bind_sin.sin_addr) != 1 ||
      (ntohl(f->bind_sin.sin_addr.s_addr) >> 24) != 127)
    return -1;
  f->bind = 1;
  return 0;
}

static int parse_key_args(flood_t *f, const char *rsa, const char *ntor)
{
  uint8_t buf[48];
  if (strlen(rsa) != 40 || base16_decode(f->rsa_id, 20, rsa, 40) != 20)
    return -1;
  if (base64_decode(buf, sizeof(buf), ntor, strlen(ntor)) != 32)
    return -1;
  memcpy(f->ntor_key, buf, 32);
  return 0;
}

enum { O_TARGET = 1, O_DATADIR, O_RSA, O_NTOR, O_CHANNELS, O_WINDOW,
       O_SECONDS, O_WARMUP, O_BOGUS, O_KEEP, O_VERIFY, O_TIMEOUT, O_JSON,
       O_BIND };

static int parse_args(flood_t *f, int argc, char **argv)
{
  static const struct option opts[] = {
    { "target", 1, 0, O_TARGET }, { "datadir", 1, 0, O_DATADIR },
    { "rsa-id", 1, 0, O_RSA }, { "ntor-key", 1, 0, O_NTOR },
    { "channels", 1, 0, O_CHANNELS }, { "window", 1, 0, O_WINDOW },
    { "seconds", 1, 0, O_SECONDS }, { "warmup", 1, 0, O_WARMUP },
    { "bogus", 0, 0, O_BOGUS }, { "keep-circuits", 0, 0, O_KEEP },
    { "verify-every", 1, 0, O_VERIFY }, { "timeout-ms", 1, 0, O_TIMEOUT },
    { "json", 0, 0, O_JSON }, { "bind", 1, 0, O_BIND }, { 0, 0, 0, 0 },
  };
  const char *datadir = NULL, *rsa = NULL, *ntor = NULL;
  int have_target = 0, o;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (o) {
    case O_TARGET: if (parse_target(f, optarg) < 0) return -1;
      have_target = 1; break;
    case O_DATADIR: datadir = optarg; break;
    case O_RSA: rsa = optarg; break;
    case O_NTOR: ntor = optarg; break;
    case O_CHANNELS: f->channels = atoi(optarg); break;
    case O_WINDOW: f->window = atoi(optarg); break;
    case O_SECONDS: f->seconds = atof(optarg); break;
    case O_WARMUP: f->warmup = atof(optarg); break;
    case O_BOGUS: f->bogus = 1; break;
    case O_KEEP: f->keep = 1; break;
    case O_VERIFY: f->verify_every = atoi(optarg); break;
    case O_TIMEOUT: f->timeout_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
    case O_JSON: f->json = 1; break;
    case O_BIND: if (parse_bind(f, optarg) < 0) return -1;
      break;
    default: return -1;
    }
  }
  if (optind != argc || !have_target || f->channels < 1 ||
      f->channels > MAX_CHANNELS || f->window < 1 || f->window > MAX_WINDOW ||
      !(f->seconds > 0) || f->seconds > 3600 || f->warmup < 0 ||
      f->warmup > 600 || f->timeout_ms < 10)
    return -1;
  if (datadir)
    return (rsa || ntor) ? -1 : load_datadir(f, datadir) < 0 ? -3 : 0;
  if (!rsa || !ntor)
    return -1;
  return parse_key_args(f, rsa, ntor);
}

int main(int argc, char **argv)
{
  static flood_t f;
  f.channels = 4;
  f.window = 32;
  f.seconds = 10;
  f.warmup = 1;
  f.verify_every = 64;
  f.timeout_ms = 10000;
  int r = parse_args(&f, argc, argv);
  if (r == -3)
    return 1;
  if (r < 0) {
    usage();
    return 2;
  }
  /* The channel layer's own notices would interleave with the report. */
  log_sinks_clear();
  log_sink_add(LOG_SINK_STDERR, SEV_WARN, SEV_ERR, NULL, NULL, NULL);
  if (crypto_global_init() < 0) {
    fprintf(stderr, "create2-flood: crypto init failed\n");
    return 1;
  }
  r = run(&f);
  if (r == 0 && f.verify_fail) {
    fprintf(stderr, "create2-flood: %llu CREATED2 replies failed ntor "
            "verification\n", (unsigned long long)f.verify_fail);
    r = -1;
  }
  cleanup(&f);
  return r < 0 ? 1 : 0;
}
