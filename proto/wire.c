/* nbdcli - encoders and decoders of NBD messages.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nbd-proto.h"
#include "wire.h"

void
bytes_reserve (struct bytes *b, size_t extra)
{
  size_t need;

  if (extra > SIZE_MAX - b->len) {
    fprintf (stderr, "nbdcli: buffer size overflow\n");
    abort ();
  }
  need = b->len + extra;
  if (need <= b->cap)
    return;
  if (b->cap == 0)
    b->cap = 64;
  while (b->cap < need)
    b->cap = b->cap > SIZE_MAX / 2 ? need : b->cap * 2;
  b->data = xrealloc (b->data, b->cap);
}

void
bytes_put (struct bytes *b, const void *p, size_t n)
{
  if (n == 0)
    return;
  bytes_reserve (b, n);
  memcpy (b->data + b->len, p, n);
  b->len += n;
}

void
bytes_put_u16 (struct bytes *b, uint16_t v)
{
  uint8_t p[2] = { v >> 8, v };
  bytes_put (b, p, 2);
}

void
bytes_put_u32 (struct bytes *b, uint32_t v)
{
  uint8_t p[4] = { v >> 24, v >> 16, v >> 8, v };
  bytes_put (b, p, 4);
}

void
bytes_put_u64 (struct bytes *b, uint64_t v)
{
  bytes_put_u32 (b, v >> 32);
  bytes_put_u32 (b, (uint32_t) v);
}

void
bytes_reset (struct bytes *b)
{
  b->len = 0;
}

void
bytes_free (struct bytes *b)
{
  free (b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* Out of memory: nbdcli cannot go on sensibly; say so and stop. */
static void __attribute__ ((noreturn))
out_of_memory (void)
{
  fprintf (stderr, "nbdcli: out of memory\n");
  abort ();
}

void *
xmalloc (size_t n)
{
  void *p = malloc (n ? n : 1);

  if (!p)
    out_of_memory ();
  return p;
}

void *
xcalloc (size_t n, size_t size)
{
  void *p = calloc (n ? n : 1, size ? size : 1);

  if (!p)
    out_of_memory ();
  return p;
}

void *
xrealloc (void *p, size_t n)
{
  p = realloc (p, n ? n : 1);
  if (!p)
    out_of_memory ();
  return p;
}

char *
xstrdup (const char *s)
{
  return s ? xstrndup (s, strlen (s)) : NULL;
}

char *
xstrndup (const void *s, size_t n)
{
  char *r = xmalloc (n + 1);

  if (n)
    memcpy (r, s, n);
  r[n] = '\0';
  return r;
}

uint16_t
get_u16 (const uint8_t *p)
{
  return (uint16_t) (p[0] << 8 | p[1]);
}

uint32_t
get_u32 (const uint8_t *p)
{
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
    | (uint32_t) p[2] << 8 | p[3];
}

uint64_t
get_u64 (const uint8_t *p)
{
  return (uint64_t) get_u32 (p) << 32 | get_u32 (p + 4);
}

enum nbd_greeting_kind
nbd_greeting_kind (const uint8_t *b, size_t len)
{
  uint64_t v;

  if (len < 16 || get_u64 (b) != NBD_MAGIC)
    return NBD_GREETING_BAD_MAGIC;
  v = get_u64 (b + 8);
  if (v == NBD_NEW_VERSION)
    return NBD_GREETING_NEWSTYLE;
  if (v == NBD_OLD_VERSION)
    return NBD_GREETING_OLDSTYLE;
  return NBD_GREETING_BAD_VERSION;
}

const char *
nbd_decode_oldstyle (const uint8_t *b, size_t len, struct nbd_oldstyle *out)
{
  size_t i;

  if (len < NBD_OLDSTYLE_GREETING_LEN)
    return "oldstyle greeting shorter than 152 bytes";
  out->size = get_u64 (b + 16);
  out->flags = get_u32 (b + 24);
  out->reserved_zero = true;
  for (i = 28; i < NBD_OLDSTYLE_GREETING_LEN; i++)
    if (b[i] != 0)
      out->reserved_zero = false;
  return NULL;
}

void
nbd_encode_option (struct bytes *out, uint32_t opt, uint32_t declared_len,
                   const void *payload, size_t len)
{
  bytes_put_u64 (out, NBD_NEW_VERSION);
  bytes_put_u32 (out, opt);
  bytes_put_u32 (out, declared_len);
  bytes_put (out, payload, len);
}

