/* flow.h -- SENDME window accounting (tor-spec 7.3, 7.3.1, 7.4; proposal
 * 289 authenticated SENDMEs).
 *
 * One relay_flow_t is one pair of windows:
 *   package: RELAY_DATA cells we may still send before a SENDME arrives;
 *   deliver: RELAY_DATA cells we still accept before we must send one.
 * Circuit level: window 1000, increment 100, authenticated (v1): the sender
 * remembers the rolling digest of every DATA cell that brings its package
 * window to a multiple of the increment, and each incoming SENDME v1 must
 * carry the oldest remembered digest.  Stream level: window 500, increment
 * 50, no digests (empty SENDME bodies).
 *
 * Pure accounting: no cells are built here.  All functions are sans-IO.
 */
#ifndef ALLIUM_CORE_STREAM_FLOW_H
#define ALLIUM_CORE_STREAM_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/cell/relay_msg.h"

#define RELAY_CIRCWINDOW_START 1000
#define RELAY_CIRCWINDOW_INCREMENT 100
#define RELAY_STREAMWINDOW_START 500
#define RELAY_STREAMWINDOW_INCREMENT 50
/** Most SENDME digests we ever wait for (window / increment). */
#define RELAY_FLOW_MAX_PENDING 16

/** Errors (negative) returned by relay_flow_*. */
#define RELAY_FLOW_ERR_OVERFLOW (-1)   /**< SENDME would exceed the start window */
#define RELAY_FLOW_ERR_DIGEST (-2)     /**< v1 digest missing or wrong */
#define RELAY_FLOW_ERR_VERSION (-3)    /**< SENDME version below the minimum */
#define RELAY_FLOW_ERR_DELIVER (-4)    /**< more DATA than the deliver window */
#define RELAY_FLOW_ERR_EMPTY (-5)      /**< packaging with a closed window */

typedef struct relay_flow_t {
  int package_window;
  int deliver_window;
  int start;               /**< initial (and largest) window */
  int increment;
  bool authenticated;      /**< circuit level: remember/verify digests */
  uint8_t min_version;     /**< lowest SENDME version accepted */
  /** Ring of remembered digests of SENDME-triggering cells we sent. */
  uint8_t pending[RELAY_FLOW_MAX_PENDING][RELAY_SENDME_DIGEST_LEN];
  size_t pending_head, n_pending;
} relay_flow_t;

/** Circuit-level windows (1000/100, SENDME v1 required). */
void relay_flow_init_circuit(relay_flow_t *f);
/** Stream-level windows (500/50, unauthenticated). */
void relay_flow_init_stream(relay_flow_t *f);
/** Wipe f (it holds digests). */
void relay_flow_clear(relay_flow_t *f);

/** True if one more DATA cell may be packaged. */
bool relay_flow_can_package(const relay_flow_t *f);
/** Largest DATA body to package next under window f: the first DATA cell of
 * each SENDME increment leaves 20 bytes for random padding, so the digest
 * the peer's authenticated SENDME echoes is unpredictable (tor-spec 7.3). */
size_t relay_flow_max_data_len(const relay_flow_t *f);
/** True if the DATA cell about to be packaged is one whose digest must be
 * remembered (circuit level: it brings the window to a multiple of the
 * increment).  Call before relay_flow_note_packaged(). */
bool relay_flow_packaging_triggers_sendme(const relay_flow_t *f);
/** One DATA cell was sent.  digest (RELAY_SENDME_DIGEST_LEN bytes, the
 * sender's rolling digest right after this cell) is remembered when the
 * cell triggers a SENDME and f is authenticated; it may be NULL otherwise.
 * 0, or RELAY_FLOW_ERR_EMPTY if the window was already 0 (nothing changes). */
int relay_flow_note_packaged(relay_flow_t *f, const uint8_t *digest);

/** One DATA cell arrived.  Returns 1 if a SENDME must be sent now (the
 * deliver window is then already raised by the increment), 0 if not, or
 * RELAY_FLOW_ERR_DELIVER if the window went below 0 (protocol error). */
int relay_flow_note_delivered(relay_flow_t *f);

/** A SENDME for this window arrived (m NULL: stream level, body ignored).
 * Checks the version and (authenticated) the digest against the oldest
 * remembered one in constant time, and that the package window does not
 * pass its start value.  0 (window raised) or a RELAY_FLOW_ERR_*; on error
 * nothing changes and the caller closes the circuit. */
int relay_flow_handle_sendme(relay_flow_t *f, const relay_sendme_t *m);

#endif
