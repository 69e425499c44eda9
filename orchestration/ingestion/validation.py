"""Record validation per raw-contract.md section 4, as set-based DuckDB SQL over a whole file.

The field lists below are the contract. From them we generate one query per file that parses
each record once (`json_transform` into a struct of JSON leaves: every field's type and value come
from that one parse), types every field and names the first rule a record breaks as
(field, reason). SQL text is generated only from these constants; data values (snapshot bounds,
file names) are always bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.contract import (
    CO_SELL_STATUSES,
    DIRECTIONS,
    PUBLISH_STATUSES,
    QUALIFICATIONS,
    REFERRAL_TYPES,
    REGISTRATION_STATUSES,
    SOLUTION_TYPES,
    STATUS_SUBSTATUS,
    TRAFFIC_COLUMNS,
)

# The rules are checked in this order; the first one a record breaks is its reason.
ISO_TIMESTAMP = (
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|z|[+-]\d{2}(:?\d{2})?)?"
)
ISO_DATE = r"\d{4}-\d{2}-\d{2}"
# Our JSON type words (json_type's vocabulary, numbers as DOUBLE; NaN and Infinity, which
# DuckDB's parser accepts, get a type of their own so no rule mistakes them for numbers).
JSON_NUMBER_TYPES = "('DOUBLE')"
MIN_TIMESTAMP = "1970-01-01"  # earlier instants are bad: not every client reads them
MAX_OFFSET_MINUTES = 14 * 60  # RFC 3339 / ISO-8601 UTC offsets lie within +-14:00
MAX_COUNT = 2**53  # CSV counts: integers in [0, 2^53)



@dataclass(frozen=True)
class Field:
    path: str  # JSON path below the record, e.g. "details.dealValue"
    column: str  # raw table column it is loaded into
    kind: str  # "string" | "timestamp" | "enum" | "number"
    required: bool = False
    values: tuple[str, ...] = ()  # the enum's list
    happened: bool = False  # a timestamp of something that already happened: not in the future


REFERRAL_FIELDS: tuple[Field, ...] = (
    Field("id", "id", "string", required=True),
    Field("engagementId", "engagement_id", "string"),
    Field("organizationId", "organization_id", "string", required=True),
    Field("organizationName", "organization_name", "string"),
    Field("name", "name", "string"),
    Field("createdDateTime", "created_date_time", "timestamp", required=True, happened=True),
    Field("updatedDateTime", "updated_date_time", "timestamp", required=True, happened=True),
    Field("acceptedDateTime", "accepted_date_time", "timestamp", happened=True),
    Field("closedDateTime", "closed_date_time", "timestamp", happened=True),
    Field("expirationDateTime", "expiration_date_time", "timestamp"),
    Field("status", "status", "enum", required=True, values=tuple(STATUS_SUBSTATUS)),
    Field(
        "substatus",
        "substatus",
        "enum",
        required=True,
        values=tuple(s for subs in STATUS_SUBSTATUS.values() for s in subs),
    ),
    Field("type", "type", "enum", required=True, values=REFERRAL_TYPES),
    Field(
        "qualification",
        "qualification",
        "enum",
        required=True,
        values=QUALIFICATIONS,
    ),
    Field("direction", "direction", "enum", required=True, values=DIRECTIONS),
    Field("referralProgram", "referral_program", "string"),
    Field("inviteContext.invitedBy.organizationId", "invited_by_organization_id", "string"),
    Field("customerProfile.address.country", "customer_country", "string"),
    Field("details.dealValue", "deal_value", "number"),
    Field("details.currency", "deal_currency", "string"),
    Field("details.closingDateTime", "closing_date_time", "timestamp"),
)

REGISTRATION_FIELDS: tuple[Field, ...] = (
    Field("id", "id", "string"),
    Field(
        "status",
        "status",
        "enum",
        values=REGISTRATION_STATUSES,
    ),
    Field("contract.value", "contract_value", "number"),
    Field("contract.currency", "contract_currency", "string"),
    Field("statusHistory.approvedDateTime", "approved_date_time", "timestamp", happened=True),
)

SOLUTION_FIELDS: tuple[Field, ...] = (
    Field("id", "id", "string", required=True),
    Field("organizationId", "organization_id", "string", required=True),
    Field("name", "name", "string"),
    Field("offerId", "offer_id", "string"),
    Field(
        "solutionType",
        "solution_type",
        "enum",
        values=SOLUTION_TYPES,
    ),
    Field(
        "publishStatus",
        "publish_status",
        "enum",
        required=True,
        values=PUBLISH_STATUSES,
    ),
    Field(
        "coSellStatus",
        "co_sell_status",
        "enum",
        required=True,
        values=CO_SELL_STATUSES,
    ),
    Field("updatedDateTime", "updated_date_time", "timestamp", required=True, happened=True),
)


def _lit(text: str) -> str:
    """A SQL string literal of a code constant (never of data)."""
    return "'" + text.replace("'", "''") + "'"


def _type_word(t: str) -> str:
    return (
        f"case {t} when 'VARCHAR' then 'string' when 'OBJECT' then 'object' when 'ARRAY' "
        "then 'array' when 'BOOLEAN' then 'boolean' when 'NONFINITE' then 'non-finite number' "
        "else 'number' end"
    )


def _leaf_type(leaf: str) -> str:
    """json_type's word for a JSON leaf (the value's JSON text); NULL when the key is absent."""
    return f"""case
        when {leaf} is null then null
        when {leaf} = 'null' then 'NULL'
        else case left({leaf}, 1)
            when '"' then 'VARCHAR' when '{{' then 'OBJECT' when '[' then 'ARRAY'
            when 't' then 'BOOLEAN' when 'f' then 'BOOLEAN'
            when 'N' then 'NONFINITE' when 'I' then 'NONFINITE'
            else case when {leaf} = '-Infinity' then 'NONFINITE' else 'DOUBLE' end
        end
    end"""


def _path_tree(leaves) -> dict:
    """Nested dict of (dotted path, leaf) pairs: {"details": {"dealValue": leaf}}."""
    tree: dict = {}
    for path, leaf in leaves:
        node = tree
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = leaf
    return tree


def _render_structure(node) -> str:
    """A json_transform structure: a type name, [element] for a list, {key: ...} for an object."""
    if isinstance(node, str):
        return f'"{node}"'
    if isinstance(node, list):
        return "[" + _render_structure(node[0]) + "]"
    return "{" + ",".join(f'"{k}":{_render_structure(v)}' for k, v in node.items()) + "}"


def transform_structure(paths: list[str]) -> str:
    """json_transform structure with a JSON leaf at every path (nested objects as structs)."""
    return _render_structure(_path_tree((path, "JSON") for path in paths))


def _leaf_sql(struct: str, path: str) -> str:
    return struct + "".join(f'."{part}"' for part in path.split("."))


class JsonRecordSql:
    """SQL fragments over a relation with columns `t<i>` (JSON types) and `v<i>` (string values),
    one pair per field of `fields`; `prefix` names the field in reasons (e.g. registrations[2].)."""

    def __init__(self, fields: tuple[Field, ...], prefix_sql: str = "''"):
        self.fields = fields
        self.prefix_sql = prefix_sql

    def structure(self, extra_paths: tuple[str, ...] = ()) -> str:
        return transform_structure([f.path for f in self.fields] + list(extra_paths))

    def leaf_columns(self, struct: str) -> str:
        """t<i>, v<i> of every field from the transformed struct `struct`."""
        out = []
        for i, f in enumerate(self.fields):
            leaf = _leaf_sql(struct, f.path)
            out.append(f"{_leaf_type(leaf)} as t{i}")
            out.append(f"{leaf}->>'$' as v{i}")
        return ",\n".join(out)

    def _t(self, i: int) -> str:
        return f"t{i}"

    def _v(self, i: int) -> str:
        return f"v{i}"

    def typed(self, i: int) -> str:
        """The field's typed value; NULL when absent, null or (optional field) of the wrong type."""
        f, t, v = self.fields[i], self._t(i), self._v(i)
        if f.kind in ("string", "enum"):
            return f"case when {t} = 'VARCHAR' then {v} end"
        if f.kind == "number":
            return f"case when {t} in {JSON_NUMBER_TYPES} then try_cast({v} as double) end"
        return (
            f"case when {t} = 'VARCHAR' and regexp_full_match({v}, {_lit(ISO_TIMESTAMP)}) "
            f"then try_cast(try_cast({v} as timestamptz) as timestamp) end"
        )

    def typed_columns(self) -> str:
        return ",\n".join(f"{self.typed(i)} as {f.column}" for i, f in enumerate(self.fields))

    def _present(self, i: int) -> str:
        return f"({self._t(i)} is not null and {self._t(i)} <> 'NULL')"

    def _named(self, i: int, reason_sql: str) -> str:
        field = f"{self.prefix_sql} || {_lit(self.fields[i].path)}"
        return f"{{'field': {field}, 'reason': {reason_sql}}}"

    def checks(self, after_enums: list[tuple[str, str]] = ()) -> list[tuple[str, str]]:
        """(condition, {'field','reason'} struct) pairs in contract order; `after_enums` are
        record-level rules checked once every enum is known to be valid."""
        out: list[tuple[str, str]] = []
        fields = list(enumerate(self.fields))
        # 1. required fields missing, null or of the wrong type
        for i, f in fields:
            if not f.required:
                continue
            out.append(
                (f"not {self._present(i)}", self._named(i, "'required field missing or null'"))
            )
            expected = "string" if f.kind in ("string", "enum", "timestamp") else "number"
            ok_type = (
                f"{self._t(i)} = 'VARCHAR'"
                if expected == "string"
                else (f"{self._t(i)} in {JSON_NUMBER_TYPES}")
            )
            out.append(
                (
                    f"not ({ok_type})",
                    self._named(
                        i, f"'wrong type: expected {expected}, got ' || {_type_word(self._t(i))}"
                    ),
                )
            )
            if f.kind == "string":
                out.append(
                    (f"trim({self._v(i)}) = ''", self._named(i, "'required field is empty'"))
                )
        # 2. enum values outside their list (optional enums too)
        for i, f in fields:
            if f.kind != "enum":
                continue
            allowed = ", ".join(_lit(x) for x in f.values)
            out.append(
                (
                    f"{self._present(i)} and ({self._t(i)} <> 'VARCHAR' or {self._v(i)} not in ({allowed}))",
                    self._named(
                        i,
                        f"'value ' || coalesce('''' || {self._v(i)} || '''', 'of another type') "
                        f"|| ' not in ({', '.join(f.values)})'",
                    ),
                )
            )
        out += after_enums
        # 3. timestamps that do not parse or lie out of range (any field), then
        #    happened-timestamps in the future
        for i, f in fields:
            if f.kind == "timestamp":
                out += self._timestamp_checks(i)
        for i, f in fields:
            if f.kind == "timestamp" and f.happened:
                out.append(
                    (
                        f"{f.column} >= $snapshot_end",
                        self._named(
                            i,
                            f"'timestamp ' || {self._v(i)} || ' lies after the end of snapshot date ' "
                            "|| strftime($snapshot_end - interval 1 day, '%Y-%m-%d')",
                        ),
                    )
                )
        return out

    def _timestamp_checks(self, i: int) -> list[tuple[str, str]]:
        f, v = self.fields[i], self._v(i)
        # hours and minutes of an explicit UTC offset after a time of day ('' when none)
        offset = (
            f"regexp_extract({v}, '[T ][0-9]{{2}}:[0-9]{{2}}(?::[0-9]{{2}}(?:[.][0-9]+)?)?"
            f"[+-]([0-9]{{2}}):?([0-9]{{2}})?$', ['h', 'm'])"
        )
        minutes = (
            f"coalesce(try_cast(nullif({offset}.h, '') as integer), 0) * 60 "
            f"+ coalesce(try_cast(nullif({offset}.m, '') as integer), 0)"
        )
        return [
            (
                f"{self._present(i)} and {f.column} is null",
                self._named(i, f"'timestamp does not parse: ' || {v}"),
            ),
            (
                f"{f.column} < timestamp '{MIN_TIMESTAMP}'",
                self._named(i, f"'timestamp ' || {v} || ' lies before {MIN_TIMESTAMP}'"),
            ),
            (
                f"{f.column} is not null and {minutes} > {MAX_OFFSET_MINUTES}",
                self._named(i, f"'UTC offset of ' || {v} || ' lies outside +-14:00'"),
            ),
        ]

    def index_of(self, path: str) -> int:
        return next(i for i, f in enumerate(self.fields) if f.path == path)


