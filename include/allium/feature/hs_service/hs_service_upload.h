/* hs_service_upload.h -- uploading one onion-service descriptor to one
 * HSDir (rend-spec-v3 2.2.6 "POST /tor/hs/3/publish" over a BEGIN_DIR
 * stream, dir-spec HTTP/1.0 answers) over a 3-hop circuit ending at the
 * HSDir, built by the caller's launch function.
 *
 * Usage: hs_service_uploader_new() once the channel manager exists;
 * hs_service_upload_start() per (descriptor, HSDir); hs_service_uploader_tick()
 * from the owner's timer (deadlines).  Each upload: launch a circuit to the
 * HSDir; once built, BEGIN_DIR; once CONNECTED, the request
 * (hs_service_publish_request()); then the answer is read until END (or
 * until its head and, with a Content-Length, its body are in) and its
 * status reported through cb(arg, status) exactly once -- never from inside
 * hs_service_upload_start().  The circuit is closed when the upload ends.
 *
 * An upload's deadline (attempt_timeout_msec) counts from the first tick
 * after its start, so the owner's clock may have any origin.
 * Callbacks may call hs_service_upload_start() / _cancel(), but not
 * hs_service_uploader_free() or _tick().
 */
#ifndef ALLIUM_FEATURE_HS_SERVICE_HS_SERVICE_UPLOAD_H
#define ALLIUM_FEATURE_HS_SERVICE_HS_SERVICE_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "allium/core/mainloop/origin_channels.h"
#include "allium/feature/nodelist/nodelist.h"

/** Build a 3-hop circuit whose last hop is last (borrowed for the call:
 * copy what you need); cbs is for chanmgr_launch().  0 with *circ_out set,
 * or -1. */
typedef int (*hs_service_launch_fn)(void *arg, const node_t *last,
                                    const chanmgr_circ_cbs_t *cbs,
                                    uint64_t *circ_out);

typedef struct hs_service_upload_cfg_t {
  chanmgr_t *cm;                 /**< borrowed */
  hs_service_launch_fn launch;
  void *launch_arg;
  uint32_t attempt_timeout_msec; /**< circuit + stream + answer; 0: 30000 */
  size_t max_pending;            /**< uploads at once; 0: 32 */
} hs_service_upload_cfg_t;

/** http_status: the HTTP status of the HSDir's answer (200 stored, 400
 * refused, ...) or -1 when the circuit / stream / transfer failed or timed
 * out. */
typedef void (*hs_service_upload_cb)(void *arg, int http_status);

typedef struct hs_service_uploader_t hs_service_uploader_t;

/** New uploader (cfg copied).  NULL on bad arguments (no cm or launch). */
hs_service_uploader_t *hs_service_uploader_new(
    const hs_service_upload_cfg_t *cfg);
/** Close every upload's circuit (no callbacks) and free; NULL ok. */
void hs_service_uploader_free_(hs_service_uploader_t *u);
#define hs_service_uploader_free(p) \
  do { hs_service_uploader_free_(p); (p) = NULL; } while (0)

/** Upload desc[len] (copied) to hsdir (borrowed for the call).  0: cb(arg,
 * status) will run exactly once later; -1 (bad arguments, max_pending
 * uploads under way, launch failed): no callback. */
int hs_service_upload_start(hs_service_uploader_t *u, const node_t *hsdir,
                            const char *desc, size_t len,
                            hs_service_upload_cb cb, void *arg);
/** Withdraw every upload of (cb, arg): no callback runs for them; their
 * circuits close. */
void hs_service_upload_cancel(hs_service_uploader_t *u,
                              hs_service_upload_cb cb, void *arg);
/** Deadlines (and freeing finished uploads); call every 100 ms .. 1 s. */
void hs_service_uploader_tick(hs_service_uploader_t *u, uint64_t now_msec);
/** Uploads under way. */
size_t hs_service_uploader_n_pending(const hs_service_uploader_t *u);

/* ---- pure helper (tests) ---- */

/** The status code of the HTTP/1.x response head in buf[len]
 * ("HTTP/1.0 200 OK\r\n..."): 100..599, or -1 if the status line is
 * malformed, incomplete (no CRLF yet) or not within the first 8 KiB. */
int hs_service_upload_parse_status(const uint8_t *buf, size_t len);

#endif
