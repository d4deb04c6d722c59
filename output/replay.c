/* nbdcli - replaying a recording: what a server sends now beside what
 * it sent then, message by message.
 *
 * Each step of the recording (a command as typed, with the events it
 * caused as "#json" lines) is run again; the events it causes now are
 * collected by the replay sink and aligned with the recorded ones (the
 * same kind of message in the same order; a message of the same option
 * or type counts more), then each pair is compared field by field.
 * Ignored, always: "t" (when it happened), "target" (where: --replay
 * may name another server), "file" and "line" (where a script was),
 * and every field of the "tls" event but its epoch (version, cipher,
 * key exchange, peer certificate, verification).  The user adds fields
 * or whole events with --ignore.
 *
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "session.h"
#include "sink.h"
#include "wire.h"

static const char *const always_ignored[] = {
  "t", "target", "file", "line", NULL
};

static void
event_free (struct replay_event *e)
{
  free (e->text);
  free (e->json);
}

static void
add_event (struct replay_event **v, size_t *n, char *text, char *json)
{
  *v = xrealloc (*v, (*n + 1) * sizeof **v);
  (*v)[*n].text = text;
  (*v)[*n].json = json;
  (*n)++;
}

/* ---------------------------------------------------------------- load */

static char *
header_value (const char *line, const char *key)
{
  size_t n = strlen (key);

  if (strncmp (line, "# ", 2) == 0 && strncmp (line + 2, key, n) == 0
      && line[2 + n] == ':' && line[3 + n] == ' ')
    return xstrdup (line + 4 + n);
  return NULL;
}

int
replay_load (const char *path, struct replay_file *f, char *err,
             size_t errlen)
{
  FILE *fp = fopen (path, "r");
  char *line = NULL, *v;
  size_t cap = 0;
  ssize_t len;
  int lineno = 0;
  struct bytes text = { 0 };
  bool recording = false;
  struct replay_event *pre = NULL;
  size_t npre = 0;

  memset (f, 0, sizeof *f);
  if (!fp) {
    snprintf (err, errlen, "%s: %s", path, strerror (errno));
    return -1;
  }
  while ((len = getline (&line, &cap, fp)) != -1) {
    lineno++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
      line[--len] = '\0';
    if (strncmp (line, "# An nbdcli recording", 21) == 0)
      recording = true;
    if (f->nsteps == 0) {
      if ((v = header_value (line, "target")) != NULL) {
        free (f->target);
        f->target = v;
      }
      else if ((v = header_value (line, "connect")) != NULL) {
        free (f->connect);
        f->connect = v;
      }
      else if ((v = header_value (line, "phase")) != NULL) {
        f->midsession = strcmp (v, "disconnected") != 0;
        free (v);
      }
    }
    if (strncmp (line, "#json ", 6) == 0) {
      struct replay_step *st = f->nsteps ? &f->steps[f->nsteps - 1] : NULL;

      bytes_put (&text, "", 1);
      if (st)
        add_event (&st->ev, &st->nev, xstrdup ((char *) text.data),
                   xstrdup (line + 6));
      else                      /* before any command: not compared */
        add_event (&pre, &npre, xstrdup ((char *) text.data),
                   xstrdup (line + 6));
      bytes_reset (&text);
      continue;
    }
    if (line[0] == '#') {
      if (strncmp (line, "# ", 2) == 0 && f->nsteps > 0) {
        bytes_put (&text, line + 2, strlen (line + 2));
        bytes_put (&text, "\n", 1);
      }
      continue;
    }
    if (line[strspn (line, " \t")] == '\0')
      continue;
    bytes_reset (&text);
    f->steps = xrealloc (f->steps, (f->nsteps + 1) * sizeof *f->steps);
    memset (&f->steps[f->nsteps], 0, sizeof *f->steps);
    f->steps[f->nsteps].cmd = xstrdup (line + strspn (line, " \t"));
    f->steps[f->nsteps].line = lineno;
    f->nsteps++;
  }
  free (line);
  fclose (fp);
  bytes_free (&text);
  while (npre > 0)
    event_free (&pre[--npre]);
  free (pre);
  if (!recording) {
    snprintf (err, errlen, "%s: not an nbdcli recording (made with "
              "--record FILE or `record FILE')", path);
    replay_file_free (f);
    return -1;
  }
  return 0;
}

