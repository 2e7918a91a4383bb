/* sql_plan.c - xBestIndex: which WHERE terms the cursor evaluates, which
 * SQLite must still check, what a plan costs, whether it delivers the
 * ORDER BY; and the idxStr that carries the plan to xFilter. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/sql/sql_int.h"

/* Cost units: a row handed to SQLite (xNext, xColumn calls, the VDBE's
 * own work) costs 1; a row a predicate looks at in the cursor's loops
 * costs SCAN; a row read through a sorted index (random access) INDEXED. */
#define SCAN 0.05
#define INDEXED 0.15

static const struct {
    unsigned char sqlite_op;
    trl__sql_op op;
    const char *token; /* in idxStr */
    double selectivity;
} ops[] = {
    {SQLITE_INDEX_CONSTRAINT_EQ, TRL__OP_EQ, "=", 0.1},
    {SQLITE_INDEX_CONSTRAINT_IS, TRL__OP_IS, "IS", 0.1},
    {SQLITE_INDEX_CONSTRAINT_LT, TRL__OP_LT, "<", 0.33},
    {SQLITE_INDEX_CONSTRAINT_LE, TRL__OP_LE, "<=", 0.33},
    {SQLITE_INDEX_CONSTRAINT_GT, TRL__OP_GT, ">", 0.33},
    {SQLITE_INDEX_CONSTRAINT_GE, TRL__OP_GE, ">=", 0.33},
    {SQLITE_INDEX_CONSTRAINT_NE, TRL__OP_NE, "!=", 0.9},
    {SQLITE_INDEX_CONSTRAINT_ISNOT, TRL__OP_ISNOT, "ISNOT", 0.9},
    {SQLITE_INDEX_CONSTRAINT_ISNULL, TRL__OP_ISNULL, "NULL", 0.05},
    {SQLITE_INDEX_CONSTRAINT_ISNOTNULL, TRL__OP_NOTNULL, "NOTNULL", 0.95},
};
#define NOPS (sizeof ops / sizeof *ops)

static int find_op(unsigned char sqlite_op)
{
    for (size_t k = 0; k < NOPS; k++)
        if (ops[k].sqlite_op == sqlite_op)
            return (int)k;
    return -1;
}

/* Whether the cursor decides term i exactly, so SQLite may skip its own
 * check. Numeric columns (and the rowid): always, as every operand is
 * compared after numeric affinity whatever its source. A str column
 * compares as TEXT only when the other side has no numeric affinity,
 * which xBestIndex can know only for a constant that is not a number
 * (CAST(1 AS INTEGER) and a literal 1 look alike here, and an INTEGER
 * column's value makes SQLite compare numerically); IN lists likewise
 * stay checked. */
static int exact(sqlite3_index_info *info, int i, const trl_column *c,
                 trl__sql_op op, int in_list)
{
    if (!c || c->type != TRL_STR || op == TRL__OP_ISNULL ||
        op == TRL__OP_NOTNULL)
        return 1;
    if (in_list)
        return 0;
    sqlite3_value *v = NULL;
    if (sqlite3_vtab_rhs_value(info, i, &v) != SQLITE_OK || !v)
        return 0;
    int t = sqlite3_value_type(v);
    return t == SQLITE_TEXT || t == SQLITE_BLOB || t == SQLITE_NULL;
}

/* Appends the human-readable part: "x>? AND s=? ORDER BY k DESC". */
static void describe(sqlite3_str *s, const trl_frame *snap,
                     const trl__sql_plan *p)
{
    for (int k = 0; k < p->nterms; k++) {
        const trl__sql_term *t = &p->terms[k];
        const char *name = t->col < 0 ? "rowid" : snap->names[t->col];
        const char *tok = "";
        for (size_t o = 0; o < NOPS; o++)
            if (ops[o].op == t->op)
                tok = ops[o].token;
        sqlite3_str_appendf(s, "%s%s", k ? " AND " : " ", name);
        if (t->op == TRL__OP_ISNULL || t->op == TRL__OP_NOTNULL)
            sqlite3_str_appendf(s, " IS %s", t->op == TRL__OP_ISNULL
                                                 ? "NULL" : "NOT NULL");
        else if (t->in_list)
            sqlite3_str_appendall(s, " IN (...)");
        else if (t->op == TRL__OP_IS || t->op == TRL__OP_ISNOT)
            sqlite3_str_appendf(s, " %s ?", t->op == TRL__OP_IS ? "IS"
                                                                : "IS NOT");
        else
            sqlite3_str_appendf(s, "%s?", tok);
    }
    if (p->ordered)
        sqlite3_str_appendf(s, " ORDER BY %s%s",
                            p->order_col < 0 ? "rowid"
                                             : snap->names[p->order_col],
                            p->order_desc ? " DESC" : "");
}