def _first_error(checks: list[tuple[str, str]]) -> str:
    whens = "\n".join(f"    when {cond} then {struct}" for cond, struct in checks)
    return f"case\n{whens}\n  end"


def _decode_sql(source_relation: str, text_column: bool = True) -> str:
    """Records → text: invalid UTF-8 gives NULL text; trailing CR/LF stripped; blank lines
    dropped; a too-large record keeps no text (its first bytes stay in `raw`). The readers hand
    over text already checked as UTF-8 in `txt` where they could, bytes in `raw` otherwise."""
    text = "coalesce(txt, try(decode(raw)))" if text_column else "try(decode(raw))"
    hint = "numeric_hint" if text_column else "false as numeric_hint"
    return f"""
    select line_number, raw, too_large, txt, numeric_hint
    from (
        select line_number, too_large, {hint},
            case when too_large then {"coalesce(raw, encode(txt))" if text_column else "raw"} else raw end as raw,
            case when not too_large then regexp_replace({text}, '[\\r\\n]+$', '') end as txt
        from {source_relation}
    )
    where too_large or txt is null or regexp_matches(txt, '[^ \\t\\r\\n]')
    """


# Regular expressions, not rtrim/trim with a character set: in DuckDB 2.0 the latter cost ~60% of
# the whole validation query.

