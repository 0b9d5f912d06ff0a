/* socks.h -- sans-IO SOCKS server state machine (SOCKS4, SOCKS4a, SOCKS5).
 *
 * Implements the server side of RFC 1928 (SOCKS5), RFC 1929 (username/
 * password sub-negotiation), SOCKS4 and SOCKS4a, with tor's extensions from
 * torspec socks-extensions.txt: commands RESOLVE (0xF0, SOCKS4/4a/5) and
 * RESOLVE_PTR (0xF1, SOCKS5), usernames and passwords kept for stream
 * isolation (empty ones allowed, and an RFC 1929 message accepted even when
 * "no authentication" was selected), and "HTTP-resistance": a request that
 * starts like HTTP gets a short HTML notice.  Hostnames are never resolved
 * here; they are handed to the caller as text.
 *
 * Usage: feed the bytes read from the client to socks_feed().  Each call
 * consumes at most one protocol message (bytes after it stay with the
 * caller, e.g. optimistic data) and reports one event:
 *   SOCKS_NEED_MORE      everything given was buffered; read more.
 *   SOCKS_REPLY          send socks_state_reply() to the client, then keep
 *                        feeding (method selection, auth status).
 *   SOCKS_REQUEST_READY  socks_state_request() holds the request.  Answer
 *                        it later with socks_reply_encode().
 *   SOCKS_ERROR          send socks_state_reply() (may be empty) and close.
 * Buffered input is bounded by SOCKS_MAX_MESSAGE bytes.  Target port 0 and
 * IPv6 targets are passed through: the caller applies the port's flags
 * (IPv6Traffic, NoDNSRequest, ...) and refuses port 0.
 */
#ifndef ALLIUM_FEATURE_PROXY_SOCKS_H
#define ALLIUM_FEATURE_PROXY_SOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest single message: SOCKS4a with 255-byte user id and hostname. */
#define SOCKS_MAX_MESSAGE 520
#define SOCKS_MAX_FIELD 255

typedef enum socks_result_t {
  SOCKS_NEED_MORE = 0,
  SOCKS_REPLY = 1,
  SOCKS_REQUEST_READY = 2,
  SOCKS_ERROR = 3,
} socks_result_t;

/** Why a SOCKS_ERROR happened (for logs and tests). */
typedef enum socks_error_t {
  SOCKS_ERR_NONE = 0,
  SOCKS_ERR_VERSION,       /* unknown first byte: reply is empty */
  SOCKS_ERR_HTTP,          /* looks like HTTP: reply is an HTML notice */
  SOCKS_ERR_SOCKS4_OFF,    /* SOCKS4/4a not allowed on this port */
  SOCKS_ERR_SOCKS5_OFF,    /* SOCKS5 not allowed on this port */
  SOCKS_ERR_NO_METHOD,     /* no acceptable auth method (05 FF sent) */
  SOCKS_ERR_AUTH,          /* bad RFC 1929 message */
  SOCKS_ERR_COMMAND,       /* unsupported command */
  SOCKS_ERR_ADDRTYPE,      /* unsupported address type */
  SOCKS_ERR_HOSTNAME,      /* empty hostname or one with a NUL byte */
  SOCKS_ERR_MALFORMED,     /* other malformed request */
  SOCKS_ERR_TOOLONG,       /* message larger than SOCKS_MAX_MESSAGE */
  SOCKS_ERR_STATE,         /* fed after the request or after an error */
} socks_error_t;

/** SOCKS5 commands, tor's extensions included. */
#define SOCKS_CMD_CONNECT 0x01
#define SOCKS_CMD_BIND 0x02
#define SOCKS_CMD_UDP_ASSOCIATE 0x03
#define SOCKS_CMD_RESOLVE 0xF0
#define SOCKS_CMD_RESOLVE_PTR 0xF1

/** SOCKS5 address types (also used for SOCKS4: IPv4, or HOSTNAME for 4a). */
#define SOCKS_ATYP_IPV4 0x01
#define SOCKS_ATYP_HOSTNAME 0x03
#define SOCKS_ATYP_IPV6 0x04

/** SOCKS5 authentication methods. */
#define SOCKS_AUTH_NONE 0x00
#define SOCKS_AUTH_USERPASS 0x02
#define SOCKS_AUTH_NO_ACCEPTABLE 0xFF

/** SOCKS5 reply codes (RFC 1928 section 6) and tor's extended errors. */
typedef enum socks5_reply_t {
  SOCKS5_SUCCEEDED = 0x00,
  SOCKS5_GENERAL_FAILURE = 0x01,
  SOCKS5_NOT_ALLOWED = 0x02,
  SOCKS5_NET_UNREACHABLE = 0x03,
  SOCKS5_HOST_UNREACHABLE = 0x04,
  SOCKS5_CONNECTION_REFUSED = 0x05,
  SOCKS5_TTL_EXPIRED = 0x06,
  SOCKS5_COMMAND_NOT_SUPPORTED = 0x07,
  SOCKS5_ADDRESS_TYPE_NOT_SUPPORTED = 0x08,
  SOCKS5_HS_DESC_NOT_FOUND = 0xF0,
  SOCKS5_HS_DESC_INVALID = 0xF1,
  SOCKS5_HS_INTRO_FAILED = 0xF2,
  SOCKS5_HS_REND_FAILED = 0xF3,
  SOCKS5_HS_MISSING_CLIENT_AUTH = 0xF4,
  SOCKS5_HS_WRONG_CLIENT_AUTH = 0xF5,
  SOCKS5_HS_BAD_ADDRESS = 0xF6,
  SOCKS5_HS_INTRO_TIMEDOUT = 0xF7,
} socks5_reply_t;