/* idxStr: the machine part ("3>+,5=*;o2d;u1f": column, operator, '*'
 * for an IN list, '+' when SQLite does not re-check; then the ORDER BY
 * column and direction, and the columns the query reads in hex), a space,
 * and the human part EXPLAIN QUERY PLAN shows. */
static char *encode(const trl_frame *snap, const trl__sql_plan *p,
                    const int *omitted)
{
    sqlite3_str *s = sqlite3_str_new(NULL);
    for (int k = 0; k < p->nterms; k++) {
        const trl__sql_term *t = &p->terms[k];
        const char *tok = "";
        for (size_t o = 0; o < NOPS; o++)
            if (ops[o].op == t->op)
                tok = ops[o].token;
        sqlite3_str_appendf(s, "%s%d%s%s%s", k ? "," : "", t->col, tok,
                            t->in_list ? "*" : "", omitted[k] ? "+" : "");
    }
    if (!p->nterms && !p->ordered)
        sqlite3_str_appendall(s, "scan");
    if (p->ordered)
        sqlite3_str_appendf(s, ";o%d%c", p->order_col,
                            p->order_desc ? 'd' : 'a');
    sqlite3_str_appendf(s, ";u%llx", (unsigned long long)p->col_used);
    describe(s, snap, p);
    return sqlite3_str_finish(s);
}

int trl__sql_plan_parse(const char *str, trl__sql_plan *p)
{
    memset(p, 0, sizeof *p);
    if (!str)
        return 0;
    const char *s = str;
    if (strncmp(s, "scan", 4) == 0)
        s += 4;
    while (*s && *s != ' ' && *s != ';') {
        if (p->nterms == (int)(sizeof p->terms / sizeof *p->terms))
            return -1;
        char *end;
        long col = strtol(s, &end, 10);
        if (end == s)
            return -1;
        s = end;
        size_t len = strcspn(s, "*+, ;");
        int found = 0;
        for (size_t o = 0; o < NOPS && !found; o++)
            if (strlen(ops[o].token) == len &&
                strncmp(ops[o].token, s, len) == 0) {
                p->terms[p->nterms].op = ops[o].op;
                found = 1;
            }
        if (!found)
            return -1;
        s += len;
        p->terms[p->nterms].col = (int)col;
        if (*s == '*') {
            p->terms[p->nterms].in_list = 1;
            s++;
        }
        if (*s == '+') {
            p->terms[p->nterms].omitted = 1;
            s++;
        }
        p->nterms++;
        if (*s == ',')
            s++;
    }
    if (s[0] == ';' && s[1] == 'o') {
        char *end;
        p->order_col = (int)strtol(s + 2, &end, 10);
        if (end == s + 2 || (*end != 'a' && *end != 'd'))
            return -1;
        p->ordered = 1;
        p->order_desc = *end == 'd';
        s = end + 1;
    }
    if (s[0] == ';' && s[1] == 'u')
        p->col_used = strtoull(s + 2, NULL, 16);
    return 0;
}

static int collation_binary(sqlite3_index_info *info, int i)
{
    const char *coll = sqlite3_vtab_collation(info, i);
    return !coll || sqlite3_stricmp(coll, "BINARY") == 0;
}