void
replay_file_free (struct replay_file *f)
{
  size_t i, j;

  for (i = 0; i < f->nsteps; i++) {
    for (j = 0; j < f->steps[i].nev; j++)
      event_free (&f->steps[i].ev[j]);
    free (f->steps[i].ev);
    free (f->steps[i].cmd);
  }
  free (f->steps);
  free (f->target);
  free (f->connect);
  memset (f, 0, sizeof *f);
}

/* ---------------------------------------------------------------- JSON */

/* One member of a flat JSON object: its key and its value as written. */
struct member {
  char *key;
  char *val;
};

struct object {
  struct member *m;
  size_t n;
};

static const char *
skip_ws (const char *p)
{
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  return p;
}

/* The end of the string starting at P (its opening quote). */
static const char *
string_end (const char *p)
{
  for (p++; *p && *p != '"'; p++)
    if (*p == '\\' && p[1])
      p++;
  return *p ? p + 1 : p;
}

/* Splits a JSON object into its top-level members (values kept as
 * written: arrays and objects whole).  Anything else: no members.
 */
static void
object_parse (const char *s, struct object *o)
{
  const char *p = skip_ws (s);

  o->m = NULL;
  o->n = 0;
  if (*p != '{')
    return;
  p = skip_ws (p + 1);
  while (*p == '"') {
    const char *k = p + 1, *ke = string_end (p), *v;
    int depth = 0;

    p = skip_ws (ke);
    if (*p != ':')
      return;
    v = p = skip_ws (p + 1);
    while (*p) {
      if (*p == '"') {
        p = string_end (p);
        continue;
      }
      if (*p == '{' || *p == '[')
        depth++;
      else if (*p == '}' || *p == ']') {
        if (depth == 0)
          break;
        depth--;
      }
      else if (*p == ',' && depth == 0)
        break;
      p++;
    }
    o->m = xrealloc (o->m, (o->n + 1) * sizeof *o->m);
    o->m[o->n].key = xstrndup (k, ke > k ? (size_t) (ke - k - 1) : 0);
    o->m[o->n].val = xstrndup (v, p - v);
    o->n++;
    if (*p != ',')
      break;
    p = skip_ws (p + 1);
  }
}

static void
object_free (struct object *o)
{
  size_t i;

  for (i = 0; i < o->n; i++) {
    free (o->m[i].key);
    free (o->m[i].val);
  }
  free (o->m);
}

static const char *
object_get (const struct object *o, const char *key)
{
  size_t i;

  for (i = 0; i < o->n; i++)
    if (strcmp (o->m[i].key, key) == 0)
      return o->m[i].val;
  return NULL;
}

/* ------------------------------------------------------------ compare */

static bool
user_ignores (const struct replay_sink *r, const char *name)
{
  size_t i;

  for (i = 0; i < r->nignore; i++)
    if (strcmp (r->ignore[i], name) == 0)
      return true;
  return false;
}

/* The event's name without quotes ("received"), into BUF. */
static const char *
event_name (const struct object *o, char *buf, size_t len)
{
  const char *v = object_get (o, "event");
  size_t n;

  if (!v || *v != '"') {
    snprintf (buf, len, "?");
    return buf;
  }
  n = strlen (v);
  snprintf (buf, len, "%.*s", (int) (n >= 2 ? n - 2 : 0), v + 1);
  return buf;
}

static bool
field_ignored (const struct replay_sink *r, const struct object *o,
               const char *key)
{
  char ev[64];
  size_t i;

  for (i = 0; always_ignored[i]; i++)
    if (strcmp (key, always_ignored[i]) == 0)
      return true;
  /* TLS details change with the server and the library: only the
   * epoch (how many STARTTLS) is compared.
   */
  if (strcmp (event_name (o, ev, sizeof ev), "tls") == 0
      && strcmp (key, "event") != 0 && strcmp (key, "epoch") != 0)
    return true;
  return user_ignores (r, key);
}

/* KEY is the name of another field's value (type_name for type). */
static const char *
companion_of (const char *key, char *buf, size_t len)
{
  size_t n = strlen (key);

  if (n > 6 && strcmp (key + n - 6, "_names") == 0)
    n -= 6;
  else if (n > 5 && strcmp (key + n - 5, "_name") == 0)
    n -= 5;
  else
    return NULL;
  snprintf (buf, len, "%.*s", (int) n, key);
  return buf;
}

