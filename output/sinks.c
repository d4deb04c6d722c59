/* nbdcli - the sinks that hold no formatting of their own: the tee, the
 * audit recorder, and the choice of a run's sink; error lines; the flag
 * catalogue as text.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "output.h"
#include "session.h"
#include "sink.h"

struct out_where out_where = { .progname = "nbdcli" };

void
print_error_line (FILE *fp, const char *cmd, const char *msg)
{
  fprintf (fp, "%s: ", out_where.progname);
  if (out_where.file)
    fprintf (fp, "%s:%d: ", out_where.file, out_where.line);
  if (cmd)
    fprintf (fp, "%s: ", cmd);
  fprintf (fp, "%s\n", msg ? msg : "?");
  fflush (fp);
}

static void
tee_event (void *ctx, const struct session *s, const struct nbd_event *ev)
{
  const struct tee_sink *t = ctx;

  if (t->a.event)
    t->a.event (t->a.ctx, s, ev);
  if (t->b.event)
    t->b.event (t->b.ctx, s, ev);
}

static void
locked_event (void *ctx, const struct session *s, const struct nbd_event *ev)
{
  struct locked_sink *l = ctx;

  pthread_mutex_lock (&l->lock);
  if (l->inner.event)
    l->inner.event (l->inner.ctx, s, ev);
  pthread_mutex_unlock (&l->lock);
}

struct nbd_sink
locked_sink (struct locked_sink *l, struct nbd_sink inner)
{
  l->inner = inner;
  pthread_mutex_init (&l->lock, NULL);
  return (struct nbd_sink) { .event = locked_event, .ctx = l };
}

void
locked_sink_free (struct locked_sink *l)
{
  pthread_mutex_destroy (&l->lock);
}

struct nbd_sink
tee_sink (struct tee_sink *t, struct nbd_sink a, struct nbd_sink b)
{
  t->a = a;
  t->b = b;
  return (struct nbd_sink) { .event = tee_event, .ctx = t };
}

static void
fanout_event (void *ctx, const struct session *s, const struct nbd_event *ev)
{
  const struct fanout_sink *f = ctx;
  size_t i;

  for (i = 0; i < f->n; i++)
    if (f->v[i].event)
      f->v[i].event (f->v[i].ctx, s, ev);
}

struct nbd_sink
fanout_sink (struct fanout_sink *f)
{
  return (struct nbd_sink) { .event = fanout_event, .ctx = f };
}

void
fanout_add (struct fanout_sink *f, struct nbd_sink s)
{
  if (f->n < FANOUT_MAX)
    f->v[f->n++] = s;
}

static void
audit_event (void *ctx, const struct session *s, const struct nbd_event *ev)
{
  struct audit_record *r = ctx;

  if (ev->type != EV_FLAG)
    return;
  if (r->nflags == 0)
    snprintf (r->evidence, sizeof r->evidence, "%s",
              ev->u.flag.evidence ? ev->u.flag.evidence : "?");
  if (r->nflags < AUDIT_MAX_FLAGS)
    r->flags[r->nflags++] = ev->u.flag.def;
}

struct nbd_sink
audit_sink (struct audit_record *r)
{
  audit_clear (r);
  return (struct nbd_sink) { .event = audit_event, .ctx = r };
}

void
audit_clear (struct audit_record *r)
{
  r->nflags = 0;
  r->evidence[0] = '\0';
}

bool
display_has_evidence (const struct display *d)
{
  return d->rec.fp || d->pcap.fp || d->pcap_plain.fp || d->keylog.fp
    || d->replay;
}

void
display_attach (struct display *d, struct session *s)
{
  FILE *fp = d->fp ? d->fp : stdout, *errfp = d->errfp ? d->errfp : stderr;

  struct nbd_sink show;

  if (d->replay)
    show = replay_sink (d->replay);
  else if (d->json)
    show = json_sink (&d->js, fp);
  else if (d->trace)
    show = tee_sink (&d->tee, text_sink (&d->text, fp, errfp, d->color),
                     trace_sink (&d->tr, fp, d->trace == 2));
  else
    show = text_sink (&d->text, fp, errfp, d->color);
  s->sink_wants_bytes = d->pcap.fp || d->pcap_plain.fp;
  if (!d->rec.fp && !d->pcap.fp && !d->pcap_plain.fp && !d->keylog.fp) {
    s->sink = show;
    return;
  }
  /* The evidence gets every event too: after the display, so a flag is
   * on the screen before anything is written.
   */
  d->fan.n = 0;
  fanout_add (&d->fan, show);
  if (d->rec.fp)
    fanout_add (&d->fan, record_sink (&d->rec));
  if (d->pcap.fp)
    fanout_add (&d->fan, pcap_sink (&d->pcap));
  if (d->pcap_plain.fp)
    fanout_add (&d->fan, pcap_sink (&d->pcap_plain));
  if (d->keylog.fp)
    fanout_add (&d->fan, keylog_sink (&d->keylog));
  s->sink = fanout_sink (&d->fan);
}

/* LABEL (11 columns wide) and TEXT wrapped under it. */
static void
print_labelled (FILE *fp, const char *label, const char *text)
{
  int col = fprintf (fp, "  %-9s", label);

  print_wrapped (fp, text, col, 11, 76);
}

void
print_flag_help (FILE *fp, const struct flag_def *d)
{
  char seen[512];

  fprintf (fp, "%s: a flag, raised when the server breaks a %s of the "
           "NBD spec\n", d->id, flag_level_name (d->level));
  print_labelled (fp, "Rule:", d->rule);
  snprintf (seen, sizeof seen, "section \"%s\" of the NBD protocol "
            "(doc/proto.md in the NetworkBlockDevice/nbd repository)",
            d->section);
  print_labelled (fp, "Spec:", seen);
  snprintf (seen, sizeof seen, "a line \"FLAG %s: EVIDENCE (RULE; spec: "
            "%s)\" right after the message that shows it; EVIDENCE says "
            "what the server sent and what was expected.  A flag is not "
            "a failure: the session goes on, and the exit status is 3.",
            d->id, d->section);
  print_labelled (fp, "Seen:", seen);
  print_labelled (fp, "By hand:", d->how);
}

void
print_flag_list (FILE *fp, bool json)
{
  size_t i;

  for (i = 0; i < NFLAG_IDS; i++) {
    const struct flag_def *d = &flag_catalogue[i];

    if (json) {
      fprintf (fp, "{\"event\":\"flag_info\",\"id\":\"%s\",\"level\":\"%s\","
               "\"rule\":", d->id, flag_level_name (d->level));
      json_string (fp, d->rule);
      fprintf (fp, ",\"section\":");
      json_string (fp, d->section);
      fprintf (fp, ",\"how\":");
      json_string (fp, d->how);
      fprintf (fp, "}\n");
    }
    else
      fprintf (fp, "%-32s %-6s %s (spec: %s)\n", d->id,
               flag_level_name (d->level), d->rule, d->section);
  }
}
