/* dir_boot.h -- the client's directory bootstrap, refresh and cache
 * (dir-spec 4, 5.1, 5.2; tor(1) DirAuthority, DataDirectory cache files).
 *
 * dir_boot_start() loads the cache (cached-certs, cached-consensus or
 * cached-microdesc-consensus, cached-descriptors or cached-microdescs),
 * then fetches over one-hop BEGIN_DIR circuits (dir_fetch.h) from the
 * fallback directory mirrors and the authorities.  While bootstrapping (no
 * reasonably live consensus) it tries several servers at once, as tor
 * does (dir-spec 5.1; tor(1) ClientBootstrapConsensus*): fallbacks at
 * once and then on a randomised exponential schedule, authorities on their
 * own slower schedule starting 6 s later (at once when there are no
 * fallbacks), at most 3 attempts in progress (one not connected after
 * 10 s gives way to the next one due); the first attempt that connects
 * wins and the others are closed.  It fetches the authorities'
 * key certificates, the consensus
 * (verified: signed by more than half of the configured v3 identities,
 * reasonably live, newer than the one held), then the missing
 * descriptors in batches, in parallel across authorities.  Each change of
 * the nodelist is reported through on_dirinfo.  Once the consensus is no
 * longer fresh a new one is fetched at the random time dir-spec 5.1 gives.
 *
 * The sans-IO decision helpers at the end are exported for tests.
 */
#ifndef ALLIUM_FEATURE_DIRCLIENT_DIR_BOOT_H
#define ALLIUM_FEATURE_DIRCLIENT_DIR_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/feature/dirclient/dir_authority.h"
#include "allium/feature/dirclient/dir_fallback.h"
#include "allium/feature/dirparse/consensus.h"
#include "allium/feature/dirparse/keycert.h"
#include "allium/feature/nodelist/nodelist.h"
#include "allium/lib/tls/tls.h"

struct event_base;

/** Documents reported to on_document (the directory cache's feed). */
typedef enum dir_boot_doc_t {
  DIR_BOOT_DOC_CONSENSUS = 0,   /* either flavour (the text says which) */
  DIR_BOOT_DOC_MICRODESCS,
  DIR_BOOT_DOC_SERVER_DESCS,
  DIR_BOOT_DOC_CERTS,
} dir_boot_doc_t;

typedef struct dir_boot_cfg_t {
  struct event_base *base;
  tls_context_t *tls;                 /* client TLS context, borrowed */
  const dir_authority_t *auths;       /* copied */
  size_t n_auths;
  const dir_fallback_t *fallbacks;    /* copied; may be NULL */
  size_t n_fallbacks;
  bool use_microdescs;                /* false: ns consensus + server descriptors */
  const char *cache_dir;              /* copied; NULL = no disk cache */
  bool fetch_early;                   /* FetchDirInfoEarly / ExtraEarly */
  bool testing_network;               /* TestingTorNetwork: while no live
                                       * consensus is held, retry at least
                                       * every DIR_BOOT_TESTING_MAX_MS */
  time_t (*now)(void);                /* NULL = time(); tests inject */
  /** Fetch as a directory cache (dir-spec 4; a relay with DirCache and an
   * ORPort): both consensus flavours, every microdescriptor and every
   * server descriptor they list, refreshed on the caches' earlier
   * schedule (dir_boot_cache_refresh_time()), from the authorities, and
   * all of it kept in cache_dir with tor's file names.  Off by default:
   * client behaviour unchanged. */
  bool fetch_as_cache;
} dir_boot_cfg_t;

typedef struct dir_boot_cbs_t {
  /** The nodelist changed (new consensus or descriptors attached). enough:
   * a reasonably-live consensus and >= 60% of its nodes with descriptors. */
  void (*on_dirinfo)(nodelist_t *nl, bool enough, void *arg);
  void *arg;
} dir_boot_cbs_t;

typedef struct dir_boot_t dir_boot_t;

/** New bootstrapper for nodelist nl (borrowed; must outlive it).  cfg and
 * cbs are copied.  NULL on bad arguments.  Caller frees with
 * dir_boot_free(). */
dir_boot_t *dir_boot_new(const dir_boot_cfg_t *cfg, nodelist_t *nl,
                         const dir_boot_cbs_t *cbs);
/** Load the cache (synchronously; may call on_dirinfo), then schedule
 * fetching.  0 or -1. */
int dir_boot_start(dir_boot_t *b);
/** A document was accepted from a directory server: a verified consensus
 * (either flavour), a response body of descriptors (each parsed, the valid
 * ones attached), or certificates.  text is borrowed for the call.  Not
 * called for what is loaded from the cache files. */
typedef void (*dir_boot_document_fn)(dir_boot_doc_t kind, const char *text,
                                     size_t len, void *arg);
