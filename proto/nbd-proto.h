/* nbdcli - NBD protocol constants (doc/proto.md, NetworkBlockDevice/nbd).
 * Copyright the nbdcli authors, MIT licence.
 */
#ifndef NBDCLI_NBD_PROTO_H
#define NBDCLI_NBD_PROTO_H

#define NBD_DEFAULT_PORT 10809

#define NBD_MAGIC              UINT64_C (0x4e42444d41474943) /* "NBDMAGIC" */
#define NBD_OLD_VERSION        UINT64_C (0x0000420281861253)
#define NBD_NEW_VERSION        UINT64_C (0x49484156454F5054) /* "IHAVEOPT" */
#define NBD_OPT_REPLY_MAGIC    UINT64_C (0x0003e889045565a9)

#define NBD_REQUEST_MAGIC          0x25609513
#define NBD_SIMPLE_REPLY_MAGIC     0x67446698
#define NBD_STRUCTURED_REPLY_MAGIC 0x668e33ef
#define NBD_EXTENDED_REQUEST_MAGIC 0x21e41c71
#define NBD_EXTENDED_REPLY_MAGIC   0x6e8a278c

/* Handshake flags (server, 16 bits) and client flags (32 bits). */
#define NBD_FLAG_FIXED_NEWSTYLE    (1 << 0)
#define NBD_FLAG_NO_ZEROES         (1 << 1)
#define NBD_FLAG_C_FIXED_NEWSTYLE  (1 << 0)
#define NBD_FLAG_C_NO_ZEROES       (1 << 1)

/* Options. */
#define NBD_OPT_EXPORT_NAME        1
#define NBD_OPT_ABORT              2
#define NBD_OPT_LIST               3
#define NBD_OPT_PEEK_EXPORT        4
#define NBD_OPT_STARTTLS           5
#define NBD_OPT_INFO               6
#define NBD_OPT_GO                 7
#define NBD_OPT_STRUCTURED_REPLY   8
#define NBD_OPT_LIST_META_CONTEXT  9
#define NBD_OPT_SET_META_CONTEXT   10
#define NBD_OPT_EXTENDED_HEADERS   11

/* Option replies. */
#define NBD_REP_ERR_BIT            0x80000000u
#define NBD_REP_ACK                1
#define NBD_REP_SERVER             2
#define NBD_REP_INFO               3
#define NBD_REP_META_CONTEXT       4
#define NBD_REP_ERR_UNSUP          (NBD_REP_ERR_BIT | 1)
#define NBD_REP_ERR_POLICY         (NBD_REP_ERR_BIT | 2)
#define NBD_REP_ERR_INVALID        (NBD_REP_ERR_BIT | 3)
#define NBD_REP_ERR_PLATFORM       (NBD_REP_ERR_BIT | 4)
#define NBD_REP_ERR_TLS_REQD       (NBD_REP_ERR_BIT | 5)
#define NBD_REP_ERR_UNKNOWN        (NBD_REP_ERR_BIT | 6)
#define NBD_REP_ERR_SHUTDOWN       (NBD_REP_ERR_BIT | 7)
#define NBD_REP_ERR_BLOCK_SIZE_REQD (NBD_REP_ERR_BIT | 8)
#define NBD_REP_ERR_TOO_BIG        (NBD_REP_ERR_BIT | 9)
#define NBD_REP_ERR_EXT_HEADER_REQD (NBD_REP_ERR_BIT | 10)

/* NBD_INFO_* types. */
#define NBD_INFO_EXPORT            0
#define NBD_INFO_NAME              1
#define NBD_INFO_DESCRIPTION       2
#define NBD_INFO_BLOCK_SIZE        3

/* Transmission flags. */
#define NBD_FLAG_HAS_FLAGS         (1 << 0)
#define NBD_FLAG_READ_ONLY         (1 << 1)
#define NBD_FLAG_SEND_FLUSH        (1 << 2)
#define NBD_FLAG_SEND_FUA          (1 << 3)
#define NBD_FLAG_ROTATIONAL        (1 << 4)
#define NBD_FLAG_SEND_TRIM         (1 << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1 << 6)
#define NBD_FLAG_SEND_DF           (1 << 7)
#define NBD_FLAG_CAN_MULTI_CONN    (1 << 8)
#define NBD_FLAG_SEND_RESIZE       (1 << 9)
#define NBD_FLAG_SEND_CACHE        (1 << 10)
#define NBD_FLAG_SEND_FAST_ZERO    (1 << 11)
#define NBD_FLAG_BLOCK_STATUS_PAYLOAD (1 << 12)

/* Commands. */
#define NBD_CMD_READ               0
#define NBD_CMD_WRITE              1
#define NBD_CMD_DISC               2
#define NBD_CMD_FLUSH              3
#define NBD_CMD_TRIM               4
#define NBD_CMD_CACHE              5
#define NBD_CMD_WRITE_ZEROES       6
#define NBD_CMD_BLOCK_STATUS       7
#define NBD_CMD_RESIZE             8

#define NBD_CMD_FLAG_FUA           (1 << 0)
#define NBD_CMD_FLAG_NO_HOLE       (1 << 1)
#define NBD_CMD_FLAG_DF            (1 << 2)
#define NBD_CMD_FLAG_REQ_ONE       (1 << 3)
#define NBD_CMD_FLAG_FAST_ZERO     (1 << 4)
#define NBD_CMD_FLAG_PAYLOAD_LEN   (1 << 5)

/* Structured replies. */
#define NBD_REPLY_FLAG_DONE        (1 << 0)
#define NBD_REPLY_TYPE_NONE        0
#define NBD_REPLY_TYPE_OFFSET_DATA 1
#define NBD_REPLY_TYPE_OFFSET_HOLE 2
#define NBD_REPLY_TYPE_BLOCK_STATUS 5
#define NBD_REPLY_TYPE_BLOCK_STATUS_EXT 6
#define NBD_REPLY_TYPE_ERROR       0x8001
#define NBD_REPLY_TYPE_ERROR_OFFSET 0x8002

/* Errors. */
#define NBD_EPERM      1
#define NBD_EIO        5
#define NBD_ENOMEM     12
#define NBD_EINVAL     22
#define NBD_ENOSPC     28
#define NBD_EOVERFLOW  75
#define NBD_ENOTSUP    95
#define NBD_ESHUTDOWN  108

/* Sizes on the wire. */
#define NBD_OLDSTYLE_GREETING_LEN 152
#define NBD_NEWSTYLE_GREETING_LEN 18
#define NBD_OPT_HDR_LEN           16
#define NBD_OPT_REPLY_HDR_LEN     20
#define NBD_EXPORT_NAME_REPLY_LEN 10   /* + 124 zero bytes without NO_ZEROES */
#define NBD_EXPORT_NAME_PAD_LEN   124
#define NBD_REQUEST_LEN           28
#define NBD_SIMPLE_REPLY_LEN      16

/* Limits the spec sets on strings. */
#define NBD_MAX_STRING 4096

#endif
