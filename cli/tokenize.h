/* nbdcli - the script tokenizer.
 * Copyright the nbdcli authors, MIT licence.
 */
#ifndef NBDCLI_TOKENIZE_H
#define NBDCLI_TOKENIZE_H

#include <stdbool.h>
#include <stddef.h>

struct cmdline {
  char **argv;                  /* NULL-terminated */
  bool *quoted;
  int argc;
  bool ignore_error;            /* written with a leading '-' */
  char *text;                   /* the command as typed (for recordings) */
};

/* Splits LINE into commands (separated by ';') and words.  Quotes: '...'
 * literal, "..." with \" \\ \n \t \xNN escapes, \ outside quotes escapes
 * the next character; '#' at the start of a word begins a comment.
 * With PARTIAL, an unterminated quote is accepted (for completion) and
 * *OPEN_QUOTE says so; otherwise it is an error.  Returns 0, or -1 with
 * *ERR set to a static message.
 */
extern int tokenize (const char *line, bool partial, struct cmdline **cmds,
                     size_t *ncmds, bool *open_quote, const char **err);
extern void cmdlines_free (struct cmdline *cmds, size_t n);

#endif
