/* nbdcli - names of protocol constants.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "nbd-proto.h"
#include "names.h"

#define END { .name = NULL }

const struct nbd_name nbd_opt_names[] = {
  { NBD_OPT_EXPORT_NAME, "NBD_OPT_EXPORT_NAME", "EXPORT_NAME" },
  { NBD_OPT_ABORT, "NBD_OPT_ABORT", "ABORT" },
  { NBD_OPT_LIST, "NBD_OPT_LIST", "LIST" },
  { NBD_OPT_PEEK_EXPORT, "NBD_OPT_PEEK_EXPORT", "PEEK_EXPORT" },
  { NBD_OPT_STARTTLS, "NBD_OPT_STARTTLS", "STARTTLS" },
  { NBD_OPT_INFO, "NBD_OPT_INFO", "INFO" },
  { NBD_OPT_GO, "NBD_OPT_GO", "GO" },
  { NBD_OPT_STRUCTURED_REPLY, "NBD_OPT_STRUCTURED_REPLY", "STRUCTURED_REPLY" },
  { NBD_OPT_LIST_META_CONTEXT, "NBD_OPT_LIST_META_CONTEXT",
    "LIST_META_CONTEXT" },
  { NBD_OPT_SET_META_CONTEXT, "NBD_OPT_SET_META_CONTEXT", "SET_META_CONTEXT" },
  { NBD_OPT_EXTENDED_HEADERS, "NBD_OPT_EXTENDED_HEADERS", "EXTENDED_HEADERS" },
  END
};

const struct nbd_name nbd_rep_names[] = {
  { NBD_REP_ACK, "NBD_REP_ACK", "ACK" },
  { NBD_REP_SERVER, "NBD_REP_SERVER", "SERVER" },
  { NBD_REP_INFO, "NBD_REP_INFO", "INFO" },
  { NBD_REP_META_CONTEXT, "NBD_REP_META_CONTEXT", "META_CONTEXT" },
  { NBD_REP_ERR_UNSUP, "NBD_REP_ERR_UNSUP", "ERR_UNSUP" },
  { NBD_REP_ERR_POLICY, "NBD_REP_ERR_POLICY", "ERR_POLICY" },
  { NBD_REP_ERR_INVALID, "NBD_REP_ERR_INVALID", "ERR_INVALID" },
  { NBD_REP_ERR_PLATFORM, "NBD_REP_ERR_PLATFORM", "ERR_PLATFORM" },
  { NBD_REP_ERR_TLS_REQD, "NBD_REP_ERR_TLS_REQD", "ERR_TLS_REQD" },
  { NBD_REP_ERR_UNKNOWN, "NBD_REP_ERR_UNKNOWN", "ERR_UNKNOWN" },
  { NBD_REP_ERR_SHUTDOWN, "NBD_REP_ERR_SHUTDOWN", "ERR_SHUTDOWN" },
  { NBD_REP_ERR_BLOCK_SIZE_REQD, "NBD_REP_ERR_BLOCK_SIZE_REQD",
    "ERR_BLOCK_SIZE_REQD" },
  { NBD_REP_ERR_TOO_BIG, "NBD_REP_ERR_TOO_BIG", "ERR_TOO_BIG" },
  { NBD_REP_ERR_EXT_HEADER_REQD, "NBD_REP_ERR_EXT_HEADER_REQD",
    "ERR_EXT_HEADER_REQD" },
  END
};

const struct nbd_name nbd_info_names[] = {
  { NBD_INFO_EXPORT, "NBD_INFO_EXPORT", "EXPORT" },
  { NBD_INFO_NAME, "NBD_INFO_NAME", "NAME" },
  { NBD_INFO_DESCRIPTION, "NBD_INFO_DESCRIPTION", "DESCRIPTION" },
  { NBD_INFO_BLOCK_SIZE, "NBD_INFO_BLOCK_SIZE", "BLOCK_SIZE" },
  END
};

const struct nbd_name nbd_hs_flag_names[] = {
  { NBD_FLAG_FIXED_NEWSTYLE, "NBD_FLAG_FIXED_NEWSTYLE", "FIXED_NEWSTYLE" },
  { NBD_FLAG_NO_ZEROES, "NBD_FLAG_NO_ZEROES", "NO_ZEROES" },
  END
};

const struct nbd_name nbd_cflag_names[] = {
  { NBD_FLAG_C_FIXED_NEWSTYLE, "NBD_FLAG_C_FIXED_NEWSTYLE",
    "C_FIXED_NEWSTYLE" },
  { NBD_FLAG_C_NO_ZEROES, "NBD_FLAG_C_NO_ZEROES", "C_NO_ZEROES" },
  END
};

const struct nbd_name nbd_tflag_names[] = {
  { NBD_FLAG_HAS_FLAGS, "NBD_FLAG_HAS_FLAGS", "HAS_FLAGS" },
  { NBD_FLAG_READ_ONLY, "NBD_FLAG_READ_ONLY", "READ_ONLY" },
  { NBD_FLAG_SEND_FLUSH, "NBD_FLAG_SEND_FLUSH", "SEND_FLUSH" },
  { NBD_FLAG_SEND_FUA, "NBD_FLAG_SEND_FUA", "SEND_FUA" },
  { NBD_FLAG_ROTATIONAL, "NBD_FLAG_ROTATIONAL", "ROTATIONAL" },
  { NBD_FLAG_SEND_TRIM, "NBD_FLAG_SEND_TRIM", "SEND_TRIM" },
  { NBD_FLAG_SEND_WRITE_ZEROES, "NBD_FLAG_SEND_WRITE_ZEROES",
    "SEND_WRITE_ZEROES" },
  { NBD_FLAG_SEND_DF, "NBD_FLAG_SEND_DF", "SEND_DF" },
  { NBD_FLAG_CAN_MULTI_CONN, "NBD_FLAG_CAN_MULTI_CONN", "CAN_MULTI_CONN" },
  { NBD_FLAG_SEND_RESIZE, "NBD_FLAG_SEND_RESIZE", "SEND_RESIZE" },
  { NBD_FLAG_SEND_CACHE, "NBD_FLAG_SEND_CACHE", "SEND_CACHE" },
  { NBD_FLAG_SEND_FAST_ZERO, "NBD_FLAG_SEND_FAST_ZERO", "SEND_FAST_ZERO" },
  { NBD_FLAG_BLOCK_STATUS_PAYLOAD, "NBD_FLAG_BLOCK_STATUS_PAYLOAD",
    "BLOCK_STATUS_PAYLOAD" },
  END
};

const struct nbd_name nbd_cmd_names[] = {
  { NBD_CMD_READ, "NBD_CMD_READ", "READ" },
  { NBD_CMD_WRITE, "NBD_CMD_WRITE", "WRITE" },
  { NBD_CMD_DISC, "NBD_CMD_DISC", "DISC" },
  { NBD_CMD_FLUSH, "NBD_CMD_FLUSH", "FLUSH" },
  { NBD_CMD_TRIM, "NBD_CMD_TRIM", "TRIM" },
  { NBD_CMD_CACHE, "NBD_CMD_CACHE", "CACHE" },
  { NBD_CMD_WRITE_ZEROES, "NBD_CMD_WRITE_ZEROES", "WRITE_ZEROES" },
  { NBD_CMD_BLOCK_STATUS, "NBD_CMD_BLOCK_STATUS", "BLOCK_STATUS" },
  { NBD_CMD_RESIZE, "NBD_CMD_RESIZE", "RESIZE" },
  END
};

const struct nbd_name nbd_cmd_flag_names[] = {
  { NBD_CMD_FLAG_FUA, "NBD_CMD_FLAG_FUA", "FUA" },
  { NBD_CMD_FLAG_NO_HOLE, "NBD_CMD_FLAG_NO_HOLE", "NO_HOLE" },
  { NBD_CMD_FLAG_DF, "NBD_CMD_FLAG_DF", "DF" },
  { NBD_CMD_FLAG_REQ_ONE, "NBD_CMD_FLAG_REQ_ONE", "REQ_ONE" },
  { NBD_CMD_FLAG_FAST_ZERO, "NBD_CMD_FLAG_FAST_ZERO", "FAST_ZERO" },
  { NBD_CMD_FLAG_PAYLOAD_LEN, "NBD_CMD_FLAG_PAYLOAD_LEN", "PAYLOAD_LEN" },
  END
};

const struct nbd_name nbd_reply_type_names[] = {
  { NBD_REPLY_TYPE_NONE, "NBD_REPLY_TYPE_NONE", "NONE" },
  { NBD_REPLY_TYPE_OFFSET_DATA, "NBD_REPLY_TYPE_OFFSET_DATA", "OFFSET_DATA" },
  { NBD_REPLY_TYPE_OFFSET_HOLE, "NBD_REPLY_TYPE_OFFSET_HOLE", "OFFSET_HOLE" },
  { NBD_REPLY_TYPE_BLOCK_STATUS, "NBD_REPLY_TYPE_BLOCK_STATUS",
    "BLOCK_STATUS" },
  { NBD_REPLY_TYPE_BLOCK_STATUS_EXT, "NBD_REPLY_TYPE_BLOCK_STATUS_EXT",
    "BLOCK_STATUS_EXT" },
  { NBD_REPLY_TYPE_ERROR, "NBD_REPLY_TYPE_ERROR", "ERROR" },
  { NBD_REPLY_TYPE_ERROR_OFFSET, "NBD_REPLY_TYPE_ERROR_OFFSET",
    "ERROR_OFFSET" },
  END
};

const struct nbd_name nbd_reply_flag_names[] = {
  { NBD_REPLY_FLAG_DONE, "NBD_REPLY_FLAG_DONE", "DONE" },
  END
};

const struct nbd_name nbd_error_names[] = {
  { NBD_EPERM, "NBD_EPERM", "EPERM" },
  { NBD_EIO, "NBD_EIO", "EIO" },
  { NBD_ENOMEM, "NBD_ENOMEM", "ENOMEM" },
  { NBD_EINVAL, "NBD_EINVAL", "EINVAL" },
  { NBD_ENOSPC, "NBD_ENOSPC", "ENOSPC" },
  { NBD_EOVERFLOW, "NBD_EOVERFLOW", "EOVERFLOW" },
  { NBD_ENOTSUP, "NBD_ENOTSUP", "ENOTSUP" },
  { NBD_ESHUTDOWN, "NBD_ESHUTDOWN", "ESHUTDOWN" },
  END
};

const char *
nbd_name_of (const struct nbd_name *tbl, uint32_t value)
{
  for (; tbl->name; tbl++)
    if (tbl->value == value)
      return tbl->name;
  return NULL;
}

const char *
nbd_name_or_unknown (const struct nbd_name *tbl, uint32_t value)
{
  const char *n = nbd_name_of (tbl, value);
  return n ? n : "unknown";
}

int
nbd_value_of (const struct nbd_name *tbl, const char *name, uint32_t *value)
{
  for (; tbl->name; tbl++)
    if (strcasecmp (tbl->name, name) == 0
        || strcasecmp (tbl->shortname, name) == 0) {
      *value = tbl->value;
      return 0;
    }
  return -1;
}

const char *
nbd_flags_str (const struct nbd_name *tbl, uint32_t flags,
               char *buf, size_t len)
{
  size_t used = 0;
  int bit;

  if (len == 0)
    return buf;
  buf[0] = '\0';
  if (flags == 0) {
    snprintf (buf, len, "none");
    return buf;
  }
  for (bit = 0; bit < 32; bit++) {
    uint32_t mask = UINT32_C (1) << bit;
    const struct nbd_name *t;
    const char *n = NULL;
    char unk[32];
    int r;

    if (!(flags & mask))
      continue;
    for (t = tbl; t->name; t++)
      if (t->value == mask)
        n = t->shortname;
    if (!n) {
      snprintf (unk, sizeof unk, "unknown-bit-%d", bit);
      n = unk;
    }
    r = snprintf (buf + used, len - used, "%s%s", used ? " " : "", n);
    if (r < 0 || (size_t) r >= len - used)
      break;
    used += r;
  }
  return buf;
}
