/* relay_crypto.h -- per-hop relay cell encryption and integrity state
 * (tor-spec 0.3, 5.2, 5.5, 6.1; rend-spec-v3 4.2.1 / 5 for the onion
 * service hop).
 *
 * One relay_crypto_t holds, for one hop of one circuit, the forward and
 * backward AES-CTR streams (Kf, Kb) and running digests (seeded with Df,
 * Db).  "Forward" is away from the circuit's originator.  Two flavours:
 *   RELAY_CRYPTO_TOR1: ntor/ntor-v3 hops, SHA-1 digests, AES-128 (72 bytes
 *                      of key material Df(20)|Db(20)|Kf(16)|Kb(16)).
 *   RELAY_CRYPTO_HS:   the end-to-end onion service hop, SHA3-256 digests,
 *                      AES-256 (128 bytes Df(32)|Db(32)|Kf(32)|Kb(32)).
 *
 * All functions work in place on 509-byte relay cell payloads:
 *   command [1] | recognized [2] | stream id [2] | digest [4] | length [2] | data [498]
 * The originator encrypts with relay_crypto_origin_encrypt() and decrypts
 * with relay_crypto_origin_decrypt(); a relay uses relay_crypto_relay_decrypt()
 * for forward cells and relay_crypto_relay_encrypt() /
 * relay_crypto_relay_originate() for backward cells.
 */
#ifndef ALLIUM_CORE_CIRCUIT_RELAY_CRYPTO_H
#define ALLIUM_CORE_CIRCUIT_RELAY_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define RELAY_PAYLOAD_LEN 509
#define RELAY_HEADER_LEN 11
#define RELAY_DATA_MAX (RELAY_PAYLOAD_LEN - RELAY_HEADER_LEN)
#define RELAY_OFF_COMMAND 0
#define RELAY_OFF_RECOGNIZED 1
#define RELAY_OFF_STREAM_ID 3
#define RELAY_OFF_DIGEST 5
#define RELAY_OFF_LENGTH 9
#define RELAY_OFF_DATA 11
#define RELAY_DIGEST_FIELD_LEN 4

typedef enum relay_crypto_kind_t {
  RELAY_CRYPTO_TOR1 = 0,   /* SHA-1 + AES-128-CTR */
  RELAY_CRYPTO_HS = 1,     /* SHA3-256 + AES-256-CTR */
} relay_crypto_kind_t;

typedef struct relay_crypto_t relay_crypto_t;

/** Bytes of key material kind needs: 72 (TOR1) or 128 (HS). */
size_t relay_crypto_key_material_len(relay_crypto_kind_t kind);

/** New per-hop state from key material Df|Db|Kf|Kb (keys_len may exceed the
 * needed length, e.g. 92 bytes with KH; the rest is ignored).  reverse != 0
 * swaps the directions, as the onion service side of an HS hop does (it
 * sends with Kb/Db and receives with Kf/Df).  Returns NULL on a bad kind or a
 * short key.  Caller frees with relay_crypto_free(); the key material is not
 * kept outside the digest/cipher contexts. */
relay_crypto_t *relay_crypto_new(relay_crypto_kind_t kind, const uint8_t *keys,
                                 size_t keys_len, int reverse);

/** Wipe and free; NULL is fine. */
void relay_crypto_free_(relay_crypto_t *c);
#define relay_crypto_free(p) do { relay_crypto_free_(p); (p) = NULL; } while (0)

/** Originator: send cell (plaintext, any recognized/digest contents) to hop
 * number target (0-based) of the n_hops in hops[]: sets recognized = 0 and
 * the digest field from hops[target]'s forward digest, then encrypts with
 * the forward keys of hops target, target-1, ..., 0.  0, or -1 if target >=
 * n_hops. */
int relay_crypto_origin_encrypt(relay_crypto_t *const *hops, size_t n_hops,
                                size_t target, uint8_t cell[RELAY_PAYLOAD_LEN]);

/** Originator: decrypt a backward cell layer by layer (hop 0 first) until a
 * hop recognizes it; *hop_out gets that hop's index and 0 is returned.  -1
 * if no hop recognized it (a protocol error: the caller closes the circuit;
 * the cell is then decrypted by all layers). */
int relay_crypto_origin_decrypt(relay_crypto_t *const *hops, size_t n_hops,
                                uint8_t cell[RELAY_PAYLOAD_LEN], size_t *hop_out);

/** Relay: remove our layer from a forward cell.  Returns 1 if the cell is
 * for us (recognized == 0 and the digest matches; our forward digest then
 * includes it), 0 if it is to be passed on (our digest state unchanged). */
int relay_crypto_relay_decrypt(relay_crypto_t *c, uint8_t cell[RELAY_PAYLOAD_LEN]);

/** Relay: add our layer to a backward cell we pass towards the originator. */
void relay_crypto_relay_encrypt(relay_crypto_t *c, uint8_t cell[RELAY_PAYLOAD_LEN]);

/** Relay: send a backward cell of our own: sets recognized = 0 and the digest
 * field from our backward digest, then encrypts with Kb. */
void relay_crypto_relay_originate(relay_crypto_t *c, uint8_t cell[RELAY_PAYLOAD_LEN]);

/** The first n (<= digest length) bytes of the running digest of one
 * direction (backward != 0: Db side), e.g. for authenticated SENDMEs and
 * tests.  Nothing is changed. */
void relay_crypto_digest_peek(const relay_crypto_t *c, int backward,
                              uint8_t *out, size_t n);

#endif
