/* metrics_text.h -- a writer for the Prometheus text exposition format,
 * version 0.0.4: one "# HELP" and one "# TYPE" line per metric family,
 * then its samples "name{label="value",...} value", each family's lines
 * together.  Names are checked ([a-zA-Z_:][a-zA-Z0-9_:]*, labels without
 * ':' and not starting with "__"); counters must end in "_total" and other
 * types must not; label values are escaped (\\, \", \n) and so is help
 * text (\\, \n).
 */
#ifndef ALLIUM_FEATURE_METRICS_METRICS_TEXT_H
#define ALLIUM_FEATURE_METRICS_METRICS_TEXT_H

#include <stddef.h>
#include <stdint.h>

typedef enum metrics_text_err_t {
  METRICS_TEXT_OK = 0,
  METRICS_TEXT_ERR_NAME = -1,      /**< bad metric or label name */
  METRICS_TEXT_ERR_TYPE = -2,      /**< counter without "_total" (or a
                                    *   gauge with it), unknown type */
  METRICS_TEXT_ERR_DUP = -3,       /**< family started twice */
  METRICS_TEXT_ERR_NO_FAMILY = -4, /**< sample before any family */
  METRICS_TEXT_ERR_VALUE = -5,     /**< a counter made negative or NaN */
} metrics_text_err_t;

const char *metrics_text_strerror(int err);

typedef enum metrics_type_t {
  METRICS_COUNTER = 1,
  METRICS_GAUGE = 2,
} metrics_type_t;

typedef struct metrics_text_t metrics_text_t;

metrics_text_t *metrics_text_new(void);
void metrics_text_free_(metrics_text_t *t);
#define metrics_text_free(p) do { metrics_text_free_(p); (p) = NULL; } while (0)

/** Start family name (writes its HELP and TYPE lines); the samples that
 * follow belong to it.  0 or a metrics_text_err_t (nothing written). */
int metrics_text_family(metrics_text_t *t, const char *name,
                        metrics_type_t type, const char *help);

/** One sample of the current family.  labels: NULL, or name/value pairs
 * ending with NULL: (const char *[]){ "direction", "read", NULL }.  0 or a
 * metrics_text_err_t (nothing written). */
int metrics_text_u64(metrics_text_t *t, const char *const *labels,
                     uint64_t value);
int metrics_text_double(metrics_text_t *t, const char *const *labels,
                        double value);

/** The text so far (NUL-terminated) and its length. */
const char *metrics_text_data(const metrics_text_t *t, size_t *len_out);

#endif
