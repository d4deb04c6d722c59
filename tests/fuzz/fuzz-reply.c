/* nbdcli - libFuzzer target: transmission replies.
 *
 * The input's first byte chooses the header form (bits 0-1: simple,
 * structured, extended) and whether block status is read as
 * BLOCK_STATUS_EXT (bit 2); the rest is the reply header followed by
 * the chunk payload, cut to the declared length.  The payload goes to
 * every chunk decoder (ERROR and ERROR_OFFSET, OFFSET_HOLE, both block
 * status forms, every extent read) from a buffer of exactly its size
 * so that ASan sees any read past it.
 *
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nbd-proto.h"
#include "wire.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
error_chunk (uint16_t type, const uint8_t *p, size_t len)
{
  struct nbd_chunk_error e;

  if (nbd_decode_chunk_error (type, p, len, &e) == NULL) {
    char *q;

    if (e.msg_len > len || (e.msg_len && (e.msg < p
                                          || e.msg + e.msg_len > p + len)))
      __builtin_trap ();
    q = nbd_quote (e.msg, e.msg_len);
    free (q);
  }
}

static void
block_status (const uint8_t *p, size_t len, bool ext)
{
  uint32_t id;
  size_t n, i;
  uint64_t sum = 0, l, f;

  if (nbd_decode_block_status (p, len, ext, &id, &n) != NULL)
    return;
  if (n == 0 || (ext ? 8 + 16 * n : 4 + 8 * n) > len)
    __builtin_trap ();
  for (i = 0; i < n; i++) {
    nbd_block_status_extent (p, ext, i, &l, &f);
    sum += l ^ f;
  }
  (void) sum;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const size_t hlen[4] = { 16, 20, 32, 20 };
  struct nbd_reply_hdr hdr;
  uint64_t off;
  uint32_t hs;
  uint8_t sel, *p;
  size_t hl, len;

  if (size < 1)
    return 0;
  sel = data[0];
  data++;
  size--;
  hl = hlen[sel & 3];
  if (size < hl)
    return 0;
  switch (sel & 3) {
  case 0:
    nbd_decode_simple_reply (data, &hdr);
    break;
  case 2:
    nbd_decode_extended_hdr (data, &hdr);
    break;
  default:
    nbd_decode_structured_hdr (data, &hdr);
    break;
  }
  len = size - hl;
  if ((sel & 3) != 0 && hdr.length < len)
    len = hdr.length;
  p = malloc (len ? len : 1);
  if (!p)
    abort ();
  memcpy (p, data + hl, len);

  error_chunk (hdr.type, p, len);
  error_chunk (NBD_REPLY_TYPE_ERROR, p, len);
  error_chunk (NBD_REPLY_TYPE_ERROR_OFFSET, p, len);
  (void) nbd_decode_offset_hole (p, len, &off, &hs);
  block_status (p, len, sel & 4);
  block_status (p, len, !(sel & 4));

  free (p);
  return 0;
}
