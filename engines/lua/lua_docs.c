/* lua_docs.c - signatures and one-paragraph docs of the functions the
 * kernel gives Lua, found by the function value itself, so `f:describe`,
 * `features.get` and a local alias all inspect the same way. */
#include <string.h>

#include <lauxlib.h>

#include "engines/lua/lua_int.h"

static const char docs_key = 'd';

static const struct {
    const char *path;  /* global path, or frame:/column: method */
    const char *doc;
} docs[] = {
    {"print", "print(...)\n\nWrites the values, tab-separated, to the "
              "notebook's stdout stream."},
    {"display", "display(value [, mime]) -> handle\n\nShows value as rich "
                "output (tables of records and frames as HTML; values with "
                "__repr_html/__repr_svg metamethods as themselves). With "
                "mime, value is a string of that type. handle:update(value "
                "[, mime]) replaces the output in place."},
    {"clear_output", "clear_output([wait])\n\nClears the cell's output; "
                     "with wait, only when new output arrives."},
    {"input", "input([prompt]) -> string\n\nAsks the notebook for one line "
              "of text (needs a client that allows stdin)."},
    {"features.read_csv",
     "features.read_csv(path [, {delimiter=\",\", header=true, types={col="
     "\"str\"}}]) -> frame\n\nReads a CSV file into a working frame: "
     "quoted fields, CRLF, a UTF-8 BOM and empty fields (missing) are "
     "handled; column types (i64, f64, bool, str) are inferred unless "
     "given. Errors name the file, line and column."},
    {"features.register",
     "features.register(name, frame) -> \"name@N\"\n\nFreezes the frame's "
     "columns as version N of name, in the registry database, with its "
     "lineage. The frame itself stays a working copy; the version never "
     "changes."},
    {"features.get",
     "features.get(\"name\" | \"name@N\") -> frame\n\nA working copy of the "
     "latest (or given) version: add or replace columns freely; register "
     "it to keep the result."},
    {"features.version",
     "features.version(\"name@N\") -> frame\n\nThe registered version "
     "itself, read-only."},
    {"features.list",
     "features.list() -> {{name, version, rows, columns, created, "
     "lineage}, ...}\n\nEvery registered version, as a table that displays "
     "as HTML (or use %features)."},
    {"features.frame",
     "features.frame{col = {values...}, ...} -> frame\n\nA new working "
     "frame from Lua tables (columns in name order)."},
    {"models.train",
     "models.train{name=, data=, target= [, algo=\"xgboost\", features={...}"
     ", params={...}, eval=frame, group=\"qid\", tags={...}}] -> model\n\n"
     "Trains on data (a frame or a registered 'name@N') and registers the "
     "model as name@N. algo: xgboost (params go to XGBoost, plus "
     "num_boost_round=100 and early_stopping_rounds with eval), logistic or "
     "linear (liblinear; params C, eps, bias). String features are one-hot "
     "coded and inputs of linear models standardised, as recorded in the "
     "model. Shows a progress bar; interrupting registers nothing."},
    {"models.get",
     "models.get(\"name\" | \"name@N\" | \"name@production\") -> model\n\n"
     "A registered model: the latest, a version, or the latest in a stage "
     "(staging, production, archived)."},
    {"models.list",
     "models.list() -> {{name, version, stage, algo, objective, target, "
     "created, trained_on}, ...}\n\nEvery registered version (or use "
     "%models)."},
    {"models.stage",
     "models.stage(\"name@N\", stage) -> stage\n\nMoves a version to none, "
     "staging, production or archived. A new production version archives "
     "the previous one."},
    {"model:predict",
     "model:predict(frame) -> column\n\nProbabilities for classifiers "
     "(a frame of class_0, class_1, ... for multi:softprob), values for "
     "regressions, scores for rankers. The frame needs the model's feature "
     "columns; unseen categories are handled as training encoded them."},
    {"model:save",
     "model:save(path) -> path\n\nWrites the library's own format: XGBoost "
     "JSON (UBJ for a .ubj path), which Python's xgboost loads, or "
     "liblinear's model file."},
    {"metrics.compute",
     "metrics.compute(name, labels, scores [, {weight=col, group=col, "
     "threshold=0.5, bins=10}]) -> number\n\nOne metric as scikit-learn "
     "defines it: auc, pr_auc, logloss, brier, accuracy, precision, recall, "
     "f1, ece, rmse, mae, r2, mape, and per group ndcg@k, precision@k, "
     "recall@k, map@k, mrr, hit_rate@k. Rows missing a label or score are "
     "left out."},
    {"metrics.list", "metrics.list() -> {names}\n\nThe built-in metrics."},
    {"metrics.define",
     "metrics.define(name, fn | \"function(y, p, w, ...) ... end\" [, "
     "{higher_is_better=true, columns={\"revenue\"}}]) -> name\n\nA "
     "business metric, usable wherever a built-in is (compare, %compare). "
     "fn gets the labels y, the scores p, the sample weights w (all 1 "
     "without --weight) and the named columns, each a column of the rows "
     "being judged (a bootstrap resample repeats rows as drawn), and "
     "returns a number. Source text is kept in the registry; a function "
     "value lasts for the session."},
    {"compare",
     "compare{models={m1, \"name@N\", ...}, on=frame [, metrics={...}, "
     "bootstrap=1000, seed=1, by=\"column\", group=, weight=]} -> result"
     "\n\nThe models side by side on each metric with 95% paired bootstrap "
     "intervals, displayed as %compare shows it; r.metrics, r.rows and "
     "r:value(\"auc\", 2) give the numbers. group names the user or "
     "query column: ranking metrics need it, and with it every metric "
     "resamples whole groups."},
    {"bench",
     "bench{model=m, on=frame [, batch={1, 32, 1024}, duration=2, "
     "threads={1, 2}, vs=other]} -> result\n\nThe serving benchmark "
     "%bench runs: after a warm-up, `threads` concurrent callers send "
     "batches of the frame's rows (each call encodes them and predicts) "
     "for `duration` seconds per configuration. Latency per call and per "
     "row (p50, p90, p99, p99.9 of every call), throughput and peak memory; "
     "with vs, both models side by side and their ratios. Recorded against "
     "the model version; displays as %bench shows it. r.results, "
     "r.ratios, r.overhead, and r:at(batch [, threads, model]).p99_ms give "
     "the numbers."},
    {"models.promote",
     "models.promote(\"name@N\" | model, \"staging\" | \"production\" "
     "[, {gates = {\"auc@holdout >= production\", ...}, force = true, "
     "reason = \"...\"}]) -> result\n\nMoves the version when every "
     "gate passes (without gates: not worse than production on each "
     "metric and frame both have in recorded %compare runs), as %promote "
     "does; a refusal changes nothing and is a result, not an error. "
     "Every attempt is in the audit log. r.ok, r.outcome (\"promoted\", "
     "\"refused\", \"forced\"), r.message, r.archived, r.gates[i].gate "
     "/ .outcome / .detail; displays as %promote's table."},
    {"models.history",
     "models.history(\"name\") -> {name, stages = {{seq, version, stage, "
     "changed}, ...}, promotions = {{id, when, who, host, model, from, to, "
     "outcome, forced, reason, gates, message}, ...}}\n\nA model's stage "
     "changes and its promotion attempts from the audit log, oldest "
     "first (%models --history NAME shows them)."},
    {"models.benchmarks",
     "models.benchmarks(\"name@N\") -> {{id, threads, batch, p50_ms, "
     "p99_ms, rows_per_s, ...}, ...}\n\nThe benchmarks recorded for a "
     "model version (by %bench or bench{}), oldest first: what a latency "
     "gate reads."},
    {"validate.infer",
     "validate.infer(frame | \"name@N\") -> expectations\n\nExpectations "
     "read off a reference frame, as a table to edit: the column set and "
     "types, max_missing per column (none if the reference has none, else "
     "twice its share + 0.01), numeric min/max widened by 10% of the "
     "range, the categories of strings with at most 50, unique for id "
     "columns."},
    {"validate.save",
     "validate.save(name, expectations | frame) -> \"name@N\"\n\nKeeps "
     "the expectations (a table, or those inferred from a frame) in the "
     "registry as the next version of name, for validate.check and "
     "%validate --schema. Unknown keys are refused."},
    {"validate.get",
     "validate.get(\"name\" | \"name@N\") -> expectations\n\nA saved "
     "set as a table: edit it and save it again."},
    {"validate.check",
     "validate.check(frame, expectations | \"name\" | ref_frame) -> "
     "result\n\nChecks the frame against expectations given as a table, a "
     "saved set's name (else a registered frame's) or a reference frame; "
     "displays as %validate's table and is recorded. r.ok, r.failures "
     "(the failed checks: column, check, observed, expected, ...), "
     "r.checks."},
    {"drift.compare",
     "drift.compare(ref, new [, {features = {...}, threshold = 0.2, "
     "model = m}]) -> result\n\nHow far new has moved from ref per "
     "feature: PSI over ref's deciles and missing, the KS statistic and "
     "p-value (as scipy.stats.ks_2samp) for numbers, the Jensen-Shannon "
     "distance (base 2) for categories; with model, its predictions on "
     "both. Displays as %drift's table, is recorded; r.ok, r.max_psi, "
     "r.features[i].psi / .ks / .ks_p / .js / .flagged."},
    {"models.importance",
     "models.importance(model [, {method=, on=frame, metric=\"auc\", "
     "repeats=5, seed=1, top=, inputs=false}]) -> result\n\nFeature "
     "importance, as %importance shows it, recorded against the model "
     "version. method: gain (XGBoost's default; also weight, cover, "
     "total_gain, total_cover, as Booster.get_score), coef (linear models' "
     "default: |coefficient| per standard deviation of each input) or "
     "permutation (implied by on or metric): each feature of the frame "
     "shuffled `repeats` times, the mean drop in the metric (any built-in "
     "or business metric; auc, rmse or ndcg@10 by default) with its std. "
     "A string feature's one-hot inputs are summed (r.inputs lists them). "
     "r.features (most important first), r.baseline, and "
     "r:value(\"x1\") give the numbers; top and inputs shape the display."},
    {"model:importance",
     "model:importance{...} -> result\n\nThe same as "
     "models.importance(model, {...})."},
    {"models.importance_history",
     "models.importance_history(\"name\" | model [, {method=, metric=, "
     "top=}]) -> history\n\nEach version's latest importance of one method "
     "(by default the method of the latest run) side by side, as "
     "%importance NAME --history shows it; h.versions, h.features and "
     "h:value(\"x1\") (a value per version, nil where a version lacks "
     "the feature) give the numbers."},
    {"features.and_", "features.and_(a, b) -> bool column\n\nElement-wise "
                      "and (missing-aware, as SQL)."},
    {"features.or_", "features.or_(a, b) -> bool column\n\nElement-wise or "
                     "(missing-aware, as SQL)."},
    {"features.not_", "features.not_(a) -> bool column\n\nElement-wise "
                      "not."},
    {"frame:columns", "frame:columns() -> {names}\n\nColumn names in order."},
    {"frame:dtypes", "frame:dtypes() -> {name = dtype}\n\nf64, i64, bool or "
                     "str per column."},
    {"frame:shape", "frame:shape() -> rows, columns"},
    {"frame:copy", "frame:copy() -> frame\n\nA working copy sharing the "
                   "columns (no data is copied)."},
    {"frame:select", "frame:select{\"a\", \"b\"} -> frame\n\nThose columns, "
                     "in that order."},
    {"frame:filter", "frame:filter(mask) -> frame\n\nRows where the bool "
                     "column mask is true (e.g. f:filter(f.age:gt(30)))."},
    {"frame:head", "frame:head([n=5]) -> frame\n\nThe first n rows."},
    {"frame:sample", "frame:sample(n [, seed]) -> frame\n\nn rows without "
                     "replacement; the same seed gives the same rows."},
    {"frame:split", "frame:split{0.8, 0.2, seed=1} -> frame, frame\n\n"
                    "Disjoint random parts with those fractions, "
                    "deterministic for a seed."},
    {"frame:drop", "frame:drop(name)\n\nRemoves a column (same as "
                   "f.name = nil)."},
    {"frame:describe", "frame:describe() -> frame\n\nPer column: dtype, "
                       "count, missing, mean, std, min, quartiles, max, "
                       "unique (cached per registered version)."},
    {"frame:hist", "frame:hist(col [, bins=20]) -> histogram\n\nDisplays "
                   "as an SVG histogram of a numeric column."},
    {"frame:lineage", "frame:lineage() -> JSON text\n\nWhere the frame came "
                      "from: file and hash, or parents and derivation."},
    {"frame:ref", "frame:ref() -> \"name@N\" or nil"},
    {"frame:group_by", "frame:group_by(key):agg{out = \"fn\" | {column, "
                       "\"fn\"}} -> frame\n\nOne row per key value (missing "
                       "keys dropped, sorted by key); fn is count, sum, mean, "
                       "std, min, max, n_unique or first. out = \"mean\" "
                       "averages the column called out."},
    {"frame:join", "frame:join(other, key [, {how = \"inner\"|\"left\"}]) "
                   "-> frame\n\nRows matched on the key column; other's "
                   "clashing names get _right."},
    {"column:mean", "column:mean() -> number\n\nMean of the present values "
                    "(NaN when none)."},
    {"column:std", "column:std() -> number\n\nSample standard deviation "
                   "(ddof = 1, as pandas)."},
    {"column:sum", "column:sum() -> number"},
    {"column:min", "column:min() -> number"},
    {"column:max", "column:max() -> number"},
    {"column:count", "column:count() -> integer\n\nPresent values."},
    {"column:n_missing", "column:n_missing() -> integer"},
    {"column:n_unique", "column:n_unique() -> integer"},
    {"column:quantile", "column:quantile(q) -> number\n\nLinear "
                        "interpolation, as NumPy's default."},
    {"column:gt", "column:gt(x) -> bool column\n\nAlso ge, lt, le, eq, ne: "
                  "Lua's < and == cannot return columns, so comparisons are "
                  "methods. x is a column, a number or (eq/ne) a string."},
    {"column:clip", "column:clip(lo, hi) -> column"},
    {"column:fill_missing", "column:fill_missing(value) -> column"},
    {"column:log", "column:log() -> column\n\nAlso exp, sqrt, abs; "
                   "arithmetic with + - * / ^ % and unary minus works on "
                   "columns and numbers."},
    {"column:totable", "column:totable() -> {values}\n\nA Lua table "
                       "(missing values are nil)."},
    {"column:dtype", "column:dtype() -> \"f64\" | \"i64\" | \"bool\" | "
                     "\"str\""},
    {NULL, NULL}};

