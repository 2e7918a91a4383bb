/* validate_spec.c - the form of expectations (guard.h): what keys they
 * may have and what each holds, checked before use so a typo in a hand-
 * edited set ("max_mising") is an error naming it, not a check that
 * silently never runs. */
#include <math.h>
#include <string.h>

#include "registry/guard_int.h"

static const char *const top_keys[] = {"from", "min_rows",
                                       "allow_extra_columns", "columns"};
static const char *const column_keys[] = {"type", "required",
                                          "max_missing", "min", "max",
                                          "categories", "unique"};

static int known(const char *key, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(key, keys[i]) == 0)
            return 1;
    return 0;
}

/* A Lua table converts an empty list to an empty object: both mean "no
 * categories". */
static int is_list(const json_t *v)
{
    return json_is_array(v) || (json_is_object(v) && json_object_size(v) == 0);
}

static int column_check(const char *name, const json_t *c, trl_error *err)
{
    if (!json_is_object(c))
        return trl_error_set(err, TRL_EINVAL, "expectations: column '%s' "
                             "must be a table of expectations such as "
                             "{type = \"f64\", max_missing = 0.01}", name);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)c, key, v) {
        if (!known(key, column_keys, sizeof column_keys / sizeof *column_keys))
            return trl_error_set(err, TRL_EINVAL, "expectations: column "
                                 "'%s': unknown key '%s' (known: type, "
                                 "required, max_missing, min, max, "
                                 "categories, unique)", name, key);
    }
    json_t *t = json_object_get(c, "type");
    if (t && !(json_is_string(t) &&
               (strcmp(json_string_value(t), "f64") == 0 ||
                strcmp(json_string_value(t), "i64") == 0 ||
                strcmp(json_string_value(t), "bool") == 0 ||
                strcmp(json_string_value(t), "str") == 0)))
        return trl_error_set(err, TRL_EINVAL, "expectations: column '%s': "
                             "type must be \"f64\", \"i64\", \"bool\" or "
                             "\"str\"", name);
    static const char *const flags[] = {"required", "unique"};
    for (int i = 0; i < 2; i++) {
        v = json_object_get(c, flags[i]);
        if (v && !json_is_boolean(v))
            return trl_error_set(err, TRL_EINVAL, "expectations: column "
                                 "'%s': %s must be true or false", name,
                                 flags[i]);
    }
    v = json_object_get(c, "max_missing");
    if (v && !(json_is_number(v) && json_number_value(v) >= 0 &&
               json_number_value(v) <= 1))
        return trl_error_set(err, TRL_EINVAL, "expectations: column '%s': "
                             "max_missing must be a share from 0 to 1",
                             name);
    json_t *lo = json_object_get(c, "min"), *hi = json_object_get(c, "max");
    if ((lo && !json_is_number(lo)) || (hi && !json_is_number(hi)))
        return trl_error_set(err, TRL_EINVAL, "expectations: column '%s': "
                             "min and max must be numbers", name);
    if (lo && hi && json_number_value(lo) > json_number_value(hi))
        return trl_error_set(err, TRL_EINVAL, "expectations: column '%s': "
                             "min (%g) is above max (%g)", name,
                             json_number_value(lo), json_number_value(hi));
    v = json_object_get(c, "categories");
    if (v) {
        int ok = is_list(v);
        size_t i;
        json_t *s;
        if (json_is_array(v))
            json_array_foreach(v, i, s) ok = ok && json_is_string(s);
        if (!ok)
            return trl_error_set(err, TRL_EINVAL, "expectations: column "
                                 "'%s': categories must be a list of "
                                 "strings", name);
    }
    return 0;
}

int trl_validate_spec_check(const json_t *spec, trl_error *err)
{
    if (!json_is_object(spec))
        return trl_error_set(err, TRL_EINVAL, "expectations must be a table "
                             "such as validate.infer(frame) returns");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)spec, key, v) {
        if (!known(key, top_keys, sizeof top_keys / sizeof *top_keys))
            return trl_error_set(err, TRL_EINVAL, "expectations: unknown "
                                 "key '%s' (known: columns, min_rows, "
                                 "allow_extra_columns, from)", key);
    }
    v = json_object_get(spec, "from");
    if (v && !json_is_string(v) && !json_is_null(v))
        return trl_error_set(err, TRL_EINVAL, "expectations: from must be "
                             "text (where they were inferred)");
    v = json_object_get(spec, "min_rows");
    if (v && !(json_is_number(v) && json_number_value(v) >= 0 &&
               json_number_value(v) == floor(json_number_value(v))))
        return trl_error_set(err, TRL_EINVAL, "expectations: min_rows must "
                             "be a whole number >= 0");
    v = json_object_get(spec, "allow_extra_columns");
    if (v && !json_is_boolean(v))
        return trl_error_set(err, TRL_EINVAL, "expectations: "
                             "allow_extra_columns must be true or false");
    json_t *cols = json_object_get(spec, "columns");
    if (!cols || !(json_is_object(cols) || json_is_array(cols)) ||
        (json_is_array(cols) && json_array_size(cols) > 0))
        return trl_error_set(err, TRL_EINVAL, "expectations need columns: "
                             "a table of column name = {type = ..., ...}");
    json_object_foreach(json_is_object(cols) ? cols : NULL, key, v) {
        int rc = column_check(key, v, err);
        if (rc)
            return rc;
    }
    return 0;
}
