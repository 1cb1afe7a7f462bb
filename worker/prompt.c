/* prompt: template loading and prompt building; see prompt.h. */
#include "config.h"
#include "prompt.h"
#include "learn_wf.h"
#include "utf8.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- SHA-256 (FIPS 180-4) ---------------------------------------------- */

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void prompt_sha256_hex(const void *data, size_t len, char out[65])
{
    uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    const unsigned char *p = data;
    size_t n = len;
    while (n >= 64) {
        sha_block(h, p);
        p += 64;
        n -= 64;
    }
    unsigned char tail[128] = { 0 };
    memcpy(tail, p, n);
    tail[n] = 0x80;
    size_t tl = n + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[tl - 1 - i] = (unsigned char)(bits >> (8 * i));
    sha_block(h, tail);
    if (tl == 128)
        sha_block(h, tail + 64);
    for (int i = 0; i < 8; i++)
        snprintf(out + 8 * i, 9, "%08x", h[i]);
}

/* ---- template ------------------------------------------------------------ */

int prompt_parse(const char *file_text, struct prompt_tpl *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    size_t len = strlen(file_text);
    if (len > PROMPT_MAX_BYTES) {
        snprintf(err, errlen, "prompt template larger than %d bytes", PROMPT_MAX_BYTES);
        return -1;
    }
    if (strncmp(file_text, "version:", 8) != 0) {
        snprintf(err, errlen, "prompt template must start with a \"version: ...\" line");
        return -1;
    }
    const char *v = file_text + 8;
    while (*v == ' ')
        v++;
    size_t vl = strcspn(v, "\r\n");
    if (vl == 0 || vl >= sizeof t->version) {
        snprintf(err, errlen, "prompt template version must be 1 to %zu characters", sizeof t->version - 1);
        return -1;
    }
    memcpy(t->version, v, vl);
    t->version[vl] = '\0';
    const char *rest = v + vl;
    while (*rest == '\r' || *rest == '\n')
        rest++;
    if (!*rest) {
        snprintf(err, errlen, "prompt template has no text after its version line");
        return -1;
    }
    t->text = strdup(rest);
    if (!t->text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    prompt_sha256_hex(file_text, len, t->hash);
    return 0;
}

int prompt_load(const char *path, struct prompt_tpl *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open prompt template %s", path);
        return -1;
    }
    char *buf = malloc(PROMPT_MAX_BYTES + 2);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t n = fread(buf, 1, PROMPT_MAX_BYTES + 1, f);
    fclose(f);
    buf[n] = '\0';
    int rc;
    if (memchr(buf, '\0', n)) {
        snprintf(err, errlen, "prompt template %s contains a NUL byte", path);
        rc = -1;
    } else {
        rc = prompt_parse(buf, t, err, errlen);
    }
    free(buf);
    return rc;
}

void prompt_free(struct prompt_tpl *t)
{
    free(t->text);
    t->text = NULL;
}

/* Nonzero for code points that can hide or reorder text, or break a line,
 * in what a model reads: C0/C1 controls, DEL, zero-width characters, bidi
 * embeddings, overrides and isolates, line and paragraph separators, BOM. */
static int prompt_invisible(unsigned cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0xad || (cp >= 0x200b && cp <= 0x200f) ||
           (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

void prompt_sanitize(const char *in, char *out, size_t max)
{
    size_t n = 0;
    while (*in) {
        unsigned cp;
        int len = utf8_decode(in, &cp);
        if (len == 0) {              /* not UTF-8: one byte becomes '?' */
            if (n + 1 > max)
                break;
            out[n++] = '?';
            in++;
            continue;
        }
        if (prompt_invisible(cp)) {
            if (n + 1 > max)
                break;
            out[n++] = ' ';
        } else {
            if (n + (size_t)len > max)
                break;               /* never end inside a character */
            memcpy(out + n, in, (size_t)len);
            n += (size_t)len;
        }
        in += len;
    }
    out[n] = '\0';
}

/* Replace every {{NAME}} in tpl with val into a new string (caller frees). */
static char *prompt_replace(const char *tpl, const char *name, const char *val)
{
    size_t nl = strlen(name), vl = strlen(val), count = 0;
    for (const char *p = strstr(tpl, name); p; p = strstr(p + nl, name))
        count++;
    size_t len = strlen(tpl) + count * vl + 1;
    char *out = malloc(len);
    if (!out)
        return NULL;
    char *o = out;
    const char *p = tpl, *q;
    while ((q = strstr(p, name))) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, val, vl);
        o += vl;
        p = q + nl;
    }
    memcpy(o, p, strlen(p) + 1);
    return out;
}