# The record-level rules of every record, checked before its fields, in this order.
_RECORD_ERRORS = """
        when too_large then {'field': null, 'reason': 'record too large (over 16 MiB)'}
        when txt is null then {'field': null, 'reason': 'not valid UTF-8'}
        when contains(txt, chr(0)) then {'field': null, 'reason': 'contains a NUL byte'}"""


def referral_validation_sql(source_relation: str) -> str:
    """One row per record: typed columns, `error` struct (NULL when valid), the record's text and
    its registrations[] as JSON (for registration_validation_sql)."""
    rec = JsonRecordSql(REFERRAL_FIELDS)
    i = rec.index_of
    status, substatus, created = "status", "substatus", "created_date_time"
    pairs = " or ".join(
        f"({status} = {_lit(s)} and {substatus} in ({', '.join(_lit(x) for x in subs)}))"
        for s, subs in STATUS_SUBSTATUS.items()
    )
    status_pair = (
        f"not ({pairs})",
        f"{{'field': 'substatus', 'reason': 'status ''' || {status} || ''' does not allow "
        f"substatus ''' || {substatus} || ''''}}",
    )
    checks = rec.checks(after_enums=[status_pair])
    for path in ("acceptedDateTime", "closedDateTime"):
        checks.append(
            (
                f"{REFERRAL_FIELDS[i(path)].column} < {created}",
                f"{{'field': {_lit(path)}, 'reason': '{path} is earlier than createdDateTime'}}",
            )
        )
    deal_t, deal_v = rec._t(i("details.dealValue")), rec._v(i("details.dealValue"))
    currency = "deal_currency"
    dv_present = f"({deal_t} is not null and {deal_t} <> 'NULL')"
    checks += [
        (
            f"{deal_t} = 'NONFINITE' or ({deal_t} = 'DOUBLE' "
            f"and not coalesce(isfinite(try_cast({deal_v} as double)), false))",
            "{'field': 'details.dealValue', "
            f"'reason': 'dealValue is not a number a double can hold: ' || {deal_v}}}",
        ),
        (
            f"{dv_present} and {deal_t} not in {JSON_NUMBER_TYPES}",
            "{'field': 'details.dealValue', 'reason': 'dealValue is not a number'}",
        ),
        (
            f"{dv_present} and try_cast({deal_v} as double) < 0",
            f"{{'field': 'details.dealValue', 'reason': 'dealValue is negative: ' || {deal_v}}}",
        ),
        (
            f"{dv_present} and not coalesce(regexp_full_match({currency}, '[A-Za-z]{{3}}'), false)",
            "{'field': 'details.currency', 'reason': 'dealValue without a 3-letter currency'}",
        ),
    ]
    return _json_validation_sql(source_relation, rec, checks, keep_registrations=True)


