/* desc_publish.c -- the sans-IO parts of descriptor uploading: the
 * "POST /tor/" request and the classification of the authority's answer
 * (dir-spec 2.1, 6.2), the republication schedule (dir-spec 2.1 "ORs SHOULD
 * generate a new server descriptor ... whenever"), and how a consensus lists
 * us (dir-spec 3.4.1 "s" line).  The I/O is in desc_publish_io.c.
 * See include/allium/feature/relay/desc_publish.h.
 */
#include <stdio.h>
#include <string.h>

#include "allium/feature/relay/desc_publish.h"
#include "allium/feature/relay/router_desc.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"

/* ---- request ---- */

static int
header_value_ok(const char *s)
{
  if (!s || !*s || strlen(s) > 100)
    return 0;
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
      return 0;
  return 1;
}

uint8_t *
desc_publish_request_encode(const char *desc, size_t len, const char *gen_reason,
                            size_t *outlen)
{
  if (!desc || len == 0 || len > ROUTER_DESC_MAX_LEN || !outlen)
    return NULL;
  char head[256];
  int n;
  if (gen_reason && header_value_ok(gen_reason))
    n = snprintf(head, sizeof(head),
                 "POST /tor/ HTTP/1.0\r\nContent-Length: %zu\r\nX-Desc-Gen-Reason: %s\r\n\r\n",
                 len, gen_reason);
  else
    n = snprintf(head, sizeof(head), "POST /tor/ HTTP/1.0\r\nContent-Length: %zu\r\n\r\n", len);
  if (n < 0 || (size_t)n >= sizeof(head))
    return NULL;
  uint8_t *req = al_malloc((size_t)n + len + 1);
  memcpy(req, head, (size_t)n);
  memcpy(req + n, desc, len);
  req[(size_t)n + len] = '\0';
  *outlen = (size_t)n + len;
  return req;
}

/* ---- response ---- */

static void
copy_reason(char *dst, const char *src)
{
  size_t i = 0;
  for (; src && src[i] && i + 1 < DESC_UPLOAD_REASON_MAX; i++)
    dst[i] = ((unsigned char)src[i] >= 0x20 && (unsigned char)src[i] <= 0x7e) ? src[i] : '?';
  dst[i] = '\0';
}

void
desc_publish_classify(const dir_http_response_t *r, desc_upload_result_t *out)
{
  if (!out)
    return;
  memset(out, 0, sizeof(*out));
  if (!r) {
    out->status = DESC_UPLOAD_FAILED;
    copy_reason(out->reason, "no response");
    return;
  }
  out->http_status = r->status;
  copy_reason(out->reason, r->reason);
  if (r->status == 200) {
    const char *nn = dir_http_response_header(r, "X-Descriptor-Not-New");
    out->status = nn ? DESC_UPLOAD_NOT_NEW : DESC_UPLOAD_ACCEPTED;
  } else if (r->status == 400) {
    out->status = DESC_UPLOAD_REJECTED;
  } else {
    out->status = DESC_UPLOAD_FAILED;
  }
}

void
desc_publish_check_path(const uint8_t digest[20], char buf[56])
{
  char hex[41];
  base16_encode(hex, sizeof(hex), digest, 20);
  snprintf(buf, 56, "/tor/server/d/%s", hex);
}

void
desc_publish_classify_check(const dir_http_response_t *r, const uint8_t digest[20],
                            desc_upload_result_t *out)
{
  memset(out, 0, sizeof(*out));
  out->status = DESC_UPLOAD_FAILED;
  if (!r) {
    copy_reason(out->reason, "accepted with 200, but the check got no answer");
    return;
  }
  out->http_status = r->status;
  uint8_t d[20];
  if (r->status == 200 && r->body &&
      router_desc_digest((const char *)r->body, r->body_len, d) == 0 &&
      memcmp(d, digest, 20) == 0) {
    out->status = DESC_UPLOAD_ACCEPTED;
    copy_reason(out->reason, "the authority serves it back");
  } else if (r->status == 200 || r->status == 404) {
    out->status = DESC_UPLOAD_DISCARDED;
    copy_reason(out->reason, "answered 200, but does not serve it: it could not parse it "
                             "(see its log)");
  } else {
    char msg[DESC_UPLOAD_REASON_MAX];
    snprintf(msg, sizeof(msg), "accepted with 200, but the check got HTTP %d", r->status);
    copy_reason(out->reason, msg);
  }
}

const char *
desc_upload_status_name(desc_upload_status_t s)
{
  switch (s) {
  case DESC_UPLOAD_ACCEPTED: return "accepted";
  case DESC_UPLOAD_NOT_NEW: return "not new";
  case DESC_UPLOAD_DISCARDED: return "discarded";
  case DESC_UPLOAD_REJECTED: return "rejected";
  case DESC_UPLOAD_FAILED: return "failed";
  }
  return "failed";
}

