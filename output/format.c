/* nbdcli - the human forms of protocol data, shared by the text sink
 * and the commands: sizes, labels, quoted strings, decoded payloads, the
 * TLS details, hex dumps and the session's state.
 * Copyright the nbdcli authors, MIT licence.
 */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "names.h"
#include "nbd-proto.h"
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
print_hex_inline (FILE *fp, const uint8_t *p, size_t len, size_t max)
{
  size_t i;

  for (i = 0; i < len && i < max; i++)
    fprintf (fp, "%s%02x", i ? " " : "", p[i]);
  if (len > max)
    fprintf (fp, " ... (%zu more bytes)", len - max);
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

/* A string from the server, quoted; long ones are cut at 1024 bytes. */
void
print_quoted (FILE *fp, const uint8_t *p, size_t len)
{
  size_t shown = len > 1024 ? 1024 : len;
  char *q = nbd_quote (p, shown);

  fputs (q, fp);
  free (q);
  if (shown < len)
    fprintf (fp, " ... (%zu more bytes)", len - shown);
  if (!nbd_string_ok (p, len))
    fputs (" (not valid UTF-8 or contains NUL)", fp);
}

void
print_tflags (FILE *fp, uint16_t f)
{
  char buf[512];
  fprintf (fp, "flags 0x%04x (%s)", f, nbd_flags_str (nbd_tflag_names, f,
                                                 buf, sizeof buf));
}

static void
print_info (FILE *fp, const uint8_t *p, size_t len)
{
  struct nbd_rep_info i;
  const char *err = nbd_decode_rep_info (p, len, &i);
  char sz[64];

  if (len < 2) {
    fprintf (fp, "malformed: %s; raw ", err);
    print_hex_inline (fp, p, len, 32);
    return;
  }
  if (nbd_info_name (i.type))
    fprintf (fp, "%s (%u)", nbd_info_name (i.type), i.type);
  else
    fprintf (fp, "unknown info type %u", i.type);
  if (err) {
    fprintf (fp, ": malformed: %s; raw ", err);
    print_hex_inline (fp, i.raw, i.raw_len, 32);
    return;
  }
  switch (i.type) {
  case NBD_INFO_EXPORT:
    fprintf (fp, ": size %" PRIu64 " (%s), ", i.size,
            human_size (i.size, sz, sizeof sz));
    print_tflags (fp, i.tflags);
    break;
  case NBD_INFO_NAME:
  case NBD_INFO_DESCRIPTION:
    fprintf (fp, ": ");
    print_quoted (fp, i.str, i.str_len);
    break;
  case NBD_INFO_BLOCK_SIZE:
    fprintf (fp, ": minimum %" PRIu32 ", preferred %" PRIu32 ", maximum %" PRIu32,
            i.min_block, i.pref_block, i.max_block);
    break;
  default:
    fprintf (fp, ": raw ");
    print_hex_inline (fp, i.raw, i.raw_len, 32);
  }
}

void
print_opt_payload (FILE *fp, uint32_t type, const uint8_t *p, size_t len)
{
  switch (type) {
  case NBD_REP_SERVER: {
    struct nbd_rep_server sv;
    const char *err = nbd_decode_rep_server (p, len, &sv);
    if (err) {
      fprintf (fp, "malformed: %s; raw ", err);
      print_hex_inline (fp, p, len, 32);
      return;
    }
    fprintf (fp, "export ");
    print_quoted (fp, sv.name, sv.name_len);
    if (sv.desc_len) {
      fprintf (fp, ", description ");
      print_quoted (fp, sv.desc, sv.desc_len);
    }
    return;
  }
  case NBD_REP_INFO:
    print_info (fp, p, len);
    return;
  case NBD_REP_META_CONTEXT: {
    struct nbd_rep_meta m;
    const char *err = nbd_decode_rep_meta (p, len, &m);
    if (err) {
      fprintf (fp, "malformed: %s; raw ", err);
      print_hex_inline (fp, p, len, 32);
      return;
    }
    fprintf (fp, "id %" PRIu32 ", ", m.id);
    print_quoted (fp, m.name, m.name_len);
    return;
  }
  default:
    if (type & NBD_REP_ERR_BIT) {
      fprintf (fp, "message ");
      print_quoted (fp, p, len);
    }
    else {
      fprintf (fp, "raw ");
      print_hex_inline (fp, p, len, 64);
    }
  }
}

/* Decodes the payload of an option the user sent, for the echo line. */
void
print_sent_payload (FILE *fp, uint32_t opt, const uint8_t *p, size_t len)
{
  uint32_t n, k, i;
  size_t off;

  switch (opt) {
  case NBD_OPT_EXPORT_NAME:
    fprintf (fp, "export ");
    print_quoted (fp, p, len);
    return;
  case NBD_OPT_INFO:
  case NBD_OPT_GO:
    if (len < 6 || (n = get_u32 (p)) > len - 6)
      break;
    fprintf (fp, "export ");
    print_quoted (fp, p + 4, n);
    k = get_u16 (p + 4 + n);
    off = 6 + n;
    if ((size_t) k * 2 != len - off)
      break;
    fprintf (fp, ", %" PRIu32 " info request%s", k, k == 1 ? "" : "s");
    for (i = 0; i < k; i++) {
      uint16_t t = get_u16 (p + off + 2 * i);
      const char *nm = nbd_info_name (t);
      if (nm)
        fprintf (fp, "%s%s", i ? " " : ": ", nm);
      else
        fprintf (fp, "%s%u", i ? " " : ": ", t);
    }
    return;
  case NBD_OPT_LIST_META_CONTEXT:
  case NBD_OPT_SET_META_CONTEXT:
    if (len < 8 || (n = get_u32 (p)) > len - 8)
      break;
    fprintf (fp, "export ");
    print_quoted (fp, p + 4, n);
    off = 4 + n;
    k = get_u32 (p + off);
    off += 4;
    fprintf (fp, ", %" PRIu32 " quer%s", k, k == 1 ? "y" : "ies");
    for (i = 0; i < k; i++) {
      uint32_t ql;
      if (len - off < 4 || (ql = get_u32 (p + off)) > len - off - 4) {
        fprintf (fp, " (truncated)");
        return;
      }
      fprintf (fp, "%s", i ? " " : ": ");
      print_quoted (fp, p + off + 4, ql);
      off += 4 + ql;
    }
    if (off != len)
      fprintf (fp, " (%zu trailing bytes)", len - off);
    return;
  default:
    break;
  }
  fprintf (fp, "data ");
  print_hex_inline (fp, p, len, 64);
}

static void
print_time (FILE *fp, time_t t)
{
  struct tm tm;
  char buf[64];
  gmtime_r (&t, &tm);
  strftime (buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  fputs (buf, fp);
}

void
print_tls_lines (FILE *fp, const struct session *s, const char *indent)
{
  const struct tls_info *i = &s->tlsinfo;

  fprintf (fp, "%sversion %s, cipher %s, MAC %s, key exchange %s, "
          "credentials %s\n", indent, i->version, i->cipher, i->mac, i->kx,
          i->cred);
  if (i->psk_username)
    fprintf (fp, "%sPSK user \"%s\"\n", indent, i->psk_username);
  if (i->peer_subject) {
    fprintf (fp, "%speer certificate subject \"%s\"\n", indent, i->peer_subject);
    fprintf (fp, "%speer certificate issuer \"%s\"\n", indent, i->peer_issuer);
    fprintf (fp, "%speer certificate valid from ", indent);
    print_time (fp, i->peer_not_before);
    fprintf (fp, " to ");
    print_time (fp, i->peer_not_after);
    fprintf (fp, "\n");
  }
  if (i->verify)
    fprintf (fp, "%s%s\n", indent, i->verify);
}

static void
print_nego (FILE *fp, const struct nego *n, const char *indent)
{
  char sz[64];
  size_t i;

  fprintf (fp, "%sstructured replies: %s\n", indent, n->sr ? "yes" : "no");
  fprintf (fp, "%sextended headers:   %s\n", indent, n->eh ? "yes" : "no");
  if (n->nctx == 0)
    fprintf (fp, "%smeta contexts:      none\n", indent);
  else {
    fprintf (fp, "%smeta contexts:      %zu for export \"%s\"\n", indent, n->nctx,
            n->ctx_export ? n->ctx_export : "");
    for (i = 0; i < n->nctx; i++)
      fprintf (fp, "%s  id %" PRIu32 ": %s\n", indent, n->ctx[i].id,
              n->ctx[i].name);
  }
  if (n->have_export) {
    fprintf (fp, "%sexport:             ", indent);
    if (n->export_name) {
      uint8_t *e = (uint8_t *) n->export_name;
      print_quoted (fp, e, strlen (n->export_name));
    }
    else
      fprintf (fp, "(oldstyle)");
    fprintf (fp, ", size %" PRIu64 " (%s)\n", n->size,
            human_size (n->size, sz, sizeof sz));
    fprintf (fp, "%s  transmission ", indent);
    print_tflags (fp, n->tflags);
    fprintf (fp, "\n");
    if (n->canonical_name)
      fprintf (fp, "%s  canonical name \"%s\"\n", indent, n->canonical_name);
    if (n->description)
      fprintf (fp, "%s  description \"%s\"\n", indent, n->description);
  }
  else
    fprintf (fp, "%sexport:             none answered yet\n", indent);
  if (n->have_bs)
    fprintf (fp, "%sblock sizes:        minimum %" PRIu32 ", preferred %" PRIu32
            ", maximum %" PRIu32 "\n", indent, n->min_block, n->pref_block,
            n->max_block);
}

void
print_state (FILE *fp, const struct session *s)
{
  char buf[256], *d;

  fprintf (fp, "phase:              %s\n", phase_name (s->phase));
  d = nbd_target_describe (&s->target);
  fprintf (fp, "target:             %s\n", s->target.kind ? d : "none");
  free (d);
  fprintf (fp, "default export:     \"%s\"\n",
          s->cfg.default_export ? s->cfg.default_export : "");
  if (s->phase != PHASE_DISCONNECTED) {
    if (s->oldstyle)
      fprintf (fp, "greeting:           oldstyle\n");
    else {
      fprintf (fp, "handshake flags:    0x%04x (%s)\n", s->hs_flags,
              nbd_flags_str (nbd_hs_flag_names, s->hs_flags, buf, sizeof buf));
      fprintf (fp, "client flags:       0x%08" PRIx32 " (%s)\n", s->client_flags,
              nbd_flags_str (nbd_cflag_names, s->client_flags, buf,
                             sizeof buf));
    }
    if (s->tls_up) {
      fprintf (fp, "TLS:                up, epoch %d\n", s->epoch);
      print_tls_lines (fp, s, "  ");
    }
    else
      fprintf (fp, "TLS:                %s\n",
              s->tls_refused ? "refused by the server" : "not started");
  }
  fprintf (fp, "TLS required:       %s\n", s->cfg.tls.required ? "yes" : "no");
  print_nego (fp, &s->cur, "");
  if (s->epoch > 0) {
    fprintf (fp, "before the last STARTTLS (epoch %d, discarded):\n", s->epoch - 1);
    print_nego (fp, &s->prev, "  ");
  }
  fprintf (fp, "flags raised:       %u\n", s->nflags);
}

void
hexdump (FILE *fp, const uint8_t *p, size_t len, uint64_t base)
{
  size_t i, j;

  for (i = 0; i < len; i += 16) {
    fprintf (fp, "     %08" PRIx64 "  ", base + i);
    for (j = 0; j < 16; j++) {
      if (i + j < len)
        fprintf (fp, "%02x ", p[i + j]);
      else
        fprintf (fp, "   ");
      if (j == 7)
        fputc (' ', fp);
    }
    fprintf (fp, " |");
    for (j = 0; j < 16 && i + j < len; j++)
      fputc (p[i + j] >= 0x20 && p[i + j] < 0x7f ? p[i + j] : '.', fp);
    fprintf (fp, "|\n");
  }
}

/* What the status bits mean in a context. */
void
status_meaning (const char *ctx, uint64_t fl, char *buf, size_t len)
{
  if (!ctx)
    snprintf (buf, len, "?");
  else if (strcmp (ctx, "base:allocation") == 0)
    snprintf (buf, len, "%s%s%s", fl & 1 ? "hole" : "data",
              fl & 2 ? ", reads as zeroes" : "",
              fl & ~UINT64_C (3) ? ", unknown bits" : "");
  else if (strcmp (ctx, "qemu:allocation-depth") == 0) {
    if (fl == 0)
      snprintf (buf, len, "unallocated");
    else if (fl == 1)
      snprintf (buf, len, "allocated in this image");
    else
      snprintf (buf, len, "allocated %" PRIu64 " images down the backing "
                "chain", fl - 1);
  }
  else if (strncmp (ctx, "qemu:dirty-bitmap:", 18) == 0)
    snprintf (buf, len, "%s", fl & 1 ? "dirty" : "clean");
  else
    snprintf (buf, len, "status 0x%" PRIx64, fl);
}

/* Prints TEXT from column COL, wrapped at WIDTH, continuation lines
 * indented by INDENT; a word longer than a line is cut.
 */
void
print_wrapped (FILE *fp, const char *text, int col, int indent, int width)
{
  const char *w = text;

  while (*w) {
    size_t n = strcspn (w, " ");
    int room = width - col - (col > indent ? 1 : 0);

    if ((int) n > room && col > indent) {
      fprintf (fp, "\n%*s", indent, "");
      col = indent;
      continue;
    }
    if (col > indent) {
      fputc (' ', fp);
      col++;
    }
    if ((int) n > width - col)
      n = width - col > 0 ? (size_t) (width - col) : 1;
    fprintf (fp, "%.*s", (int) n, w);
    col += n;
    w += n;
    while (*w == ' ')
      w++;
  }
  fputc ('\n', fp);
}
