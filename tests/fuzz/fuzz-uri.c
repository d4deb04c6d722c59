/* nbdcli - libFuzzer target: connection targets.
 *
 * The input, as a C string, goes to nbd_parse_uri and to
 * nbd_parse_target; a parsed target is also described and copied, and
 * everything is freed (a leak fails the run).  nbd_parse_target may
 * stat(2) the input as a path: nothing else touches the system.
 *
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uri.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (int r, struct nbd_target *t, const char *err)
{
  if (r == 0) {
    struct nbd_target c;
    char *d;

    switch (t->kind) {
    case TARGET_TCP:
      if (!t->host || !t->port)
        __builtin_trap ();
      break;
    case TARGET_UNIX:
      if (!t->socket)
        __builtin_trap ();
      break;
    default:
      __builtin_trap ();
    }
    d = nbd_target_describe (t);
    free (d);
    nbd_target_copy (&c, t);
    nbd_target_free (&c);
  }
  else if (r != -1 || memchr (err, '\0', 256) == NULL || err[0] == '\0')
    __builtin_trap ();              /* a failure always says why */
  nbd_target_free (t);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct nbd_target t;
  char err[256];
  char *s = malloc (size + 1);
  int r;

  if (!s)
    abort ();
  memcpy (s, data, size);
  s[size] = '\0';

  err[0] = '\0';
  r = nbd_parse_uri (s, &t, err, sizeof err);
  check (r, &t, err);

  err[0] = '\0';
  r = nbd_parse_target (s, &t, err, sizeof err);
  check (r, &t, err);

  free (s);
  return 0;
}
