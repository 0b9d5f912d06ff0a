/* onion_ntor.h -- the ntor circuit handshake (tor-spec 5.1.4, CREATE2
 * handshake type 0x0002) with HKDF-SHA256 key expansion (tor-spec 5.2.2).
 *
 * Client:  ntor_client_create() -> 84-byte onionskin ID|B|X for CREATE2;
 *          ntor_client_finish() on the 64-byte Y|AUTH reply -> key material.
 * Relay:   ntor_server_respond() on the onionskin -> reply and key material.
 *
 * Key material is K = HKDF-SHA256(salt=t_key, ikm=secret_input,
 * info=m_expand); callers ask for as many bytes as they need (72 for
 * Df|Db|Kf|Kb, 92 when KH is needed too).  All functions are pure (no I/O);
 * every secret intermediate is wiped before returning.
 */
#ifndef ALLIUM_CORE_ONION_ONION_NTOR_H
#define ALLIUM_CORE_ONION_ONION_NTOR_H

#include <stddef.h>
#include <stdint.h>

#include "allium/lib/crypto/x25519.h"

#define NTOR_ID_LEN 20          /* relay RSA identity digest */
#define NTOR_KEY_LEN 32         /* curve25519 keys, AUTH */
#define NTOR_ONIONSKIN_LEN 84   /* NODEID | KEYID | CLIENT_KP */
#define NTOR_REPLY_LEN 64       /* SERVER_KP | AUTH */
#define NTOR_KEYS_MAX (255 * 32)

/* Offsets inside the client onionskin. */
#define NTOR_ONIONSKIN_ID_OFF 0
#define NTOR_ONIONSKIN_KEYID_OFF 20
#define NTOR_ONIONSKIN_X_OFF 52

/** Client-side state between create and finish (x, X, B, ID).  Opaque. */
typedef struct ntor_client_state_t ntor_client_state_t;

/** Start a handshake with the relay whose identity digest is node_id and
 * whose ntor onion key is B, with a fresh ephemeral key.  Writes the 84-byte
 * onionskin to onionskin_out and a new state to *state_out (caller frees with
 * ntor_client_state_free()).  0 or -1. */
int ntor_client_create(ntor_client_state_t **state_out,
                       uint8_t onionskin_out[NTOR_ONIONSKIN_LEN],
                       const uint8_t node_id[NTOR_ID_LEN],
                       const uint8_t B[NTOR_KEY_LEN]);

/** As ntor_client_create() but with the caller's ephemeral key pair x
 * (copied; for tests with fixed inputs). */
int ntor_client_create_with_key(ntor_client_state_t **state_out,
                                uint8_t onionskin_out[NTOR_ONIONSKIN_LEN],
                                const uint8_t node_id[NTOR_ID_LEN],
                                const uint8_t B[NTOR_KEY_LEN],
                                const x25519_keypair_t *x);

/** Finish the handshake with the relay's 64-byte reply: checks that no DH
 * result is all-zero and that AUTH matches (constant time), then writes
 * keys_len (<= NTOR_KEYS_MAX) bytes of key material to keys_out.  On any
 * failure returns -1 and keys_out is zeroed.  The state is not consumed. */
int ntor_client_finish(const ntor_client_state_t *state,
                       const uint8_t reply[NTOR_REPLY_LEN],
                       uint8_t *keys_out, size_t keys_len);

/** Relay side: answer the 84-byte onionskin with our identity digest node_id
 * and onion key pair b (b->pub must equal the onionskin's KEYID, node_id its
 * NODEID).  y is the ephemeral key pair to use, or NULL for a fresh one.
 * Writes the 64-byte reply and keys_len bytes of key material.  Returns 0,
 * or -1 on a wrong ID/KEYID, an all-zero DH result or a bad length (outputs
 * zeroed). */
int ntor_server_respond(uint8_t reply_out[NTOR_REPLY_LEN],
                        uint8_t *keys_out, size_t keys_len,
                        const uint8_t onionskin[NTOR_ONIONSKIN_LEN],
                        const uint8_t node_id[NTOR_ID_LEN],
                        const x25519_keypair_t *b,
                        const x25519_keypair_t *y);

/** Wipe and free a client state; NULL is fine. */
void ntor_client_state_free_(ntor_client_state_t *state);
#define ntor_client_state_free(p) \
  do { ntor_client_state_free_(p); (p) = NULL; } while (0)

#endif
