/* dircache_url.c -- parse the request paths a directory cache serves
 * (dir-spec.txt appendix B "General-use HTTP URLs", 4.3 microdescriptors,
 * 4.5.2 consensus diffs).
 *
 * Fingerprints and SHA-1 digests are 40 hex digits, either case ("Servers
 * MUST accept both upper and lower case fingerprints"), joined by '+';
 * microdescriptor digests are 43 base64 characters (SHA-256, '=' omitted),
 * joined by '-'.  Consensus authority fingerprints may be shortened to any
 * even number of hex digits.  A trailing ".z" asks for deflate.  Malformed
 * items of a list are skipped; a list with no valid item is MALFORMED.
 * Duplicates are dropped (first occurrence kept, order preserved).
 * An HSDir's paths (rend-spec-v3 2.2.6): "/tor/hs/3/publish" (the upload)
 * and "/tor/hs/3/<z>", z the blinded key in base64 ('=' optional); a z that
 * is no key still names an HS_DESC request (tor answers it 404).
 */
#include <string.h>

#include "allium/feature/dircache/dircache_parse.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

static const char *const kind_names[DIRCACHE_URL_N_KINDS] = {
  "consensus", "consensus-diff", "microdescs", "server-d", "server-fp",
  "server-all", "server-authority", "keys-all", "keys-fp", "keys-sk",
  "keys-fp-sk", "keys-authority", "hs-desc", "hs-publish", "not-served",
};

const char *
dircache_url_kind_name(dircache_url_kind_t k)
{
  return (unsigned)k < DIRCACHE_URL_N_KINDS ? kind_names[k] : "unknown";
}

void
dircache_url_clear(dircache_url_t *u)
{
  if (!u)
    return;
  al_free(u->items);
  al_free(u->items2);
  al_free(u->fp_prefixes);
  al_free(u->fp_prefix_lens);
  memset(u, 0, sizeof(*u));
}

static bool
starts(const char *s, size_t len, const char *pfx, size_t *rest)
{
  size_t l = strlen(pfx);
  if (len < l || memcmp(s, pfx, l))
    return false;
  *rest = l;
  return true;
}

/* Add item d (dlen bytes) unless already listed. */
static void
add_item(dircache_url_t *u, const uint8_t *d, size_t dlen, const uint8_t *d2)
{
  for (size_t i = 0; i < u->n_items; i++)
    if (!memcmp(u->items[i], d, dlen) &&
        (!d2 || !memcmp(u->items2[i], d2, 20)))
      return;
  memset(u->items[u->n_items], 0, 32);
  memcpy(u->items[u->n_items], d, dlen);
  if (d2)
    memcpy(u->items2[u->n_items], d2, 20);
  u->n_items++;
}

/* Parse a list s[0..len) of items separated by sep.  mode 'h': 40 hex;
 * 'b': 43 base64; 'p': 40 hex '-' 40 hex. */
static int
parse_list(const char *s, size_t len, char sep, char mode, dircache_url_t *u)
{
  size_t n_max = 1;
  for (size_t i = 0; i < len; i++)
    n_max += s[i] == sep;
  if (len == 0 || n_max > DIRCACHE_URL_MAX_ITEMS)
    return DIRCACHE_URL_MALFORMED;
  u->items = al_calloc(n_max, sizeof(*u->items));
  if (mode == 'p')
    u->items2 = al_calloc(n_max, sizeof(*u->items2));
  for (size_t i = 0; i < len;) {
    const char *e = memchr(s + i, sep, len - i);
    size_t l = e ? (size_t)(e - (s + i)) : len - i;
    const char *t = s + i;
    uint8_t d[32], d2[20];
    if (mode == 'h' && l == 40 && base16_decode_exact(d, 20, t, 40) == 0)
      add_item(u, d, 20, NULL);
    else if (mode == 'b' && l == 43 && base64_decode(d, 32, t, 43) == 32)
      add_item(u, d, 32, NULL);
    else if (mode == 'p' && l == 81 && t[40] == '-' &&
             base16_decode_exact(d, 20, t, 40) == 0 &&
             base16_decode_exact(d2, 20, t + 41, 40) == 0)
      add_item(u, d, 20, d2);
    i += l + 1;
  }
  return u->n_items ? DIRCACHE_URL_OK : DIRCACHE_URL_MALFORMED;
}

