/* onion_ntor_v3.h -- the ntor v3 circuit handshake with extra data
 * (torspec proposals/332-ntor-v3-with-extra-data.md; CREATE2 type 0x0003).
 *
 * The client sends an encrypted, authenticated message CM with its
 * onionskin; the relay decrypts it, lets its caller choose a reply message
 * SM, and returns it encrypted in the reply.  Both sides bind a verification
 * string VER (NTOR3_CIRC_VERIFICATION for circuit extension).
 *
 *   client:  ntor3_client_create()  -> ID | B | X | ENC(CM) | MAC
 *   relay:   ntor3_server_process() -> CM    (MAC checked)
 *            ntor3_server_reply()   -> Y | AUTH | ENC(SM), key material
 *   client:  ntor3_client_finish()  -> SM, key material  (AUTH checked)
 *
 * The key material is the SHAKE-256 stream KDF_final(ntor_key_seed) after
 * its first 32 bytes (ENC_KEY); ask for 72 bytes (Df|Db|Kf|Kb) or 92 (+KH).
 */
#ifndef ALLIUM_CORE_ONION_ONION_NTOR_V3_H
#define ALLIUM_CORE_ONION_ONION_NTOR_V3_H

#include <stddef.h>
#include <stdint.h>

#include "allium/lib/crypto/x25519.h"

#define NTOR3_ID_LEN 32         /* relay ed25519 identity */
#define NTOR3_KEY_LEN 32        /* curve25519 keys */
#define NTOR3_MAC_LEN 32
/* Client handshake = ID | B | X | MSG | MAC; server = Y | AUTH | MSG. */
#define NTOR3_CLIENT_OVERHEAD (NTOR3_ID_LEN + 2 * NTOR3_KEY_LEN + NTOR3_MAC_LEN)
#define NTOR3_SERVER_OVERHEAD (NTOR3_KEY_LEN + NTOR3_MAC_LEN)
#define NTOR3_ONIONSKIN_ID_OFF 0
#define NTOR3_ONIONSKIN_KEYID_OFF 32
#define NTOR3_ONIONSKIN_X_OFF 64
/** Largest CM/SM accepted (a CREATE2 body cannot carry more anyway). */
#define NTOR3_MSG_MAX 4096
#define NTOR3_KEYS_MAX 4096
/** The verification string tor uses for CREATE2 / EXTEND2. */
#define NTOR3_CIRC_VERIFICATION "circuit extend"

typedef struct ntor3_client_state_t ntor3_client_state_t;
typedef struct ntor3_server_state_t ntor3_server_state_t;

/** Start a handshake with relay (id, B), verification string ver and client
 * message msg (msg_len may be 0).  x is the ephemeral key pair, or NULL for a
 * fresh one.  On success *onionskin_out is a new buffer of *onionskin_len_out
 * (= NTOR3_CLIENT_OVERHEAD + msg_len) bytes and *state_out a new state; the
 * caller frees both (al_free, ntor3_client_state_free).  0 or -1. */
int ntor3_client_create(ntor3_client_state_t **state_out,
                        uint8_t **onionskin_out, size_t *onionskin_len_out,
                        const uint8_t id[NTOR3_ID_LEN],
                        const uint8_t B[NTOR3_KEY_LEN],
                        const uint8_t *ver, size_t ver_len,
                        const uint8_t *msg, size_t msg_len,
                        const x25519_keypair_t *x);

/** Finish the handshake with the relay's reply (reply_len >=
 * NTOR3_SERVER_OVERHEAD).  Checks the DH results and AUTH (constant time);
 * then writes keys_len (<= NTOR3_KEYS_MAX) bytes of key material to keys_out,
 * and sets *msg_out to a new buffer (caller al_free()s; NULL if empty) with
 * the relay's decrypted message of *msg_len_out bytes.  0 or -1 (nothing
 * allocated, keys_out zeroed).  The state is not consumed. */
int ntor3_client_finish(const ntor3_client_state_t *state,
                        const uint8_t *reply, size_t reply_len,
                        uint8_t **msg_out, size_t *msg_len_out,
                        uint8_t *keys_out, size_t keys_len);

/** Relay side, phase 1: check the onionskin against our identity id and
 * onion key pair b (its NODEID and KEYID must match), check the client's MAC,
 * and decrypt its message: *msg_out is a new buffer (caller al_free()s; NULL
 * if empty) of *msg_len_out bytes.  *state_out gets a new state for
 * ntor3_server_reply() (caller frees).  0 or -1 (nothing allocated). */
int ntor3_server_process(ntor3_server_state_t **state_out,
                         uint8_t **msg_out, size_t *msg_len_out,
                         const uint8_t *onionskin, size_t onionskin_len,
                         const uint8_t id[NTOR3_ID_LEN],
                         const x25519_keypair_t *b,
                         const uint8_t *ver, size_t ver_len);

/** Relay side, phase 2: reply with message msg (may be empty), ephemeral key
 * pair y (NULL: fresh).  *reply_out is a new buffer of *reply_len_out (=
 * NTOR3_SERVER_OVERHEAD + msg_len) bytes, caller al_free()s; keys_len bytes
 * of key material go to keys_out.  0 or -1 (nothing allocated). */
int ntor3_server_reply(const ntor3_server_state_t *state,
                       const uint8_t *msg, size_t msg_len,
                       const x25519_keypair_t *y,
                       uint8_t **reply_out, size_t *reply_len_out,
                       uint8_t *keys_out, size_t keys_len);

/** Wipe and free; NULL is fine. */
void ntor3_client_state_free_(ntor3_client_state_t *state);
#define ntor3_client_state_free(p) \
  do { ntor3_client_state_free_(p); (p) = NULL; } while (0)
void ntor3_server_state_free_(ntor3_server_state_t *state);
#define ntor3_server_state_free(p) \
  do { ntor3_server_state_free_(p); (p) = NULL; } while (0)

/* ---- the extension list carried in ntor v3 messages (proposal 332
 * "MESSAGE": N_EXTENSIONS, then TYPE, LEN, BODY for each; used for
 * proposal 324's CC_REQUEST / CC_RESPONSE and 346's SUBPROTO) ---- */

/** Called once per extension; a nonzero return stops the walk and is
 * returned by ntor3_ext_walk(). */
typedef int (*ntor3_ext_fn_t)(void *arg, uint8_t type, const uint8_t *body,
                              uint8_t body_len);
/** Walk the extensions of msg[0..len) (len 0: none).  0 when every
 * extension was whole (*n_out, if not NULL, gets N_EXTENSIONS), the first
 * nonzero return of fn, or NTOR3_EXT_TRUNCATED when the list is cut short
 * (also for a NULL msg with len > 0).  Bytes after the last extension are
 * ignored, as tor does. */
#define NTOR3_EXT_TRUNCATED (-1)
int ntor3_ext_walk(const uint8_t *msg, size_t len, ntor3_ext_fn_t fn,
                   void *arg, unsigned *n_out);

#endif
