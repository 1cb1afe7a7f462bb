/* claims: the body of POST /claims, how a workflow claims its idempotency
 * key from the orchestrator when it starts.
 *
 *   {"idempotency_key": "orch-41-crypto-normal-scan", "execution_id": "1234",
 *    "workflow": "crypto-normal-scan"}          (workflow optional)
 *
 * The first claim of a key wins; the same execution claiming again is
 * told it holds the claim; any other execution is told it is a duplicate
 * and must stop (claim_trigger(), sql/006_leader.sql).  Every member is
 * checked: the key 1-95 printable ASCII characters, the execution id
 * 1-64 of [A-Za-z0-9_-], the workflow 1-64 of [a-z0-9_.-]; no other
 * member.  A refusal names the member (claims_parse sets *field). */
#ifndef CLAIMS_H
#define CLAIMS_H

#include <stddef.h>

#define CLAIMS_BODY_MAX 4096
#define CLAIMS_KEY_MAX 95
#define CLAIMS_EXEC_MAX 64
#define CLAIMS_WORKFLOW_MAX 64
#define CLAIMS_ERR_MAX 160

struct claims_in {
    char idempotency_key[CLAIMS_KEY_MAX + 1];
    char execution_id[CLAIMS_EXEC_MAX + 1];
    char workflow[CLAIMS_WORKFLOW_MAX + 1];      /* "" when absent */
};

/* Validate body[0 .. len).  Returns 0 with *out filled, or -1 with a
 * message for the client in err (errlen bytes; CLAIMS_ERR_MAX is enough)
 * and the offending member's name in *field (static; "body" when the
 * document itself is wrong). */
int claims_parse(const char *body, size_t len, struct claims_in *out, const char **field, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
