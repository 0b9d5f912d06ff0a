/* fuzz_orport.c -- fuzz target for the ORPort / Address option parsers
 * (src/feature/relay/relay_ports.c; tor(1) ORPort, Address).  The input is
 * split at newlines into option values.  Checks: a line that parses gives
 * at most two ports, each of family 4 or 6, with a port number unless
 * "auto", never NoListen and NoAdvertise together; a failure always comes
 * with a message; the whole list parses only if every line does. */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/relay/relay_ports.h"
#include "allium/lib/malloc/malloc.h"

int
fuzz_init(void)
{
  return 0;
}

static void
check_line(const char *v, bool *all_ok)
{
  relay_port_t p[RELAY_PORTS_PER_LINE];
  size_t n = 99;
  char *err = NULL;
  if (relay_port_parse_line(v, p, &n, &err) < 0) {
    if (!err || n != 0)
      abort();
    al_free(err);
    *all_ok = false;
    return;
  }
  if (err || n > RELAY_PORTS_PER_LINE)
    abort();
  for (size_t i = 0; i < n; i++) {
    if ((p[i].family != 4 && p[i].family != 6) ||
        (!p[i].is_auto && p[i].port == 0) ||
        (p[i].no_listen && p[i].no_advertise))
      abort();
  }
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  char *s = al_malloc(len + 1);
  memcpy(s, data, len);
  s[len] = '\0';
  config_line_t lines[16];
  size_t nl = 0;
  bool all_ok = true;
  char *p = s;
  while (nl < 16) {
    char *e = strchr(p, '\n');
    if (e)
      *e = '\0';
    memset(&lines[nl], 0, sizeof(lines[nl]));
    lines[nl].key = (char *)"ORPort";
    lines[nl].value = p;
    if (nl)
      lines[nl - 1].next = &lines[nl];
    check_line(p, &all_ok);
    nl++;
    if (!e)
      break;
    p = e + 1;
  }
  relay_ports_t ps;
  char *err = NULL;
  int r = relay_ports_parse(lines, &ps, &err);
  if (r == 0) {
    if (!all_ok || err)
      abort();
    relay_ports_clear(&ps);
  } else {
    if (!err)
      abort();
    al_free(err);
  }
  relay_address_t a;
  err = NULL;
  if (relay_address_parse(lines, false, &a, &err) < 0) {
    if (!err)
      abort();
    al_free(err);
  }
  al_free(s);
  return 0;
}
