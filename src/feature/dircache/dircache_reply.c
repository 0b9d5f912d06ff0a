/* dircache_reply.c -- a directory cache's answers to HTTP/1.0 requests
 * (dir-spec.txt 6.1 headers and compression, 6.2 status codes, appendix B
 * URLs, 4.5.2 consensus diffs, 5.1 "reasonably live").
 *
 * The body is the requested documents concatenated in the order asked
 * (those not held are left out; none held is 404).  Content-Encoding is
 * the first the client accepts of x-zstd, deflate, gzip (and x-tor-lzma,
 * last, for consensuses and diffs, which keep their compressed forms so a
 * busy cache compresses each once), else identity; without an
 * Accept-Encoding header a ".z" path means deflate and no suffix identity
 * (6.1).
 */
#include <stdio.h>
#include <string.h>

#define LOG_MODULE "dircache"
#include "allium/feature/dircache/dircache.h"
#include "allium/feature/dirclient/dir_http.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include "dircache_st.h"

void
dircache_reply_clear(dircache_reply_t *r)
{
  if (!r)
    return;
  al_free(r->data);
  memset(r, 0, sizeof(*r));
}

static const char *
reason(int status)
{
  switch (status) {
  case 200: return "OK";
  case 304: return "Not modified";
  case 400: return "Bad request";
  case 404: return "Not found";
  default: return "Service unavailable";
  }
}

/* An address fit for a header: hex digits, '.', ':', '[' and ']'. */
static bool
addr_ok(const char *a)
{
  size_t n = strlen(a);
  if (n == 0 || n > 47)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!strchr("0123456789abcdefABCDEF.:[]", a[i]))
      return false;
  return true;
}

/* Fill out with a response: status line, headers, body[0..blen). */
void
dc_reply_make(dircache_reply_t *out, int status, compress_method_t enc,
              const uint8_t *body, size_t blen, time_t now,
              const char *peer_addr)
{
  char date[40] = "", head[512], addr[80] = "";
  out->encoding = enc;
  if (dir_http_format_date(now, date, sizeof(date)) < 0)
    date[0] = '\0';
  if (peer_addr && addr_ok(peer_addr))
    snprintf(addr, sizeof(addr), "X-Your-Address-Is: %s\r\n", peer_addr);
  int h;
  if (status == 200)
    h = snprintf(head, sizeof(head),
                 "HTTP/1.0 200 OK\r\nDate: %s\r\nContent-Type: text/plain\r\n"
                 "Content-Encoding: %s\r\nContent-Length: %zu\r\n%s\r\n",
                 date, compress_method_name(enc), blen, addr);
  else
    h = snprintf(head, sizeof(head), "HTTP/1.0 %d %s\r\nDate: %s\r\n%s\r\n",
                 status, reason(status), date, addr);
  if (status != 200)
    blen = 0;
  out->status = status;
  out->len = (size_t)h + blen;
  out->data = al_malloc(out->len + 1);
  memcpy(out->data, head, (size_t)h);
  if (blen)
    memcpy(out->data + h, body, blen);
  out->data[out->len] = 0;
}

/* The Content-Encoding for a request: the first the client accepts of
 * x-zstd, deflate, gzip, then x-tor-lzma only for a stored document
 * (consensus, diff: compressed once).  tor's caches put x-tor-lzma first
 * for consensuses; allium does not, because LZMA at preset 6 takes seconds
 * of CPU on a 2.5 MB consensus, which would stall this event loop, while
 * x-zstd costs tens of milliseconds for a similar size. */
static compress_method_t
choose_encoding(const dircache_request_t *rq, const dircache_url_t *u,
                bool stored)
{
  static const compress_method_t pref[] = {
    COMPRESS_ZSTD, COMPRESS_DEFLATE, COMPRESS_GZIP, COMPRESS_LZMA,
  };
  size_t n = sizeof(pref) / sizeof(pref[0]) - (stored ? 0 : 1);
  if (!rq->has_accept_encoding)
    return u->compressed ? COMPRESS_DEFLATE : COMPRESS_IDENTITY;
  for (size_t i = 0; i < n; i++)
    if (rq->accept & DIRCACHE_ACCEPT_BIT(pref[i]))
      return pref[i];
  return COMPRESS_IDENTITY;
}

/* A growable body. */
typedef struct body_t {
  char *p;
  size_t len, cap;
} body_t;

static void
body_add(body_t *b, const char *s, size_t len)
{
  if (b->len + len > b->cap) {
    b->cap = (b->len + len) * 2 + 256;
    b->p = al_realloc(b->p, b->cap);
  }
  memcpy(b->p + b->len, s, len);
  b->len += len;
}