/* What a message is, for the alignment: its event and message kind;
 * FINE adds its option, type, command or context.
 */
static char *
kind_key (const struct object *o, bool fine)
{
  static const char *const coarse_keys[] = { "event", "message", NULL };
  static const char *const fine_keys[] = {
    "event", "message", "option", "type", "command", "info", "id",
    "context_id", NULL
  };
  const char *const *k = fine ? fine_keys : coarse_keys;
  struct bytes b = { 0 };

  for (; *k; k++) {
    const char *v = object_get (o, *k);
    bytes_put (&b, v ? v : "-", strlen (v ? v : "-"));
    bytes_put (&b, "|", 1);
  }
  bytes_put (&b, "", 1);
  return (char *) b.data;
}

static const char *
first_line (const struct replay_event *e, char *buf, size_t len)
{
  const char *t = e->text && *e->text ? e->text : e->json;
  size_t n = strcspn (t, "\n");

  /* The text of data and block status starts indented. */
  while (n > 0 && *t == ' ') {
    t++;
    n--;
  }
  snprintf (buf, len, "%.*s", (int) n, t);
  return buf;
}

/* Prints "FIELD: OLD -> NEW" lines for the fields of A (then) and B
 * (now) that differ; returns how many.
 */
static unsigned
compare_fields (struct replay_sink *r, const struct object *a,
                const struct object *b, bool print)
{
  const struct object *side[2] = { a, b };
  unsigned ndiff = 0;
  bool ignored_differs = false;
  const char *hex_old = NULL, *hex_new = NULL;
  char cbuf[128];
  int s;
  size_t i;

  for (s = 0; s < 2; s++)
    for (i = 0; i < side[s]->n; i++) {
      const char *key = side[s]->m[i].key;
      const char *va = object_get (a, key), *vb = object_get (b, key);
      const char *base = companion_of (key, cbuf, sizeof cbuf);
      char na[160], nb[160];

      if (s == 1 && va)
        continue;               /* seen from A */
      if (va && vb && strcmp (va, vb) == 0)
        continue;
      if (base && (object_get (a, base) || object_get (b, base))) {
        if (field_ignored (r, a, base))
          continue;
        /* Shown with its number, unless only the name differs. */
        {
          const char *ba = object_get (a, base), *bb = object_get (b, base);
          if (!(ba && bb && strcmp (ba, bb) == 0))
            continue;
        }
      }
      if (field_ignored (r, a, key)) {
        if (user_ignores (r, key))
          ignored_differs = true;
        continue;
      }
      if (strcmp (key, "payload_hex") == 0) {
        /* The raw payload: a difference only when no decoded field
         * explains it.
         */
        hex_old = va;
        hex_new = vb;
        continue;
      }
      ndiff++;
      if (!print)
        continue;
      snprintf (cbuf, sizeof cbuf, "%s_name", key);
      na[0] = nb[0] = '\0';
      if (object_get (a, cbuf) && object_get (b, cbuf)) {
        snprintf (na, sizeof na, " (%s)", object_get (a, cbuf));
        snprintf (nb, sizeof nb, " (%s)", object_get (b, cbuf));
      }
      snprintf (cbuf, sizeof cbuf, "%s_names", key);
      if (object_get (a, cbuf) && object_get (b, cbuf)) {
        snprintf (na, sizeof na, " %s", object_get (a, cbuf));
        snprintf (nb, sizeof nb, " %s", object_get (b, cbuf));
      }
      fprintf (r->out, "      %s: %s%s -> %s%s\n", key,
               va ? va : "(absent)", na, vb ? vb : "(absent)", nb);
    }
  if ((hex_old || hex_new) && ndiff == 0 && !ignored_differs) {
    ndiff++;
    if (print)
      fprintf (r->out, "      payload_hex: %s -> %s\n",
               hex_old ? hex_old : "(absent)", hex_new ? hex_new : "(absent)");
  }
  return ndiff;
}

