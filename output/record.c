/* nbdcli - recordings: a session written as a script that nbdcli can
 * run again (nbdcli -f FILE) or compare a server with (--replay).
 *
 *   #!/usr/bin/env -S nbdcli -f
 *   # nbdcli recording ... (header: version, time, target, TLS settings)
 *   connect [ nbdkit -s memory 64M ]
 *   # <- greeting: newstyle, handshake flags 0x0003 (FIXED_NEWSTYLE ...)
 *   #json {"event":"received","message":"greeting",...,"t":0.000140}
 *   ...
 *
 * Each command as typed, then each event it caused: its text (lines
 * starting "# ") and its JSON object (one line starting "#json "), with
 * "t", the seconds since the recording began.  Like every other output
 * it holds no secret: TLS settings are file names and user names, never
 * what the files hold.
 *
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output.h"
#include "session.h"
#include "sink.h"
#include "wire.h"

bool
event_render (const struct session *s, const struct nbd_event *ev,
              char **text, char **json)
{
  struct text_sink ts;
  struct json_sink js;
  struct nbd_sink k;
  size_t n;
  FILE *fp;

  *text = *json = NULL;
  if (ev->type == EV_WIRE || ev->type == EV_BYTES || ev->type == EV_SECRET)
    return false;
  fp = open_memstream (text, &n);
  if (!fp)
    abort ();
  k = text_sink (&ts, fp, fp, false);
  k.event (k.ctx, s, ev);
  fclose (fp);
  fp = open_memstream (json, &n);
  if (!fp)
    abort ();
  k = json_sink (&js, fp);
  k.event (k.ctx, s, ev);
  fclose (fp);
  if (**json == '\0') {         /* nothing to say (EV_CLOSED unexplained) */
    free (*text);
    free (*json);
    *text = *json = NULL;
    return false;
  }
  return true;
}

/* A word as the script tokenizer reads it back: bare when it can be,
 * else in double quotes with escapes.
 */
static void
quote_word (struct bytes *b, const char *w)
{
  const unsigned char *p;
  char x[8];

  if (*w && strcspn (w, " \t\r\n;#'\"\\") == strlen (w)) {
    bool plain = true;
    for (p = (const unsigned char *) w; *p; p++)
      if (*p < 0x20 || *p == 0x7f)
        plain = false;
    if (plain) {
      bytes_put (b, w, strlen (w));
      return;
    }
  }
  bytes_put (b, "\"", 1);
  for (p = (const unsigned char *) w; *p; p++) {
    if (*p == '"' || *p == '\\' || *p == '$') {
      x[0] = '\\';
      x[1] = *p;
      bytes_put (b, x, 2);
    }
    else if (*p < 0x20 || *p == 0x7f) {
      snprintf (x, sizeof x, "\\x%02x", *p);
      bytes_put (b, x, 4);
    }
    else
      bytes_put (b, p, 1);
  }
  bytes_put (b, "\"", 1);
}

char *
quote_words (int argc, char *const *argv)
{
  struct bytes b = { 0 };
  int i;

  for (i = 0; i < argc; i++) {
    if (i)
      bytes_put (&b, " ", 1);
    quote_word (&b, argv[i]);
  }
  bytes_put (&b, "", 1);
  return (char *) b.data;
}

