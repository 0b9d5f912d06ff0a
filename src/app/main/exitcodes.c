/* exitcodes.c -- map internal failure kinds to allium's documented exit
 * statuses (allium(1), EXIT STATUS; no torspec section). */
#include "allium/app/main/exitcodes.h"

int
app_exit_code(app_err_t err)
{
  switch (err) {
  case APP_ERR_NONE: return ALLIUM_EXIT_OK;
  case APP_ERR_USAGE:
  case APP_ERR_CONFIG: return ALLIUM_EXIT_CONFIG;
  case APP_ERR_DATADIR:
  case APP_ERR_KEYS:
  case APP_ERR_BIND:
  case APP_ERR_DAEMON:
  case APP_ERR_INTERNAL: return ALLIUM_EXIT_RUNTIME;
  case APP_ERR_PRIVS: return ALLIUM_EXIT_PRIVS;
  }
  return ALLIUM_EXIT_RUNTIME;
}

const char *
app_exit_code_name(int code)
{
  switch (code) {
  case ALLIUM_EXIT_OK: return "ok";
  case ALLIUM_EXIT_CONFIG: return "config";
  case ALLIUM_EXIT_RUNTIME: return "runtime";
  case ALLIUM_EXIT_PRIVS: return "privs";
  default: return "unknown";
  }
}