/* Does the alignment pair A[i] with B[j]? */
static bool
step_match (bool aligned, const unsigned *dp, size_t W, char **ca, char **cb,
            char **fa, char **fb, size_t i, size_t j)
{
  if (strcmp (ca[i], cb[j]) != 0)
    return false;
  if (!aligned)
    return true;
  return dp[i * W + j] == dp[(i + 1) * W + j + 1]
                          + (strcmp (fa[i], fb[j]) == 0 ? 3 : 1);
}

/* Events the user ignores by name (--ignore note) are left out. */
static size_t
filter (const struct replay_sink *r, const struct replay_event *ev, size_t n,
        struct object *objs, const struct replay_event **evs)
{
  size_t i, k = 0;
  char name[64];

  for (i = 0; i < n; i++) {
    object_parse (ev[i].json, &objs[k]);
    if (user_ignores (r, event_name (&objs[k], name, sizeof name))) {
      object_free (&objs[k]);
      continue;
    }
    evs[k++] = &ev[i];
  }
  return k;
}

bool
replay_compare (struct replay_sink *r, const struct replay_step *step)
{
  size_t n, m, i, j, W;
  struct object *oa = xcalloc (step->nev + 1, sizeof *oa);
  struct object *ob = xcalloc (r->ngot + 1, sizeof *ob);
  const struct replay_event **ea = xcalloc (step->nev + 1, sizeof *ea);
  const struct replay_event **eb = xcalloc (r->ngot + 1, sizeof *eb);
  char **ca, **cb, **fa, **fb;
  unsigned *dp = NULL;
  long *ma, *mb;
  unsigned same = 0, diff = 0, miss = 0, extra = 0;
  bool header = false, aligned;
  char line[512];

  n = filter (r, step->ev, step->nev, oa, ea);
  m = filter (r, r->got, r->ngot, ob, eb);
  ca = xcalloc (n + 1, sizeof *ca);
  fa = xcalloc (n + 1, sizeof *fa);
  cb = xcalloc (m + 1, sizeof *cb);
  fb = xcalloc (m + 1, sizeof *fb);
  for (i = 0; i < n; i++) {
    ca[i] = kind_key (&oa[i], false);
    fa[i] = kind_key (&oa[i], true);
  }
  for (j = 0; j < m; j++) {
    cb[j] = kind_key (&ob[j], false);
    fb[j] = kind_key (&ob[j], true);
  }
  /* The alignment: most messages of the same kind in the same order,
   * those of the same option or type first.  dp[i][j] is the best
   * score of A[i..] against B[j..].  Too long a step: in order.
   */
  W = m + 1;
  aligned = (n + 1) * W <= 4000000;
  if (aligned) {
    dp = xcalloc ((n + 1) * W, sizeof *dp);
    for (i = n + 1; i-- > 0;)
      for (j = m + 1; j-- > 0;) {
        unsigned best = 0, v;
        if (i < n && j < m && strcmp (ca[i], cb[j]) == 0) {
          v = dp[(i + 1) * W + j + 1] + (strcmp (fa[i], fb[j]) == 0 ? 3 : 1);
          best = v;
        }
        if (i < n && dp[(i + 1) * W + j] > best)
          best = dp[(i + 1) * W + j];
        if (j < m && dp[i * W + j + 1] > best)
          best = dp[i * W + j + 1];
        dp[i * W + j] = best;
      }
  }

#define HEADER()                                                        \
  do {                                                                  \
    if (!header) {                                                      \
      fprintf (r->out, "%s:%d: %s\n", r->name, step->line, step->cmd);  \
      header = true;                                                    \
    }                                                                   \
  } while (0)

  /* The pairs: along the alignment, then a message that moved (the
   * same option or type elsewhere: servers may order NBD_REP_INFO as
   * they like) with its old self.
   */
  ma = xcalloc (n + 1, sizeof *ma);
  mb = xcalloc (m + 1, sizeof *mb);
  for (i = 0; i < n; i++)
    ma[i] = -1;
  for (j = 0; j < m; j++)
    mb[j] = -1;
  for (i = j = 0; i < n || j < m;) {
    if (i < n && j < m && step_match (aligned, dp, W, ca, cb, fa, fb, i, j)) {
      ma[i] = (long) j;
      mb[j] = (long) i;
      i++;
      j++;
    }
    else if (i < n && (!aligned || j >= m
                       || dp[i * W + j] == dp[(i + 1) * W + j]))
      i++;
    else
      j++;
  }
  for (i = 0; i < n; i++)
    for (j = 0; j < m && ma[i] < 0; j++)
      if (mb[j] < 0 && strcmp (fa[i], fb[j]) == 0) {
        ma[i] = (long) j;
        mb[j] = (long) i;
      }

  for (i = j = 0; i < n || j < m;) {
    size_t a = i, b;
    bool both = i < n && j < m && ma[i] == (long) j;

    if (!both && j < m && mb[j] >= 0 && mb[j] < (long) i) {
      j++;                      /* a moved message, shown with its pair */
      continue;
    }
    if (!both && i < n && (j >= m || ma[i] >= 0 || mb[j] >= 0
                           || !aligned
                           || dp[i * W + j] == dp[(i + 1) * W + j])) {
      if (ma[i] < 0) {
        miss++;
        HEADER ();
        fprintf (r->out, "  missing:   %s\n",
                 first_line (ea[i], line, sizeof line));
        i++;
        continue;
      }
      both = true;              /* moved: compared with its pair */
    }
    else if (!both) {
      extra++;
      HEADER ();
      fprintf (r->out, "  extra:     %s\n",
               first_line (eb[j], line, sizeof line));
      j++;
      continue;
    }
    b = (size_t) ma[a];
    if (compare_fields (r, &oa[a], &ob[b], false) == 0)
      same++;
    else {
      diff++;
      HEADER ();
      fprintf (r->out, "  different: %s%s\n",
               first_line (ea[a], line, sizeof line),
               b == j ? "" : " (now in another place)");
      compare_fields (r, &oa[a], &ob[b], true);
    }
    i++;
    if (b == j)
      j++;
  }
#undef HEADER
  if (header)
    fprintf (r->out, "  (%u identical, %u different, %u missing, %u "
             "extra)\n", same, diff, miss, extra);
  fflush (r->out);
  r->steps++;
  r->identical += same;
  r->different += diff;
  r->missing += miss;
  r->extra += extra;
  if (header)
    r->steps_differ++;

  for (i = 0; i < n; i++) {
    object_free (&oa[i]);
    free (ca[i]);
    free (fa[i]);
  }
  for (j = 0; j < m; j++) {
    object_free (&ob[j]);
    free (cb[j]);
    free (fb[j]);
  }
  free (oa);
  free (ob);
  free (ea);
  free (eb);
  free (ca);
  free (cb);
  free (fa);
  free (fb);
  free (dp);
  free (ma);
  free (mb);
  replay_discard (r);
  return header;
}