def solution_validation_sql(source_relation: str) -> str:
    rec = JsonRecordSql(SOLUTION_FIELDS)
    return _json_validation_sql(source_relation, rec, rec.checks())


def _json_validation_sql(
    source_relation: str, rec: JsonRecordSql, checks, keep_registrations: bool = False
) -> str:
    extra = ("registrations",) if keep_registrations else ()
    registrations = ", s.registrations as registrations_json" if keep_registrations else ""
    return f"""
with decoded as ({_decode_sql(source_relation)}),
classified as (
    select *, txt is not null and json_valid(txt) as is_json from decoded
),
-- the one parse of each record: every field as its JSON text (NULL when absent). try() keeps
-- the one record that is not an object from failing the whole vector.
parsed as (
    select *,
        is_json and regexp_matches(txt, '^[ \\t\\r\\n]*[{{]') as is_object,
        case when is_json then try(json_transform(txt, '{rec.structure(extra)}')) end as s
    from classified
),
leaves as (
    select line_number, raw, too_large, txt, is_json, is_object, numeric_hint{registrations},
        {rec.leaf_columns("s")}
    from parsed
),
typed as (
    select *, {rec.typed_columns()} from leaves
)
select line_number,
    txt,
    -- bytes that are not (all) text: the loader renders them readable for the quarantine
    case when too_large or txt is null then raw end as raw_bytes,
    coalesce(is_object and (numeric_hint or contains(txt, 'NaN') or contains(txt, 'Infinity')),
        false) as maybe_nonfinite,
    case {_RECORD_ERRORS}
        when not is_json then {{'field': null, 'reason': 'not valid JSON'}}
        when not is_object then {{'field': null, 'reason': 'not a JSON object'}}
        else {_first_error(checks)}
    end as error,
    {", ".join(f.column for f in rec.fields)}{", registrations_json" if keep_registrations else ""}
from typed
"""