void
nbd_encode_info_payload (struct bytes *out, const char *name,
                         const uint16_t *reqs, size_t nreqs)
{
  size_t n = strlen (name), i;

  bytes_put_u32 (out, n);
  bytes_put (out, name, n);
  bytes_put_u16 (out, nreqs);
  for (i = 0; i < nreqs; i++)
    bytes_put_u16 (out, reqs[i]);
}

void
nbd_encode_meta_payload (struct bytes *out, const char *name,
                         char *const *queries, size_t nqueries)
{
  size_t n = strlen (name), i;

  bytes_put_u32 (out, n);
  bytes_put (out, name, n);
  bytes_put_u32 (out, nqueries);
  for (i = 0; i < nqueries; i++) {
    n = strlen (queries[i]);
    bytes_put_u32 (out, n);
    bytes_put (out, queries[i], n);
  }
}

void
nbd_decode_opt_reply_hdr (const uint8_t *b, struct nbd_opt_reply_hdr *out)
{
  out->magic = get_u64 (b);
  out->option = get_u32 (b + 8);
  out->type = get_u32 (b + 12);
  out->length = get_u32 (b + 16);
}

const char *
nbd_decode_rep_server (const uint8_t *p, size_t len,
                       struct nbd_rep_server *out)
{
  uint32_t n;

  if (len < 4)
    return "NBD_REP_SERVER shorter than its 4-byte name length";
  n = get_u32 (p);
  if (n > len - 4)
    return "NBD_REP_SERVER name length runs past the reply";
  out->name = p + 4;
  out->name_len = n;
  out->desc = p + 4 + n;
  out->desc_len = len - 4 - n;
  return NULL;
}

const char *
nbd_decode_rep_info (const uint8_t *p, size_t len, struct nbd_rep_info *out)
{
  memset (out, 0, sizeof *out);
  if (len < 2)
    return "NBD_REP_INFO shorter than its 2-byte info type";
  out->type = get_u16 (p);
  out->raw = p + 2;
  out->raw_len = len - 2;
  switch (out->type) {
  case NBD_INFO_EXPORT:
    if (len != 12)
      return "NBD_INFO_EXPORT must be 12 bytes long";
    out->size = get_u64 (p + 2);
    out->tflags = get_u16 (p + 10);
    break;
  case NBD_INFO_NAME:
  case NBD_INFO_DESCRIPTION:
    out->str = p + 2;
    out->str_len = len - 2;
    break;
  case NBD_INFO_BLOCK_SIZE:
    if (len != 14)
      return "NBD_INFO_BLOCK_SIZE must be 14 bytes long";
    out->min_block = get_u32 (p + 2);
    out->pref_block = get_u32 (p + 6);
    out->max_block = get_u32 (p + 10);
    break;
  default:
    break;
  }
  return NULL;
}

const char *
nbd_decode_rep_meta (const uint8_t *p, size_t len, struct nbd_rep_meta *out)
{
  if (len < 4)
    return "NBD_REP_META_CONTEXT shorter than its 4-byte context id";
  out->id = get_u32 (p);
  out->name = p + 4;
  out->name_len = len - 4;
  return NULL;
}

void
nbd_decode_export_name_reply (const uint8_t *b, uint64_t *size,
                              uint16_t *tflags)
{
  *size = get_u64 (b);
  *tflags = get_u16 (b + 8);
}

static bool
is_pow2 (uint32_t v)
{
  return v && !(v & (v - 1));
}

const char *
nbd_check_block_sizes (uint32_t min, uint32_t pref, uint32_t max)
{
  uint32_t floor;

  if (!is_pow2 (min))
    return "minimum block size is not a power of 2";
  if (min > 65536)
    return "minimum block size is above 64 KiB";
  if (!is_pow2 (pref))
    return "preferred block size is not a power of 2";
  if (pref < min || pref < 512)
    return "preferred block size is below the larger of the minimum and 512";
  if (max != 0xffffffff && max % min != 0)
    return "maximum payload is neither a multiple of the minimum block size "
      "nor 0xffffffff";
  floor = pref < 32 * 1024 * 1024 ? pref : 32 * 1024 * 1024;
  if (max < floor)
    return "maximum payload is below the smaller of the preferred block size "
      "and 32 MiB";
  return NULL;
}

