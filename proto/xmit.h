/* nbdcli - transmission phase: requests in flight and their replies.
 * Copyright the nbdcli authors, MIT licence.
 */
#ifndef NBDCLI_XMIT_H
#define NBDCLI_XMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct session;

struct xresult {
  bool error;                   /* an error reply or error chunk came */
  uint32_t errval;
  uint64_t data_bytes;          /* read data received */
  int form;                     /* first reply: 0 simple, 1 structured,
                                 * 2 extended, -1 none */
  size_t nstatus;               /* block status chunks */
  uint32_t status_ctx[8];       /* their context ids */
  bool foreign;                 /* the reply carried another cookie: its
                                 * data was not kept */
  bool complete;                /* the whole reply was read */
};

struct xreq {
  uint16_t type, flags;
  uint64_t offset, length;
  const uint8_t *payload;       /* sent after the header (WRITE, raw cmd) */
  size_t payload_len;
  FILE *out;                    /* read data goes here when set */
  uint64_t out_base;            /* file position of the request offset */
  uint8_t *out_buf;             /* or here: length bytes, when set */
  bool async;                   /* sent without waiting (shown tagged) */
  bool cookie_set;              /* use COOKIE, not the next one */
  uint64_t cookie;
  struct xresult *result;       /* gets the result when it is complete */
};


struct range {
  uint64_t start, end;
};

/* One request in flight: what was asked, where its data goes, and what
 * its reply has shown so far.
 */
struct inflight {
  uint64_t cookie, seq;
  uint16_t type, flags;
  uint64_t offset, length;
  int out_fd;                   /* -1: none */
  bool own_fd;                  /* closed when the reply is complete */
  uint64_t out_base;
  uint8_t *out_buf;
  bool async;
  bool answered;                /* some part of the reply arrived */
  bool interleave_noted;
  int64_t sent_ms;
  struct range *ranges;         /* content and hole chunks seen */
  size_t nranges, ranges_cap;
  bool overlap_flagged;
  uint32_t *ctx_seen;
  size_t nctx_seen;
  bool dup_flagged;
  uint64_t covered;
  size_t nchunks;
  struct xresult res;
  struct xresult *result_out;
  /* A BLOCK_STATUS request with a payload (NBD_FLAG_BLOCK_STATUS_PAYLOAD):
   * its effect length and the context ids it names.
   */
  bool status_filtered;
  uint64_t status_length;
  uint32_t *status_ids;
  size_t nstatus_ids;
};

/* Sends one request without waiting for its reply; it joins the table
 * of requests in flight (NBD_CMD_DISC, which has no reply, does not).
 * *COOKIE gets its cookie.  Returns 0, or -1 on a transport failure.
 */
extern int session_send_request (struct session *s, const struct xreq *r,
                                 uint64_t *cookie);
/* Reads one reply message (a simple reply or one chunk), dispatches it
 * to its request by cookie, reporting and checking it.  Returns 0, or
 * -1 on a transport or framing failure (the connection is closed).
 */
extern int session_read_reply (struct session *s);
/* Reads replies until the request with COOKIE (the oldest with it) is
 * answered completely; RES (may be NULL) gets its result.  Every wait
 * is bounded by the session's timeout.  Returns 0, -1 on failure, -2
 * when COOKIE is not in flight.
 */
extern int session_wait (struct session *s, uint64_t cookie,
                         struct xresult *res);
/* Reads replies until nothing is in flight.  0 or -1. */
extern int session_wait_all (struct session *s);
/* Reads the replies that have already arrived, without waiting for
 * more.  0 or -1.
 */
extern int session_poll (struct session *s);
/* Forgets every request in flight (the connection is gone). */
extern void session_forget_inflight (struct session *s, bool say);
/* Whether COOKIE is in flight. */
extern bool session_in_flight (const struct session *s, uint64_t cookie);

/* Sends one request and reads its whole reply, reporting every part
 * and raising flags (replies to other requests in flight that arrive
 * meanwhile are handled too).  Returns 0 when the reply was read
 * completely (whatever it said), -1 on a transport or framing failure.
 */
extern int session_request (struct session *s, const struct xreq *r,
                            struct xresult *res);

/* After this connection wrote WANT at OFFSET and flushed, a read on
 * another connection (named OTHER) returned GOT: with
 * NBD_FLAG_CAN_MULTI_CONN advertised they must be the same (flagged on
 * S when not).  Returns whether they are.
 */
extern bool session_judge_multi_conn (struct session *s, const char *other,
                                      uint64_t offset, const uint8_t *want,
                                      const uint8_t *got, size_t len);

/* The maximum payload to use for one request. */
extern uint64_t session_max_payload (const struct session *s);

#endif
