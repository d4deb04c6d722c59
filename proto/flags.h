/* nbdcli - the catalogue of flags (proto/flag-list.h), as data.
 * Copyright the nbdcli authors, MIT licence.
 */
#ifndef NBDCLI_FLAGS_H
#define NBDCLI_FLAGS_H

#include <stddef.h>

enum flag_level { MUST, SHOULD };

enum flag_id {
#define FLAG_DEF(e, id, level, rule, section, how) e,
#include "flag-list.h"
#undef FLAG_DEF
  NFLAG_IDS
};

struct flag_def {
  enum flag_id e;
  const char *id;               /* stable short id: "tls-state-kept-sr" */
  enum flag_level level;
  const char *rule;             /* one sentence */
  const char *section;          /* of the NBD spec */
  const char *how;              /* how to reproduce it by hand */
};

extern const struct flag_def flag_catalogue[NFLAG_IDS];

/* The definition of a flag, by enum or by id (NULL when unknown). */
extern const struct flag_def *flag_def (enum flag_id e);
extern const struct flag_def *flag_find (const char *id);
extern const char *flag_level_name (enum flag_level l);

#endif
