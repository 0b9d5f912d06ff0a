/* main.c -- allium's entry point: hands over to app_main(). */
#include "allium/app/main/app_main.h"

int
main(int argc, char **argv)
{
  return app_main(argc, argv);
}
