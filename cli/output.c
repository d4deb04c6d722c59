/* nbdcli - output: how the engine's events look to a person.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "names.h"
#include "nbd-proto.h"
#include "nbdcli.h"
#include "output.h"
#include "session.h"
#include "wire.h"

const char *
human_size (uint64_t v, char *buf, size_t len)
{
  static const char *units[] = { "bytes", "KiB", "MiB", "GiB", "TiB",
                                 "PiB", "EiB" };
  int u = 0;
  uint64_t x = v;

  while (x >= 1024 && x % 1024 == 0 && u < 6) {
    x /= 1024;
    u++;
  }
  if (u == 0 && v >= 1024) {
    double d = v;
    while (d >= 1024 && u < 6) {
      d /= 1024;
      u++;
    }
    snprintf (buf, len, "%.1f %s", d, units[u]);
  }
  else
    snprintf (buf, len, "%" PRIu64 " %s", x, units[u]);
  return buf;
}

void
print_hex_inline (const uint8_t *p, size_t len, size_t max)
{
  size_t i;

  for (i = 0; i < len && i < max; i++)
    printf ("%s%02x", i ? " " : "", p[i]);
  if (len > max)
    printf (" ... (%zu more bytes)", len - max);
}

const char *
opt_label (uint32_t opt, char *buf, size_t len)
{
  const char *n = nbd_opt_name (opt);
  if (n)
    snprintf (buf, len, "%s (%" PRIu32 ")", n, opt);
  else
    snprintf (buf, len, "option %" PRIu32 " (0x%" PRIx32 ", unknown)",
              opt, opt);
  return buf;
}

const char *
rep_label (uint32_t type, char *buf, size_t len)
{
  const char *n = nbd_rep_name (type);
  if (n && (type & NBD_REP_ERR_BIT))
    snprintf (buf, len, "%s (0x%08" PRIx32 ")", n, type);
  else if (n)
    snprintf (buf, len, "%s (%" PRIu32 ")", n, type);
  else
    snprintf (buf, len, "unknown %sreply type 0x%08" PRIx32,
              (type & NBD_REP_ERR_BIT) ? "error " : "", type);
  return buf;
}

static void
print_quoted (const uint8_t *p, size_t len)
{
  char *q = nbd_quote (p, len);
  fputs (q, stdout);
  free (q);
  if (!nbd_string_ok (p, len))
    fputs (" (not valid UTF-8 or contains NUL)", stdout);
}

static void
print_tflags (uint16_t f)
{
  char buf[512];
  printf ("flags 0x%04x (%s)", f, nbd_flags_str (nbd_tflag_names, f,
                                                 buf, sizeof buf));
}

static void
print_info (const uint8_t *p, size_t len)
{
  struct nbd_rep_info i;
  const char *err = nbd_decode_rep_info (p, len, &i);
  char sz[64];

  if (len < 2) {
    printf ("malformed: %s; raw ", err);
    print_hex_inline (p, len, 32);
    return;
  }
  if (nbd_info_name (i.type))
    printf ("%s (%u)", nbd_info_name (i.type), i.type);
  else
    printf ("unknown info type %u", i.type);
  if (err) {
    printf (": malformed: %s; raw ", err);
    print_hex_inline (i.raw, i.raw_len, 32);
    return;
  }
  switch (i.type) {
  case NBD_INFO_EXPORT:
    printf (": size %" PRIu64 " (%s), ", i.size,
            human_size (i.size, sz, sizeof sz));
    print_tflags (i.tflags);
    break;
  case NBD_INFO_NAME:
  case NBD_INFO_DESCRIPTION:
    printf (": ");
    print_quoted (i.str, i.str_len);
    break;
  case NBD_INFO_BLOCK_SIZE:
    printf (": minimum %" PRIu32 ", preferred %" PRIu32 ", maximum %" PRIu32,
            i.min_block, i.pref_block, i.max_block);
    break;
  default:
    printf (": raw ");
    print_hex_inline (i.raw, i.raw_len, 32);
  }
}

void
print_opt_payload (uint32_t type, const uint8_t *p, size_t len)
{
  switch (type) {
  case NBD_REP_SERVER: {
    struct nbd_rep_server sv;
    const char *err = nbd_decode_rep_server (p, len, &sv);
    if (err) {
      printf ("malformed: %s; raw ", err);
      print_hex_inline (p, len, 32);
      return;
    }
    printf ("export ");
    print_quoted (sv.name, sv.name_len);
    if (sv.desc_len) {
      printf (", description ");
      print_quoted (sv.desc, sv.desc_len);
    }
    return;
  }
  case NBD_REP_INFO:
    print_info (p, len);
    return;
  case NBD_REP_META_CONTEXT: {
    struct nbd_rep_meta m;
    const char *err = nbd_decode_rep_meta (p, len, &m);
    if (err) {
      printf ("malformed: %s; raw ", err);
      print_hex_inline (p, len, 32);
      return;
    }
    printf ("id %" PRIu32 ", ", m.id);
    print_quoted (m.name, m.name_len);
    return;
  }
  default:
    if (type & NBD_REP_ERR_BIT) {
      printf ("message ");
      print_quoted (p, len);
    }
    else {
      printf ("raw ");
      print_hex_inline (p, len, 64);
    }
  }
}

/* Decodes the payload of an option the user sent, for the echo line. */
static void
print_sent_payload (uint32_t opt, const uint8_t *p, size_t len)
{
  uint32_t n, k, i;
  size_t off;

  switch (opt) {
  case NBD_OPT_EXPORT_NAME:
    printf ("export ");
    print_quoted (p, len);
    return;
  case NBD_OPT_INFO:
  case NBD_OPT_GO:
    if (len < 6 || (n = get_u32 (p)) > len - 6)
      break;
    printf ("export ");
    print_quoted (p + 4, n);
    k = get_u16 (p + 4 + n);
    off = 6 + n;
    if ((size_t) k * 2 != len - off)
      break;
    printf (", %" PRIu32 " info request%s", k, k == 1 ? "" : "s");
    for (i = 0; i < k; i++) {
      uint16_t t = get_u16 (p + off + 2 * i);
      const char *nm = nbd_info_name (t);
      if (nm)
        printf ("%s%s", i ? " " : ": ", nm);
      else
        printf ("%s%u", i ? " " : ": ", t);
    }
    return;
  case NBD_OPT_LIST_META_CONTEXT:
  case NBD_OPT_SET_META_CONTEXT:
    if (len < 8 || (n = get_u32 (p)) > len - 8)
      break;
    printf ("export ");
    print_quoted (p + 4, n);
    off = 4 + n;
    k = get_u32 (p + off);
    off += 4;
    printf (", %" PRIu32 " quer%s", k, k == 1 ? "y" : "ies");
    for (i = 0; i < k; i++) {
      uint32_t ql;
      if (len - off < 4 || (ql = get_u32 (p + off)) > len - off - 4) {
        printf (" (truncated)");
        return;
      }
      printf ("%s", i ? " " : ": ");
      print_quoted (p + off + 4, ql);
      off += 4 + ql;
    }
    if (off != len)
      printf (" (%zu trailing bytes)", len - off);
    return;
  default:
    break;
  }
  printf ("data ");
  print_hex_inline (p, len, 64);
}

