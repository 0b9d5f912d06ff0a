/* congestion_codec.h -- wire formats of congestion control (proposal 324):
 * the ntor v3 handshake extensions that negotiate it (10.3: CC_REQUEST,
 * type 1, empty; CC_RESPONSE, type 2, one byte sendme_inc; 10.5 client
 * checks), the RELAY_XON / RELAY_XOFF bodies (4.1: version 0; XON carries
 * kbps_ewma, 0 = unlimited), and the protover test for an exit that can do
 * it (FlowCtrl=2 and Relay=4, tor-spec 9 "Subprotocol versioning").
 *
 * The ntor v3 message (proposal 332) is an extension list:
 *   N_EXTENSIONS u8, then N times: EXT_TYPE u8, EXT_LEN u8, EXT_LEN bytes.
 * Unknown extensions are ignored; only the first copy of one counts.
 */
#ifndef ALLIUM_CORE_CIRCUIT_CONGESTION_CODEC_H
#define ALLIUM_CORE_CIRCUIT_CONGESTION_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CC_EXT_REQUEST 1
#define CC_EXT_RESPONSE 2
/** Extension type 3 (SUBPROTO, proposal 346): never ignorable. */
#define CC_EXT_SUBPROTO 3
/** Encoded sizes. */
#define CC_EXT_REQUEST_LEN 3     /* N=1, type 1, len 0 */
#define CC_EXT_RESPONSE_LEN 4    /* N=1, type 2, len 1, sendme_inc */
#define CC_XON_LEN 5
#define CC_XOFF_LEN 1

#define CC_CODEC_ERR_TRUNCATED (-1)
#define CC_CODEC_ERR_VERSION (-2)
#define CC_CODEC_ERR_SPACE (-3)
#define CC_CODEC_ERR_UNASKED (-4)   /**< CC_RESPONSE without CC_REQUEST */
#define CC_CODEC_ERR_INC (-5)       /**< sendme_inc too far from ours */
#define CC_CODEC_ERR_UNSUPPORTED (-6) /**< an extension we may not ignore */

/** What an extension list said. */
typedef struct cc_ext_t {
  bool cc_request;          /**< a CC_REQUEST was present */
  bool cc_response;         /**< a CC_RESPONSE was present ... */
  uint8_t sendme_inc;       /**< ... with this value (the first one) */
  bool subproto;            /**< a SUBPROTO request was present */
  unsigned n_ext;           /**< extensions listed */
} cc_ext_t;

/** Client message asking for congestion control.  Writes
 * CC_EXT_REQUEST_LEN bytes; 0 or CC_CODEC_ERR_SPACE. */
int cc_ext_encode_request(uint8_t *out, size_t cap, size_t *len_out);
/** Exit reply granting it with sendme_inc. */
int cc_ext_encode_response(uint8_t sendme_inc, uint8_t *out, size_t cap,
                           size_t *len_out);
/** Parse an extension list (len 0: no extensions).  A CC_RESPONSE body
 * must be at least one byte (extra bytes ignored).  Trailing bytes after
 * the list are ignored.  0 or CC_CODEC_ERR_TRUNCATED. */
int cc_ext_parse(const uint8_t *msg, size_t len, cc_ext_t *out);
/** Client checks on the exit's reply (10.5).  requested: we sent
 * CC_REQUEST; our_inc: our consensus cc_sendme_inc.  Returns 1 with
 * *inc_out set when congestion control is on for the circuit, 0 when it
 * stays off (no CC_RESPONSE), or CC_CODEC_ERR_UNASKED /
 * CC_CODEC_ERR_INC (0, or more than a factor 2 from ours): the circuit
 * must be closed.  (An exit that gets a SUBPROTO request it cannot honour
 * must refuse the handshake: CC_CODEC_ERR_UNSUPPORTED is for that side.) */
int cc_ext_check_response(const cc_ext_t *reply, bool requested,
                          uint8_t our_inc, uint8_t *inc_out);

/** RELAY_XON / RELAY_XOFF bodies.  Decoders: unknown versions are a
 * protocol violation (CC_CODEC_ERR_VERSION); extra bytes are ignored. */
int cc_xon_encode(uint32_t kbps_ewma, uint8_t *out, size_t cap,
                  size_t *len_out);
int cc_xoff_encode(uint8_t *out, size_t cap, size_t *len_out);
int cc_xon_decode(const uint8_t *body, size_t len, uint32_t *kbps_out);
int cc_xoff_decode(const uint8_t *body, size_t len);

/** True if the "proto"/"pr" string lists version v of protocol name
 * (entries "Name=1-3,5", space separated).  Malformed entries never match. */
bool cc_protover_has(const char *protocols, const char *name, unsigned v);
/** FlowCtrl=2 and Relay=4: the relay can negotiate congestion control. */
bool cc_protover_supports_cc(const char *protocols);

#endif