/* Pushes the function a doc path names, or nil. */
static void find(lua_State *L, const char *path)
{
    const char *colon = strchr(path, ':');
    if (colon) {
        const char *mt = strncmp(path, "frame:", 6) == 0   ? "trellis.frame"
                         : strncmp(path, "model:", 6) == 0 ? "trellis.model"
                                                           : "trellis.column";
        luaL_getmetatable(L, mt);
        lua_getfield(L, -1, "methods");
        lua_getfield(L, -1, colon + 1);
        lua_replace(L, -3);
        lua_pop(L, 1);
        return;
    }
    lua_pushglobaltable(L);
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        lua_pushlstring(L, p, n);
        lua_rawget(L, -2);
        lua_remove(L, -2);
        if (!dot || !lua_istable(L, -1))
            return;
        p = dot + 1;
    }
}

void trl__lua_open_docs(lua_State *L)
{
    lua_newtable(L);
    for (int i = 0; docs[i].path; i++) {
        find(L, docs[i].path);
        if (lua_isfunction(L, -1)) {
            lua_pushstring(L, docs[i].doc);
            lua_rawset(L, -3);
        } else {
            lua_pop(L, 1);
        }
    }
    lua_rawsetp(L, LUA_REGISTRYINDEX, &docs_key);
}

const char *trl__lua_doc_of(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &docs_key);
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    const char *doc = lua_tostring(L, -1);  /* anchored in the docs table */
    lua_pop(L, 2);
    return doc;
}