void
nbd_encode_request (struct bytes *out, uint16_t flags, uint16_t type,
                    uint64_t cookie, uint64_t offset, uint32_t len)
{
  bytes_put_u32 (out, NBD_REQUEST_MAGIC);
  bytes_put_u16 (out, flags);
  bytes_put_u16 (out, type);
  bytes_put_u64 (out, cookie);
  bytes_put_u64 (out, offset);
  bytes_put_u32 (out, len);
}

void
nbd_encode_ext_request (struct bytes *out, uint16_t flags, uint16_t type,
                        uint64_t cookie, uint64_t offset, uint64_t len)
{
  bytes_put_u32 (out, NBD_EXTENDED_REQUEST_MAGIC);
  bytes_put_u16 (out, flags);
  bytes_put_u16 (out, type);
  bytes_put_u64 (out, cookie);
  bytes_put_u64 (out, offset);
  bytes_put_u64 (out, len);
}

void
nbd_decode_simple_reply (const uint8_t *b, struct nbd_reply_hdr *out)
{
  memset (out, 0, sizeof *out);
  out->magic = get_u32 (b);
  out->error = get_u32 (b + 4);
  out->cookie = get_u64 (b + 8);
}

void
nbd_decode_structured_hdr (const uint8_t *b, struct nbd_reply_hdr *out)
{
  memset (out, 0, sizeof *out);
  out->magic = get_u32 (b);
  out->flags = get_u16 (b + 4);
  out->type = get_u16 (b + 6);
  out->cookie = get_u64 (b + 8);
  out->length = get_u32 (b + 16);
}

void
nbd_decode_extended_hdr (const uint8_t *b, struct nbd_reply_hdr *out)
{
  memset (out, 0, sizeof *out);
  out->magic = get_u32 (b);
  out->flags = get_u16 (b + 4);
  out->type = get_u16 (b + 6);
  out->cookie = get_u64 (b + 8);
  out->offset = get_u64 (b + 16);
  out->length = get_u64 (b + 24);
}

const char *
nbd_decode_chunk_error (uint16_t type, const uint8_t *p, size_t len,
                        struct nbd_chunk_error *out)
{
  size_t need = type == NBD_REPLY_TYPE_ERROR_OFFSET ? 14 : 6;

  memset (out, 0, sizeof *out);
  if (len < need)
    return type == NBD_REPLY_TYPE_ERROR_OFFSET
      ? "ERROR_OFFSET chunk shorter than 14 bytes"
      : "ERROR chunk shorter than 6 bytes";
  out->error = get_u32 (p);
  out->msg_len = get_u16 (p + 4);
  if (out->msg_len > len - need)
    return "error message length runs past the chunk";
  out->msg = p + 6;
  if (type == NBD_REPLY_TYPE_ERROR_OFFSET) {
    if (len != need + out->msg_len)
      return "ERROR_OFFSET chunk length is not 14 + message length";
    out->offset = get_u64 (p + 6 + out->msg_len);
  }
  else if (len != need + out->msg_len)
    return "ERROR chunk length is not 6 + message length";
  return NULL;
}

const char *
nbd_decode_offset_hole (const uint8_t *p, size_t len, uint64_t *offset,
                        uint32_t *size)
{
  if (len != 12)
    return "OFFSET_HOLE chunk is not 12 bytes long";
  *offset = get_u64 (p);
  *size = get_u32 (p + 8);
  if (*size == 0)
    return "OFFSET_HOLE with a hole size of 0";
  return NULL;
}

const char *
nbd_decode_block_status (const uint8_t *p, size_t len, bool ext,
                         uint32_t *ctx_id, size_t *nextents)
{
  if (ext) {
    uint32_t count;
    if (len < 8)
      return "BLOCK_STATUS_EXT chunk shorter than 8 bytes";
    *ctx_id = get_u32 (p);
    count = get_u32 (p + 4);
    if ((len - 8) % 16 != 0)
      return "BLOCK_STATUS_EXT length is not 8 + 16 * n";
    if (count != (len - 8) / 16)
      return "BLOCK_STATUS_EXT descriptor count disagrees with its length";
    *nextents = count;
  }
  else {
    if (len < 4)
      return "BLOCK_STATUS chunk shorter than 4 bytes";
    *ctx_id = get_u32 (p);
    if ((len - 4) % 8 != 0)
      return "BLOCK_STATUS length is not 4 + 8 * n";
    *nextents = (len - 4) / 8;
  }
  if (*nextents == 0)
    return "block status chunk with no extents";
  return NULL;
}

