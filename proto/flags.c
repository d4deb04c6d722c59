/* nbdcli - the catalogue of flags.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <string.h>

#include "flags.h"

const struct flag_def flag_catalogue[NFLAG_IDS] = {
#define FLAG_DEF(e, id, level, rule, section, how) \
  [e] = { e, id, level, rule, section, how },
#include "flag-list.h"
#undef FLAG_DEF
};

const struct flag_def *
flag_def (enum flag_id e)
{
  return (unsigned) e < NFLAG_IDS ? &flag_catalogue[e] : NULL;
}

const struct flag_def *
flag_find (const char *id)
{
  size_t i;

  for (i = 0; i < NFLAG_IDS; i++)
    if (strcmp (flag_catalogue[i].id, id) == 0)
      return &flag_catalogue[i];
  return NULL;
}

const char *
flag_level_name (enum flag_level l)
{
  return l == SHOULD ? "SHOULD" : "MUST";
}
