/* nbdcli - an interactive NBD protocol debugging shell
 *
 * lineedit.h: the one small interface in front of the line editor.
 *
 * GNU readline, libedit (through its readline compatibility header) or
 * plain stdio, chosen by ./configure --with-readline=auto|gnu|libedit|no.
 * Only cli/lineedit.c includes a line editor's headers.
 *
 * Call le_init only when the session is interactive (no -c, no -f and
 * isatty (0)): GNU readline echoes its input when stdin is not a terminal.
 */

#ifndef NBDCLI_LINEEDIT_H
#define NBDCLI_LINEEDIT_H

/* Completion callback.  LINE_TO_CURSOR is the input line up to the
 * cursor (it ends with WORD, the word being completed; an open quote
 * before WORD is part of LINE_TO_CURSOR but not of WORD).  Return a
 * malloc'd NULL-terminated array of malloc'd candidates, already
 * filtered by the prefix WORD, or NULL for no candidates.  lineedit
 * takes ownership of the array and of every string in it.
 */
typedef char **(*le_complete_fn) (const char *line_to_cursor,
                                  const char *word);

/* Set up the line editor.  HISTFILE may be NULL (no history file);
 * otherwise the history is loaded from it.  History is stifled at 1000
 * entries.  May be called again to change the history file.
 */
extern void le_init (const char *histfile);

/* Print PROMPT and read one line.  Returns a malloc'd line without its
 * newline, or NULL at end of input.  Without a line editor the prompt is
 * written to stdout, flushed, and the line read with getline(3); a read
 * interrupted by a signal (EINTR) returns an empty line.
 */
extern char *le_readline (const char *prompt);

/* Add LINE to the history, unless it is empty (or only blanks) or the
 * same as the previous entry.  No-op without a line editor.
 */
extern void le_add_history (const char *line);

/* Write the history file given to le_init, if any: parent directories
 * are created (mode 0700) and the file is left with mode 0600.  Errors
 * are ignored: history is best effort.
 */
extern void le_save_history (void);

/* Install the completion callback (NULL: no completion at all; there is
 * never a fallback to file name completion where the library allows
 * turning it off).
 */
extern void le_set_completer (le_complete_fn fn);

/* Set to 1 by the SIGINT handler while le_readline waits for a line:
 * the line typed so far is then discarded and a fresh prompt drawn on a
 * new line (GNU readline; libedit does this itself).
 */
#include <signal.h>
extern volatile sig_atomic_t le_sigint_pending;

/* "readline", "libedit" or "none" (LINEEDIT_NAME from config.h). */
extern const char *le_name (void);

#endif /* NBDCLI_LINEEDIT_H */