def nonfinite_numbers_sql(validated_relation: str) -> str:
    """The first number JSON does not allow or a double cannot hold (NaN, Infinity, 1e400) in
    each record flagged `maybe_nonfinite`, wherever it is in the record: (line_number, error)."""
    return f"""
select v.line_number,
    arg_min({{'field': regexp_replace(j.fullkey, '^[$][.]?', ''),
              'reason': 'number that JSON does not allow or a double cannot hold: ' || j.atom::varchar}},
            j.id) as error
from {validated_relation} as v, json_tree(v.txt) as j
where v.maybe_nonfinite
    and j.type in ('DOUBLE', 'BIGINT', 'UBIGINT', 'HUGEINT')
    and not coalesce(isfinite(try_cast(j.atom::varchar as double)), false)
group by v.line_number
"""


def registration_validation_sql(validated_relation: str) -> str:
    """Registrations of the records in `validated_relation` (rows without error), one row per
    array element that is an object, with an `error` struct naming e.g. registrations[2].status."""
    rec = JsonRecordSql(REGISTRATION_FIELDS, prefix_sql="'registrations[' || (idx - 1) || '].'")
    return f"""
with arrays as (
    select line_number, id as referral_id, updated_date_time as referral_updated_date_time,
        json_transform(registrations_json, '["JSON"]') as elements
    from {validated_relation}
    where error is null and left(registrations_json, 1) = '['
),
elements as (
    select line_number, referral_id, referral_updated_date_time,
        unnest(generate_series(1, len(elements))) as idx, unnest(elements) as elem
    from arrays
),
parsed as (
    select *, json_transform(elem, '{rec.structure()}') as s
    from elements
    where left(elem, 1) = '{{'
),
leaves as (
    select line_number, referral_id, referral_updated_date_time, idx, {rec.leaf_columns("s")}
    from parsed
),
typed as (
    select *, {rec.typed_columns()} from leaves
)
select line_number, referral_id, referral_updated_date_time, idx - 1 as registration_index,
    {_first_error(rec.checks())} as error,
    {", ".join(f.column for f in rec.fields)}
from typed
"""


TRAFFIC_COUNT = r"\s*\d+\s*"


