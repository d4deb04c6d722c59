/* nbdcli - libFuzzer target: the script tokenizer.
 *
 * The input, as a C string, is tokenized with PARTIAL false and true;
 * the result's shape is checked and everything is freed (a leak fails
 * the run).
 *
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenize.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
run (const char *s, bool partial)
{
  struct cmdline *cmds = NULL;
  size_t n = 99, i;
  bool open_quote = false;
  const char *err = NULL;
  int j;

  if (tokenize (s, partial, &cmds, &n, &open_quote, &err) == -1) {
    if (partial || !err || cmds || n != 0)
      __builtin_trap ();
    return;
  }
  if (err || (n > 0 && !cmds))
    __builtin_trap ();
  for (i = 0; i < n; i++) {
    if (cmds[i].argc <= 0 || cmds[i].argv[cmds[i].argc] != NULL)
      __builtin_trap ();
    for (j = 0; j < cmds[i].argc; j++)
      if (!cmds[i].argv[j] || strlen (cmds[i].argv[j]) > strlen (s))
        __builtin_trap ();
    {
      volatile bool q = cmds[i].quoted[cmds[i].argc - 1];
      (void) q;
    }
  }
  cmdlines_free (cmds, n);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = malloc (size + 1);

  if (!s)
    abort ();
  memcpy (s, data, size);
  s[size] = '\0';
  run (s, false);
  run (s, true);
  free (s);
  return 0;
}