static void
where_prefix (FILE *fp)
{
  if (cli.where_file)
    fprintf (fp, "%s:%d: ", cli.where_file, cli.where_line);
}

void
ev_connected (struct session *s, const char *desc)
{
  printf ("connected to %s\n", desc);
}

void
ev_greeting (struct session *s)
{
  char buf[256], sz[64];

  if (s->oldstyle) {
    printf ("<- greeting: oldstyle, export size %" PRIu64 " (%s), ",
            s->cur.size, human_size (s->cur.size, sz, sizeof sz));
    print_tflags (s->cur.tflags);
    printf ("\n   (oldstyle: no options; the session is in transmission)\n");
    return;
  }
  printf ("<- greeting: newstyle, handshake flags 0x%04x (%s)\n", s->hs_flags,
          nbd_flags_str (nbd_hs_flag_names, s->hs_flags, buf, sizeof buf));
  if (!(s->hs_flags & NBD_FLAG_FIXED_NEWSTYLE))
    printf ("   (not fixed newstyle: only NBD_OPT_EXPORT_NAME is "
            "understood)\n");
}

void
ev_client_flags (struct session *s, uint32_t flags)
{
  char buf[256];
  printf ("-> client flags 0x%08" PRIx32 " (%s)\n", flags,
          nbd_flags_str (nbd_cflag_names, flags, buf, sizeof buf));
}