def traffic_validation_sql(source_relation: str) -> str:
    """Traffic rows (already split by the CSV reader) typed and checked."""
    count_checks = "\n".join(
        f"""        when not regexp_full_match(s."{c}", '{TRAFFIC_COUNT}') then
            {{'field': '{c}', 'reason': case when regexp_full_match(s."{c}", '\\s*-\\s*\\d+\\s*')
                then 'count is negative: ' else 'count is not an integer: ' end || s."{c}"}}
        when coalesce(try_cast(trim(s."{c}") as hugeint) >= {MAX_COUNT}, true) then
            {{'field': '{c}', 'reason': 'count ' || trim(s."{c}") || ' is too large (must be below 2^53)'}}"""
        for c in ("pageViews", "ctaClicks")
    )
    required = "\n".join(
        f"""        when s."{c}" is null or trim(s."{c}") = '' then
            {{'field': '{c}', 'reason': 'required field missing or empty'}}"""
        for c in TRAFFIC_COLUMNS
    )
    return f"""
with decoded as ({_decode_sql(source_relation, text_column=False)})
select d.line_number,
    d.txt,
    case when d.too_large or d.txt is null then d.raw end as raw_bytes,
    case {_RECORD_ERRORS.replace("too_large", "d.too_large").replace("txt", "d.txt")}
        when s.field_count <> s.header_width then {{'field': null,
            'reason': 'not valid CSV: expected ' || s.header_width || ' fields, got ' || s.field_count}}
{required}
        when try_cast(s."date" as date) is null or not regexp_full_match(trim(s."date"), '{ISO_DATE}') then
            {{'field': 'date', 'reason': 'date does not parse: ' || s."date"}}
        when try_cast(s."date" as date) < date '{MIN_TIMESTAMP}' then
            {{'field': 'date', 'reason': 'date ' || s."date" || ' lies before {MIN_TIMESTAMP}'}}
        when try_cast(s."date" as date) >= $snapshot_end then
            {{'field': 'date', 'reason': 'date ' || s."date" || ' lies after the snapshot date'}}
{count_checks}
    end as error,
    try_cast(s."date" as date) as date,
    trim(s."organizationId") as organization_id,
    trim(s."offerId") as offer_id,
    try_cast(trim(s."pageViews") as bigint) as page_views,
    try_cast(trim(s."ctaClicks") as bigint) as cta_clicks
from decoded as d
inner join {source_relation} as s using (line_number)
"""


# ---------------------------------------------------------------------------------------------
# The fast tier. Almost every record is valid, so each is first parsed once into typed VARCHAR
# values and checked with cheap, conservative tests; only a record that fails any of them (or
# whose text hints at something these tests cannot see, like a number where a string belongs)
# goes through the exact rules above, which name its field and reason. A record the fast tier
# calls clean is valid under the exact rules (tests/test_ingestion_fast_tier.py checks both tiers
# agree on every bad-record case).

# The timestamp forms APIs send: UTC 'Z' or an offset within +-14:00 (RFC 3339); other valid
# forms (naive, no seconds, a space) take the exact tier.
FAST_TIMESTAMP = (
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-](0\d|1[0-3]):[0-5]\d|[+-]14:00)"
)
# How json_transform renders a non-string JSON value asked for as VARCHAR: a string field whose
# value looks like this may not have been a string (or is a string of digits): exact tier.
NOT_A_STRING_LOOK = r"-?[0-9][0-9.eE+-]*|true|false|[\[{][\s\S]*"
_REGISTRATION_STATUSES = REGISTRATION_FIELDS[1].values


def _fast_structure(fields: tuple[Field, ...], registrations: bool) -> str:
    """Strings, enums and timestamps as VARCHAR; numbers as JSON, so a number given as a string
    shows (its text starts with a quote)."""

    def tree_of(fs: tuple[Field, ...]) -> dict:
        return _path_tree((f.path, "JSON" if f.kind == "number" else "VARCHAR") for f in fs)

    tree = tree_of(fields)
    if registrations:
        tree["registrations"] = [tree_of(REGISTRATION_FIELDS)]
    return _render_structure(tree)


def _fast_number(leaf: str) -> str:
    """A JSON number leaf as DOUBLE (NULL when absent or null)."""
    return f"try_cast(nullif({leaf}::varchar, 'null') as double)"


def _fast_number_ok(leaf: str) -> str:
    text = f"{leaf}::varchar"
    return (
        f"({leaf} is null or {text} = 'null' or (regexp_full_match(left({text}, 1), '[-0-9]') "
        f"and coalesce(isfinite({_fast_number(leaf)}), false)))"
    )


def _fast_timestamp(value: str) -> str:
    return f"try_cast(try_cast({value} as timestamptz) as timestamp)"


def _fast_timestamp_ok(raw: str, typed: str, happened: bool, required: bool) -> str:
    cond = f"regexp_full_match({raw}, {_lit(FAST_TIMESTAMP)}) and {typed} >= timestamp '{MIN_TIMESTAMP}'"
    if happened:
        cond += f" and {typed} < $snapshot_end"
    return f"({cond})" if required else f"({raw} is null or ({cond}))"


