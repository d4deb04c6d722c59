/* nbdcli - libFuzzer target: the greeting and the EXPORT_NAME reply.
 *
 * The input is what a server sends first: the 16-byte magics decide
 * the style (nbd_greeting_kind), an oldstyle greeting is decoded whole
 * (nbd_decode_oldstyle), and the bytes after a newstyle greeting's
 * flags are taken as the 10-byte answer to NBD_OPT_EXPORT_NAME.
 *
 *   make fuzz && scripts/fuzz 60
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

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  enum nbd_greeting_kind k = nbd_greeting_kind (data, size);
  struct nbd_oldstyle o;
  uint64_t esize;
  uint16_t tflags;
  const char *err;

  switch (k) {
  case NBD_GREETING_NEWSTYLE:
    if (size < 16 || get_u64 (data) != NBD_MAGIC)
      __builtin_trap ();
    if (size >= 18 + NBD_EXPORT_NAME_REPLY_LEN)
      nbd_decode_export_name_reply (data + 18, &esize, &tflags);
    break;
  case NBD_GREETING_OLDSTYLE:
    err = nbd_decode_oldstyle (data, size, &o);
    if ((err == NULL) != (size >= NBD_OLDSTYLE_GREETING_LEN))
      __builtin_trap ();
    break;
  case NBD_GREETING_BAD_MAGIC:
  case NBD_GREETING_BAD_VERSION:
    break;
  default:
    __builtin_trap ();
  }
  /* Whatever the magic, the oldstyle decoder must stay in bounds. */
  (void) nbd_decode_oldstyle (data, size, &o);
  return 0;
}