/* Authority fingerprint prefixes "F1+F2+...": each an even number (2..40)
 * of hex digits. */
static int
parse_fp_prefixes(const char *s, size_t len, dircache_url_t *u)
{
  size_t n_max = 1;
  for (size_t i = 0; i < len; i++)
    n_max += s[i] == '+';
  if (len == 0 || n_max > DIRCACHE_URL_MAX_ITEMS || s[len - 1] == '+')
    return DIRCACHE_URL_MALFORMED;
  u->fp_prefixes = al_calloc(n_max, sizeof(*u->fp_prefixes));
  u->fp_prefix_lens = al_calloc(n_max, 1);
  for (size_t i = 0; i < len;) {
    const char *e = memchr(s + i, '+', len - i);
    size_t l = e ? (size_t)(e - (s + i)) : len - i;
    if (l < 2 || l > 40 || (l & 1) ||
        base16_decode_exact(u->fp_prefixes[u->n_fp_prefixes], l / 2, s + i,
                            l) != 0)
      return DIRCACHE_URL_MALFORMED;
    u->fp_prefix_lens[u->n_fp_prefixes++] = (uint8_t)(l / 2);
    i += l + 1;
  }
  return DIRCACHE_URL_OK;
}

/* After "/tor/status-vote/current/": "consensus[-F][/diff/H][/FPS]". */
static int
parse_consensus(const char *s, size_t len, dircache_url_t *u)
{
  size_t r;
  if (!starts(s, len, "consensus", &r))
    return DIRCACHE_URL_NOT_SERVED;
  s += r, len -= r;
  if (len && *s == '-') {
    const char *slash = memchr(s, '/', len);
    size_t fl = slash ? (size_t)(slash - s) : len;
    if (fl == 10 && !memcmp(s, "-microdesc", 10))
      u->microdesc_flavor = true;
    else if (!(fl == 3 && !memcmp(s, "-ns", 3)))
      return DIRCACHE_URL_UNKNOWN;
    s += fl, len -= fl;
  }
  u->kind = DIRCACHE_URL_CONSENSUS;
  if (len == 0)
    return DIRCACHE_URL_OK;
  if (*s != '/' || len == 1)
    return DIRCACHE_URL_MALFORMED;
  s++, len--;
  if (starts(s, len, "diff/", &r)) {
    s += r, len -= r;
    if (len < 64 || base16_decode_exact(u->diff_hash, 32, s, 64) != 0)
      return DIRCACHE_URL_MALFORMED;
    u->kind = DIRCACHE_URL_CONSENSUS_DIFF;
    s += 64, len -= 64;
    if (len == 0)
      return DIRCACHE_URL_OK;
    if (*s != '/')
      return DIRCACHE_URL_MALFORMED;
    s++, len--;
  }
  return parse_fp_prefixes(s, len, u);
}

