/* sql_names.c - which frames SQL sees, and under which names. A frame is
 * shown as a table the first time a statement names it (SQLite's "no
 * such table" is the cue), so a registry of thousands of versions costs
 * nothing until used; before each cell every shown table is checked
 * against its source, so a rebound Lua variable or a newer registered
 * version is what the next query reads. Another engine's variable wins
 * over a registered frame of the same name, as it does in magics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/sql/sql_engine_int.h"
#include "trellis/model.h"
#include "trellis/sql.h"

/* Statements naming more new frames than this fail with SQLite's own
 * message instead of looping. */
#define MAX_NEW_TABLES 64

static trl__sqle_table *find(trl__sqle *s, const char *name)
{
    for (size_t i = 0; i < s->ntables; i++)
        if (strcmp(s->tables[i].name, name) == 0)
            return &s->tables[i];
    return NULL;
}

/* The frame another engine's variable `name` holds (a new reference). */
static trl_frame *peer_frame(trl__sqle *s, const char *name)
{
    size_t n = s->npeers ? *s->npeers : 0;
    for (size_t i = 0; i < n; i++) {
        trl_engine *e = s->peers[i];
        if (e == &s->base || !e->ops->lookup)
            continue;
        trl_frame *f = NULL;
        struct trl_model *m = NULL;
        e->ops->lookup(e, name, &f, &m);
        trl_model_decref(m);
        if (f)
            return f;
    }
    return NULL;
}

/* The frame `name` stands for now, and whether a variable holds it. */
static trl_frame *source(trl__sqle *s, const char *name, int *from_peer)
{
    trl_frame *f = peer_frame(s, name);
    *from_peer = f != NULL;
    if (!f && s->registry) {
        trl_error ignored = {0};
        f = trl_registry_get(s->registry, name, &ignored);
    }
    return f;
}

/* Shows f (a reference, taken) as table name, replacing what it was. */
static int show(trl__sqle *s, const char *name, trl_frame *f, int from_peer,
                trl_error *err)
{
    trl__sqle_table *t = find(s, name);
    if (!t) {
        if (s->ntables == s->cap) {
            size_t cap = s->cap ? 2 * s->cap : 8;
            trl__sqle_table *g = realloc(s->tables, cap * sizeof *g);
            if (!g) {
                trl_frame_decref(f);
                return trl_error_set(err, TRL_ENOMEM, "out of memory");
            }
            s->tables = g;
            s->cap = cap;
        }
        char *copy = strdup(name);
        if (!copy) {
            trl_frame_decref(f);
            return trl_error_set(err, TRL_ENOMEM, "out of memory");
        }
        t = &s->tables[s->ntables++];
        *t = (trl__sqle_table){copy, NULL, 0};
    }
    int rc = trl_sql_bind(s->bound, name, f, err);
    trl_frame_decref(t->frame);
    t->frame = rc == 0 ? f : NULL;
    t->from_peer = from_peer;
    if (rc != 0) {
        trl_frame_decref(f);
        return rc;
    }
    return 0;
}

static void forget(trl__sqle *s, size_t i)
{
    trl_error ignored = {0};
    trl_sql_unbind(s->bound, s->tables[i].name, &ignored);
    free(s->tables[i].name);
    trl_frame_decref(s->tables[i].frame);
    s->tables[i] = s->tables[--s->ntables];
}

void trl__sqle_refresh(trl__sqle *s)
{
    for (size_t i = s->ntables; i-- > 0;) {
        trl__sqle_table *t = &s->tables[i];
        int from_peer;
        trl_frame *f = source(s, t->name, &from_peer);
        if (!f) {
            forget(s, i);
        } else {
            /* also when f is the frame shown: a working frame changes in
             * place (f.x = ... in Lua, f["x"] = ... in Python), and the
             * table reads the columns it had; binding the same columns
             * again costs nothing */
            trl_error err = {0};
            char *name = strdup(t->name);
            if (!name || show(s, name, f, from_peer, &err) != 0) {
                if (!name)
                    trl_frame_decref(f);
                forget(s, i);  /* better unseen than stale */
            }
            free(name);
        }
    }
}

int trl__sqle_resolve(trl__sqle *s, const char *name, trl_error *err)
{
    int from_peer;
    trl_frame *f = source(s, name, &from_peer);
    if (!f)
        return 0;
    int rc = show(s, name, f, from_peer, err);
    return rc == 0 ? 1 : rc;
}

