/* deliver_state: the per-workflow state of deliver (circuits,
 * availability, policies) as the other deliver*.c files use it; the
 * module's interface is deliver.h.  Defined in deliver_state.c. */
#ifndef DELIVER_STATE_H
#define DELIVER_STATE_H

#include <libpq-fe.h>
#include <time.h>

#include "deliver.h"

/* Nonzero when d keeps its workflow state in workflow_state (the live
 * worker): not local, and a database to keep it in. */
int deliver_shared(const struct deliver *d, PGconn *db);

/* Persist wf's circuit (live only).  Returns 0 or -1. */
int deliver_save_circuit(struct deliver *d, PGconn *db, int wf);

/* worker_state.n8n.replace from d (live only).  Returns 0 or -1. */
int deliver_publish_replace(struct deliver *d, PGconn *db);

/* Count one outcome of wf in its breaker and persist a change; alert when
 * it opens.  Returns 0 or -1. */
int deliver_breaker(struct deliver *d, PGconn *db, int wf, int ok, time_t now);

#endif