/* ---- the menu as the model reads it ---------------------------------------------- */

/* A workflow in full: {"title", "market", "intensity", "sessions"?, "cost",
 * "learned": {"success", "opportunities_per_run", "runs"}}. */
static json_object *prompt_wf_full(int w, const struct sense_snapshot *snap)
{
    const struct catalog_wf *d = catalog_workflow(w);
    json_object *o = json_object_new_object();
    char title[CATALOG_TITLE_MAX + 1];
    prompt_sanitize(d->title, title, CATALOG_TITLE_MAX);
    json_object_object_add(o, "title", json_object_new_string(title));
    json_object_object_add(o, "market", json_object_new_string(catalog_market_name(d->market)));
    json_object_object_add(o, "intensity", json_object_new_string(catalog_wf_intensity_name(d->intensity)));
    if (d->sessions) {
        json_object *ss = json_object_new_array();
        for (int k = 0; k < SESSION_COUNT; k++)
            if (d->sessions & (1u << k))
                json_object_array_add(ss, json_object_new_string(session_name((enum session_id)k)));
        json_object_object_add(o, "sessions", ss);
    }
    json_object_object_add(o, "cost", json_object_new_double(d->cost));
    if (snap->learn) {
        struct learn_wf_post p;
        learn_wf_posterior(snap->learn, w, snap->now, &p);
        if (p.runs >= 0.5) {
            json_object *lo = json_object_new_object();
            json_object_object_add(lo, "success", json_object_new_double(round(p.success * 100) / 100));
            json_object_object_add(lo, "opportunities_per_run", json_object_new_double(round(p.opportunities * 100) / 100));
            json_object_object_add(lo, "runs", json_object_new_int((int)(p.runs + 0.5)));
            json_object_object_add(o, "learned", lo);
        }
    }
    return o;
}

/* The workflows on the menu (of any allowed mode), in catalog order, at
 * a level of detail: 0 each in full (prompt_wf_full), 1 each as
 * "market/intensity cost", 2 their names grouped by "market/intensity",
 * 3 the same with each group cut so the whole fits cap bytes (the
 * omitted ones counted under "omitted"). */
static json_object *prompt_wf_list(const struct decide_menu *m, const struct sense_snapshot *snap, int level,
                                   size_t cap)
{
    json_object *o = json_object_new_object();
    size_t used = 2;
    int omitted = 0;
    for (int k = 0; k < catalog_present(); k++) {
        int w = catalog_ordered(k), on = 0;
        for (int mode = 0; mode < MODE_COUNT; mode++)
            on |= m->wf_allowed[mode][w];
        if (!on)
            continue;
        const struct catalog_wf *d = catalog_workflow(w);
        char group[48];
        snprintf(group, sizeof group, "%s/%s", catalog_market_name(d->market), catalog_wf_intensity_name(d->intensity));
        if (level == 0) {
            json_object_object_add(o, d->name, prompt_wf_full(w, snap));
        } else if (level == 1) {
            char v[96];
            snprintf(v, sizeof v, "%s cost %g", group, d->cost);
            json_object_object_add(o, d->name, json_object_new_string(v));
        } else {
            json_object *g;
            if (!json_object_object_get_ex(o, group, &g)) {
                g = json_object_new_array();
                json_object_object_add(o, group, g);
                used += strlen(group) + 6;
            }
            if (level == 3 && used + strlen(d->name) + 3 > cap) {
                omitted++;
                continue;
            }
            used += strlen(d->name) + 3;
            json_object_array_add(g, json_object_new_string(d->name));
        }
    }
    if (omitted)
        json_object_object_add(o, "omitted", json_object_new_int(omitted));
    return o;
}

