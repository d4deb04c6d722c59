/* nbdcli - the session: connection, state machine and the model of
 * what is negotiated in each TLS epoch.
 * Copyright the nbdcli authors, MIT licence.
 */
#ifndef NBDCLI_SESSION_H
#define NBDCLI_SESSION_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "flags.h"
#include "sink.h"
#include "transport.h"
#include "uri.h"
#include "wire.h"

enum phase {
  PHASE_DISCONNECTED = 0,
  PHASE_OPTIONS,                /* option haggling */
  PHASE_TRANSMISSION,
};

struct meta_ctx {
  uint32_t id;
  char *name;
};

/* What is negotiated in one TLS epoch (the spec's "negotiation state"
 * that a successful STARTTLS must discard).
 */
struct nego {
  bool sr;                      /* NBD_OPT_STRUCTURED_REPLY acked */
  bool eh;                      /* NBD_OPT_EXTENDED_HEADERS acked */
  struct meta_ctx *ctx;         /* from the last SET_META_CONTEXT */
  size_t nctx;
  char *ctx_export;             /* the export they were set for */
  char *export_name;            /* export of the last INFO/GO answer */
  bool have_export;             /* NBD_INFO_EXPORT (or EXPORT_NAME) seen */
  uint64_t size;
  uint16_t tflags;
  bool have_bs;
  uint32_t min_block, pref_block, max_block;
  char *canonical_name;         /* NBD_INFO_NAME */
  char *description;            /* NBD_INFO_DESCRIPTION */
};

struct tls_settings {
  char *certificates;           /* directory in libnbd's layout */
  char *psk_file;
  char *username;
  char *hostname;
  int verify_peer;              /* -1 = default (yes), 0, 1 */
  bool required;                /* nbds:// or `set tls require` */
};

struct tls_info {
  char *version, *cipher, *kx, *mac;
  char *cred;                   /* "X.509", "PSK" */
  char *peer_subject, *peer_issuer;
  time_t peer_not_before, peer_not_after;
  char *verify;                 /* verification result in words */
  char *psk_username;
};

/* The user's settings: what the session is asked to do. */
struct session_settings {
  int timeout_ms;               /* every wait on the server */
  int setup_timeout_ms;         /* connecting, the greeting and a TLS
                                 * handshake; 0: timeout_ms */
  int64_t client_flags_override; /* -1: derive from the greeting */
  struct tls_settings tls;
  bool allow_plaintext;         /* `set allow-plaintext on' */
  bool export_set_by_user;      /* `set export' */
  bool tls_required_by_user;    /* `set tls require' */
  char *default_export;         /* from the URI or `set export' */
  bool no_auto_tls;             /* STARTTLS's ACK does not start TLS */
};

/* Names the server told us, for completion (bounded). */
struct learned_names {
  char **exports;
  size_t nexports;
  char **contexts;
  size_t ncontexts;
};

/* What the session knows of its last failure (errors as data). */
struct session_error {
  enum nbd_err kind;
  char msg[512];
};

struct inflight;
struct xwait;

struct session {
  struct nbd_sink sink;         /* where events go; none: silent */
  bool sink_wants_bytes;        /* the sink uses EV_BYTES (a capture):
                                 * read data may not bypass memory */
  struct session_settings cfg;
  struct nbd_target target;     /* what `reconnect' connects to */

  /* The wire. */
  struct transport t;
  enum phase phase;

  /* Greeting. */
  bool oldstyle;
  uint16_t hs_flags;
  uint32_t client_flags;
  bool no_zeroes;               /* both sides agreed NO_ZEROES */

  /* Negotiation model. */
  int epoch;                    /* 0 plaintext, +1 for each STARTTLS */
  bool tls_up;
  struct nego cur;              /* this epoch */
  struct nego prev;             /* the epoch before the last STARTTLS */
  bool tls_refused;             /* the server refused STARTTLS */
  struct tls_info tlsinfo;
  bool tls_unread;              /* nothing read since the handshake */
  bool reply_abandoned;         /* a wait for an option's reply ended
                                 * (cancelled, or timed out) before it */
  bool tls_client_cert;         /* we offered a client certificate */

  /* What the last option got. */
  uint32_t last_option;
  uint32_t last_reply;          /* type of the final reply */
  bool have_last_reply;
  unsigned last_nreplies;       /* replies before the final one */
  /* The last successful NBD_OPT_INFO, for the INFO-then-GO rule. */
  uint8_t *info_payload;
  size_t info_payload_len;
  bool info_valid;
  uint64_t info_size;
  uint16_t info_tflags;

  /* Limits servers put on clients (notes when a connection is lost). */
  unsigned noptions_conn;       /* options sent on this connection */
  int64_t connected_ms;         /* when the greeting was read */