void
ev_sent_option (struct session *s, uint32_t opt, uint32_t declared_len,
                const uint8_t *payload, size_t len)
{
  char buf[128];

  printf ("-> %s, length %" PRIu32, opt_label (opt, buf, sizeof buf),
          declared_len);
  if (declared_len != len)
    printf (" (%zu bytes sent)", len);
  if (len) {
    printf (": ");
    print_sent_payload (opt, payload, len);
  }
  printf ("\n");
}

void
ev_opt_reply (struct session *s, const struct nbd_opt_reply_hdr *h,
              const uint8_t *payload)
{
  char b1[128], b2[128];

  printf ("<- %s to %s, length %" PRIu32, rep_label (h->type, b1, sizeof b1),
          opt_label (h->option, b2, sizeof b2), h->length);
  if (h->length) {
    printf (": ");
    print_opt_payload (h->type, payload, h->length);
  }
  printf ("\n");
}

void
ev_export_name_reply (struct session *s, uint64_t size, uint16_t tflags,
                      size_t padding)
{
  char sz[64];
  printf ("<- export size %" PRIu64 " (%s), ", size,
          human_size (size, sz, sizeof sz));
  print_tflags (tflags);
  if (padding)
    printf (", %zu bytes of padding", padding);
  else
    printf (", no padding (NO_ZEROES)");
  printf ("\n");
}

void
ev_sent_request (struct session *s, uint16_t flags, uint16_t type,
                 uint64_t cookie, uint64_t offset, uint32_t len)
{
  char buf[128];
  printf ("-> %s (%u), flags 0x%04x (%s), cookie %" PRIu64 ", offset %"
          PRIu64 ", length %" PRIu32 "\n",
          nbd_name_or_unknown (nbd_cmd_names, type), type, flags,
          nbd_flags_str (nbd_cmd_flag_names, flags, buf, sizeof buf),
          cookie, offset, len);
}

