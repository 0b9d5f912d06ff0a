/* fuzz_ctlstream.c -- fuzz target for the arguments of the client's control
 * commands (src/feature/client/client_ctl_args.c; control-spec 3.8
 * MAPADDRESS, 3.10 EXTENDCIRCUIT, 3.11 SETCIRCUITPURPOSE, 3.13
 * ATTACHSTREAM, 3.16 CLOSESTREAM, 3.17 CLOSECIRCUIT).  The first byte picks
 * the command, the rest (up to a NUL) is its argument line as a controller
 * sends it.  Checks: a parser answers 0 or 512 / 552 with a one-line
 * printable error; what it accepts is within bounds (HOP 1..255, at most
 * CLIENT_CTL_PATH_MAX relays each a valid ServerSpec); parsing twice gives
 * the same result; MAPADDRESS pairs are split by control_args_parse() and
 * each side checked with client_ctl_addr_ok(), which agrees with
 * client_ctl_addr_ok_n(). */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/client/client_ctl_args.h"
#include "allium/feature/control/control_proto.h"
#include "allium/lib/malloc/malloc.h"

#define MAX_ARGS 2048

int
fuzz_init(void)
{
  return 0;
}

static void
check_code(int r, const char *err)
{
  if (r == 0)
    return;
  if (r != 512 && r != 552)
    abort();
  if (strlen(err) >= CLIENT_CTL_ERR_LEN || strchr(err, '\r') ||
      strchr(err, '\n'))
    abort();
}

static void
fuzz_attach(const char *s)
{
  char err[CLIENT_CTL_ERR_LEN] = "", err2[CLIENT_CTL_ERR_LEN] = "";
  client_ctl_attach_args_t a, b;
  int r = client_ctl_parse_attach(s, &a, err, sizeof(err));
  check_code(r, err);
  if (r == 0 && (a.stream_id == 0 || a.hop > 255))
    abort();
  if (client_ctl_parse_attach(s, &b, err2, sizeof(err2)) != r ||
      (r == 0 && memcmp(&a, &b, sizeof(a))) || strcmp(err, err2))
    abort();
}

static void
fuzz_extend(const char *s)
{
  char err[CLIENT_CTL_ERR_LEN] = "";
  client_ctl_extend_args_t *a = al_calloc(1, sizeof(*a));
  int r = client_ctl_parse_extend(s, a, err, sizeof(err));
  check_code(r, err);
  if (r == 0) {
    if (a->n_path > CLIENT_CTL_PATH_MAX)
      abort();
    for (size_t i = 0; i < a->n_path; i++) {
      uint8_t id[20];
      bool has_id;
      char nick[20];
      if (strlen(a->path[i]) >= CLIENT_CTL_SPEC_MAX ||
          client_ctl_parse_server_spec(a->path[i], id, &has_id, nick) != 0 ||
          (!has_id && !nick[0]) || strlen(nick) > 19)
        abort();
    }
  }
  al_free(a);
}

static void
fuzz_small(uint8_t which, const char *s)
{
  char err[CLIENT_CTL_ERR_LEN] = "";
  uint32_t circ;
  uint64_t stream;
  uint8_t reason;
  bool flag;
  int r;
  if (which == 2)
    r = client_ctl_parse_purpose(s, &circ, &flag, err, sizeof(err));
  else if (which == 3)
    r = client_ctl_parse_closecircuit(s, &circ, &flag, err, sizeof(err));
  else
    r = client_ctl_parse_closestream(s, &stream, &reason, err, sizeof(err));
  check_code(r, err);
  if (r == 0 && which != 4 && circ == 0)
    abort();
  if (r == 0 && which == 4 && stream == 0)
    abort();
}

static void
fuzz_mapaddress(const char *s)
{
  control_arg_t *a;
  size_t n;
  if (control_args_parse(s, 64, &a, &n) != 0)
    return;
  for (size_t i = 0; i < n; i++) {
    const char *sides[2] = { a[i].key, a[i].value };
    for (int k = 0; k < 2; k++) {
      if (!sides[k])
        continue;
      bool ok = client_ctl_addr_ok(sides[k]);
      if (ok != client_ctl_addr_ok_n((const uint8_t *)sides[k],
                                     strlen(sides[k])))
        abort();
      if (ok && (strlen(sides[k]) > 255 || strchr(sides[k], ' ')))
        abort();
    }
  }
  control_args_free(a, n);
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  if (len < 1)
    return 0;
  size_t n = len - 1 < MAX_ARGS ? len - 1 : MAX_ARGS;
  char *s = al_malloc(n + 1);
  memcpy(s, data + 1, n);
  s[n] = '\0';
  switch (data[0] % 6) {
  case 0:
    fuzz_attach(s);
    break;
  case 1:
    fuzz_extend(s);
    break;
  case 5:
    fuzz_mapaddress(s);
    break;
  default:
    fuzz_small((uint8_t)(data[0] % 6), s);
    break;
  }
  /* the server-spec parser alone, on the whole line */
  uint8_t id[20];
  bool has_id;
  char nick[20];
  if (client_ctl_parse_server_spec(s, id, &has_id, nick) == 0 &&
      !has_id && !nick[0])
    abort();
  al_free(s);
  return 0;
}
