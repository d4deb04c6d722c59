/* nbdcli - names of protocol constants.
 * Copyright the nbdcli authors, MIT licence.
 */
#ifndef NBDCLI_NAMES_H
#define NBDCLI_NAMES_H

#include <stddef.h>
#include <stdint.h>

struct nbd_name {
  uint32_t value;
  const char *name;     /* full spec name, e.g. "NBD_OPT_GO" */
  const char *shortname; /* without the prefix, e.g. "GO" */
};

extern const struct nbd_name nbd_opt_names[];
extern const struct nbd_name nbd_rep_names[];
extern const struct nbd_name nbd_info_names[];
extern const struct nbd_name nbd_hs_flag_names[];
extern const struct nbd_name nbd_cflag_names[];
extern const struct nbd_name nbd_tflag_names[];
extern const struct nbd_name nbd_cmd_names[];
extern const struct nbd_name nbd_cmd_flag_names[];
extern const struct nbd_name nbd_reply_type_names[];
extern const struct nbd_name nbd_error_names[];
extern const struct nbd_name nbd_reply_flag_names[];

/* Name of VALUE in TBL, or NULL. */
extern const char *nbd_name_of (const struct nbd_name *tbl, uint32_t value);
/* Like nbd_name_of but never NULL: "unknown". */
extern const char *nbd_name_or_unknown (const struct nbd_name *tbl,
                                        uint32_t value);
/* Finds a value by full or short name, case-insensitively.  Returns 0
 * and sets *value, or -1.
 */
extern int nbd_value_of (const struct nbd_name *tbl, const char *name,
                         uint32_t *value);
/* Writes the short names of the bits set in FLAGS, separated by
 * spaces, with unknown bits as "unknown-bit-N", into BUF.  "none" for 0.
 */
extern const char *nbd_flags_str (const struct nbd_name *tbl, uint32_t flags,
                                  char *buf, size_t len);

#define nbd_opt_name(v) nbd_name_of (nbd_opt_names, (v))
#define nbd_rep_name(v) nbd_name_of (nbd_rep_names, (v))
#define nbd_info_name(v) nbd_name_of (nbd_info_names, (v))

#endif