static double
since (const struct timespec *t0)
{
  struct timespec now;

  clock_gettime (CLOCK_MONOTONIC, &now);
  return (double) (now.tv_sec - t0->tv_sec)
    + (double) (now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
record_event (void *ctx, const struct session *s, const struct nbd_event *ev)
{
  struct record_sink *r = ctx;
  char *text, *json, *line, *save = NULL;
  size_t n;

  if (!r->fp || !event_render (s, ev, &text, &json))
    return;
  for (line = strtok_r (text, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save))
    fprintf (r->fp, "# %s\n", line);
  /* The JSON object with the time: ...,"t":SECONDS} */
  n = strlen (json);
  while (n > 0 && (json[n - 1] == '\n' || json[n - 1] == '}'))
    n--;
  fprintf (r->fp, "#json %.*s,\"t\":%.6f}\n", (int) n, json, since (&r->t0));
  fflush (r->fp);
  free (text);
  free (json);
}

static const char *
or_none (const char *a, const char *b)
{
  return a && *a ? a : b && *b ? b : NULL;
}

int
record_open (struct record_sink *r, const char *path,
             const struct session *s, const char *connect_words,
             char *err, size_t errlen)
{
  const struct tls_settings *tls = &s->cfg.tls;
  const struct nbd_target *t = &s->target;
  const char *psk = or_none (tls->psk_file, t->tls_psk_file);
  const char *certs = or_none (tls->certificates, t->tls_certificates);
  const char *user = or_none (tls->username, t->tls_username);
  const char *host = or_none (tls->hostname, t->tls_hostname);
  int vp = tls->verify_peer >= 0 ? tls->verify_peer : t->tls_verify_peer;
  char when[64];
  time_t now = time (NULL);
  struct tm tm;
  char *desc;

  record_close (r);
  r->fp = fopen (path, "w");
  if (!r->fp) {
    snprintf (err, errlen, "%s: %s", path, strerror (errno));
    return -1;
  }
  r->path = xstrdup (path);
  clock_gettime (CLOCK_MONOTONIC, &r->t0);
  gmtime_r (&now, &tm);
  strftime (when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  desc = t->kind != TARGET_NONE ? nbd_target_describe (t) : NULL;
  fprintf (r->fp,
           "#!/usr/bin/env -S nbdcli -f\n"
           "# An nbdcli recording.  Run it again with nbdcli -f FILE, or\n"
           "# compare a server with it: nbdcli --replay FILE [TARGET].\n"
           "# Under each command, every message it sent and received: as\n"
           "# text (\"# \") and as JSON (\"#json \", \"t\": seconds since\n"
           "# the recording began).\n"
           "# nbdcli: %s\n"
           "# recorded: %s\n"
           "# target: %s\n", PACKAGE_VERSION, when, desc ? desc : "(none)");
  if (connect_words && s->phase != PHASE_DISCONNECTED)
    fprintf (r->fp, "# connect: %s\n", connect_words);
  fprintf (r->fp, "# phase: %s\n", phase_name (s->phase));
  fprintf (r->fp, "# export: \"%s\"\n",
           s->cfg.default_export ? s->cfg.default_export : "");
  fprintf (r->fp, "# tls: %s", tls->required ? "required" : "not required");
  if (psk)
    fprintf (r->fp, ", PSK keys file %s, user %s", psk,
             user ? user : "(from $LOGNAME)");
  else if (certs)
    fprintf (r->fp, ", X.509 certificates in %s", certs);
  if (host)
    fprintf (r->fp, ", host name %s", host);
  fprintf (r->fp, ", verify peer %s\n", vp == 0 ? "no" : "yes");
  if (s->phase != PHASE_DISCONNECTED)
    fprintf (r->fp, "# The session was already %s when the recording "
             "began:\n# --replay connects first.\n", phase_name (s->phase));
  fflush (r->fp);
  free (desc);
  return 0;
}

void
record_command (struct record_sink *r, const char *text)
{
  if (!r->fp || !text)
    return;
  fprintf (r->fp, "%s\n", text);
  fflush (r->fp);
}

void
record_close (struct record_sink *r)
{
  if (r->fp && fclose (r->fp) != 0)
    fprintf (stderr, "%s: %s: could not write the recording\n",
             out_where.progname, r->path);
  free (r->path);
  memset (r, 0, sizeof *r);
}

struct nbd_sink
record_sink (struct record_sink *r)
{
  return (struct nbd_sink) { .event = record_event, .ctx = r };
}
