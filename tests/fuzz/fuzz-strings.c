/* nbdcli - libFuzzer target: string helpers.
 *
 * nbd_quote and nbd_string_ok get the raw bytes (NULs included);
 * nbd_parse_hex gets them as a C string.  Checks: a quoted string is
 * "..." with no raw control byte in it (a server's bytes cannot drive
 * the terminal), valid text without controls is shown as it is, and nbd_parse_hex appends at most half the input on
 * success and nothing on failure.
 *
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Bytes nbd_quote escapes even in valid UTF-8: ASCII controls, the C1
 * controls (U+0080-U+009F) and the bidirectional formatting characters
 * (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069).
 */
static bool
has_control (const uint8_t *p, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    if (p[i] < 0x20 || p[i] == 0x7f)
      return true;
    if (i + 1 < n && p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
      return true;
    if (i + 1 < n && p[i] == 0xd8 && p[i + 1] == 0x9c)
      return true;
    if (i + 2 < n && p[i] == 0xe2 && p[i + 1] == 0x80
        && (p[i + 2] == 0x8e || p[i + 2] == 0x8f
            || (p[i + 2] >= 0xaa && p[i + 2] <= 0xae)))
      return true;
    if (i + 2 < n && p[i] == 0xe2 && p[i + 1] == 0x81
        && p[i + 2] >= 0xa6 && p[i + 2] <= 0xa9)
      return true;
  }
  return false;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct bytes b = { 0 };
  char *q, *s;
  size_t i, ql;
  bool ok;

  q = nbd_quote (data, size);
  ql = strlen (q);
  if (ql < 2 || q[0] != '"' || q[ql - 1] != '"')
    __builtin_trap ();
  for (i = 0; i < ql; i++)
    if ((unsigned char) q[i] < 0x20 || q[i] == 0x7f)
      __builtin_trap ();
  ok = nbd_string_ok (data, size);
  /* A valid string without quotes, backslashes or control bytes is
   * shown as it is.
   */
  if (ok && memchr (data, '"', size) == NULL
      && memchr (data, '\\', size) == NULL && !has_control (data, size)
      && (ql != size + 2 || memcmp (q + 1, data, size) != 0))
    __builtin_trap ();
  free (q);

  s = malloc (size + 1);
  if (!s)
    abort ();
  memcpy (s, data, size);
  s[size] = '\0';
  bytes_put (&b, "x", 1);               /* something to keep on failure */
  if (nbd_parse_hex (s, &b) == 0) {
    if (b.len - 1 > strlen (s) / 2)
      __builtin_trap ();
  }
  else if (b.len != 1 || b.data[0] != 'x')
    __builtin_trap ();
  bytes_free (&b);
  free (s);
  return 0;
}
