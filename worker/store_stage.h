/* store_stage: where the replay's batched writer (store_batch.h) keeps the
 * rows it writes until they are final.
 *
 * Temporary tables named as the tables the replay's rows belong to --
 * decisions, triggers, llm_calls -- with their columns, defaults and NOT
 * NULLs, and only the indexes store.c's statements look rows up by.  A
 * session's temporary schema is searched first: store.c's statements,
 * unchanged, write, update and read them there, with no WAL, no row or
 * statement triggers and none of the tables' dozen indexes.  Rows go to
 * the tables in their final state, one INSERT ... SELECT per table; the
 * tables' CHECKs, foreign keys and triggers apply then.  (No CHECKs in the
 * staging: every statement would parse them again.)  The staging lives
 * as long as the session, or until dropped. */
#ifndef STORE_STAGE_H
#define STORE_STAGE_H

#include <libpq-fe.h>

/* $1 of the moves for every staged row. */
#define STORE_STAGE_ALL "9223372036854775807"

/* The staged rows of the decisions below $1 (text) to the tables: the
 * decisions first (the others refer to them), then their triggers and
 * LLM calls; sent by the writer inside a batch's transaction. */
extern const char STORE_STAGE_MOVE_DECISIONS[];
extern const char STORE_STAGE_MOVE_TRIGGERS[];
extern const char STORE_STAGE_MOVE_LLM_CALLS[];

/* Drop the staging (inside a transaction: its rollback brings it back). */
extern const char STORE_STAGE_DROP[];

/* Create the staging on c (idle, not in pipeline mode, no writer
 * attached), after moving to the tables a staging an earlier writer left
 * on c.  Returns 0, or -1 (logged; none left). */
int store_stage_create(PGconn *c) __attribute__((warn_unused_result));

/* On c (idle, not in pipeline mode, no writer attached): every staged row
 * to the tables and the staging dropped, in one transaction; none staged:
 * nothing to do.  Returns 0, or -1 (logged: the staged rows are lost, the
 * staging dropped all the same). */
int store_stage_finish(PGconn *c) __attribute__((warn_unused_result));

/* Vacuum the staging on c (not in a transaction or pipeline mode): the
 * rows moved or updated leave dead ones, and autovacuum does not see
 * temporary tables.  Returns 0 or -1 (logged). */
int store_stage_vacuum(PGconn *c) __attribute__((warn_unused_result));

#endif
