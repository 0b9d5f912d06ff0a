/* dir_http_request.c -- encode HTTP/1.0 GET requests for directory documents
 * (dir-spec.txt section 6, 6.1 Accept-Encoding, 4.5.2
 * X-Or-Diff-From-Consensus), RFC 1123 dates for If-Modified-Since / Date /
 * Last-Modified, and the status-code helpers of section 6.2.
 */
#include "allium/feature/dirclient/dir_http.h"

#include <stdio.h>
#include <string.h>

#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/time/civil.h"

static const char *const day_names[7] = { "Sun", "Mon", "Tue", "Wed",
                                          "Thu", "Fri", "Sat" };
static const char *const month_names[12] = { "Jan", "Feb", "Mar", "Apr",
                                             "May", "Jun", "Jul", "Aug",
                                             "Sep", "Oct", "Nov", "Dec" };

int
dir_http_format_date(time_t t, char *buf, size_t buflen)
{
  /* Years 1970..9999 keep the format fixed-width. */
  if (t < 0 || (int64_t)t > INT64_C(253402300799) || buflen < 30)
    return -1;
  int64_t days = (int64_t)t / 86400, secs = (int64_t)t % 86400, y;
  int m, d, wday;
  civil_from_days(days, &y, &m, &d, &wday);
  snprintf(buf, buflen, "%s, %02d %s %04d %02d:%02d:%02d GMT", day_names[wday],
           d, month_names[m - 1], (int)y, (int)(secs / 3600),
           (int)(secs / 60 % 60), (int)(secs % 60));
  return 0;
}

/** Exactly n digits at s, or -1. */
static int
digits(const char *s, size_t n)
{
  uint64_t v;
  return decimal_parse_u64(s, n, 9999, &v) < 0 ? -1 : (int)v;
}

int
dir_http_parse_date(const char *s, size_t len, time_t *out)
{
  /* "Sun, 06 Nov 1994 08:49:37 GMT" is exactly 29 characters. */
  if (!s || len != 29 || memcmp(s + 3, ", ", 2) || s[7] != ' ' ||
      s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
      memcmp(s + 25, " GMT", 4))
    return -1;
  int wd = -1, mon = -1;
  for (int i = 0; i < 7; i++)
    if (!memcmp(s, day_names[i], 3))
      wd = i;
  for (int i = 0; i < 12; i++)
    if (!memcmp(s + 8, month_names[i], 3))
      mon = i + 1;
  int d = digits(s + 5, 2), y = digits(s + 12, 4), hh = digits(s + 17, 2),
      mm = digits(s + 20, 2), ss = digits(s + 23, 2);
  if (wd < 0 || mon < 0 || ss < 0 || ss > 60)
    return -1;
  /* A leap second (:60) counts as :59. */
  return civil_to_time(y, mon, d, hh, mm, ss > 59 ? 59 : ss, out);
}

/** True if s is non-empty printable ASCII (spaces allowed if sp). */
static bool
printable(const char *s, bool sp)
{
  if (!s || !*s)
    return false;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c > 0x7e || c < 0x20 || (c == ' ' && !sp))
      return false;
  }
  return true;
}

/** Append a header line "name: value\r\n" to *req (reallocating). */
static void
append(char **req, const char *name, const char *value)
{
  char *n = al_asprintf("%s%s: %s\r\n", *req, name, value);
  al_free(*req);
  *req = n;
}

static char *
diff_from_value(const dir_http_request_opts_t *o)
{
  size_t hexlen = 2 * DIR_HTTP_SHA3_LEN;
  char *v = al_malloc(o->n_diff_from * (hexlen + 2) + 1);
  size_t off = 0;
  for (size_t i = 0; i < o->n_diff_from; i++) {
    if (i) {
      memcpy(v + off, ", ", 2);
      off += 2;
    }
    base16_encode(v + off, hexlen + 1, o->diff_from[i], DIR_HTTP_SHA3_LEN);
    off += hexlen;
  }
  v[off] = 0;
  return v;
}

char *
dir_http_request_encode(const char *path, const dir_http_request_opts_t *o,
                        size_t *len_out)
{
  if (!printable(path, false) || path[0] != '/' ||
      strlen(path) > DIR_URL_MAX_PATH)
    return NULL;
  if (o && ((o->host && !printable(o->host, false)) ||
            (o->accept_encoding && !printable(o->accept_encoding, true)) ||
            o->n_diff_from > DIR_HTTP_MAX_DIFF_FROM ||
            (o->n_diff_from && !o->diff_from) || o->if_modified_since < 0))
    return NULL;
  char *req = al_asprintf("GET %s HTTP/1.0\r\n", path);
  if (o && o->host)
    append(&req, "Host", o->host);
  if (o && o->if_modified_since > 0) {
    char date[32];
    if (dir_http_format_date(o->if_modified_since, date, sizeof(date)) < 0) {
      al_free(req);
      return NULL;
    }
    append(&req, "If-Modified-Since", date);
  }
  if (o && o->accept_encoding)
    append(&req, "Accept-Encoding", o->accept_encoding);
  if (o && o->n_diff_from) {
    char *v = diff_from_value(o);
    append(&req, "X-Or-Diff-From-Consensus", v);
    al_free(v);
  }
  char *full = al_asprintf("%s\r\n", req);
  al_free(req);
  if (len_out)
    *len_out = strlen(full);
  return full;
}

dir_http_status_action_t
dir_http_status_action(int status)
{
  switch (status) {
  case 200: return DIR_STATUS_OK;
  case 304: return DIR_STATUS_NOT_MODIFIED;
  case 404: return DIR_STATUS_NOT_FOUND;
  case 503: return DIR_STATUS_BUSY;
  case 400: return DIR_STATUS_BAD_REQUEST;
  default: return DIR_STATUS_FAILED;
  }
}

const char *
dir_http_status_action_name(dir_http_status_action_t a)
{
  switch (a) {
  case DIR_STATUS_OK: return "ok";
  case DIR_STATUS_NOT_MODIFIED: return "not modified";
  case DIR_STATUS_NOT_FOUND: return "not found";
  case DIR_STATUS_BUSY: return "busy";
  case DIR_STATUS_BAD_REQUEST: return "bad request";
  case DIR_STATUS_FAILED: return "failed";
  }
  return "failed";
}
