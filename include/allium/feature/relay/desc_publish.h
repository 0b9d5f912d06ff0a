/* desc_publish.h -- uploading this relay's server descriptor to every
 * directory authority (dir-spec 2.1 "Uploading server descriptors"), on
 * tor's schedule, and checking that the authorities really list us.
 *
 * Three layers, usable separately:
 *
 *  1. Sans-IO HTTP: desc_publish_request_encode() makes the
 *     "POST /tor/ HTTP/1.0" request (with a correct Content-Length, which
 *     the authority needs to know where the body ends);
 *     desc_publish_classify() turns the authority's response (parsed by the
 *     dirclient HTTP parser) into accepted / not new / rejected / failed.
 *     Beware: a tor 0.4.9.11 authority answers a descriptor it cannot parse
 *     at all (bad signature, missing item, garbage) exactly as it answers
 *     one it accepted: "HTTP/1.0 200 [None]" (observed; other versions may
 *     send "X-Descriptor-Not-New: Yes" instead).  So after a plain 200 the
 *     uploader asks the authority for the descriptor back by digest
 *     (GET /tor/server/d/<HEX>, dir-spec 4.4): only when the authority
 *     serves the very same descriptor is the upload "accepted";
 *     desc_publish_classify_check() classifies that second answer.  Whether
 *     we are listed shows in the next consensus (desc_publish_presence()).
 *
 *  2. The schedule (desc_sched_t, pure functions of the time and what the
 *     caller reports): check every DESC_SCHED_CHECK_INTERVAL; a new
 *     descriptor is due when there is none, when a field other than
 *     bandwidth/uptime changed, every DESC_SCHED_FORCE_INTERVAL, when the
 *     observed bandwidth changed by a factor of 2 (only while uptime is under
 *     24 h and at least 3 h after the last descriptor), and when the live
 *     consensus does not list us as Running and Valid (or marks us
 *     StaleDesc) and our descriptor is at least 90 minutes old.  Never more
 *     than one new descriptor per DESC_SCHED_CHECK_INTERVAL after the first.
 *
 *  3. The I/O (desc_publish_t): a timer on the caller's event_base runs the
 *     schedule, asks the caller for a fresh descriptor through a callback,
 *     and POSTs it to each authority's DirPort over a plain TCP connection
 *     (bounded time and response size) -- to an authority without a DirPort
 *     over a BEGIN_DIR stream on a one-hop circuit to its ORPort (tor-spec
 *     6.2), as tor does, and the same when its DirPort refuses the
 *     connection -- then GETs it back to confirm, and logs each authority's
 *     verdict at notice level.
 */
#ifndef ALLIUM_FEATURE_RELAY_DESC_PUBLISH_H
#define ALLIUM_FEATURE_RELAY_DESC_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/feature/dirclient/dir_authority.h"
#include "allium/feature/dirclient/dir_http.h"
#include "allium/feature/dirparse/consensus.h"

struct event_base;

/* ---- 1. sans-IO request and response ---- */

/** Build "POST /tor/ HTTP/1.0" with Content-Length (and, when gen_reason is
 * a non-empty printable string without CR/LF, "X-Desc-Gen-Reason") followed
 * by the body desc[0..len).  Returns the request (caller frees with
 * al_free(); *outlen gets its length) or NULL on bad arguments (NULL or
 * empty desc, len > ROUTER_DESC_MAX_LEN). */
uint8_t *desc_publish_request_encode(const char *desc, size_t len, const char *gen_reason,
                                     size_t *outlen);

/** What an authority made of our upload. */
typedef enum desc_upload_status_t {
  DESC_UPLOAD_ACCEPTED = 0, /**< 200, and the authority serves it back */
  DESC_UPLOAD_NOT_NEW,      /**< 200 + X-Descriptor-Not-New: already known,
                             *   cosmetic change, expired cert -- or unparseable */
  DESC_UPLOAD_DISCARDED,    /**< 200, but the authority does not serve it:
                             *   it could not parse it (see its log) */
  DESC_UPLOAD_REJECTED,     /**< 400: the authority's checks refused it */
  DESC_UPLOAD_FAILED,       /**< other status, bad response, or no response */
} desc_upload_status_t;

#define DESC_UPLOAD_REASON_MAX 160

typedef struct desc_upload_result_t {
  desc_upload_status_t status;
  int http_status;                       /**< 0 when there was no response */
  char reason[DESC_UPLOAD_REASON_MAX];   /**< printable ASCII, maybe "" */
} desc_upload_result_t;

