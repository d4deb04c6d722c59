/* nbdcli - completion, driven by the command table: command names,
 * each command's --options, and per-argument candidates (exports and
 * contexts learned from the server, files, settings, commands).
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nbdcli.h"
#include "elements.h"
#include "tokenize.h"
#include "wire.h"

/* The session whose learned names complete EXPORT and CONTEXT words. */
static struct session *complete_session;

struct cands {
  char **v;
  size_t n;
};

/* Adds CAND if it extends WORD.  A word begun with a quote matches
 * what follows the quote; a candidate with characters the tokenizer
 * would split or strip is offered quoted, so inserting it gives one
 * word.
 */
static void
add (struct cands *c, const char *word, const char *cand)
{
  bool quoted = word[0] == '"' || word[0] == '\'';
  const char *w = quoted ? word + 1 : word;
  struct bytes b = { 0 };
  size_t i;
  const char *p;

  if (strncmp (cand, w, strlen (w)) != 0)
    return;
  if (quoted || (cand[0] && strpbrk (cand, " \t;#\"'\\")) || !cand[0]) {
    bytes_put (&b, "\"", 1);
    for (p = cand; *p; p++) {
      if (*p == '"' || *p == '\\')
        bytes_put (&b, "\\", 1);
      bytes_put (&b, p, 1);
    }
    bytes_put (&b, "\"", 2);
  }
  else
    bytes_put (&b, cand, strlen (cand) + 1);
  for (i = 0; i < c->n; i++)
    if (strcmp (c->v[i], (char *) b.data) == 0) {
      bytes_free (&b);
      return;
    }
  c->v = xrealloc (c->v, (c->n + 2) * sizeof (char *));
  c->v[c->n++] = (char *) b.data;
  c->v[c->n] = NULL;
}

