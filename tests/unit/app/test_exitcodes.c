/* test_exitcodes.c -- unit tests for the documented exit statuses
 * (include/allium/app/main/exitcodes.h, allium(1) EXIT STATUS). */
#include <criterion/criterion.h>

#include "allium/app/main/exitcodes.h"

Test(exitcodes, documented_values)
{
  /* These numbers are a public interface (scripts, systemd units). */
  cr_assert_eq(ALLIUM_EXIT_OK, 0);
  cr_assert_eq(ALLIUM_EXIT_CONFIG, 1);
  cr_assert_eq(ALLIUM_EXIT_RUNTIME, 2);
  cr_assert_eq(ALLIUM_EXIT_PRIVS, 3);
}

Test(exitcodes, mapping)
{
  cr_assert_eq(app_exit_code(APP_ERR_NONE), 0);
  cr_assert_eq(app_exit_code(APP_ERR_USAGE), 1);
  cr_assert_eq(app_exit_code(APP_ERR_CONFIG), 1);
  cr_assert_eq(app_exit_code(APP_ERR_DATADIR), 2);
  cr_assert_eq(app_exit_code(APP_ERR_KEYS), 2);
  cr_assert_eq(app_exit_code(APP_ERR_BIND), 2);
  cr_assert_eq(app_exit_code(APP_ERR_DAEMON), 2);
  cr_assert_eq(app_exit_code(APP_ERR_INTERNAL), 2);
  cr_assert_eq(app_exit_code(APP_ERR_PRIVS), 3);
  cr_assert_eq(app_exit_code((app_err_t)999), 2);
}

Test(exitcodes, names)
{
  cr_assert_str_eq(app_exit_code_name(0), "ok");
  cr_assert_str_eq(app_exit_code_name(1), "config");
  cr_assert_str_eq(app_exit_code_name(2), "runtime");
  cr_assert_str_eq(app_exit_code_name(3), "privs");
  cr_assert_str_eq(app_exit_code_name(4), "unknown");
  cr_assert_str_eq(app_exit_code_name(-1), "unknown");
}