/** Classify a parsed response to the POST.  The reason is the status
 * line's reason phrase with anything but printable ASCII replaced by '?',
 * truncated.  A plain 200 gives DESC_UPLOAD_ACCEPTED, which the caller
 * should confirm with the GET below. */
void desc_publish_classify(const dir_http_response_t *r, desc_upload_result_t *out);

/** The path that fetches our descriptor back: "/tor/server/d/" + 40 upper
 * hex digits of digest (the SHA-1 of its signed part) into buf[56]. */
void desc_publish_check_path(const uint8_t digest[20], char buf[56]);

/** Classify the answer r to that GET (r NULL: no answer): ACCEPTED when it
 * is 200 and its body is exactly one descriptor whose digest is digest;
 * DISCARDED on 404 or a different document; FAILED otherwise. */
void desc_publish_classify_check(const dir_http_response_t *r, const uint8_t digest[20],
                                 desc_upload_result_t *out);

/** "accepted", "not new", "discarded", "rejected", "failed". */
const char *desc_upload_status_name(desc_upload_status_t s);

/** The HTTP parser limits for an upload or check response (small: status
 * line, a few headers, at most DESC_PUBLISH_MAX_RESPONSE body bytes). */
void desc_publish_response_limits(dir_http_limits_t *out);
#define DESC_PUBLISH_MAX_RESPONSE 32768

/* ---- 2. the schedule ---- */

#define DESC_SCHED_CHECK_INTERVAL 60            /**< seconds between checks */
#define DESC_SCHED_FORCE_INTERVAL (18 * 3600)   /**< regenerate at least this often */
#define DESC_SCHED_BW_MIN_INTERVAL (3 * 3600)   /**< bandwidth-driven: at most this often */
#define DESC_SCHED_BW_MAX_UPTIME (24 * 3600)    /**< ... and only while uptime is below */
#define DESC_SCHED_BW_FACTOR 2                  /**< change that counts */
#define DESC_SCHED_RETRY_INTERVAL (90 * 60)     /**< not in the consensus: retry period */

/** How the live consensus lists us. */
typedef enum desc_presence_t {
  DESC_PRESENCE_UNKNOWN = 0,  /**< no consensus seen yet */
  DESC_PRESENCE_LISTED,       /**< present with Running and Valid */
  DESC_PRESENCE_ABSENT,       /**< our RSA identity is not in it */
  DESC_PRESENCE_NOT_RUNNING,  /**< present but not Running or not Valid */
  DESC_PRESENCE_STALE,        /**< present (Running, Valid) with StaleDesc */
} desc_presence_t;

/** Why a new descriptor is due (DESC_DUE_NONE: not now). */
typedef enum desc_due_t {
  DESC_DUE_NONE = 0,
  DESC_DUE_FIRST,        /**< we have never built one */
  DESC_DUE_CHANGED,      /**< a non-cosmetic field changed */
  DESC_DUE_PERIODIC,     /**< DESC_SCHED_FORCE_INTERVAL passed */
  DESC_DUE_BANDWIDTH,    /**< observed bandwidth changed by 2x */
  DESC_DUE_NOT_LISTED,   /**< the consensus lacks us, or says StaleDesc */
} desc_due_t;

typedef struct desc_sched_t {
  bool built;              /**< a descriptor exists */
  time_t last_built;       /**< when it was generated */
  uint64_t last_bw;        /**< its observed bandwidth */
  bool changed;            /**< non-cosmetic change reported since */
  desc_presence_t presence;/**< from the latest live consensus */
} desc_sched_t;

/** Start state: nothing built, presence unknown. */
void desc_sched_init(desc_sched_t *s);
/** A descriptor generated at now with observed bandwidth bw. */
void desc_sched_note_built(desc_sched_t *s, time_t now, uint64_t bw);
/** A field other than bandwidth/uptime/published changed. */
void desc_sched_note_changed(desc_sched_t *s);
/** The live consensus lists us so. */
void desc_sched_note_presence(desc_sched_t *s, desc_presence_t p);
/** Whether a new descriptor is due at now, given the current observed
 * bandwidth and uptime (seconds since start). */
desc_due_t desc_sched_due(const desc_sched_t *s, time_t now, uint64_t bw, uint64_t uptime);
/** "first descriptor", "descriptor changed", ... (for logs and
 * X-Desc-Gen-Reason). */
const char *desc_due_name(desc_due_t d);

/** How consensus c lists the relay with RSA identity rsa_id (*flags_out,
 * if not NULL, gets its CONSENSUS_FLAG_* or 0). */
