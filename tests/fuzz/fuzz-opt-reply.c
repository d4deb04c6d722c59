/* nbdcli - libFuzzer target: option replies.
 *
 * The input is an option reply as it arrives: the 20-byte header
 * (nbd_decode_opt_reply_hdr), then the payload, cut to the declared
 * length.  The payload goes to every payload decoder (NBD_REP_SERVER,
 * NBD_REP_INFO, NBD_REP_META_CONTEXT) whatever the reply type, from a
 * buffer of exactly its size so that ASan sees any read past it.  The
 * decoded strings are quoted and checked as nbdcli's output does.
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

/* The span [P, P+N) lies within [BASE, BASE+LEN). */
static void
within (const uint8_t *p, size_t n, const uint8_t *base, size_t len)
{
  if (n == 0)
    return;
  if (p < base || p > base + len || n > (size_t) (base + len - p))
    __builtin_trap ();
}

static void
show (const uint8_t *p, size_t n)
{
  char *q = nbd_quote (p, n);
  (void) nbd_string_ok (p, n);
  free (q);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct nbd_opt_reply_hdr hdr;
  struct nbd_rep_server sv;
  struct nbd_rep_info in;
  struct nbd_rep_meta m;
  uint8_t *p;
  size_t len;

  if (size < NBD_OPT_REPLY_HDR_LEN)
    return 0;
  nbd_decode_opt_reply_hdr (data, &hdr);
  len = size - NBD_OPT_REPLY_HDR_LEN;
  if (hdr.length < len)
    len = hdr.length;
  p = malloc (len ? len : 1);
  if (!p)
    abort ();
  memcpy (p, data + NBD_OPT_REPLY_HDR_LEN, len);

  if (nbd_decode_rep_server (p, len, &sv) == NULL) {
    within (sv.name, sv.name_len, p, len);
    within (sv.desc, sv.desc_len, p, len);
    if (4 + sv.name_len + sv.desc_len != len)
      __builtin_trap ();
    show (sv.name, sv.name_len);
    show (sv.desc, sv.desc_len);
  }

  if (nbd_decode_rep_info (p, len, &in) == NULL) {
    within (in.raw, in.raw_len, p, len);
    within (in.str, in.str_len, p, len);
    switch (in.type) {
    case NBD_INFO_NAME:
    case NBD_INFO_DESCRIPTION:
      show (in.str, in.str_len);
      break;
    case NBD_INFO_BLOCK_SIZE:
      (void) nbd_check_block_sizes (in.min_block, in.pref_block,
                                    in.max_block);
      break;
    default:
      break;
    }
  }

  if (nbd_decode_rep_meta (p, len, &m) == NULL) {
    within (m.name, m.name_len, p, len);
    show (m.name, m.name_len);
  }

  free (p);
  return 0;
}
