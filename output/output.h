/* nbdcli - output: how events and results look.
 * Copyright the nbdcli authors, MIT licence.
 */
#ifndef NBDCLI_OUTPUT_H
#define NBDCLI_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

struct session;

/* "64 MiB" style, into BUF. */
extern const char *human_size (uint64_t v, char *buf, size_t len);
/* Prints up to MAX bytes as hex pairs, then "... (N more bytes)". */
extern void print_hex_inline (const uint8_t *p, size_t len, size_t max);
/* Option reply payload decoded for humans, on one line after ": ". */
extern void print_opt_payload (uint32_t opt, const uint8_t *p, size_t len);
extern void print_state (const struct session *s);
extern const char *opt_label (uint32_t opt, char *buf, size_t len);
extern void json_string (const char *v);
extern void json_output_line (const char *cmd, const char *text,
                              size_t len);
extern void json_error_line (const char *cmd, const char *msg);
extern const char *rep_label (uint32_t type, char *buf, size_t len);

#endif