void
desc_publish_response_limits(dir_http_limits_t *out)
{
  memset(out, 0, sizeof(*out));
  out->max_header_bytes = 8192;
  out->max_headers = 32;
  out->max_body = DESC_PUBLISH_MAX_RESPONSE;
  out->max_raw_body = DESC_PUBLISH_MAX_RESPONSE;
  out->max_ratio = 0;
}

/* ---- schedule ---- */

void
desc_sched_init(desc_sched_t *s)
{
  memset(s, 0, sizeof(*s));
  s->presence = DESC_PRESENCE_UNKNOWN;
}

void
desc_sched_note_built(desc_sched_t *s, time_t now, uint64_t bw)
{
  s->built = true;
  s->last_built = now;
  s->last_bw = bw;
  s->changed = false;
}

void
desc_sched_note_changed(desc_sched_t *s)
{
  s->changed = true;
}

void
desc_sched_note_presence(desc_sched_t *s, desc_presence_t p)
{
  s->presence = p;
}

/* A change "by a factor of 2": either side zero and the other not, or one
 * cur above twice prev or below half of it. */
static bool
bw_changed(uint64_t prev, uint64_t cur)
{
  if (prev == cur)
    return false;
  if (prev == 0 || cur == 0)
    return true;
  if (cur > prev)
    return cur - prev > prev * (DESC_SCHED_BW_FACTOR - 1);   /* cur > 2 * prev */
  return cur < prev / DESC_SCHED_BW_FACTOR;
}

desc_due_t
desc_sched_due(const desc_sched_t *s, time_t now, uint64_t bw, uint64_t uptime)
{
  if (!s->built)
    return DESC_DUE_FIRST;
  time_t age = now - s->last_built;
  /* At most one descriptor per check interval, however often fields change. */
  if (age < DESC_SCHED_CHECK_INTERVAL)
    return DESC_DUE_NONE;
  if (s->changed)
    return DESC_DUE_CHANGED;
  if (age >= DESC_SCHED_FORCE_INTERVAL)
    return DESC_DUE_PERIODIC;
  if (uptime < DESC_SCHED_BW_MAX_UPTIME && age >= DESC_SCHED_BW_MIN_INTERVAL &&
      bw_changed(s->last_bw, bw))
    return DESC_DUE_BANDWIDTH;
  if ((s->presence == DESC_PRESENCE_ABSENT || s->presence == DESC_PRESENCE_NOT_RUNNING ||
       s->presence == DESC_PRESENCE_STALE) &&
      age >= DESC_SCHED_RETRY_INTERVAL)
    return DESC_DUE_NOT_LISTED;
  return DESC_DUE_NONE;
}

const char *
desc_due_name(desc_due_t d)
{
  switch (d) {
  case DESC_DUE_NONE: return "not due";
  case DESC_DUE_FIRST: return "first descriptor";
  case DESC_DUE_CHANGED: return "descriptor changed";
  case DESC_DUE_PERIODIC: return "periodic (18 hours)";
  case DESC_DUE_BANDWIDTH: return "bandwidth changed";
  case DESC_DUE_NOT_LISTED: return "not listed in the consensus";
  }
  return "unknown";
}

/* ---- presence in a consensus ---- */

desc_presence_t
desc_publish_presence(const consensus_t *c, const uint8_t rsa_id[20], uint32_t *flags_out)
{
  if (flags_out)
    *flags_out = 0;
  if (!c || !rsa_id)
    return DESC_PRESENCE_UNKNOWN;
  const consensus_router_t *r = consensus_find_router(c, rsa_id);
  if (!r)
    return DESC_PRESENCE_ABSENT;
  if (flags_out)
    *flags_out = r->flags;
  uint32_t need = CONSENSUS_FLAG_RUNNING | CONSENSUS_FLAG_VALID;
  if ((r->flags & need) != need)
    return DESC_PRESENCE_NOT_RUNNING;
  if (r->flags & CONSENSUS_FLAG_STALEDESC)
    return DESC_PRESENCE_STALE;
  return DESC_PRESENCE_LISTED;
}

const char *
desc_presence_name(desc_presence_t p)
{
  switch (p) {
  case DESC_PRESENCE_UNKNOWN: return "unknown";
  case DESC_PRESENCE_LISTED: return "listed";
  case DESC_PRESENCE_ABSENT: return "absent";
  case DESC_PRESENCE_NOT_RUNNING: return "listed without Running/Valid";
  case DESC_PRESENCE_STALE: return "listed as StaleDesc";
  }
  return "unknown";
}
