/* fuzzing.h -- shared harness for allium's fuzz targets.
 *
 * A target defines fuzz_init() (once, may be empty) and fuzz_one(data, len),
 * and includes this header in exactly one file.  The same target links as a
 * libFuzzer binary (--enable-fuzzing) or with replay_main.c as a plain
 * program that feeds it every file of its seed corpus (`make check`).
 * fuzz_one() must accept any bytes: crash, leak or UB is the bug to find.
 */
#ifndef ALLIUM_TESTS_FUZZING_H
#define ALLIUM_TESTS_FUZZING_H

#include <stddef.h>
#include <stdint.h>

int fuzz_init(void);
int fuzz_one(const uint8_t *data, size_t len);

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  return fuzz_init();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
  fuzz_one(data, len);
  return 0;
}

#endif
