/* nbdcli - encoders and decoders of NBD messages.
 *
 * Pure functions over bounded byte buffers: no I/O, no globals, so
 * they can be fuzzed.  Decoders never read past the length they are
 * given and return NULL on success or a static string that says what
 * is wrong with the bytes.
 *
 * Copyright the nbdcli authors, MIT licence.
 */
#ifndef NBDCLI_WIRE_H
#define NBDCLI_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer. */
struct bytes {
  uint8_t *data;
  size_t len, cap;
};

extern void bytes_reserve (struct bytes *b, size_t extra);
extern void bytes_put (struct bytes *b, const void *p, size_t n);
extern void bytes_put_u16 (struct bytes *b, uint16_t v);
extern void bytes_put_u32 (struct bytes *b, uint32_t v);
extern void bytes_put_u64 (struct bytes *b, uint64_t v);
extern void bytes_reset (struct bytes *b);
extern void bytes_free (struct bytes *b);

/* Allocation that cannot fail (nbdcli aborts when memory runs out).
 * xstrdup (NULL) is NULL; xstrndup copies N bytes and adds a NUL.
 */
/* The value of hex digit C, or -1. */
extern int nbd_hex_digit (int c);
extern void *xmalloc (size_t n);
extern void *xcalloc (size_t n, size_t size);
extern void *xrealloc (void *p, size_t n);
extern char *xstrdup (const char *s);
extern char *xstrndup (const void *s, size_t n);

extern uint16_t get_u16 (const uint8_t *p);
extern uint32_t get_u32 (const uint8_t *p);
extern uint64_t get_u64 (const uint8_t *p);

/* Greeting: the first 16 bytes say which style it is. */
enum nbd_greeting_kind {
  NBD_GREETING_NEWSTYLE,        /* NBDMAGIC IHAVEOPT, 2 more bytes of flags */
  NBD_GREETING_OLDSTYLE,        /* NBDMAGIC cliserv_magic, 136 more bytes */
  NBD_GREETING_BAD_MAGIC,       /* first 8 bytes are not NBDMAGIC */
  NBD_GREETING_BAD_VERSION,     /* NBDMAGIC then an unknown magic */
};
extern enum nbd_greeting_kind nbd_greeting_kind (const uint8_t *b, size_t len);

struct nbd_oldstyle {
  uint64_t size;
  uint32_t flags;               /* the low 16 bits are transmission flags */
  bool reserved_zero;           /* the 124 reserved bytes are all zero */
};
/* B is the whole 152-byte oldstyle greeting. */
extern const char *nbd_decode_oldstyle (const uint8_t *b, size_t len,
                                        struct nbd_oldstyle *out);

/* Option request: header with a declared length, then the payload
 * (which may differ from the declared length on purpose).
 */
extern void nbd_encode_option (struct bytes *out, uint32_t opt,
                               uint32_t declared_len,
                               const void *payload, size_t len);
/* Payload of NBD_OPT_INFO / NBD_OPT_GO. */
extern void nbd_encode_info_payload (struct bytes *out, const char *name,
                                     const uint16_t *reqs, size_t nreqs);
/* Payload of NBD_OPT_{LIST,SET}_META_CONTEXT. */
extern void nbd_encode_meta_payload (struct bytes *out, const char *name,
                                     char *const *queries, size_t nqueries);

/* Option reply header. */
struct nbd_opt_reply_hdr {
  uint64_t magic;
  uint32_t option;
  uint32_t type;
  uint32_t length;
};
extern void nbd_decode_opt_reply_hdr (const uint8_t *b /* 20 bytes */,
                                      struct nbd_opt_reply_hdr *out);

struct nbd_rep_server {
  const uint8_t *name;
  size_t name_len;
  const uint8_t *desc;          /* the rest of the payload, may be empty */
  size_t desc_len;
};
extern const char *nbd_decode_rep_server (const uint8_t *p, size_t len,
                                          struct nbd_rep_server *out);

struct nbd_rep_info {
  uint16_t type;
  uint64_t size;                /* NBD_INFO_EXPORT */
  uint16_t tflags;
  const uint8_t *str;           /* NBD_INFO_NAME, NBD_INFO_DESCRIPTION */
  size_t str_len;
  uint32_t min_block, pref_block, max_block; /* NBD_INFO_BLOCK_SIZE */
  const uint8_t *raw;           /* everything after the type */
  size_t raw_len;
};
/* Decodes NBD_REP_INFO.  An unknown info type is not an error: only
 * TYPE, RAW and RAW_LEN are set.
 */