void
replay_summary (struct replay_sink *r)
{
  fprintf (r->out, "replay: %u command%s, %u differ; messages: %u "
           "identical, %u different, %u missing, %u extra\n", r->steps,
           r->steps == 1 ? "" : "s", r->steps_differ, r->identical,
           r->different, r->missing, r->extra);
  fflush (r->out);
}

/* ---------------------------------------------------------------- sink */

static void
replay_event (void *ctx, const struct session *s, const struct nbd_event *ev)
{
  struct replay_sink *r = ctx;
  char *text, *json;

  if (event_render (s, ev, &text, &json))
    add_event (&r->got, &r->ngot, text, json);
}

struct nbd_sink
replay_sink (struct replay_sink *r)
{
  return (struct nbd_sink) { .event = replay_event, .ctx = r };
}

void
replay_ignore (struct replay_sink *r, const char *list)
{
  const char *p = list;

  while (*p) {
    size_t n = strcspn (p, ", ");
    if (n) {
      r->ignore = xrealloc (r->ignore, (r->nignore + 1) * sizeof *r->ignore);
      r->ignore[r->nignore++] = xstrndup (p, n);
    }
    p += n;
    p += strspn (p, ", ");
  }
}

void
replay_discard (struct replay_sink *r)
{
  while (r->ngot > 0)
    event_free (&r->got[--r->ngot]);
}

void
replay_sink_free (struct replay_sink *r)
{
  size_t i;

  replay_discard (r);
  free (r->got);
  for (i = 0; i < r->nignore; i++)
    free (r->ignore[i]);
  free (r->ignore);
  memset (r, 0, sizeof *r);
}