/* The /tor/server/ and /tor/keys/ families. */
static int
parse_server_or_keys(const char *s, size_t len, bool keys, dircache_url_t *u)
{
  size_t r;
  if (len == 3 && !memcmp(s, "all", 3)) {
    u->kind = keys ? DIRCACHE_URL_KEYS_ALL : DIRCACHE_URL_SERVER_ALL;
    return DIRCACHE_URL_OK;
  }
  if (len == 9 && !memcmp(s, "authority", 9)) {
    u->kind = keys ? DIRCACHE_URL_KEYS_AUTHORITY
                   : DIRCACHE_URL_SERVER_AUTHORITY;
    return DIRCACHE_URL_OK;
  }
  if (starts(s, len, "fp/", &r)) {
    u->kind = keys ? DIRCACHE_URL_KEYS_FP : DIRCACHE_URL_SERVER_FP;
    return parse_list(s + r, len - r, '+', 'h', u);
  }
  if (!keys && starts(s, len, "d/", &r)) {
    u->kind = DIRCACHE_URL_SERVER_D;
    return parse_list(s + r, len - r, '+', 'h', u);
  }
  if (keys && starts(s, len, "sk/", &r)) {
    u->kind = DIRCACHE_URL_KEYS_SK;
    return parse_list(s + r, len - r, '+', 'h', u);
  }
  if (keys && starts(s, len, "fp-sk/", &r)) {
    u->kind = DIRCACHE_URL_KEYS_FP_SK;
    return parse_list(s + r, len - r, '+', 'p', u);
  }
  return DIRCACHE_URL_UNKNOWN;
}

/* After "/tor/hs/3/": "publish" or a blinded key. */
static int
parse_hs(const char *s, size_t len, dircache_url_t *u)
{
  if (len == 7 && !memcmp(s, "publish", 7)) {
    u->kind = DIRCACHE_URL_HS_PUBLISH;
    return DIRCACHE_URL_OK;
  }
  u->kind = DIRCACHE_URL_HS_DESC;
  if (len == 44 && s[43] == '=')
    len = 43;
  if (len == 43 && memchr(s, '=', len) == NULL &&
      base64_decode(u->hs_key, sizeof(u->hs_key), s, 43) == 32)
    u->hs_key_ok = true;
  else
    memset(u->hs_key, 0, sizeof(u->hs_key));
  return DIRCACHE_URL_OK;
}

static int
dispatch(const char *s, size_t len, dircache_url_t *u)
{
  size_t r;
  if (starts(s, len, "/tor/status-vote/current/", &r)) {
    int k = parse_consensus(s + r, len - r, u);
    if (k != DIRCACHE_URL_NOT_SERVED)
      return k;
    u->kind = DIRCACHE_URL_NOT_SERVED;   /* votes, authority, ... */
    return DIRCACHE_URL_OK;
  }
  if (starts(s, len, "/tor/micro/d/", &r)) {
    u->kind = DIRCACHE_URL_MICRODESCS;
    return parse_list(s + r, len - r, '-', 'b', u);
  }
  if (starts(s, len, "/tor/server/", &r))
    return parse_server_or_keys(s + r, len - r, false, u);
  if (starts(s, len, "/tor/keys/", &r))
    return parse_server_or_keys(s + r, len - r, true, u);
  if (starts(s, len, "/tor/hs/3/", &r))
    return parse_hs(s + r, len - r, u);
  if (starts(s, len, "/tor/extra/", &r) ||
      starts(s, len, "/tor/status-vote/next/", &r) ||
      starts(s, len, "/tor/micro/", &r) ||
      starts(s, len, "/tor/hs/", &r) ||
      starts(s, len, "/tor/rendezvous2/", &r)) {
    u->kind = DIRCACHE_URL_NOT_SERVED;
    return DIRCACHE_URL_OK;
  }
  return DIRCACHE_URL_UNKNOWN;
}

int
dircache_url_parse(const char *path, dircache_url_t *out)
{
  if (!out)
    return DIRCACHE_URL_MALFORMED;
  memset(out, 0, sizeof(*out));
  if (!path)
    return DIRCACHE_URL_MALFORMED;
  size_t len = strnlen(path, DIRCACHE_REQ_MAX_PATH + 1);
  if (len > DIRCACHE_REQ_MAX_PATH)
    return DIRCACHE_URL_MALFORMED;
  if (len >= 2 && !memcmp(path + len - 2, ".z", 2)) {
    out->compressed = true;
    len -= 2;
  }
  int r = dispatch(path, len, out);
  if (r != DIRCACHE_URL_OK) {
    bool z = out->compressed;
    dircache_url_clear(out);
    out->compressed = z;
  }
  return r;
}