extern const char *nbd_decode_rep_info (const uint8_t *p, size_t len,
                                        struct nbd_rep_info *out);

struct nbd_rep_meta {
  uint32_t id;
  const uint8_t *name;
  size_t name_len;
};
extern const char *nbd_decode_rep_meta (const uint8_t *p, size_t len,
                                        struct nbd_rep_meta *out);

/* The 10 bytes that answer NBD_OPT_EXPORT_NAME. */
extern void nbd_decode_export_name_reply (const uint8_t *b,
                                          uint64_t *size, uint16_t *tflags);

/* Checks the NBD_INFO_BLOCK_SIZE constraints; NULL if they hold. */
extern const char *nbd_check_block_sizes (uint32_t min, uint32_t pref,
                                          uint32_t max);

/* Transmission request (compact header). */
extern void nbd_encode_request (struct bytes *out, uint16_t flags,
                                uint16_t type, uint64_t cookie,
                                uint64_t offset, uint32_t len);

/* Extended request (32 bytes; extended headers). */
extern void nbd_encode_ext_request (struct bytes *out, uint16_t flags,
                                    uint16_t type, uint64_t cookie,
                                    uint64_t offset, uint64_t len);

/* Transmission replies.  The simple reply is 16 bytes, a structured
 * chunk header 20, an extended one 32; all share this form.
 */
struct nbd_reply_hdr {
  uint32_t magic;
  uint32_t error;               /* simple reply */
  uint16_t flags, type;         /* structured / extended */
  uint64_t cookie;
  uint64_t offset;              /* extended: echo of the request offset */
  uint64_t length;              /* structured / extended payload length */
};
extern void nbd_decode_simple_reply (const uint8_t *b /* 16 */,
                                     struct nbd_reply_hdr *out);
extern void nbd_decode_structured_hdr (const uint8_t *b /* 20 */,
                                       struct nbd_reply_hdr *out);
extern void nbd_decode_extended_hdr (const uint8_t *b /* 32 */,
                                     struct nbd_reply_hdr *out);

/* Chunk payloads. */
struct nbd_chunk_error {
  uint32_t error;
  const uint8_t *msg;
  size_t msg_len;
  uint64_t offset;              /* ERROR_OFFSET only */
};
extern const char *nbd_decode_chunk_error (uint16_t type, const uint8_t *p,
                                           size_t len,
                                           struct nbd_chunk_error *out);
extern const char *nbd_decode_offset_hole (const uint8_t *p, size_t len,
                                           uint64_t *offset, uint32_t *size);

/* Block status: CTX_ID and the number of extents; extents are read with
 * nbd_block_status_extent.  EXT selects BLOCK_STATUS_EXT (16-byte
 * descriptors after an 8-byte header) over BLOCK_STATUS (8-byte
 * descriptors after a 4-byte header).
 */
extern const char *nbd_decode_block_status (const uint8_t *p, size_t len,
                                            bool ext, uint32_t *ctx_id,
                                            size_t *nextents);
extern void nbd_block_status_extent (const uint8_t *p, bool ext, size_t i,
                                     uint64_t *length, uint64_t *flags);

/* Is every byte valid UTF-8 with no NUL?  */
extern bool nbd_string_ok (const uint8_t *p, size_t len);

/* Quotes bytes for display as a C-like string, "..." with escapes for
 * quotes, backslashes and bytes outside printable ASCII (\xNN).
 * Valid UTF-8 multibyte sequences are kept.  Returns a malloc'd
 * string.
 */
extern char *nbd_quote (const uint8_t *p, size_t len);

/* A boolean as users type it, in any case: yes/no, on/off, true/false,
 * 1/0.  Returns 0 and sets *OUT, or -1 when V is none of them.  The one
 * parser for options, settings and URI queries.
 */
extern int nbd_parse_bool (const char *v, bool *out);
#define NBD_BOOL_WORDS "yes/no, on/off, true/false or 1/0"

/* Parses hex bytes ("0x" prefix and ':' or '-' separators allowed);
 * appends to OUT.  Returns 0, or -1 if S is not hex.
 */
extern int nbd_parse_hex (const char *s, struct bytes *out);

#endif