static json_object *prompt_menu(const struct decide_menu *m, const struct sense_snapshot *snap)
{
    json_object *root = json_object_new_object(), *modes = json_object_new_array();
    for (int mode = 0; mode < MODE_COUNT; mode++)
        if (m->mode_allowed[mode])
            json_object_array_add(modes, json_object_new_string(catalog_mode_name(mode)));
    json_object_object_add(root, "modes", modes);
    decide_menu_add_limits(m, root);
    json_object_object_add(root, "max_workflows", json_object_new_int(DECIDE_MAX_WF));
    if (m->budget_left >= 0)
        json_object_object_add(root, "run_budget_left", json_object_new_double(round(m->budget_left * 100) / 100));
    /* the workflows in as much detail as PROMPT_WORKFLOWS_BUDGET allows */
    json_object *wfs = NULL;
    for (int level = 0; level <= 3; level++) {
        json_object_put(wfs);
        wfs = prompt_wf_list(m, snap, level, PROMPT_WORKFLOWS_BUDGET);
        if (strlen(json_object_to_json_string_ext(wfs, JSON_C_TO_STRING_PLAIN)) <= PROMPT_WORKFLOWS_BUDGET)
            break;
    }
    json_object_object_add(root, "workflows", wfs);
    decide_menu_add_excluded(m, root);
    return root;
}

int prompt_build(const struct prompt_tpl *t, const struct cfg *c, const struct sense_snapshot *snap,
                 const struct decide_menu *menu, char **system, char **user)
{
    *system = *user = NULL;
    char num[32];
    snprintf(num, sizeof num, "%ld", c->decision_min_seconds);
    char *s1 = prompt_replace(t->text, "{{MIN_SECONDS}}", num);
    snprintf(num, sizeof num, "%ld", c->decision_max_seconds);
    char *s2 = s1 ? prompt_replace(s1, "{{MAX_SECONDS}}", num) : NULL;
    free(s1);
    if (!s2)
        return -1;

    json_object *doc = json_object_new_object();
    json_object *ctx = sense_to_json(snap);
    json_object_object_add(doc, "allowed_actions", prompt_menu(menu, snap));
    json_object_object_add(doc, "observations", ctx);
    /* text from the market: each string quoted by the JSON encoder, cleaned
     * and cut to a bound, in a section the template calls data */
    json_object *text = json_object_new_object();
    json_object *toks = json_object_new_array(), *profs = json_object_new_array();
    char buf[PROMPT_DESC_TEXT + 1];
    for (int i = 0; i < snap->market.ntokens; i++) {
        const struct sense_token *tk = &snap->market.tokens[i];
        json_object *o = json_object_new_object();
        prompt_sanitize(tk->symbol, buf, 24);
        json_object_object_add(o, "symbol", json_object_new_string(buf));
        prompt_sanitize(tk->name, buf, PROMPT_TOKEN_TEXT);
        json_object_object_add(o, "name", json_object_new_string(buf));
        if (tk->url[0]) {
            prompt_sanitize(tk->url, buf, PROMPT_URL_TEXT);
            json_object_object_add(o, "url", json_object_new_string(buf));
        }
        json_object_array_add(toks, o);
    }
    for (int i = 0; i < snap->market.nprofiles; i++) {
        const struct sense_profile *sp = &snap->market.profiles[i];
        json_object *o = json_object_new_object();
        prompt_sanitize(sp->chain, buf, 24);
        json_object_object_add(o, "chain", json_object_new_string(buf));
        prompt_sanitize(sp->description, buf, PROMPT_DESC_TEXT);
        json_object_object_add(o, "description", json_object_new_string(buf));
        if (sp->link[0]) {
            prompt_sanitize(sp->link, buf, PROMPT_URL_TEXT);
            json_object_object_add(o, "link", json_object_new_string(buf));
        }
        json_object_array_add(profs, o);
    }
    json_object_object_add(text, "tokens", toks);
    json_object_object_add(text, "profiles", profs);
    json_object_object_add(doc, "untrusted_market_text", text);
    *user = strdup(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
    json_object_put(doc);
    if (!*user) {
        free(s2);
        return -1;
    }
    *system = s2;
    return 0;
}
