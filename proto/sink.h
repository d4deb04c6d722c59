/* nbdcli - where the engine's events go.  The engine decides what
 * happened; the session's sink decides what to do with it (show it as
 * text, as JSON, as a wire trace, record it for the audit, or nothing).
 * proto/ never prints: it calls the sink its session holds, and a
 * session without a sink is silent.  In the spirit of curl's debug
 * callback: one function, told what kind of event it gets.
 * Copyright the nbdcli authors, MIT licence.
 */
#ifndef NBDCLI_SINK_H
#define NBDCLI_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flags.h"

struct session;
struct nbd_opt_reply_hdr;
struct nbd_reply_hdr;
struct nbd_chunk_error;

/* What kind of message raw bytes belong to (the wire trace). */
enum wire_kind {
  WIRE_GREETING, WIRE_CLIENT_FLAGS, WIRE_OPTION, WIRE_OPT_REPLY,
  WIRE_EXPORT_NAME_REPLY, WIRE_REQUEST, WIRE_SIMPLE_REPLY, WIRE_CHUNK,
  WIRE_EXT_CHUNK,
};

/* Why something failed: what the session's last error was.  Callers
 * decide from the kind, never from the message's wording.
 */
enum nbd_err {
  ERR_NONE = 0,
  ERR_NO_TARGET,                /* nothing to connect to */
  ERR_CONNECT,                  /* could not connect or start the server */
  ERR_NOT_CONNECTED,            /* no connection for the command */
  ERR_CLOSED,                   /* the server closed the connection */
  ERR_TIMEOUT,                  /* no (complete) reply within the timeout */
  ERR_INTERRUPTED,              /* the user interrupted the wait */
  ERR_TRANSPORT,                /* a socket error */
  ERR_NOT_NBD,                  /* the peer is not an NBD server */
  ERR_FRAMING,                  /* the byte stream can no longer be parsed */
  ERR_LIMIT,                    /* the server exceeded nbdcli's bounds */
  ERR_TLS_CREDENTIALS,          /* the client's own credentials are unusable */
  ERR_TLS_VERIFY,               /* the server's certificate failed checks */
  ERR_TLS_HANDSHAKE,            /* the TLS handshake failed */
  ERR_TLS_REJECTED,             /* the server rejected the client's
                                 * credentials after the handshake */
  ERR_REFUSED,                  /* refused by the user's settings */
  ERR_LOCAL_IO,                 /* a local file could not be written */
  NERR_KINDS
};
extern const char *nbd_err_name (enum nbd_err e);

enum nbd_event_type {
  EV_CONNECTED,                 /* u.text: the target */
  EV_GREETING,                  /* the session holds the greeting */
  EV_CLIENT_FLAGS,
  EV_SENT_OPTION,
  EV_OPT_REPLY,
  EV_EXPORT_NAME_REPLY,
  EV_SENT_REQUEST,
  EV_REPLY_HDR,
  EV_DATA,
  EV_HOLE,
  EV_ERROR_CHUNK,
  EV_BLOCK_STATUS,
  EV_TLS,                       /* the session holds the TLS details */
  EV_CLOSED,                    /* u.text: why, or NULL (said nothing) */
  EV_FLAG,
  EV_NOTE,                      /* u.text */
  EV_ERROR,
  EV_WIRE,                      /* raw bytes of a whole message */
  EV_OUT_OF_ORDER,              /* a reply before an earlier request's */
  EV_REQUEST_DONE,              /* a request sent without waiting is
                                 * answered completely */
  EV_BYTES,                     /* bytes as they crossed a layer, for
                                 * captures: the socket, or the NBD stream */
  EV_SECRET,                    /* a TLS secret (NSS key log form): only a
                                 * sink asked to keep keys may use it;
                                 * every other sink ignores it */
};

/* Where EV_BYTES saw its bytes. */
enum bytes_layer {
  BYTES_SOCKET,                 /* as they crossed the socket: TLS records
                                 * after STARTTLS */
  BYTES_STREAM,                 /* the NBD byte stream nbdcli reads and
                                 * writes (decrypted inside TLS) */
};

struct nbd_event {
  enum nbd_event_type type;
  union {
    const char *text;
    uint32_t client_flags;
    struct {
      uint32_t opt, declared_len;
      const uint8_t *payload;
      size_t len;
    } option;
    struct {
      const struct nbd_opt_reply_hdr *hdr;
      const uint8_t *payload;   /* hdr->length bytes */
    } opt_reply;
    struct {
      uint64_t size;
      uint16_t tflags;
      size_t padding;
    } export_name;
    struct {
      uint16_t flags, type;
      uint64_t cookie, offset;
      uint32_t len;
      bool async;               /* sent without waiting */
      size_t inflight;          /* requests in flight, this one included */
    } request;
    struct {
      const struct nbd_reply_hdr *hdr;
      int form;                 /* 0 simple, 1 structured, 2 extended */
      int req_type;             /* its request's NBD_CMD_*, -1 when the
                                 * cookie is not in flight */
      bool tagged;              /* show the command (pipelined) */
    } reply;
    struct {
      uint64_t cookie, earlier_cookie;
      uint16_t type, earlier_type;
    } order;
    struct {
      uint64_t cookie;
      uint16_t type;
      bool error;
      uint32_t errval;
      uint64_t data_bytes;
      size_t inflight;          /* still in flight after it */
    } done;
    struct {
      uint64_t offset;
      const uint8_t *p;         /* NULL: the data went to a file */
      size_t shown;             /* bytes of p to show */
      uint64_t len;
    } data;
    struct {
      uint64_t offset;
      uint32_t size;
    } hole;
    struct {
      uint16_t type;
      const struct nbd_chunk_error *e;
    } error_chunk;
    struct {
      uint32_t ctx_id;
      const char *ctx_name;     /* NULL: never negotiated */
      const uint8_t *p;
      bool ext;
      size_t n;
    } block_status;
    struct {
      const struct flag_def *def;
      const char *evidence;
    } flag;
    struct {
      enum nbd_err kind;
      const char *message;
    } error;
    struct {
      bool sent;
      enum wire_kind kind;
      const uint8_t *p;
      size_t len;               /* bytes in p */
      uint64_t total;           /* the message's whole length */
    } wire;
    struct {
      bool sent;
      enum bytes_layer layer;
      bool tls;                 /* inside TLS */
      const uint8_t *p;
      size_t len;
    } bytes;
    struct {
      const char *label;        /* CLIENT_RANDOM, CLIENT_TRAFFIC_SECRET_0... */
      const uint8_t *client_random;       /* 32 bytes */
      const uint8_t *secret;
      size_t len;
    } secret;
  } u;
};

struct nbd_sink {
  void (*event) (void *ctx, const struct session *s,
                 const struct nbd_event *ev);
  void *ctx;
};

#endif