void
nbd_block_status_extent (const uint8_t *p, bool ext, size_t i,
                         uint64_t *length, uint64_t *flags)
{
  if (ext) {
    *length = get_u64 (p + 8 + 16 * i);
    *flags = get_u64 (p + 8 + 16 * i + 8);
  }
  else {
    *length = get_u32 (p + 4 + 8 * i);
    *flags = get_u32 (p + 4 + 8 * i + 4);
  }
}

/* Length of the valid UTF-8 sequence at P (at most LEN bytes), or 0;
 * its code point in *CPP.
 */
static size_t
utf8_decode (const uint8_t *p, size_t len, uint32_t *cpp)
{
  size_t n, i;
  uint32_t cp;

  *cpp = p[0];
  if (p[0] < 0x80)
    return 1;
  else if ((p[0] & 0xe0) == 0xc0) { n = 2; cp = p[0] & 0x1f; }
  else if ((p[0] & 0xf0) == 0xe0) { n = 3; cp = p[0] & 0x0f; }
  else if ((p[0] & 0xf8) == 0xf0) { n = 4; cp = p[0] & 0x07; }
  else
    return 0;
  if (n > len)
    return 0;
  for (i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80)
      return 0;
    cp = cp << 6 | (p[i] & 0x3f);
  }
  /* Overlong forms, surrogates, out of range. */
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800)
      || (n == 4 && cp < 0x10000) || cp > 0x10ffff
      || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  *cpp = cp;
  return n;
}

static size_t
utf8_seq_len (const uint8_t *p, size_t len)
{
  uint32_t cp;
  return utf8_decode (p, len, &cp);
}

/* Code points a terminal would act on or that reorder text: the C1
 * controls and the bidirectional formatting characters.
 */
static bool
dangerous_cp (uint32_t cp)
{
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e
    || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e)
    || (cp >= 0x2066 && cp <= 0x2069);
}

bool
nbd_string_ok (const uint8_t *p, size_t len)
{
  size_t i = 0, n;

  while (i < len) {
    if (p[i] == 0)
      return false;
    n = utf8_seq_len (p + i, len - i);
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

char *
nbd_quote (const uint8_t *p, size_t len)
{
  struct bytes b = { 0 };
  size_t i = 0, n;
  uint32_t cp;
  char esc[16];

  bytes_put (&b, "\"", 1);
  while (i < len) {
    if (p[i] == '"' || p[i] == '\\') {
      esc[0] = '\\'; esc[1] = p[i];
      bytes_put (&b, esc, 2);
      i++;
    }
    else if (p[i] >= 0x20 && p[i] < 0x7f) {
      bytes_put (&b, &p[i], 1);
      i++;
    }
    else if (p[i] >= 0x80 && (n = utf8_decode (p + i, len - i, &cp)) > 0) {
      if (dangerous_cp (cp)) {
        snprintf (esc, sizeof esc, "\\u{%04x}", cp);
        bytes_put (&b, esc, strlen (esc));
      }
      else
        bytes_put (&b, &p[i], n);
      i += n;
    }
    else {
      snprintf (esc, sizeof esc, "\\x%02x", p[i]);
      bytes_put (&b, esc, 4);
      i++;
    }
  }
  bytes_put (&b, "\"", 2);      /* includes the terminating NUL */
  return (char *) b.data;
}

int
nbd_hex_digit (int c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int
nbd_parse_hex (const char *s, struct bytes *out)
{
  size_t start = out->len;
  int hi = -1;

  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
    s += 2;
  if (*s == '\0')
    return -1;
  for (; *s; s++) {
    int v;

    if (*s == ':' || *s == '-' || *s == '_') {
      if (hi >= 0)
        goto bad;
      continue;
    }
    v = nbd_hex_digit ((unsigned char) *s);
    if (v < 0)
      goto bad;
    if (hi < 0)
      hi = v;
    else {
      uint8_t byte = hi << 4 | v;
      bytes_put (out, &byte, 1);
      hi = -1;
    }
  }
  if (hi >= 0)
    goto bad;
  return 0;
 bad:
  out->len = start;
  return -1;
}

int
nbd_parse_bool (const char *v, bool *out)
{
  static const char *const yes[] = { "yes", "on", "true", "1" };
  static const char *const no[] = { "no", "off", "false", "0" };
  size_t i;

  if (v == NULL)
    return -1;
  for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
    if (strcasecmp (v, yes[i]) == 0) {
      *out = true;
      return 0;
    }
    if (strcasecmp (v, no[i]) == 0) {
      *out = false;
      return 0;
    }
  }
  return -1;
}
