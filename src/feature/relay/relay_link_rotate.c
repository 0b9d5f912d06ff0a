/* relay_link_rotate.c -- the relay's link credentials (TLS link key and
 * certificate types 3, 5, 6, 7; tor-spec 4.2, cert-spec 2.1) renewed on
 * tor's schedule without stalling the event loop.
 *
 * Every RELAY_LINK_CHECK_SEC the loop asks link_keys_should_rotate(); when
 * it says so, a job on a one-thread work queue runs link_keys_new() -- an
 * RSA-2048 and an RSA-1024 key generation, about half a second of CPU --
 * and the new set is installed back on the loop.  The job owns private
 * copies of what it needs (identity key, signing key pair and certificate),
 * so an onion-key rotation that replaces the relay_keys_t meanwhile cannot
 * pull them from under it.  Channels opened before keep the certificates
 * they copied; the set before the last rotation stays alive until the next
 * one (OpenSSL keeps established sessions' state by itself). */
#define LOG_MODULE "relay"
#include <string.h>
#include <time.h>

#include "allium/core/channel/link_keys.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/rsa.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/evloop/workqueue.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "relay_run_st.h"

/** How often to ask link_keys_should_rotate() (tor checks its link keys
 * every minute or so; the TLS context rotates every two hours). */
#define RELAY_LINK_CHECK_SEC 60

typedef struct relay_link_job_t {
  relay_run_t *rr;
  rsa_key_t *identity;            /* private copy */
  ed25519_public_key_t ed_id;
  ed25519_keypair_t signing;
  uint8_t *c4;
  size_t c4_len;
  time_t now;
  uint64_t queued_msec;
  link_keys_t *made;              /* the worker's result */
} relay_link_job_t;

static void
job_free(relay_link_job_t *j)
{
  if (!j)
    return;
  rsa_key_free(j->identity);
  ed25519_keypair_wipe(&j->signing);
  al_free(j->c4);
  link_keys_free(j->made);
  memwipe(j, sizeof(*j));
  al_free(j);
}

/* A private copy of the identity key: DER out and back in. */
static rsa_key_t *
rsa_private_copy(const rsa_key_t *k)
{
  uint8_t *der = NULL;
  size_t len = 0;
  if (rsa_key_private_to_der(k, &der, &len) < 0)
    return NULL;
  rsa_key_t *copy = rsa_key_private_from_der(der, len);
  memwipe(der, len);
  al_free(der);
  return copy;
}

static relay_link_job_t *
job_new(relay_run_t *rr, time_t now)
{
  const relay_keys_t *k = rr->keys;
  size_t c4_len = 0;
  const uint8_t *c4 = relay_keys_signing_cert_encoded(k, &c4_len);
  if (!c4 || !c4_len)
    return NULL;
  relay_link_job_t *j = al_calloc(1, sizeof(*j));
  j->rr = rr;
  j->identity = rsa_private_copy(relay_keys_identity_rsa(k));
  j->ed_id = *relay_keys_master_public(k);
  j->signing = *relay_keys_signing_keypair(k);
  j->c4 = al_memdup(c4, c4_len);
  j->c4_len = c4_len;
  j->now = now;
  j->queued_msec = evloop_monotonic_msec();
  if (!j->identity) {
    job_free(j);
    return NULL;
  }
  return j;
}

/* Worker thread: touches only the job. */
static void
job_work(void *arg)
{
  relay_link_job_t *j = arg;
  j->made = link_keys_new(j->identity, &j->ed_id, &j->signing, j->c4,
                          j->c4_len, j->now);
}

/* Loop thread. */
static void
job_reply(void *arg, workqueue_status_t status)
{
  relay_link_job_t *j = arg;
  relay_run_t *rr = j->rr;
  rr->link_job = NULL;
  if (status != WORKQUEUE_DONE || rr->link_stopping) {
    job_free(j);
    return;
  }
  if (!j->made) {
    log_warn("Couldn't rotate the link key; keeping the current one.");
    job_free(j);
    return;
  }
  link_keys_free(rr->old_lk);
  rr->old_lk = rr->lk;
  rr->lk = j->made;
  j->made = NULL;
  cellswitch_set_server_creds(rr->sw, link_keys_tls(rr->lk),
                              link_keys_creds(rr->lk));
  rr->link_rotations++;
  log_info("Rotated the TLS link key and its certificates (%llu ms, off "
           "the event loop).",
           (unsigned long long)(evloop_monotonic_msec() - j->queued_msec));
  job_free(j);
}

int
relay_run_rotate_link_now(relay_run_t *rr)
{
  if (rr->link_job || rr->link_stopping)
    return 0;                      /* one at a time */
  if (!rr->link_wq) {
    workqueue_cfg_t wc = { .n_threads = 1, .max_pending = 2,
                           .max_wait_msec = 0, .base = rr->base };
    rr->link_wq = workqueue_new(&wc);
    if (!rr->link_wq)
      return -1;
  }
  relay_link_job_t *j = job_new(rr, time(NULL));
  if (!j)
    return -1;
  rr->link_job = workqueue_submit(rr->link_wq, job_work, job_reply, j);
  if (!rr->link_job) {
    job_free(j);
    return -1;
  }
  return 0;
}

static void
link_check(int what, void *arg)
{
  relay_run_t *rr = arg;
  (void)what;
  if (!link_keys_should_rotate(rr->lk, time(NULL)))
    return;
  if (relay_run_rotate_link_now(rr) < 0)
    log_warn("Couldn't start renewing the link key; will try again.");
}

void
relay_link_rotate_start(relay_run_t *rr)
{
  rr->rotate = evloop_timer_add(RELAY_LINK_CHECK_SEC * 1000u, 1,
                                link_check, rr);
}

void
relay_link_rotate_stop(relay_run_t *rr)
{
  rr->link_stopping = true;
  evloop_handle_free(rr->rotate);
  workqueue_free(rr->link_wq);     /* a pending reply frees its job */
}

unsigned
relay_run_link_rotations(const relay_run_t *rr)
{
  return rr->link_rotations;
}