/* The table SQLite could not find, from its message, into out. */
static int missing_table(const char *msg, char *out, size_t size)
{
    static const char prefix[] = "no such table: ";
    if (strncmp(msg, prefix, sizeof prefix - 1) != 0)
        return 0;
    const char *name = msg + sizeof prefix - 1;
    if (strncmp(name, "main.", 5) == 0 || strncmp(name, "temp.", 5) == 0)
        name += 5;
    if (strlen(name) >= size)
        return 0;
    strcpy(out, name);
    return 1;
}

int trl__sqle_prepare(trl__sqle *s, const char *sql, sqlite3_stmt **st,
                     const char **tail, trl_error *err)
{
    for (int tries = 0;; tries++) {
        int rc = sqlite3_prepare_v2(s->db, sql, -1, st, tail);
        char name[256];
        if (rc == SQLITE_OK || tries == MAX_NEW_TABLES ||
            !missing_table(sqlite3_errmsg(s->db), name, sizeof name))
            return rc;
        int found = trl__sqle_resolve(s, name, err);
        if (found < 0)
            return SQLITE_ERROR;
        if (found == 0)
            return rc;  /* SQLite's message says which */
    }
}

/* The authorizer: every table a statement reads goes into s->reads, as
 * the registered version it is (churn@3) or the variable's name. ATTACH is
 * refused: an attached file is writable, and the registry is one, so a
 * cell could rewrite frames and the promotion audit log behind the
 * registry's back. */
static int authorize(void *ud, int action, const char *a3, const char *a4,
                     const char *db, const char *trigger)
{
    (void)a4;
    (void)db;
    (void)trigger;
    trl__sqle *s = ud;
    if (action == SQLITE_ATTACH)
        return SQLITE_DENY;
    if (action != SQLITE_READ || !a3 || !s->reads)
        return SQLITE_OK;
    trl__sqle_table *t = find(s, a3);
    const char *what = t && t->frame && t->frame->ref ? t->frame->ref : a3;
    size_t i;
    json_t *v;
    json_array_foreach(s->reads, i, v)
        if (strcmp(json_string_value(v), what) == 0)
            return SQLITE_OK;
    json_array_append_new(s->reads, json_string(what));
    return SQLITE_OK;
}

void trl__sqle_track_reads(trl__sqle *s)
{
    sqlite3_set_authorizer(s->db, authorize, s);
}

int trl__sqle_bind(trl__sqle *s, sqlite3_stmt *st, trl_error *err)
{
    int n = sqlite3_bind_parameter_count(st);
    for (int i = 1; i <= n; i++) {
        const char *p = sqlite3_bind_parameter_name(st, i);
        if (!p)
            return trl_error_set(err, TRL_EINVAL, "parameter %d has no name:"
                                 " write :name, which takes the Lua or "
                                 "Python variable name", i);
        json_t *v = NULL;
        size_t np = s->npeers ? *s->npeers : 0;
        for (size_t k = 0; !v && k < np; k++) {
            trl_engine *e = s->peers[k];
            if (e != &s->base && e->ops->scalar)
                v = e->ops->scalar(e, p + 1);
        }
        int rc;
        if (json_is_integer(v))
            rc = sqlite3_bind_int64(st, i, json_integer_value(v));
        else if (json_is_real(v))
            rc = sqlite3_bind_double(st, i, json_real_value(v));
        else if (json_is_boolean(v))
            rc = sqlite3_bind_int(st, i, json_is_true(v));
        else if (json_is_string(v))
            rc = sqlite3_bind_text(st, i, json_string_value(v),
                                   (int)json_string_length(v),
                                   SQLITE_TRANSIENT);
        else
            return trl_error_set(err, TRL_EINVAL, "%s: no Lua or Python "
                                 "variable %s holds a number, a string or "
                                 "a boolean", p, p + 1);
        json_decref(v);
        if (rc != SQLITE_OK)
            return trl_error_set(err, TRL_ENOMEM, "cannot bind %s: %s", p,
                                 sqlite3_errstr(rc));
    }
    return 0;
}

void trl__sqle_tables_free(trl__sqle *s)
{
    while (s->ntables)
        forget(s, s->ntables - 1);
    free(s->tables);
    s->tables = NULL;
    s->cap = 0;
}
