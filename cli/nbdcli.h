/* nbdcli - the shell: main, the REPL and prompt, line editing, the
 * script tokenizer and completion.  Top of the layers: it calls down
 * into commands/, the output layer and proto/.
 * Copyright the nbdcli authors, MIT licence.
 */
#ifndef NBDCLI_H
#define NBDCLI_H

#include "commands.h"

/* cli/repl.c */
extern int run_line (struct session *s, const char *line);
extern int run_file (struct session *s, const char *path);
extern int run_stream (struct session *s, void *fp, const char *name);
extern int run_interactive (struct session *s);
extern char *make_prompt (struct session *s);

/* cli/replay.c: TARGET as `connect' takes it, or NULL for the
 * recorded one; IGNORE: lists of fields or events not compared.
 * Returns the exit status (0 same, 3 flagged, 4 different).
 */
extern int run_replay (struct session *s, const char *path,
                       const char *target, char *const *ignore,
                       size_t nignore);

/* cli/complete.c */
extern char **complete_line (struct session *s, const char *line_to_cursor,
                             const char *word);

#endif
