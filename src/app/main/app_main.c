/* app_main.c -- placeholder top level until the daemon skeleton lands. */
#include "allium/app/main/app_main.h"

#include "config.h"
#include <stdio.h>

int
app_main(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  puts("allium " PACKAGE_VERSION);
  return 0;
}