int trl__sql_best_index(sqlite3_vtab *base, sqlite3_index_info *info)
{
    trl__sql_vtab *vt = (trl__sql_vtab *)base;
    if (!vt->snap) {
        /* a table whose binding a ROLLBACK undid: fail in xOpen */
        info->estimatedCost = 1;
        info->estimatedRows = 1;
        return SQLITE_OK;
    }
    const trl_frame *snap = vt->snap;
    double n = (double)snap->nrows;
    trl__sql_plan p;
    memset(&p, 0, sizeof p);
    int omitted[64] = {0};
    double selectivity = 1, rowid_selectivity = 1;
    int rowid_eq = 0, index_col = -1;
    double index_selectivity = 1;
    double term_sel[64];

    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        int o = find_op(c->op);
        if (!c->usable || o < 0 || c->iColumn >= (int)snap->ncols ||
            p.nterms == 64)
            continue;
        trl__sql_op op = ops[o].op;
        const trl_column *col = c->iColumn >= 0 ? snap->cols[c->iColumn]
                                                : NULL;
        if (col && col->type == TRL_STR && op != TRL__OP_ISNULL &&
            op != TRL__OP_NOTNULL && !collation_binary(info, i))
            continue; /* NOCASE and others: SQLite's to evaluate */
        int in_list = op == TRL__OP_EQ && sqlite3_vtab_in(info, i, -1);
        if (in_list)
            sqlite3_vtab_in(info, i, 1);
        int k = p.nterms++;
        p.terms[k].col = c->iColumn;
        p.terms[k].op = op;
        p.terms[k].in_list = in_list;
        omitted[k] = exact(info, i, col, op, in_list);
        p.terms[k].omitted = omitted[k];
        info->aConstraintUsage[i].argvIndex = k + 1;
        info->aConstraintUsage[i].omit = (unsigned char)omitted[k];

        double sel = ops[o].selectivity;
        term_sel[k] = in_list ? 0.2 : sel;
        if (c->iColumn < 0) {
            if (op == TRL__OP_EQ || op == TRL__OP_IS)
                rowid_eq = !in_list;
            rowid_selectivity *= sel;
            continue;
        }
        selectivity *= term_sel[k];
        if (vt->index[c->iColumn] && sel < index_selectivity &&
            op != TRL__OP_NE && op != TRL__OP_ISNOT && !in_list) {
            index_col = c->iColumn;
            index_selectivity = sel;
        }
    }

    /* ORDER BY of one column (or the rowid): delivered by the scan order,
     * a column whose every row equals one value, or the column's sorted
     * index when that is cheaper than SQLite sorting the output. */
    double rows = fmax(1, n * selectivity * rowid_selectivity);
    double build = 0;
    if (info->nOrderBy == 1) {
        int col = info->aOrderBy[0].iColumn;
        int all_equal = 0;
        for (int k = 0; k < p.nterms; k++)
            all_equal |= p.terms[k].col == col && !p.terms[k].in_list &&
                         p.terms[k].omitted &&
                         (p.terms[k].op == TRL__OP_EQ ||
                          p.terms[k].op == TRL__OP_IS);
        int cheap_sort = rows < 1000 || rows * log2(rows) < 2 * n;
        if (col < 0 || all_equal || vt->index[col] || !cheap_sort) {
            p.ordered = 1;
            p.order_col = col;
            p.order_desc = info->aOrderBy[0].desc;
            info->orderByConsumed = 1;
            if (col >= 0 && !all_equal) {
                index_col = col;
                index_selectivity = 1;
                for (int k = 0; k < p.nterms; k++)
                    if (p.terms[k].col == col && !p.terms[k].in_list &&
                        p.terms[k].op != TRL__OP_NE &&
                        p.terms[k].op != TRL__OP_ISNOT)
                        index_selectivity *= term_sel[k];
                if (!vt->index[col])
                    build = n * 0.3; /* a radix sort of the column */
            }
        }
    }

    double cost;
    if (rowid_eq) {
        cost = 10;
        rows = 1;
        info->idxFlags |= SQLITE_INDEX_SCAN_UNIQUE;
    } else if (index_col >= 0) {
        double visited = n * rowid_selectivity * index_selectivity;
        cost = build + log2(n + 2) + visited * INDEXED + rows;
    } else {
        cost = n * rowid_selectivity * SCAN + rows;
    }
    p.col_used = info->colUsed;
    info->estimatedCost = cost;
    info->estimatedRows = (sqlite3_int64)rows;
    info->idxStr = encode(snap, &p, omitted);
    if (!info->idxStr)
        return SQLITE_NOMEM;
    info->needToFreeIdxStr = 1;
    return SQLITE_OK;
}
