/* options_table.h -- private to src/app/config: the conf_format_t that
 * describes allium_options_t (see options_table.c). */
#ifndef ALLIUM_APP_CONFIG_OPTIONS_TABLE_H
#define ALLIUM_APP_CONFIG_OPTIONS_TABLE_H

#include "allium/app/config/options.h"
#include "allium/lib/conf/confdecl.h"

/** allium's option table. */
extern const conf_format_t options_format;

#endif