/* 200 with text[0..len) compressed per request with enc (never LZMA: too
 * slow for answers made per request; identity if compression fails). */
void
dc_reply_encoded(dircache_reply_t *out, const char *text, size_t len,
                 compress_method_t enc, time_t now, const char *peer)
{
  if (enc == COMPRESS_LZMA)
    enc = COMPRESS_IDENTITY;
  uint8_t *z = NULL;
  size_t zl = 0;
  if (enc != COMPRESS_IDENTITY &&
      compress_buffer(enc, (const uint8_t *)text, len, &z, &zl) < 0)
    enc = COMPRESS_IDENTITY;
  if (enc == COMPRESS_IDENTITY)
    dc_reply_make(out, 200, enc, (const uint8_t *)text, len, now, peer);
  else
    dc_reply_make(out, 200, enc, z, zl, now, peer);
  al_free(z);
}

/* 200 with b's documents (encoded), or 404 when b is empty. */
static void
reply_body(dircache_reply_t *out, body_t *b, compress_method_t enc,
           time_t now, const char *peer)
{
  if (!b->len)
    dc_reply_make(out, 404, COMPRESS_IDENTITY, NULL, 0, now, peer);
  else
    dc_reply_encoded(out, b->p, b->len, enc, now, peer);
}

/* 200 with a cached document in its encoding. */
static void
reply_doc(dircache_reply_t *out, dc_doc_t *d, compress_method_t enc,
          time_t now, const char *peer)
{
  const uint8_t *p;
  size_t l;
  if (dc_doc_encoded(d, enc, &p, &l) < 0) {
    enc = COMPRESS_IDENTITY;
    dc_doc_encoded(d, enc, &p, &l);
  }
  dc_reply_make(out, 200, enc, p, l, now, peer);
}

/* More than half of the requested authority prefixes signed c. */
static bool
signed_by_enough(const dc_cons_t *c, const dircache_url_t *u)
{
  size_t ok = 0;
  for (size_t i = 0; i < u->n_fp_prefixes; i++)
    for (size_t k = 0; k < c->n_sigs; k++)
      if (!memcmp(c->sig_ids[k], u->fp_prefixes[i], u->fp_prefix_lens[i])) {
        ok++;
        break;
      }
  return ok * 2 > u->n_fp_prefixes;
}

/* The older consensus of flavour f whose digest-as-signed is h and that
 * has a diff, or NULL. */
static dc_cons_t *
find_diff(dircache_t *dc, int f, const uint8_t h[32])
{
  for (size_t i = 0; i < dc->n_old[f]; i++)
    if (dc->old[f][i]->diff && !memcmp(dc->old[f][i]->sha3_signed, h, 32))
      return dc->old[f][i];
  return NULL;
}

static void
answer_consensus(dircache_t *dc, const dircache_request_t *rq,
                 const dircache_url_t *u, compress_method_t enc, time_t now,
                 const char *peer, dircache_reply_t *out)
{
  int f = u->microdesc_flavor;
  dc_cons_t *c = dc->cur[f];
  if (!c || now > c->valid_until + DIRCACHE_REASONABLY_LIVE) {
    dc_reply_make(out, 503, enc, NULL, 0, now, peer);
    return;
  }
  if (u->n_fp_prefixes && !signed_by_enough(c, u)) {
    dc_reply_make(out, 404, enc, NULL, 0, now, peer);
    return;
  }
  dc_cons_t *from = NULL;
  if (u->kind == DIRCACHE_URL_CONSENSUS_DIFF) {
    if (!(from = find_diff(dc, f, u->diff_hash))) {
      dc_reply_make(out, 404, enc, NULL, 0, now, peer);
      return;
    }
  } else {
    if (rq->if_modified_since && c->valid_after <= rq->if_modified_since) {
      dc_reply_make(out, 304, enc, NULL, 0, now, peer);
      return;
    }
    for (size_t i = 0; i < rq->n_diff_from && !from; i++)
      from = find_diff(dc, f, rq->diff_from[i]);
  }
  if (from) {
    out->is_diff = true;
    reply_doc(out, from->diff, enc, now, peer);
  } else {
    reply_doc(out, &c->doc, enc, now, peer);
  }
}

