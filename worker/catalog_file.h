/* catalog_file: the user's workflow catalog, read from a JSON file and
 * validated strictly.
 *
 *   {"$schema": "...", "version": "2026-12-03",
 *    "workflows": [{"name": "crypto-normal-scan", "title": "...", "market": "crypto",
 *                   "intensity": "normal", "sessions": [], "needs": ["dexscreener"],
 *                   "concurrency": "allow", "parameters": {}, "cost": 1,
 *                   "min_interval_seconds": 0, "max_runs_per_day": 0,
 *                   "expects_result": true, "timeout_seconds": 0, "enabled": true,
 *                   "claims": true}, ...]}
 *
 * The JSON Schema is catalog/catalog.schema.json; catalog/default.json holds
 * the eight seed workflows.  Per entry only "name" and "market" are
 * required; the defaults are: title = name, intensity "any", sessions [],
 * needs [], concurrency "allow", parameters {}, cost 1,
 * min_interval_seconds 0 (none), max_runs_per_day 0 (no limit),
 * expects_result false, timeout_seconds 0 (TRACK_TIMEOUT_SECONDS),
 * enabled true, claims false.
 *
 * Refused, with the file, the entry (index and name) and the field named:
 * a file that is not UTF-8 JSON or larger than CATALOG_FILE_MAX_BYTES; a
 * field the schema does not know or one given twice (also inside
 * "parameters"); a missing required field; a value of the wrong type, out
 * of its range or not one of its words; a name that is not a valid webhook
 * path (catalog_name_valid); two entries with one name; more than
 * CATALOG_MAX entries or none; and a market (crypto or forex) without any
 * enabled entry of its own: the fallback policy scans each market with
 * the workflows of that market.  The message looks like
 *   catalog/x.json: workflows[3] ("my-scan"): field "market": expected one of
 *   crypto, forex, both, system; got "stocks" */
#ifndef CATALOG_FILE_H
#define CATALOG_FILE_H

#include <json-c/json.h>
#include <stddef.h>
#include <time.h>

#include "catalog.h"

#define CATALOG_FILE_MAX_BYTES (1024 * 1024)
#define CATALOG_FILE_ERR_MAX 512            /* bytes of an error message, with its NUL */

/* A catalog as loaded from a file. */
struct catalog_file {
    struct catalog cat;
    char path[512];               /* the file it came from (cut to fit) */
    char hash[65];                /* SHA-256 of the file's bytes, hex */
    char version[65];             /* the file's optional "version", "" when none */
    time_t loaded_at;
};

/* Parse and validate text (len bytes, from file `path`, used in messages)
 * into *out (zeroed first; loaded_at left 0).  Returns 0, or -1 with the
 * message in err. */
int catalog_file_parse(const char *text, size_t len, const char *path, struct catalog_file *out,
                       char *err, size_t errlen) __attribute__((warn_unused_result));

/* Read and validate the file at path into *out (loaded_at = now).
 * Returns 0, or -1 with the message in err. */
int catalog_file_load(const char *path, time_t now, struct catalog_file *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The catalog's entry for the registry slot's attributes as JSON, in the
 * file's shape (every field written out): what /workflows/available
 * shows and what discovery proposes.  Caller frees with json_object_put. */
json_object *catalog_file_entry_json(const struct catalog_wf *w);

#endif