  /* Transmission: the requests in flight (proto/xmit.c), oldest
   * first, and the last cookies answered (to tell a second final reply
   * from a cookie never sent).
   */
  uint64_t next_cookie;
  struct inflight **flight;
  size_t nflight, flight_cap;
  uint64_t send_seq;
  uint64_t last_reply_seq;       /* whose chunk came last */
  struct answered {
    uint64_t cookie, length;
    uint16_t type;
  } answered[64];
  unsigned nanswered;           /* total, the ring holds the last 64 */
  struct xwait *wait;           /* the wait in progress, or NULL */
  struct last_data {            /* the head of the last message's data
                                 * while others were in flight: a reply
                                 * header inside it explains bad framing */
    bool valid;
    uint8_t *head;              /* 64 KiB, allocated when
                                 * first needed */
    size_t n;
    uint64_t cookie, len;
    uint16_t type;
    int form;
  } last_data;

  struct learned_names learned;

  /* The truth: flags raised (in this session, on this connection, per
   * catalogue id) and the last failure.
   */
  unsigned nflags;
  unsigned nflags_conn;
  unsigned flag_counts[NFLAG_IDS];
  struct session_error err;
};

extern void session_init (struct session *s);
extern void session_free (struct session *s);

/* Connects to s->target, reads the greeting and sends client flags.
 * Returns 0 or -1 (reported).
 */
extern int session_connect (struct session *s);
/* The same over in-memory bytes (transport_open_memory): LEN bytes of
 * SERVER_BYTES are everything the server sends, the client's bytes go
 * to SENT (or nowhere when NULL).  SERVER_BYTES and SENT must outlive
 * the connection.  For tests and fuzzing: no socket, no TLS.  Returns
 * 0 or -1 (reported).
 */
extern int session_connect_memory (struct session *s,
                                   const uint8_t *server_bytes, size_t len,
                                   struct bytes *sent);
/* Drops the socket with nothing sent: the connection failed or the
 * server ended it.  A server command's exit status is reported.
 */
extern void session_close (struct session *s, const char *why);
/* The same when nbdcli ends the connection of its own accord (after
 * ABORT or DISC, to reconnect, at the end): a socket-activated server
 * command is stopped without a word about its exit status, which would
 * race nbdcli's own close (so recordings replay the same).
 */
extern void session_hangup (struct session *s, const char *why);
/* NBD_OPT_ABORT in option haggling, NBD_CMD_DISC in transmission,
 * then closes.
 */
extern int session_disconnect (struct session *s);

/* Sends option OPT with PAYLOAD (LEN bytes) and a header that declares
 * DECLARED_LEN bytes, then reads and reports replies until the final
 * one.  Returns 0 when the exchange was read completely (whatever the
 * server answered), -1 on a transport or framing failure (reported).
 */
extern int session_option (struct session *s, uint32_t opt,
                           const uint8_t *payload, size_t len,
                           uint32_t declared_len);

/* Reads/writes with the session timeout; io_failed reports a failed
 * status and drops the connection when the framing is lost.
 */
extern enum io_status session_rd (struct session *s, void *buf, size_t n);
extern enum io_status session_wr (struct session *s, const void *buf,
                                  size_t n);
extern int session_io_failed (struct session *s, enum io_status st,
                              const char *what);

/* Installs T (taken over) as the target: its export becomes the
 * default (unless `set export' chose one) and an nbds:// scheme makes
 * TLS required.
 */
extern void session_set_target (struct session *s, struct nbd_target *t);
/* Forgets the last failure. */
extern void session_clear_error (struct session *s);
/* Copies the user's settings and target of FROM into a fresh TO (for a
 * session of its own, such as an audit's).
 */
/* Counts the flags FROM raised as raised by TO too (FROM was a helper
 * connection of TO's, e.g. for a split read).
 */
extern void session_add_flags (struct session *to,
                               const struct session *from);
extern void session_copy_settings (struct session *to,
                                   const struct session *from);

/* Per-epoch model helpers. */
extern void nego_clear (struct nego *n);
extern const struct meta_ctx *nego_find_ctx (const struct nego *n,
                                             uint32_t id);

extern void session_learn_export (struct session *s, const char *name);
extern void session_learn_context (struct session *s, const char *name);

extern const char *phase_name (enum phase p);
/* How long connecting, the greeting and a TLS handshake may take. */
extern int session_setup_timeout (const struct session *s);

/* TLS (proto/tls.c). */
extern int tls_handshake (struct session *s);
/* Loads the configured credentials without using them: 0 or -1. */
extern int tls_check_credentials (struct session *s);
/* What to do when the server rejects the client's credentials (it
 * ends the TLS session during or just after the handshake).
 */
extern const char *tls_rejection_advice (const struct session *s);
extern void tls_info_clear (struct tls_info *i);
extern void tls_settings_clear (struct tls_settings *t);
extern void tls_settings_copy (struct tls_settings *to,
                               const struct tls_settings *from);

#endif