static void
answer_descs(dircache_t *dc, const dircache_url_t *u, body_t *b)
{
  for (size_t i = 0; i < u->n_items; i++) {
    const dc_ent_t *e = NULL;
    if (u->kind == DIRCACHE_URL_MICRODESCS)
      e = dc_map_get(&dc->md, u->items[i]);
    else if (u->kind == DIRCACHE_URL_SERVER_D)
      e = dc_map_get(&dc->sd, u->items[i]);
    else
      e = dc_map_get(&dc->sd_fp, u->items[i]);
    if (e)
      body_add(b, e->text, e->len);
  }
}

static void
answer_server_all(dircache_t *dc, body_t *b)
{
  size_t pos = 0;
  for (const dc_ent_t *e; (e = dc_map_next(&dc->sd_fp, &pos));)
    body_add(b, e->text, e->len);
}

static void
answer_keys(dircache_t *dc, const dircache_url_t *u, time_t now, body_t *b)
{
  for (size_t i = 0; i < dc->n_certs; i++) {
    const dc_cert_t *c = &dc->certs[i];
    bool want = u->kind == DIRCACHE_URL_KEYS_ALL;
    for (size_t k = 0; k < u->n_items && !want; k++) {
      if (u->kind == DIRCACHE_URL_KEYS_FP)
        want = !memcmp(c->id, u->items[k], 20);
      else if (u->kind == DIRCACHE_URL_KEYS_SK)
        want = !memcmp(c->sk, u->items[k], 20);
      else
        want = !memcmp(c->id, u->items[k], 20) &&
               !memcmp(c->sk, u->items2[k], 20);
    }
    if (want && c->expires >= now)
      body_add(b, c->text, c->len);
  }
}

/* Answer a request that parsed (req: the bytes received, the POST body at
 * rq->head_len). */
static void
answer(dircache_t *dc, const dircache_request_t *rq, const uint8_t *req,
       bool anonymous, time_t now, const char *peer, dircache_reply_t *out)
{
  dircache_url_t u;
  int r = dircache_url_parse(rq->path, &u);
  out->kind = r == DIRCACHE_URL_OK ? u.kind : DIRCACHE_URL_NOT_SERVED;
  bool stored = r == DIRCACHE_URL_OK &&
                (u.kind == DIRCACHE_URL_CONSENSUS ||
                 u.kind == DIRCACHE_URL_CONSENSUS_DIFF);
  compress_method_t enc = choose_encoding(rq, &u, stored);
  body_t b = { NULL, 0, 0 };
  bool hs = r == DIRCACHE_URL_OK && (u.kind == DIRCACHE_URL_HS_DESC ||
                                     u.kind == DIRCACHE_URL_HS_PUBLISH);
  bool post = !strcmp(rq->method, "POST");
  if (hs && (post ? u.kind == DIRCACHE_URL_HS_PUBLISH
                  : !strcmp(rq->method, "GET"))) {
    dc_hs_answer(dc, rq, &u, req + rq->head_len, anonymous, enc, now, peer,
                 out);
  } else if (strcmp(rq->method, "GET") || r == DIRCACHE_URL_MALFORMED) {
    dc_reply_make(out, 400, enc, NULL, 0, now, peer);
  } else if (r != DIRCACHE_URL_OK) {
    dc_reply_make(out, 404, enc, NULL, 0, now, peer);
  } else {
    switch (u.kind) {
    case DIRCACHE_URL_CONSENSUS:
    case DIRCACHE_URL_CONSENSUS_DIFF:
      answer_consensus(dc, rq, &u, enc, now, peer, out);
      break;
    case DIRCACHE_URL_MICRODESCS:
    case DIRCACHE_URL_SERVER_D:
    case DIRCACHE_URL_SERVER_FP:
      answer_descs(dc, &u, &b);
      reply_body(out, &b, enc, now, peer);
      break;
    case DIRCACHE_URL_SERVER_ALL:
      answer_server_all(dc, &b);
      reply_body(out, &b, enc, now, peer);
      break;
    case DIRCACHE_URL_KEYS_ALL:
    case DIRCACHE_URL_KEYS_FP:
    case DIRCACHE_URL_KEYS_SK:
    case DIRCACHE_URL_KEYS_FP_SK:
      answer_keys(dc, &u, now, &b);
      reply_body(out, &b, enc, now, peer);
      break;
    default:  /* authority documents, extra-info, votes: not a cache's */
      dc_reply_make(out, 404, enc, NULL, 0, now, peer);
      break;
    }
  }
  al_free(b.p);
  dircache_url_clear(&u);
}