desc_presence_t desc_publish_presence(const consensus_t *c, const uint8_t rsa_id[20],
                                      uint32_t *flags_out);
/** "unknown", "listed", "absent", "listed without Running/Valid", "stale". */
const char *desc_presence_name(desc_presence_t p);

/* ---- 3. the uploader ---- */

typedef struct desc_publish_t desc_publish_t;

typedef struct desc_publish_cbs_t {
  /** A new descriptor is due (reason for logs): build it and hand it over
   * with desc_publish_set_descriptor(), now or later.  Required. */
  void (*want_descriptor)(desc_publish_t *p, desc_due_t why, void *arg);
  /** One authority's upload finished (tests, counters).  May be NULL.
   * Neither callback may free p (it may be called from inside a
   * desc_publish_* call); free it from a later event. */
  void (*on_result)(desc_publish_t *p, const dir_authority_t *auth,
                    const desc_upload_result_t *r, void *arg);
  void *arg;
} desc_publish_cbs_t;

#define DESC_PUBLISH_TIMEOUT_MSEC 30000   /**< limit per request (connect to response) */

/** New uploader for the n authorities auths[] (copied) on base -- the
 * daemon passes the list dir_servers_resolve() gives (DirAuthority lines or
 * the built-in authorities, bridge authority excluded) -- for the
 * relay whose RSA identity digest is rsa_id.  Authorities without a DirPort
 * get the upload over BEGIN_DIR once desc_publish_set_tls() gave a client
 * TLS context (without one they fail with a log line).
 * Nothing happens until desc_publish_start() or _set_descriptor().
 * NULL on bad arguments.  Free with desc_publish_free(). */
desc_publish_t *desc_publish_new(struct event_base *base, const dir_authority_t *auths,
                                 size_t n, const uint8_t rsa_id[20],
                                 const desc_publish_cbs_t *cbs);
/** Stop everything (open uploads are closed) and free p; NULL ok. */
void desc_publish_free_(desc_publish_t *p);
#define desc_publish_free(p) do { desc_publish_free_(p); (p) = NULL; } while (0)

/** Start the schedule: a check now and every DESC_SCHED_CHECK_INTERVAL
 * (check_msec > 0 overrides the period, for tests).  0 or -1. */
int desc_publish_start(desc_publish_t *p, uint32_t check_msec);
/** Override the per-upload time limit (msec > 0). */
void desc_publish_set_timeout(desc_publish_t *p, uint32_t msec);
/** Time source for the schedule (tests); NULL restores time(). */
void desc_publish_set_clock(desc_publish_t *p, time_t (*now_fn)(void));

/** Install a freshly built descriptor (copied; len <= ROUTER_DESC_MAX_LEN)
 * whose observed bandwidth is bw, and upload it to every authority now.
 * An upload still running to an authority is abandoned for the new one.
 * 0, or -1 on bad arguments. */
int desc_publish_set_descriptor(desc_publish_t *p, const char *desc, size_t len, uint64_t bw);
/** Upload the current descriptor again to every authority.  0, or -1 if
 * there is none. */
int desc_publish_upload(desc_publish_t *p);
/** Report the relay's current observed bandwidth and uptime (used by the
 * next check). */
void desc_publish_note_stats(desc_publish_t *p, uint64_t bw, uint64_t uptime);
/** A field other than bandwidth/uptime changed (compare params with
 * router_desc_params_same_except_cosmetic()); asks for a new descriptor at
 * once, or at the first check DESC_SCHED_CHECK_INTERVAL after the last. */
void desc_publish_note_changed(desc_publish_t *p);
/** A new live consensus arrived: note how it lists us, log clearly when we
 * are absent, not Running/Valid, or stale, and run a check. */
void desc_publish_consensus_changed(desc_publish_t *p, const consensus_t *c);
/** Run one schedule check now (the timer does this periodically). */
void desc_publish_check(desc_publish_t *p);

/** The client TLS context (borrowed; must outlive p) for BEGIN_DIR uploads
 * to authorities without a reachable DirPort. */
struct tls_context_t;
void desc_publish_set_tls(desc_publish_t *p, struct tls_context_t *tls);
/** Uploads (POSTs) sent over BEGIN_DIR so far. */
size_t desc_publish_n_tunnelled(const desc_publish_t *p);
/** Uploads in progress. */
size_t desc_publish_n_pending(const desc_publish_t *p);
/** How the latest consensus listed us. */
desc_presence_t desc_publish_get_presence(const desc_publish_t *p);

#endif
