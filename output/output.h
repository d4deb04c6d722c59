/* nbdcli - the output layer: the sinks that the engine's events go to
 * (human text, JSON lines, the wire trace, the audit recorder), the
 * human and JSON forms of results, and help texts for protocol elements
 * (elements.h).  It calls down into proto/ only.
 * Copyright the nbdcli authors, MIT licence.
 */
#ifndef NBDCLI_OUTPUT_H
#define NBDCLI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "flags.h"
#include "sink.h"
#include "wire.h"

struct session;
struct nego;

/* Where the run stands, for the prefix of error lines
 * ("nbdcli: FILE:LINE: CMD: message"): set by the shell.
 */
struct out_where {
  const char *progname;
  const char *file;             /* script being run, or NULL */
  int line;
  const char *cmd;              /* command being run, or NULL */
};
extern struct out_where out_where;

/* An error line on FP: "nbdcli: FILE:LINE: CMD: MSG" (CMD when given). */
extern void print_error_line (FILE *fp, const char *cmd, const char *msg);

/* The sinks.  Each fills its context (which must outlive the sink's
 * use) and returns the sink to give a session.
 */
struct text_sink {              /* human text; errors on ERRFP */
  FILE *fp, *errfp;
  bool color;
};
extern struct nbd_sink text_sink (struct text_sink *t, FILE *fp, FILE *errfp,
                                  bool color);

struct json_sink {              /* one JSON object per line */
  FILE *fp;
};
extern struct nbd_sink json_sink (struct json_sink *j, FILE *fp);

struct trace_sink {             /* the annotated wire trace, field by field */
  FILE *fp;
  bool hex;                     /* with each field's bytes */
};
extern struct nbd_sink trace_sink (struct trace_sink *t, FILE *fp, bool hex);

struct tee_sink {               /* every event to A, then to B */
  struct nbd_sink a, b;
};
extern struct nbd_sink tee_sink (struct tee_sink *t, struct nbd_sink a,
                                 struct nbd_sink b);

/* Every event to each of up to FANOUT_MAX sinks, in order. */
#define FANOUT_MAX 6
struct fanout_sink {
  struct nbd_sink v[FANOUT_MAX];
  size_t n;
};
extern struct nbd_sink fanout_sink (struct fanout_sink *f);
extern void fanout_add (struct fanout_sink *f, struct nbd_sink s);

/* Every event to INNER, one at a time: for sessions in several threads
 * that share one display (a read split over several connections).  An
 * event's lines stay together.
 */
struct locked_sink {
  struct nbd_sink inner;
  pthread_mutex_t lock;
};
extern struct nbd_sink locked_sink (struct locked_sink *l,
                                    struct nbd_sink inner);
extern void locked_sink_free (struct locked_sink *l);

/* Captures (output/pcap.c): pcapng files for Wireshark.  PLAIN: the
 * NBD stream as nbdcli read and wrote it (decrypted); else the bytes as
 * they crossed the socket, with the TLS secrets in a Decryption
 * Secrets Block.
 */
struct pcap_sink {
  FILE *fp;                     /* NULL: off */
  char *path;
  bool plain;
  bool failed;                  /* a write failed */
  bool warned;                  /* said that the file holds keys */
  bool open;                    /* a synthetic TCP connection is open */
  unsigned nconn;
  uint16_t cport, ip_id;
  uint32_t next[2];             /* next sequence number: client, server */
  bool keys_out;                /* this connection's secrets are written */
  bool holding;                 /* packets wait for the secrets */
  struct bytes held;            /* the blocks held back */
  struct bytes keys;            /* NSS key log lines not yet written */
  struct bytes seg;             /* bytes one way, not yet a packet */
  bool seg_sent, seg_tls;
  struct timespec seg_time;
};
extern int pcap_open (struct pcap_sink *p, const char *path, bool plain,
                      char *err, size_t errlen);
extern void pcap_close (struct pcap_sink *p);
extern struct nbd_sink pcap_sink (struct pcap_sink *p);

/* The TLS key log (--keylog): NSS key log lines appended to a file
 * created with mode 0600, with a warning on stderr.
 */
struct keylog_sink {
  FILE *fp;                     /* NULL: off */
};
extern int keylog_open (struct keylog_sink *k, const char *path, char *err,
                        size_t errlen);
extern void keylog_close (struct keylog_sink *k);
extern struct nbd_sink keylog_sink (struct keylog_sink *k);

/* Recordings (output/record.c): the session as a script nbdcli can
 * run again, with each event's text and JSON as comments.
 */
struct record_sink {
  FILE *fp;                     /* NULL: off */
  char *path;
  struct timespec t0;
};
/* Opens PATH and writes the header (S's target and TLS settings,
 * CONNECT_WORDS: how to connect to it, as `connect' takes it).
 */
extern int record_open (struct record_sink *r, const char *path,
                        const struct session *s, const char *connect_words,
                        char *err, size_t errlen);
/* A command as typed, before the events it causes. */
extern void record_command (struct record_sink *r, const char *text);
extern void record_close (struct record_sink *r);
extern struct nbd_sink record_sink (struct record_sink *r);
/* An event as text and as one JSON line (malloc'd), as the text and
 * JSON sinks show it; false (nothing) for events they do not show.
 */