/** Report accepted documents to fn (NULL: stop); the relay feeds its
 * directory cache from here.  Call before dir_boot_start(). */
void dir_boot_set_document_cb(dir_boot_t *b, dir_boot_document_fn fn,
                              void *arg);
/** Enough directory info to build circuits (see on_dirinfo). */
bool dir_boot_have_enough(const dir_boot_t *b);
/** Stop every fetch and timer and free; NULL is fine.  Not from inside
 * on_dirinfo. */
void dir_boot_free_(dir_boot_t *b);
#define dir_boot_free(p) do { dir_boot_free_(p); (p) = NULL; } while (0)

/* ---- sans-IO helpers (exported for tests) ---- */

/** Fraction of nodes with descriptors needed for "enough". */
#define DIR_BOOT_ENOUGH_FRACTION 0.6
/** Consensus retry backoff: first delay, cap (milliseconds). */
#define DIR_BOOT_BACKOFF_MIN_MS 1000
#define DIR_BOOT_BACKOFF_MAX_MS 30000
/** The cap while bootstrapping a TestingTorNetwork (its authorities vote
 * every few seconds; tor shortens its schedules there too). */
#define DIR_BOOT_TESTING_MAX_MS 2000

/** Bootstrap schedules (tor(1) ClientBootstrapConsensus*): the delay
 * before the first attempt from fallbacks, from authorities when there are
 * fallbacks, from authorities when there are none; attempts in progress at
 * once; the longest delay between two attempts of one schedule. */
#define DIR_BOOT_FALLBACK_INITIAL_MS 0
#define DIR_BOOT_AUTHORITY_INITIAL_MS 6000
#define DIR_BOOT_AUTHORITY_ONLY_INITIAL_MS 0
#define DIR_BOOT_MAX_IN_PROGRESS 3
#define DIR_BOOT_SCHED_MAX_MS (3600u * 1000u)
/** A bootstrap attempt that has not connected after this long gives its
 * place to the next one due when DIR_BOOT_MAX_IN_PROGRESS are running (a
 * blackholed server must not stall the bootstrap for a whole fetch
 * timeout). */
#define DIR_BOOT_CONNECT_TIMEOUT_MS 10000

/** The delay after an attempt of a bootstrap schedule whose last delay was
 * last_ms: random exponential backoff with jitter, uniformly (r in [0, 1))
 * in [last + 1 s, max(last + 1 s, 3 * last)] (multiplier 2 in a
 * TestingTorNetwork), capped at DIR_BOOT_SCHED_MAX_MS (testing:
 * DIR_BOOT_TESTING_MAX_MS). */
uint32_t dir_boot_sched_next(uint32_t last_ms, double r, bool testing);

/** When to fetch the next consensus (dir-spec 5.1): uniformly in
 * [fu + 3/4 (fu - va), that + 7/8 (vu - that)], with r in [0, 1) choosing
 * the point; early (FetchDirInfoEarly): fu.  Never before fu. */
time_t dir_boot_refresh_time(time_t va, time_t fu, time_t vu, bool early,
                             double r);
/** When a directory cache fetches the next consensus (dir-spec 4.1): "at
 * a randomly chosen time in the first half-interval after its current
 * consensus stops being fresh", i.e. uniformly (r in [0, 1)) in
 * [fu, fu + (fu - va) / 2]. */
time_t dir_boot_cache_refresh_time(time_t va, time_t fu, double r);
/** Next retry delay after cur_ms (0: the first). */
uint32_t dir_boot_backoff_next(uint32_t cur_ms);
/** Are n_valid distinct valid signatures more than half of n_auth? */
bool dir_boot_sigs_enough(int n_valid, size_t n_auth);
/** Enough dirinfo: live_ok (reasonably live consensus) and the fraction. */
bool dir_boot_enough(bool live_ok, double desc_fraction);

/** Keep the certificates of certs[0..n) whose identity is a v3ident of
 * auths: moves them into out (pointers; cap entries), sets the moved slots
 * of certs to NULL.  Returns the number kept. */
size_t dir_boot_trusted_certs(authcert_t **certs, size_t n,
                              const dir_authority_t *auths, size_t n_auths,
                              authcert_t **out, size_t cap);

/** Accept consensus c?  Verifies the signatures against certs (trusted
 * only), needs more than half of the auths' v3 identities, a reasonably
 * live consensus at now (valid_after <= now <= valid_until + 24 h) and
 * valid_after later than have_va (0: none held).  Returns the number
 * of valid signatures, or -1 with why (static text). */
int dir_boot_check_consensus(consensus_t *c, authcert_t *const *certs,
                             size_t n_certs, const dir_authority_t *auths,
                             size_t n_auths, time_t now, time_t have_va,
                             const char **why);

#endif
