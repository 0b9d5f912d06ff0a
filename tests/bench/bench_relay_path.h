/* bench_relay_path.h -- relay-side figures for bench-crypto: a middle
 * relay's in-place cell path, create-cell answers on one core, and the
 * onion worker pool.  Each prints its rows; seconds is the time per row. */
#ifndef TESTS_BENCH_BENCH_RELAY_PATH_H
#define TESTS_BENCH_BENCH_RELAY_PATH_H

void bench_relay_path(double seconds);
void bench_answers(double seconds);
void bench_workers(double seconds);

#endif