static int
cmp (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static void
add_files (struct cands *c, const char *word)
{
  const char *slash = strrchr (word, '/');
  char dir[4096];
  const char *base = slash ? slash + 1 : word;
  DIR *d;
  struct dirent *e;

  if (slash)
    snprintf (dir, sizeof dir, "%.*s", (int) (slash - word + 1), word);
  else
    dir[0] = '\0';
  d = opendir (*dir ? dir : ".");
  if (!d)
    return;
  while ((e = readdir (d)) != NULL) {
    char full[8192];
    struct stat st;

    if (e->d_name[0] == '.' && base[0] != '.')
      continue;
    if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
      continue;
    snprintf (full, sizeof full, "%s%s", dir, e->d_name);
    if (stat (full, &st) == 0 && S_ISDIR (st.st_mode))
      strcat (full, "/");
    add (c, word, full);
  }
  closedir (d);
}

struct add_ctx {
  struct cands *c;
  const char *word;
};

static void add (struct cands *c, const char *word, const char *cand);

static void
add_cb (const char *name, void *vctx)
{
  struct add_ctx *ctx = vctx;
  add (ctx->c, ctx->word, name);
}

static void
add_for_letter (struct cands *c, char letter, const char *word)
{
  struct add_ctx ctx = { c, word };
  const struct command *const *g;
  const struct command *cmd;
  struct session *s = complete_session;
  size_t i;

  switch (letter) {
  case 'e':
    if (s)
      for (i = 0; i < s->learned.nexports; i++)
        add (c, word, s->learned.exports[i]);
    break;
  case 'c':
    if (s)
      for (i = 0; i < s->learned.ncontexts; i++)
        add (c, word, s->learned.contexts[i]);
    break;
  case 'f':
    add_files (c, word);
    break;
  case 's':
    for (i = 0; set_names[i]; i++)
      add (c, word, set_names[i]);
    break;
  case 'h':                     /* help: commands, elements and flags */
    list_element_names (add_cb, &ctx);
    for (i = 0; i < NFLAG_IDS; i++)
      add (c, word, flag_catalogue[i].id);
    /* fall through */
  case 'C':
    for (g = command_groups; *g; g++)
      for (cmd = *g; cmd->name; cmd++) {
        /* `inflight' is offered only while requests are in flight, so
         * that inf<TAB> still completes `info'.
         */
        if (strcmp (cmd->name, "inflight") == 0 && (!s || s->nflight == 0))
          continue;
        add (c, word, cmd->name);
        if (cmd->alias)
          add (c, word, cmd->alias);
      }
    break;
  case 't':
    add (c, word, "nbd://");
    add (c, word, "nbds://");
    add (c, word, "nbd+unix:///?socket=");
    add (c, word, "nbds+unix:///?socket=");
    add (c, word, "[");
    if (strchr (word, '/'))
      add_files (c, word);
    break;
  default:
    break;
  }
}

char **
complete_line (struct session *s, const char *line_to_cursor,
               const char *word)
{
  struct cands c = { 0 };
  struct cmdline *cmds;
  size_t n;
  bool open_quote;
  const char *err;
  const struct command *cmd;
  int argi, npos, i;

  complete_session = s;
  if (tokenize (line_to_cursor, true, &cmds, &n, &open_quote, &err) == -1)
    return NULL;
  /* Words before the one being completed, in the last command. */
  {
    size_t len = strlen (line_to_cursor);
    bool new_word = len == 0 || line_to_cursor[len - 1] == ' '
      || line_to_cursor[len - 1] == ';';
    struct cmdline *last = n ? &cmds[n - 1] : NULL;

    if (len > 0 && line_to_cursor[len - 1] == ';')
      last = NULL;
    argi = last ? last->argc - (new_word ? 0 : 1) : 0;
    if (argi <= 0) {
      add_for_letter (&c, 'C', word);
      goto done;
    }
    cmd = find_command (last->argv[0]);
    if (!cmd)
      goto done;
    if (word[0] == '-' && cmd->opts) {
      const char *p = cmd->opts;
      while (*p) {
        size_t l = strcspn (p, " ");
        char o[64];
        snprintf (o, sizeof o, "%.*s", (int) (l && p[l - 1] == '=' ? l - 1
                                              : l), p);
        add (&c, word, o);
        p += l;
        while (*p == ' ')
          p++;
      }
      add (&c, word, "--help");
      goto done;
    }
    /* The value of an option: --export NAME, --out FILE, ... */
    if (argi >= 2 && !last->quoted[argi - 1]
        && strncmp (last->argv[argi - 1], "--", 2) == 0 && cmd->opts) {
      const char *o = last->argv[argi - 1];
      const char *p = strstr (cmd->opts, o);
      if (p && p[strlen (o)] == '=') {
        if (strcmp (o, "--export") == 0)
          add_for_letter (&c, 'e', word);
        else if (strcmp (o, "--out") == 0 || strcmp (o, "--file") == 0)
          add_for_letter (&c, 'f', word);
        goto done;
      }
    }
    /* Count positional words before this one (options and their
     * values do not count).
     */
    npos = 0;
    for (i = 1; i < argi; i++) {
      const char *w = last->argv[i];
      if (!last->quoted[i] && strncmp (w, "--", 2) == 0) {
        const char *p = cmd->opts ? strstr (cmd->opts, w) : NULL;
        if (p && p[strlen (w)] == '=' && !strchr (w, '='))
          i++;
        continue;
      }
      npos++;
    }
    if (cmd->complete && *cmd->complete) {
      size_t cl = strlen (cmd->complete);
      char letter;
      if (cmd->complete[cl - 1] == '*') {
        cl--;
        letter = (size_t) npos < cl ? cmd->complete[npos]
          : cmd->complete[cl - 1];
      }
      else
        letter = (size_t) npos < cl ? cmd->complete[npos] : 0;
      if (letter)
        add_for_letter (&c, letter, word);
    }
  }
 done:
  cmdlines_free (cmds, n);
  if (c.v)
    qsort (c.v, c.n, sizeof (char *), cmp);
  return c.v;
}
