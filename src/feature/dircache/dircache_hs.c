/* dircache_hs.c -- the directory cache as an HSDir (HSDir=2): the answers
 * to "POST /tor/hs/3/publish" and "GET /tor/hs/3/<z>" (rend-spec-v3 2.2.6)
 * over the cache's hsdir_store_t (2.2.5 expiry, 2.4 revision-counter), and
 * the consensus parameter HSV3MaxDescriptorSize (dir-spec 3.4.1 "params").
 *
 * Status codes as a tor 0.4.9 HSDir answers: a publish is 200 when stored,
 * 400 when the descriptor is refused (it fails the outer-layer checks of
 * hs_desc_outer_parse(), is larger than HSV3MaxDescriptorSize, or its
 * revision-counter is not above the stored one); a fetch is 200 with the
 * descriptor as uploaded (compressed as the client accepts), 404 when
 * nothing is held for the key (or the key does not decode).  Both must
 * come anonymously (2.2.6: "These requests must be made anonymously"): a
 * request over a circuit a client built straight to us gets 503.  Nothing
 * here logs a blinded key: it names an onion service for a time period.
 */
#include <string.h>

#define LOG_MODULE "hsdir"
#include "allium/feature/dircache/dircache.h"
#include "allium/feature/dircache/hsdir_store.h"
#include "allium/feature/dirparse/consensus.h"
#include "allium/feature/dirparse/hs_desc_outer.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include "dircache_st.h"

void
dc_hs_init(dircache_t *dc)
{
  dc->hs = hsdir_store_new(0, 0);
  dc->hs_max_desc = HS_DESC_MAX_LEN;
  hsdir_store_set_max_desc_size(dc->hs, dc->hs_max_desc);
}

void
dc_hs_set_params(dircache_t *dc, const consensus_t *c)
{
  int32_t v = consensus_get_param(c, "HSV3MaxDescriptorSize",
                                  (int32_t)HS_DESC_MAX_LEN, 1, INT32_MAX);
  size_t max = (size_t)v;
  if (max > DIRCACHE_REQ_MAX_BODY)
    max = DIRCACHE_REQ_MAX_BODY;   /* what a request may carry */
  if (max != dc->hs_max_desc)
    log_info("HSDir: largest onion-service descriptor now %zu bytes "
             "(HSV3MaxDescriptorSize).", max);
  dc->hs_max_desc = max;
  hsdir_store_set_max_desc_size(dc->hs, max);
}

size_t
dircache_hs_expire(dircache_t *dc, time_t now)
{
  if (!dc)
    return 0;
  size_t n = hsdir_store_expire(dc->hs, now);
  if (n)
    log_info("HSDir: %zu onion-service descriptor%s expired; %zu held.", n,
             n == 1 ? "" : "s", hsdir_store_count(dc->hs));
  return n;
}

static int
hs_publish(dircache_t *dc, const dircache_request_t *rq, const uint8_t *body,
           time_t now, const char *peer, dircache_reply_t *out)
{
  static log_ratelim_t rl_ok = LOG_RATELIM_INIT(10);
  static log_ratelim_t rl_bad = LOG_RATELIM_INIT(10);
  size_t len = rq->body_len;
  const char *why = NULL;
  int r = HSDIR_STORE_ERR_INVALID;
  if (len > dc->hs_max_desc)
    why = "larger than HSV3MaxDescriptorSize";
  else if (memchr(body, '\0', len))
    why = "NUL byte";
  else if ((r = hsdir_store_put(dc->hs, (const char *)body, len, now,
                                NULL)) != HSDIR_STORE_OK)
    why = r == HSDIR_STORE_ERR_REPLAY
            ? "revision-counter not above the stored one"
            : "descriptor refused by the outer-layer checks";
  if (why) {
    log_info_ratelim(&rl_bad, "HSDir: refused an onion-service descriptor "
                     "upload (%zu bytes): %s.", len, why);
    dc_reply_make(out, 400, COMPRESS_IDENTITY, NULL, 0, now, peer);
    return 400;
  }
  log_info_ratelim(&rl_ok, "HSDir: stored an onion-service descriptor (%zu "
                   "bytes); %zu held.", len, hsdir_store_count(dc->hs));
  dc_reply_make(out, 200, COMPRESS_IDENTITY, NULL, 0, now, peer);
  return 200;
}

static int
hs_fetch(dircache_t *dc, const dircache_url_t *u, compress_method_t enc,
         time_t now, const char *peer, dircache_reply_t *out)
{
  static log_ratelim_t rl_ok = LOG_RATELIM_INIT(10);
  size_t len = 0;
  char *text = u->hs_key_ok ? hsdir_store_get(dc->hs, u->hs_key, now, &len)
                            : NULL;
  if (!text) {
    dc_reply_make(out, 404, COMPRESS_IDENTITY, NULL, 0, now, peer);
    return 404;
  }
  dc_reply_encoded(out, text, len, enc, now, peer);
  log_info_ratelim(&rl_ok, "HSDir: served an onion-service descriptor (%zu "
                   "bytes, %s).", len, compress_method_name(out->encoding));
  al_free(text);
  return 200;
}

int
dc_hs_answer(dircache_t *dc, const dircache_request_t *rq,
             const dircache_url_t *u, const uint8_t *body, bool anonymous,
             compress_method_t enc, time_t now, const char *peer,
             dircache_reply_t *out)
{
  static log_ratelim_t rl = LOG_RATELIM_INIT(60);
  if (!anonymous) {
    log_info_ratelim(&rl, "HSDir: refused an onion-service descriptor "
                     "request on a one-hop circuit (503).");
    dc_reply_make(out, 503, COMPRESS_IDENTITY, NULL, 0, now, peer);
    return 503;
  }
  if (u->kind == DIRCACHE_URL_HS_PUBLISH) {
    if (strcmp(rq->method, "POST")) {   /* GET of ".../publish": no key */
      dc_reply_make(out, 404, COMPRESS_IDENTITY, NULL, 0, now, peer);
      return 404;
    }
    return hs_publish(dc, rq, body, now, peer, out);
  }
  return hs_fetch(dc, u, enc, now, peer, out);
}