static void
print_time (time_t t)
{
  struct tm tm;
  char buf[64];
  gmtime_r (&t, &tm);
  strftime (buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  fputs (buf, stdout);
}

static void
print_tls_lines (const struct session *s, const char *indent)
{
  const struct tls_info *i = &s->tlsinfo;

  printf ("%sversion %s, cipher %s, MAC %s, key exchange %s, "
          "credentials %s\n", indent, i->version, i->cipher, i->mac, i->kx,
          i->cred);
  if (i->psk_username)
    printf ("%sPSK user \"%s\"\n", indent, i->psk_username);
  if (i->peer_subject) {
    printf ("%speer certificate subject \"%s\"\n", indent, i->peer_subject);
    printf ("%speer certificate issuer \"%s\"\n", indent, i->peer_issuer);
    printf ("%speer certificate valid from ", indent);
    print_time (i->peer_not_before);
    printf (" to ");
    print_time (i->peer_not_after);
    printf ("\n");
  }
  if (i->verify)
    printf ("%s%s\n", indent, i->verify);
}

void
ev_tls (struct session *s)
{
  printf ("== TLS handshake done (epoch %d): the negotiation state from "
          "before STARTTLS is discarded\n", s->epoch);
  print_tls_lines (s, "   ");
}

void
ev_closed (struct session *s, const char *why)
{
  if (why)
    printf ("connection closed (%s)\n", why);
}

void
ev_flag (struct session *s, const char *id, const char *rule,
         const char *fmt, ...)
{
  va_list ap;

  s->nflags++;
  s->nflags_conn++;
  fflush (stdout);
  printf ("FLAG %s: ", id);
  va_start (ap, fmt);
  vprintf (fmt, ap);
  va_end (ap);
  printf (" (%s)\n", rule);
}

void
ev_note (struct session *s, const char *fmt, ...)
{
  va_list ap;

  printf ("   ");
  va_start (ap, fmt);
  vprintf (fmt, ap);
  va_end (ap);
  printf ("\n");
}

void
ev_error (struct session *s, const char *fmt, ...)
{
  va_list ap;

  fflush (stdout);
  fprintf (stderr, "%s: ", cli.progname);
  where_prefix (stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fprintf (stderr, "\n");
  fflush (stderr);
}

static void
print_nego (const struct nego *n, const char *indent)
{
  char sz[64];
  size_t i;

  printf ("%sstructured replies: %s\n", indent, n->sr ? "yes" : "no");
  printf ("%sextended headers:   %s\n", indent, n->eh ? "yes" : "no");
  if (n->nctx == 0)
    printf ("%smeta contexts:      none\n", indent);
  else {
    printf ("%smeta contexts:      %zu for export \"%s\"\n", indent, n->nctx,
            n->ctx_export ? n->ctx_export : "");
    for (i = 0; i < n->nctx; i++)
      printf ("%s  id %" PRIu32 ": %s\n", indent, n->ctx[i].id,
              n->ctx[i].name);
  }
  if (n->have_export) {
    printf ("%sexport:             ", indent);
    if (n->export_name) {
      uint8_t *e = (uint8_t *) n->export_name;
      print_quoted (e, strlen (n->export_name));
    }
    else
      printf ("(oldstyle)");
    printf (", size %" PRIu64 " (%s)\n", n->size,
            human_size (n->size, sz, sizeof sz));
    printf ("%s  transmission ", indent);
    print_tflags (n->tflags);
    printf ("\n");
    if (n->canonical_name)
      printf ("%s  canonical name \"%s\"\n", indent, n->canonical_name);
    if (n->description)
      printf ("%s  description \"%s\"\n", indent, n->description);
  }
  else
    printf ("%sexport:             none answered yet\n", indent);
  if (n->have_bs)
    printf ("%sblock sizes:        minimum %" PRIu32 ", preferred %" PRIu32
            ", maximum %" PRIu32 "\n", indent, n->min_block, n->pref_block,
            n->max_block);
}

void
print_state (const struct session *s)
{
  char buf[256], *d;

  printf ("phase:              %s\n", phase_name (s->phase));
  d = nbd_target_describe (&s->target);
  printf ("target:             %s\n", s->target.kind ? d : "none");
  free (d);
  printf ("default export:     \"%s\"\n",
          s->default_export ? s->default_export : "");
  if (s->phase != PHASE_DISCONNECTED) {
    if (s->oldstyle)
      printf ("greeting:           oldstyle\n");
    else {
      printf ("handshake flags:    0x%04x (%s)\n", s->hs_flags,
              nbd_flags_str (nbd_hs_flag_names, s->hs_flags, buf, sizeof buf));
      printf ("client flags:       0x%08" PRIx32 " (%s)\n", s->client_flags,
              nbd_flags_str (nbd_cflag_names, s->client_flags, buf,
                             sizeof buf));
    }
    if (s->tls_up) {
      printf ("TLS:                up, epoch %d\n", s->epoch);
      print_tls_lines (s, "  ");
    }
    else
      printf ("TLS:                %s\n",
              s->tls_refused ? "refused by the server" : "not started");
  }
  printf ("TLS required:       %s\n", s->tls.required ? "yes" : "no");
  print_nego (&s->cur, "");
  if (s->epoch > 0) {
    printf ("before the last STARTTLS (epoch %d, discarded):\n", s->epoch - 1);
    print_nego (&s->prev, "  ");
  }
  printf ("flags raised:       %u\n", s->nflags);
}
