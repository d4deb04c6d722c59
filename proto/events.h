/* nbdcli - how the engine reports: builds each event and hands it to
 * the session's sink (proto/sink.h).  Internal to proto/.  Flags and
 * errors are recorded on the session here, once, whatever the sink.
 * Copyright the nbdcli authors, MIT licence.
 */
#ifndef NBDCLI_EVENTS_H
#define NBDCLI_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flags.h"
#include "sink.h"

struct session;
struct nbd_opt_reply_hdr;
struct nbd_reply_hdr;
struct nbd_chunk_error;

extern void ev_wire (struct session *s, bool sent, enum wire_kind kind,
                     const uint8_t *p, size_t len, uint64_t total);
extern void ev_bytes (struct session *s, bool sent, enum bytes_layer layer,
                      bool tls, const uint8_t *p, size_t len);
/* A TLS secret for the sinks that keep keys (--keylog, --pcap). */
extern void ev_secret (struct session *s, const char *label,
                       const uint8_t *client_random, const uint8_t *secret,
                       size_t len);
extern void ev_connected (struct session *s, const char *desc);
extern void ev_greeting (struct session *s);
extern void ev_client_flags (struct session *s, uint32_t flags);
extern void ev_sent_option (struct session *s, uint32_t opt,
                            uint32_t declared_len,
                            const uint8_t *payload, size_t len);
extern void ev_opt_reply (struct session *s,
                          const struct nbd_opt_reply_hdr *h,
                          const uint8_t *payload);
extern void ev_export_name_reply (struct session *s, uint64_t size,
                                  uint16_t tflags, size_t padding);
extern void ev_sent_request (struct session *s, uint16_t flags,
                             uint16_t type, uint64_t cookie,
                             uint64_t offset, uint32_t len, bool async,
                             size_t inflight);
/* A simple reply or one chunk's header (form 0 simple, 1 structured,
 * 2 extended), then what the chunk carries.
 */
extern void ev_reply_hdr (struct session *s, const struct nbd_reply_hdr *h,
                          int form, int req_type, bool tagged);
extern void ev_out_of_order (struct session *s, uint64_t cookie,
                             uint16_t type, uint64_t earlier_cookie,
                             uint16_t earlier_type);
extern void ev_request_done (struct session *s, uint64_t cookie,
                             uint16_t type, bool error, uint32_t errval,
                             uint64_t data_bytes, size_t inflight);
extern void ev_data (struct session *s, uint64_t offset, const uint8_t *p,
                     size_t shown, uint64_t len);
extern void ev_hole (struct session *s, uint64_t offset, uint32_t size);
extern void ev_error_chunk (struct session *s, uint16_t type,
                            const struct nbd_chunk_error *e);
extern void ev_block_status (struct session *s, uint32_t ctx_id,
                             const char *ctx_name, const uint8_t *p,
                             bool ext, size_t n);
extern void ev_tls (struct session *s);
extern void ev_closed (struct session *s, const char *why);
/* A rule of the catalogue broken: counted on the session, then shown. */
extern void ev_flag (struct session *s, enum flag_id id, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));
extern void ev_note (struct session *s, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
/* A failure: stored on the session (kind and message), then shown. */
extern void ev_error (struct session *s, enum nbd_err kind,
                      const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

#endif
