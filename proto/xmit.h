/* nbdcli - transmission phase: requests and their replies.
 * Copyright the nbdcli authors, MIT licence.
 */
#ifndef NBDCLI_XMIT_H
#define NBDCLI_XMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct session;

struct xreq {
  uint16_t type, flags;
  uint64_t offset, length;
  const uint8_t *payload;       /* sent after the header (WRITE, raw cmd) */
  size_t payload_len;
  FILE *out;                    /* read data goes here when set */
  uint64_t out_base;            /* file position of the request offset */
};

struct xresult {
  bool error;                   /* an error reply or error chunk came */
  uint32_t errval;
  uint64_t data_bytes;          /* read data received */
  int form;                     /* first reply: 0 simple, 1 structured,
                                 * 2 extended, -1 none */
  size_t nstatus;               /* block status chunks */
  uint32_t status_ctx[8];       /* their context ids */
};

/* Sends one request and reads its whole reply, reporting every part
 * and raising flags.  Returns 0 when the reply was read completely
 * (whatever it said), -1 on a transport or framing failure.
 */
extern int session_request (struct session *s, const struct xreq *r,
                            struct xresult *res);

/* The maximum payload to use for one request. */
extern uint64_t session_max_payload (const struct session *s);

#endif
