/* congestion_codec.c -- congestion control wire formats: the ntor v3
 * CC_REQUEST / CC_RESPONSE extensions and the client's checks (proposal
 * 324 10.3, 10.5; extension list of proposal 332), RELAY_XON / RELAY_XOFF
 * bodies (324 4.1), and the FlowCtrl=2 / Relay=4 protover test (tor-spec 9).
 * See include/allium/core/circuit/congestion_codec.h. */
#include "allium/core/circuit/congestion_codec.h"

#include <string.h>

#include "allium/core/onion/onion_ntor_v3.h"

int
cc_ext_encode_request(uint8_t *out, size_t cap, size_t *len_out)
{
  if (!out || cap < CC_EXT_REQUEST_LEN)
    return CC_CODEC_ERR_SPACE;
  out[0] = 1;                  /* N_EXTENSIONS */
  out[1] = CC_EXT_REQUEST;
  out[2] = 0;                  /* empty body */
  *len_out = CC_EXT_REQUEST_LEN;
  return 0;
}

int
cc_ext_encode_response(uint8_t sendme_inc, uint8_t *out, size_t cap,
                       size_t *len_out)
{
  if (!out || cap < CC_EXT_RESPONSE_LEN)
    return CC_CODEC_ERR_SPACE;
  out[0] = 1;
  out[1] = CC_EXT_RESPONSE;
  out[2] = 1;
  out[3] = sendme_inc;
  *len_out = CC_EXT_RESPONSE_LEN;
  return 0;
}

static int
cc_ext_one(void *arg, uint8_t type, const uint8_t *body, uint8_t elen)
{
  cc_ext_t *out = arg;
  if (type == CC_EXT_REQUEST) {
    out->cc_request = true;
  } else if (type == CC_EXT_RESPONSE && !out->cc_response) {
    if (elen < 1)
      return CC_CODEC_ERR_TRUNCATED;
    out->cc_response = true;
    out->sendme_inc = body[0];
  } else if (type == CC_EXT_SUBPROTO) {
    out->subproto = true;
  }
  return 0;
}

int
cc_ext_parse(const uint8_t *msg, size_t len, cc_ext_t *out)
{
  memset(out, 0, sizeof(*out));
  unsigned n = 0;
  int r = ntor3_ext_walk(msg, len, cc_ext_one, out, &n);
  if (r == NTOR3_EXT_TRUNCATED)
    return CC_CODEC_ERR_TRUNCATED;
  if (r)
    return r;
  out->n_ext = n;
  return 0;
}

int
cc_ext_check_response(const cc_ext_t *reply, bool requested, uint8_t our_inc,
                      uint8_t *inc_out)
{
  if (!reply->cc_response)
    return 0;
  if (!requested)
    return CC_CODEC_ERR_UNASKED;
  unsigned inc = reply->sendme_inc;
  if (inc == 0 || our_inc == 0 || inc > 2u * our_inc || 2u * inc < our_inc)
    return CC_CODEC_ERR_INC;
  *inc_out = (uint8_t)inc;
  return 1;
}

int
cc_xon_encode(uint32_t kbps_ewma, uint8_t *out, size_t cap, size_t *len_out)
{
  if (!out || cap < CC_XON_LEN)
    return CC_CODEC_ERR_SPACE;
  out[0] = 0;
  out[1] = (uint8_t)(kbps_ewma >> 24);
  out[2] = (uint8_t)(kbps_ewma >> 16);
  out[3] = (uint8_t)(kbps_ewma >> 8);
  out[4] = (uint8_t)kbps_ewma;
  *len_out = CC_XON_LEN;
  return 0;
}

int
cc_xoff_encode(uint8_t *out, size_t cap, size_t *len_out)
{
  if (!out || cap < CC_XOFF_LEN)
    return CC_CODEC_ERR_SPACE;
  out[0] = 0;
  *len_out = CC_XOFF_LEN;
  return 0;
}

int
cc_xon_decode(const uint8_t *body, size_t len, uint32_t *kbps_out)
{
  if (!body || len < 1)
    return CC_CODEC_ERR_TRUNCATED;
  if (body[0] != 0)
    return CC_CODEC_ERR_VERSION;
  if (len < CC_XON_LEN)
    return CC_CODEC_ERR_TRUNCATED;
  *kbps_out = (uint32_t)body[1] << 24 | (uint32_t)body[2] << 16 |
              (uint32_t)body[3] << 8 | body[4];
  return 0;
}

int
cc_xoff_decode(const uint8_t *body, size_t len)
{
  if (!body || len < 1)
    return CC_CODEC_ERR_TRUNCATED;
  return body[0] == 0 ? 0 : CC_CODEC_ERR_VERSION;
}

/* Parse a decimal at *p (at most 2^31); advances *p.  -1 if none. */
static long
parse_uint(const char **p, const char *end)
{
  long v = 0;
  const char *s = *p;
  if (s >= end || *s < '0' || *s > '9')
    return -1;
  while (s < end && *s >= '0' && *s <= '9') {
    v = v * 10 + (*s - '0');
    if (v > 0x7fffffffL)
      return -1;
    s++;
  }
  *p = s;
  return v;
}

/* Does the range list [s, end) ("1-3,5") contain v? */
static bool
ranges_have(const char *s, const char *end, unsigned v)
{
  while (s < end) {
    long lo = parse_uint(&s, end), hi = lo;
    if (lo < 0)
      return false;
    if (s < end && *s == '-') {
      s++;
      hi = parse_uint(&s, end);
      if (hi < lo)
        return false;
    }
    if ((long)v >= lo && (long)v <= hi)
      return true;
    if (s < end && *s != ',')
      return false;
    if (s < end)
      s++;
  }
  return false;
}

bool
cc_protover_has(const char *protocols, const char *name, unsigned v)
{
  if (!protocols || !name)
    return false;
  size_t nlen = strlen(name);
  const char *p = protocols;
  while (*p) {
    while (*p == ' ')
      p++;
    const char *end = p;
    while (*end && *end != ' ')
      end++;
    const char *eq = memchr(p, '=', (size_t)(end - p));
    if (eq && (size_t)(eq - p) == nlen && !memcmp(p, name, nlen) &&
        ranges_have(eq + 1, end, v))
      return true;
    p = end;
  }
  return false;
}

bool
cc_protover_supports_cc(const char *protocols)
{
  return cc_protover_has(protocols, "FlowCtrl", 2) &&
         cc_protover_has(protocols, "Relay", 4);
}
