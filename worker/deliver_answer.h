/* deliver_answer: recording one attempt's answer, as deliver.c (a
 * decision's first attempts) and deliver_retry.c (its retries) use it; the
 * module's interface is deliver.h.  Defined in deliver_answer.c. */
#ifndef DELIVER_ANSWER_H
#define DELIVER_ANSWER_H

#include <libpq-fe.h>
#include <time.h>

#include "act.h"
#include "deliver.h"
#include "outbox.h"
#include "sink.h"

/* Record one attempt of trigger tid (workflow wf, attempts tries so far,
 * this one included) at now, through s: sent, retrying, failed or unavailable; update
 * availability, breaker, the replace policy and alerts.  Returns
 * DELIVER_SENT_FOLLOWED or _OK (sent), _FAILED (for good), _RETRYING,
 * _UNAVAILABLE, or -2 on a database error. */
int deliver_attempted(struct deliver *d, const struct sink *s, long long tid, int wf, const struct act_job *job_in,
                      int attempts, time_t now);

/* Learn from answer r (deliver_attempted's) to a run of wf decided at
 * intensity in band / bucket with exposure, when it tells the run's
 * success now (its end cannot be followed); a 404 or a pending end teaches
 * nothing, nor an unknown context (-1). */
void deliver_learn_answer(struct deliver *d, int wf, int r, int band, int bucket, int intensity, double exposure,
                          time_t now);

/* Describe one POST of trigger tid for a transport's start into *it
 * (payload borrowed: the transport copies it): its learning context is its
 * market's band, bucket and exposure now (-1: unknown). */
void deliver_item(const struct deliver *d, struct outbox_item *it, long long tid, long long did, int wf,
                  int attempts, int intensity, const char *key, const char *payload, time_t now);

#endif