/** SOCKS4 reply codes. */
#define SOCKS4_GRANTED 90
#define SOCKS4_REJECTED 91
#define SOCKS4_NO_IDENTD 92
#define SOCKS4_IDENTD_MISMATCH 93

/** A target or bound address. */
typedef struct socks_addr_t {
  uint8_t atyp;                          /* SOCKS_ATYP_*; 0 = none */
  uint8_t addr[16];                      /* IPv4 in 0..3, or IPv6 */
  char hostname[SOCKS_MAX_FIELD + 1];    /* NUL-terminated, no NUL inside */
  uint16_t port;
} socks_addr_t;

typedef struct socks_request_t {
  uint8_t version;        /* 4 or 5 */
  bool socks4a;           /* SOCKS4 with a hostname */
  uint8_t command;        /* SOCKS_CMD_* */
  socks_addr_t target;
  /* Credentials for stream isolation: SOCKS5 RFC 1929 username/password, or
   * the SOCKS4 user id as username (no password). */
  bool has_auth;          /* an RFC 1929 message / SOCKS4 user id was seen */
  uint8_t auth_method;    /* SOCKS5 method selected */
  uint8_t username[SOCKS_MAX_FIELD];
  size_t username_len;
  uint8_t password[SOCKS_MAX_FIELD];
  size_t password_len;
} socks_request_t;

typedef struct socks_config_t {
  bool allow_socks4;      /* SOCKS4 and SOCKS4a */
  bool allow_socks5;
  bool allow_noauth;      /* SOCKS5 method 0x00 */
  bool allow_userpass;    /* SOCKS5 method 0x02 */
  /* Select "no auth" over username/password when a client offers both
   * (PreferSOCKSNoAuth).  Default: username/password, for isolation. */
  bool prefer_noauth;
} socks_config_t;

/** A config with everything tor allows by default. */
void socks_config_default(socks_config_t *cfg);

typedef struct socks_state_t socks_state_t;

/** New state machine; cfg is copied.  Caller frees with socks_state_free. */
socks_state_t *socks_state_new(const socks_config_t *cfg);
/** Free (NULL ok); wipes credentials. */
void socks_state_free_(socks_state_t *st);
#define socks_state_free(p) do { socks_state_free_(p); (p) = NULL; } while (0)

/** Feed len bytes; *consumed gets how many were used (always all of them
 * on SOCKS_NEED_MORE, none on a repeated call after the end). */
socks_result_t socks_feed(socks_state_t *st, const uint8_t *data, size_t len,
                          size_t *consumed);

/** Reply bytes of the last SOCKS_REPLY / SOCKS_ERROR (owned by st; valid
 * until the next socks_feed or free).  *len may be 0. */
const uint8_t *socks_state_reply(const socks_state_t *st, size_t *len);
/** The request after SOCKS_REQUEST_READY (owned by st), else NULL. */
const socks_request_t *socks_state_request(const socks_state_t *st);
/** Why the last SOCKS_ERROR happened. */
socks_error_t socks_state_error(const socks_state_t *st);

/** Encode a reply to a request into out (at least 262 bytes for SOCKS5).
 * version 5: status is a socks5_reply_t; bound may be NULL (0.0.0.0:0), or
 * IPv4, IPv6 or a hostname (RESOLVE_PTR answers).
 * version 4: status is SOCKS4_GRANTED..SOCKS4_IDENTD_MISMATCH; bound may be
 * NULL or IPv4.
 * Returns the number of bytes written, or -1 on bad arguments / too small
 * buffer. */
int socks_reply_encode(uint8_t version, uint8_t status,
                       const socks_addr_t *bound, uint8_t *out, size_t outlen);

/** SOCKS5 reply code for a RELAY_END reason (tor-spec 6.3); unknown
 * reasons give SOCKS5_GENERAL_FAILURE. */
uint8_t socks5_reply_from_end_reason(uint8_t reason);
/** SOCKS4 code for a SOCKS5 reply code: 90 on success, else 91. */
uint8_t socks4_status_from_socks5(uint8_t socks5_status);

/* ---- SOCKS request safety (tor(1) SafeSocks, TestSocks, WarnUnsafeSocks;
 * socks_safety.c) ---- */

typedef struct socks_safety_cfg_t {
  bool safe_socks;        /* SafeSocks: refuse unsafe requests */
  bool test_socks;        /* TestSocks: a notice per request */
  bool warn_unsafe;       /* WarnUnsafeSocks: warn about unsafe requests */
} socks_safety_cfg_t;

/** What to do with one request. */
typedef struct socks_safety_t {
  bool unsafe;            /* CONNECT to an IP literal: SOCKS4 without 4a,
                           * SOCKS5 ATYP IPv4 / IPv6 (the application
                           * resolved the name itself, outside Tor) */
  bool refuse;            /* unsafe and SafeSocks */
  bool warn;              /* unsafe and (WarnUnsafeSocks or refusing) */
  bool notice;            /* TestSocks */
} socks_safety_t;

/** Decide for req under cfg (NULL: tor's defaults: warn only).  RESOLVE
 * and RESOLVE_PTR carry no application data and are never unsafe. */
void socks_request_safety(const socks_request_t *req,
                          const socks_safety_cfg_t *cfg, socks_safety_t *out);
/** "socks4", "socks4a" or "socks5". */
const char *socks_request_protocol(const socks_request_t *req);
/** Log what sf says for stream number stream (rate-limited: warnings once
 * per 5 minutes with a count of those suppressed, TestSocks notices at
 * most 20 a minute).  The address appears only with SafeLogging 0. */
void socks_safety_log(const socks_safety_t *sf, const socks_request_t *req,
                      uint64_t stream);

#endif