extern bool event_render (const struct session *s,
                          const struct nbd_event *ev, char **text,
                          char **json);
/* Words quoted so that the script tokenizer reads them back. */
extern char *quote_words (int argc, char *const *argv);

/* Replaying a recording (output/replay.c): its steps, and a sink that
 * collects what a step causes now and compares it with what it caused
 * then.
 */
struct replay_event {
  char *text;                   /* as the text sink showed it */
  char *json;                   /* one JSON object */
};
struct replay_step {
  char *cmd;                    /* as typed */
  int line;                     /* in the recording */
  struct replay_event *ev;
  size_t nev;
};
struct replay_file {
  char *target;                 /* "# target:", or NULL */
  char *connect;                /* "# connect:" words, or NULL */
  bool midsession;              /* recorded from a session already open */
  struct replay_step *steps;
  size_t nsteps;
};
extern int replay_load (const char *path, struct replay_file *f, char *err,
                        size_t errlen);
extern void replay_file_free (struct replay_file *f);

struct replay_sink {
  FILE *out;                    /* where the comparison goes */
  const char *name;             /* the recording, for FILE:LINE */
  char **ignore;                /* fields and events not compared */
  size_t nignore;
  struct replay_event *got;     /* what the current step caused */
  size_t ngot;
  unsigned steps, steps_differ;
  unsigned identical, different, missing, extra;
};
extern struct nbd_sink replay_sink (struct replay_sink *r);
/* Adds the comma-separated fields or event names of LIST to ignore. */
extern void replay_ignore (struct replay_sink *r, const char *list);
/* Forgets what was collected (a step begins, or its events do not
 * count).
 */
extern void replay_discard (struct replay_sink *r);
/* Compares what was collected with STEP, prints the differences and
 * counts them; returns whether anything differed.
 */
extern bool replay_compare (struct replay_sink *r,
                            const struct replay_step *step);
extern void replay_summary (struct replay_sink *r);
extern void replay_sink_free (struct replay_sink *r);

/* The audit recorder: keeps the flags raised (and the first one's
 * evidence), shows nothing.
 */
#define AUDIT_MAX_FLAGS 8
struct audit_record {
  const struct flag_def *flags[AUDIT_MAX_FLAGS];
  size_t nflags;
  char evidence[512];           /* the first flag's */
};
extern struct nbd_sink audit_sink (struct audit_record *r);
extern void audit_clear (struct audit_record *r);

/* How a run shows things: chosen once (text or JSON, colour, trace)
 * and made into the session's sink by display_attach.
 */
struct display {
  bool json;
  bool color;
  int trace;                    /* 0 off, 1 on, 2 hex */
  FILE *fp, *errfp;
  struct text_sink text;
  struct json_sink js;
  struct trace_sink tr;
  struct tee_sink tee;
  /* The evidence, each off while its stream is NULL: they get every
   * event besides the display.
   */
  struct record_sink rec;
  struct pcap_sink pcap, pcap_plain;
  struct keylog_sink keylog;
  struct replay_sink *replay;   /* --replay: shown instead of the display */
  struct fanout_sink fan;
};
extern void display_attach (struct display *d, struct session *s);
/* Whether a recording, a capture, a key log or a replay is attached:
 * they follow one connection at a time.
 */
extern bool display_has_evidence (const struct display *d);

/* Human forms (output/format.c). */
extern const char *human_size (uint64_t v, char *buf, size_t len);
extern void print_hex_inline (FILE *fp, const uint8_t *p, size_t len,
                              size_t max);
extern const char *opt_label (uint32_t opt, char *buf, size_t len);
extern const char *rep_label (uint32_t type, char *buf, size_t len);
extern void print_quoted (FILE *fp, const uint8_t *p, size_t len);
extern void print_tflags (FILE *fp, uint16_t f);
extern void print_opt_payload (FILE *fp, uint32_t type, const uint8_t *p,
                               size_t len);
extern void print_sent_payload (FILE *fp, uint32_t opt, const uint8_t *p,
                                size_t len);
extern void print_tls_lines (FILE *fp, const struct session *s,
                             const char *indent);
extern void print_state (FILE *fp, const struct session *s);
extern void hexdump (FILE *fp, const uint8_t *p, size_t len, uint64_t base);
extern void status_meaning (const char *ctx, uint64_t fl, char *buf,
                            size_t len);
/* TEXT from column COL, wrapped at WIDTH with continuation lines
 * indented by INDENT, then a newline.
 */
extern void print_wrapped (FILE *fp, const char *text, int col, int indent,
                           int width);
/* A flag as text: "id: evidence (rule; spec: section)". */
extern void print_flag_help (FILE *fp, const struct flag_def *d);
extern void print_flag_list (FILE *fp, bool json);

/* JSON forms (output/json.c). */
extern void json_raw_str (FILE *fp, const uint8_t *p, size_t len);
extern void json_string (FILE *fp, const char *v);
extern void json_state (FILE *fp, const struct session *s);
extern void json_output_line (FILE *fp, const char *cmd, const char *text,
                              size_t len);
extern void json_error_line (FILE *fp, const char *cmd, const char *msg,
                             const char *kind);

#endif