static void
count(dircache_t *dc, const dircache_reply_t *r)
{
  dircache_stats_t *s = &dc->stats;
  s->requests[r->kind <= DIRCACHE_URL_N_KINDS ? r->kind
                                               : DIRCACHE_URL_N_KINDS]++;
  s->bytes_out += r->len;
  s->diffs_served += r->is_diff;
  switch (r->status) {
  case 200: s->status_200++; break;
  case 304: s->status_304++; break;
  case 400: s->status_400++; break;
  case 404: s->status_404++; break;
  default: s->status_503++; break;
  }
  if (r->kind == DIRCACHE_URL_HS_DESC || r->kind == DIRCACHE_URL_HS_PUBLISH) {
    bool pub = r->kind == DIRCACHE_URL_HS_PUBLISH;
    s->hs_stored += pub && r->status == 200;
    s->hs_rejected += pub && r->status == 400;
    s->hs_served += !pub && r->status == 200;
    s->hs_not_found += !pub && r->status == 404;
    s->hs_not_anonymous += r->status == 503;
  }
}

int
dircache_handle_request(dircache_t *dc, const uint8_t *req, size_t len,
                        time_t now, const char *peer_addr,
                        dircache_reply_t *out)
{
  return dircache_handle_request_from(dc, req, len, now, peer_addr, 0, out);
}

int
dircache_handle_request_from(dircache_t *dc, const uint8_t *req, size_t len,
                             time_t now, const char *peer_addr,
                             unsigned flags, dircache_reply_t *out)
{
  dircache_request_t rq;
  int r = dircache_request_parse(req, len, &rq);
  if (r == DIRCACHE_REQ_NEED_MORE)
    return DIRCACHE_NEED_MORE;
  memset(out, 0, sizeof(*out));
  if (r != DIRCACHE_REQ_OK) {
    out->kind = DIRCACHE_URL_N_KINDS;
    dc_reply_make(out, 400, COMPRESS_IDENTITY, NULL, 0, now, peer_addr);
    log_info_rl(60, "Directory request refused: malformed");
  } else {
    answer(dc, &rq, req, (flags & DIRCACHE_FROM_RELAY) != 0, now, peer_addr,
           out);
    log_debug("Directory request for %s: %d (%zu bytes)",
              dircache_url_kind_name(out->kind), out->status, out->len);
  }
  dircache_request_clear(&rq);
  count(dc, out);
  return 0;
}

void
dircache_log_stats(const dircache_t *dc)
{
  dircache_stats_t s;
  dircache_contents_t c;
  if (!dc)
    return;
  dircache_get_stats(dc, &s);
  dircache_get_contents(dc, &c);
  log_notice("Directory cache: served %llu consensuses (%llu as diffs), "
             "%llu microdescriptor and %llu server descriptor requests, "
             "%llu key requests; %llu not found, %llu unavailable, %llu "
             "malformed; %llu bytes.  Holding %zu microdescriptors, %zu "
             "server descriptors, %zu diffs.",
             (unsigned long long)(s.requests[DIRCACHE_URL_CONSENSUS] +
                                  s.requests[DIRCACHE_URL_CONSENSUS_DIFF]),
             (unsigned long long)s.diffs_served,
             (unsigned long long)s.requests[DIRCACHE_URL_MICRODESCS],
             (unsigned long long)(s.requests[DIRCACHE_URL_SERVER_D] +
                                  s.requests[DIRCACHE_URL_SERVER_FP] +
                                  s.requests[DIRCACHE_URL_SERVER_ALL]),
             (unsigned long long)(s.requests[DIRCACHE_URL_KEYS_ALL] +
                                  s.requests[DIRCACHE_URL_KEYS_FP] +
                                  s.requests[DIRCACHE_URL_KEYS_SK] +
                                  s.requests[DIRCACHE_URL_KEYS_FP_SK]),
             (unsigned long long)s.status_404,
             (unsigned long long)s.status_503,
             (unsigned long long)s.status_400,
             (unsigned long long)s.bytes_out, c.n_microdescs,
             c.n_server_descs, c.n_diffs[0] + c.n_diffs[1]);
  log_notice("HSDir: holding %zu onion-service descriptor%s (%zu bytes); "
             "%llu stored, %llu refused, %llu served, %llu not found, %llu "
             "refused as not anonymous.", c.n_hs_descs,
             c.n_hs_descs == 1 ? "" : "s", c.hs_bytes,
             (unsigned long long)s.hs_stored,
             (unsigned long long)s.hs_rejected,
             (unsigned long long)s.hs_served,
             (unsigned long long)s.hs_not_found,
             (unsigned long long)s.hs_not_anonymous);
}

void
dircache_get_stats(const dircache_t *dc, dircache_stats_t *out)
{
  if (dc)
    *out = dc->stats;
  else
    memset(out, 0, sizeof(*out));
}
