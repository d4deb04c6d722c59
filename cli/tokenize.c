/* nbdcli - the script tokenizer.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "tokenize.h"
#include "wire.h"

static void
cmdline_clear (struct cmdline *c)
{
  int j;

  for (j = 0; j < c->argc; j++)
    free (c->argv[j]);
  free (c->argv);
  free (c->quoted);
  free (c->text);
  memset (c, 0, sizeof *c);
}

static void
push_word (struct cmdline *c, struct bytes *w, bool quoted)
{
  c->argv = xrealloc (c->argv, (c->argc + 2) * sizeof (char *));
  c->quoted = xrealloc (c->quoted, (c->argc + 1) * sizeof (bool));
  bytes_put (w, "", 1);
  c->argv[c->argc] = xstrdup ((char *) w->data);
  c->quoted[c->argc] = quoted;
  c->argc++;
  c->argv[c->argc] = NULL;
  bytes_reset (w);
}

/* The command's text: from START to END, without trailing blanks. */
static void
set_text (struct cmdline *c, const char *start, const char *end)
{
  if (!start || c->text)
    return;
  while (end > start && (end[-1] == ' ' || end[-1] == '\t'
                         || end[-1] == '\n' || end[-1] == '\r'))
    end--;
  c->text = xstrndup (start, end - start);
}

static void
push_cmd (struct cmdline **cmds, size_t *n, struct cmdline *c)
{
  if (c->argc > 0) {
    /* A leading '-' marks a command whose failure does not stop a
     * script: "-read 0 1" or "- read 0 1".
     */
    if (!c->quoted[0] && c->argv[0][0] == '-') {
      c->ignore_error = true;
      if (c->argv[0][1] == '\0') {
        free (c->argv[0]);
        memmove (c->argv, c->argv + 1, c->argc * sizeof (char *));
        memmove (c->quoted, c->quoted + 1, (c->argc - 1) * sizeof (bool));
        c->argc--;
      }
      else
        memmove (c->argv[0], c->argv[0] + 1, strlen (c->argv[0]));
    }
  }
  if (c->argc > 0) {
    *cmds = xrealloc (*cmds, (*n + 1) * sizeof **cmds);
    (*cmds)[(*n)++] = *c;
  }
  else {
    free (c->argv);
    free (c->quoted);
    free (c->text);
  }
  memset (c, 0, sizeof *c);
}

int
tokenize (const char *line, bool partial, struct cmdline **cmds,
          size_t *ncmds, bool *open_quote, const char **err)
{
  struct cmdline cur = { 0 };
  struct bytes w = { 0 };
  bool in_word = false, quoted = false;
  const char *p = line, *start = NULL;
  char q = 0;

  *cmds = NULL;
  *ncmds = 0;
  if (open_quote)
    *open_quote = false;
  *err = NULL;

  while (*p) {
    char c = *p;

    if (q == '\'') {
      if (c == '\'')
        q = 0;
      else
        bytes_put (&w, p, 1);
      p++;
      continue;
    }
    if (q == '"') {
      if (c == '"') {
        q = 0;
        p++;
        continue;
      }
      if (c == '\\' && p[1]) {
        char e = p[1];
        p += 2;
        switch (e) {
        case 'n': bytes_put (&w, "\n", 1); break;
        case 't': bytes_put (&w, "\t", 1); break;
        case 'r': bytes_put (&w, "\r", 1); break;
        case '0': bytes_put (&w, "\0", 1); break;
        case 'x':
          if (nbd_hex_digit ((unsigned char) p[0]) >= 0
              && nbd_hex_digit ((unsigned char) p[1]) >= 0) {
            char b = (char) (nbd_hex_digit ((unsigned char) p[0]) << 4
                             | nbd_hex_digit ((unsigned char) p[1]));
            bytes_put (&w, &b, 1);
            p += 2;
          }
          else
            bytes_put (&w, "\\x", 2);
          break;
        case '"': case '\\': case '\'': case '$':
          bytes_put (&w, &e, 1);
          break;
        default:
          bytes_put (&w, "\\", 1);
          bytes_put (&w, &e, 1);
        }
        continue;
      }
      bytes_put (&w, p, 1);
      p++;
      continue;
    }
    /* Outside quotes. */
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word)
        push_word (&cur, &w, quoted);
      in_word = quoted = false;
      p++;
      continue;
    }
    if (c == ';') {
      if (in_word)
        push_word (&cur, &w, quoted);
      in_word = quoted = false;
      set_text (&cur, start, p);
      start = NULL;
      push_cmd (cmds, ncmds, &cur);
      p++;
      continue;
    }
    if (c == '#' && !in_word)
      break;
    if (!start)
      start = p;                /* the command's first word begins */
    if (c == '\'' || c == '"') {
      q = c;
      in_word = quoted = true;
      p++;
      continue;
    }
    if (c == '\\' && p[1]) {
      bytes_put (&w, p + 1, 1);
      in_word = true;
      p += 2;
      continue;
    }
    bytes_put (&w, p, 1);
    in_word = true;
    p++;
  }
  if (q && !partial) {
    *err = "unterminated quote";
    bytes_free (&w);
    cmdlines_free (*cmds, *ncmds);
    cmdline_clear (&cur);
    *cmds = NULL;
    *ncmds = 0;
    return -1;
  }
  if (q && open_quote)
    *open_quote = true;
  if (in_word)
    push_word (&cur, &w, quoted);
  set_text (&cur, start, p);
  push_cmd (cmds, ncmds, &cur);
  bytes_free (&w);
  return 0;
}

void
cmdlines_free (struct cmdline *cmds, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    cmdline_clear (&cmds[i]);
  free (cmds);
}