def _fast_ok(f: Field, typed: str, raw: str) -> str:
    """A condition under which field `f` is certainly valid (typed value, raw VARCHAR / JSON)."""
    if f.kind == "string":
        looks_ok = f"not regexp_full_match({raw}, {_lit(NOT_A_STRING_LOOK)})"
        if f.required:
            return f"({typed} is not null and trim({typed}) <> '' and {looks_ok})"
        return f"({raw} is null or {looks_ok})"
    if f.kind == "enum":
        cond = f"{typed} in ({', '.join(_lit(x) for x in f.values)})"
        return cond if f.required else f"({typed} is null or {cond})"
    if f.kind == "number":
        return _fast_number_ok(raw)
    return _fast_timestamp_ok(raw, typed, f.happened, f.required)


def fast_sql(source_relation: str, source: str) -> str:
    """One row per record: `clean` (certainly valid), the typed columns (meaningful when clean),
    the record's text, bytes that are not text, and for referrals the typed registrations."""
    fields = REFERRAL_FIELDS if source == "referrals" else SOLUTION_FIELDS
    registrations = source == "referrals"
    conds = [
        "s is not null",
        "not numeric_hint",
        "not contains(txt, chr(0))",
        "not contains(txt, 'NaN')",
        "not contains(txt, 'Infinity')",
    ]
    conds += [_fast_ok(f, f"r.{f.column}", _leaf_sql("s", f.path)) for f in fields]
    if registrations:
        pairs = " or ".join(
            f"(r.status = {_lit(s)} and r.substatus in ({', '.join(_lit(x) for x in subs)}))"
            for s, subs in STATUS_SUBSTATUS.items()
        )
        approved = "g.statusHistory.approvedDateTime"
        conds += [
            f"({pairs})",
            "coalesce(r.accepted_date_time >= r.created_date_time, true)",
            "coalesce(r.closed_date_time >= r.created_date_time, true)",
            "(r.deal_value is null or (r.deal_value >= 0 "
            "and coalesce(regexp_full_match(r.deal_currency, '[A-Za-z]{3}'), false)))",
            # every registration an object (a non-object reads as all-NULL) with valid fields
            f"""coalesce(list_bool_and(list_transform(s.registrations, lambda g:
                g is not null
                and (g.id is not null or g.status is not null or g.contract is not null
                     or g.statusHistory is not null)
                and {_fast_ok(REGISTRATION_FIELDS[0], "g.id", "g.id")}
                and {_fast_ok(REGISTRATION_FIELDS[3], "g.contract.currency", "g.contract.currency")}
                and (g.status is null or g.status in ({", ".join(_lit(x) for x in _REGISTRATION_STATUSES)}))
                and {_fast_number_ok("g.contract.value")}
                and {_fast_timestamp_ok(approved, _fast_timestamp(approved), True, False)})), true)""",
        ]

    def typed(f: Field) -> str:
        leaf = _leaf_sql("s", f.path)
        if f.kind == "timestamp":
            return _fast_timestamp(leaf)
        return _fast_number(leaf) if f.kind == "number" else leaf

    columns = ",\n        ".join(f"{typed(f)} as {f.column}" for f in fields)
    regs = (
        f""",
    list_transform(s.registrations, lambda g: {{'id': g.id, 'status': g.status,
        'contract_value': {_fast_number("g.contract.value")}, 'contract_currency': g.contract.currency,
        'approved_date_time': {_fast_timestamp("g.statusHistory.approvedDateTime")}}})
        as registrations"""
        if registrations
        else ""
    )
    return f"""
with records as (
    -- blank lines are not records
    select * from {source_relation}
    where too_large or txt is null or regexp_matches(txt, '[^ \\t\\r\\n]')
),
parsed as (
    select *, case when txt is not null and not too_large
        then try(json_transform(txt, '{_fast_structure(fields, registrations)}')) end as s
    from records
),
typed as (
    select line_number, txt, raw, too_large, numeric_hint, s, {columns}
    from parsed
),
judged as (
    select line_number, txt, raw, too_large, numeric_hint,
        coalesce(not too_large and {" and ".join(conds)}, false) as clean,
        {", ".join(f"r.{f.column}" for f in fields)}{regs}
    from typed as r
)
-- the text is kept only where the exact rules will need it (copying every record's costs)
select * replace (case when not clean then txt end as txt, case when not clean then raw end as raw)
from judged
"""
