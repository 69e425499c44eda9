"""Record validation per raw-contract.md section 4, as DuckDB SQL over a whole batch.

The field lists below are the contract. From them we generate one query per batch that parses
each line once (`json_type` / `json_extract_string` with a list of paths), types every field and
names the first rule a record breaks as (field, reason). SQL text is generated only from these
constants; data values (snapshot bounds, file names) are always bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

# The rules are checked in this order; the first one a record breaks is its reason.
ISO_TIMESTAMP = (
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|z|[+-]\d{2}(:?\d{2})?)?"
)
ISO_DATE = r"\d{4}-\d{2}-\d{2}"
JSON_NUMBER_TYPES = "('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')"

STATUS_SUBSTATUS = {
    "New": ("Pending", "Received"),
    "Active": ("Accepted",),
    "Closed": ("Won", "Lost", "Declined", "Expired"),
}


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
    Field("type", "type", "enum", required=True, values=("Independent", "Shared")),
    Field(
        "qualification",
        "qualification",
        "enum",
        required=True,
        values=("None", "Direct", "MarketingQualified", "SalesQualified"),
    ),
    Field("direction", "direction", "enum", required=True, values=("Incoming", "Outgoing")),
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
        values=("ReviewPending", "ActionRequired", "Passed", "Failed", "Approved"),
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
        values=("IP", "Service", "ManagedService", "Device"),
    ),
    Field(
        "publishStatus",
        "publish_status",
        "enum",
        required=True,
        values=("Live", "Draft", "Delisted"),
    ),
    Field(
        "coSellStatus",
        "co_sell_status",
        "enum",
        required=True,
        values=("InMarket", "CoSellReady", "AzureIpCoSellIncentive"),
    ),
    Field("updatedDateTime", "updated_date_time", "timestamp", required=True, happened=True),
)


def _lit(text: str) -> str:
    """A SQL string literal of a code constant (never of data)."""
    return "'" + text.replace("'", "''") + "'"


def _type_word(t: str) -> str:
    return (
        f"case {t} when 'VARCHAR' then 'string' when 'OBJECT' then 'object' when 'ARRAY' "
        "then 'array' when 'BOOLEAN' then 'boolean' else 'number' end"
    )


class JsonRecordSql:
    """SQL fragments over a relation with columns `t` (json types) and `v` (string values),
    both lists aligned with `fields`; `prefix` names the field in reasons (e.g. registrations[2].)."""

    def __init__(self, fields: tuple[Field, ...], prefix_sql: str = "''"):
        self.fields = fields
        self.prefix_sql = prefix_sql

    def paths_sql(self) -> str:
        return "[" + ", ".join(_lit("$." + f.path) for f in self.fields) + "]"

    def _t(self, i: int) -> str:
        return f"t[{i + 1}]"

    def _v(self, i: int) -> str:
        return f"v[{i + 1}]"

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
        # 3. timestamps that do not parse (any field), then happened-timestamps in the future
        for i, f in fields:
            if f.kind == "timestamp":
                out.append(
                    (
                        f"{self._present(i)} and {f.column} is null",
                        self._named(i, f"'timestamp does not parse: ' || {self._v(i)}"),
                    )
                )
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

    def index_of(self, path: str) -> int:
        return next(i for i, f in enumerate(self.fields) if f.path == path)


def _first_error(checks: list[tuple[str, str]]) -> str:
    whens = "\n".join(f"    when {cond} then {struct}" for cond, struct in checks)
    return f"case\n{whens}\n  end"


def _decode_sql(source_relation: str) -> str:
    """Lines → text: invalid UTF-8 gives NULL text; trailing CR/LF stripped; blank lines dropped."""
    return f"""
    select line_number, raw, txt
    from (
        select line_number, raw, regexp_replace(try(decode(raw)), '[\\r\\n]+$', '') as txt
        from {source_relation}
    )
    where txt is null or regexp_matches(txt, '[^ \\t\\r\\n]')
    """


# Regular expressions, not rtrim/trim with a character set: in DuckDB 2.0 the latter cost ~60% of
# the whole validation query (measured in bench/experiments/ingest_decode_ab.py).


def referral_validation_sql(source_relation: str) -> str:
    """One row per non-blank line: typed columns, `error` struct (NULL when valid)."""
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
    return _json_validation_sql(source_relation, rec, checks)


def solution_validation_sql(source_relation: str) -> str:
    rec = JsonRecordSql(SOLUTION_FIELDS)
    return _json_validation_sql(source_relation, rec, rec.checks())


def _json_validation_sql(source_relation: str, rec: JsonRecordSql, checks) -> str:
    return f"""
with decoded as ({_decode_sql(source_relation)}),
classified as (
    select *, txt is not null and json_valid(txt) as is_json from decoded
),
objects as (
    -- valid JSON starting with a brace is an object (json_type() would error on invalid input)
    select *, is_json and regexp_matches(txt, '^[ \\t\\r\\n]*[{{]') as is_object from classified
),
-- JSON functions error on non-JSON input even inside CASE, so only objects are extracted
extracted as (
    select o.*, x.t, x.v
    from objects as o
    left join (
        select line_number,
            json_type(txt, {rec.paths_sql()}) as t,
            json_extract_string(txt, {rec.paths_sql()}) as v
        from objects where is_object
    ) as x using (line_number)
),
typed as (
    select *, {rec.typed_columns()} from extracted
)
select line_number,
    coalesce(txt, cast(raw as varchar)) as raw_record,
    case
        when txt is null then {{'field': null, 'reason': 'not valid UTF-8'}}
        when not is_json then {{'field': null, 'reason': 'not valid JSON'}}
        when not is_object then {{'field': null, 'reason': 'not a JSON object'}}
        else {_first_error(checks)}
    end as error,
    {", ".join(f.column for f in rec.fields)}
from typed
"""


def registration_validation_sql(validated_relation: str) -> str:
    """Registrations of the records in `validated_relation` (rows without error), one row per
    array element that is an object, with an `error` struct naming e.g. registrations[2].status."""
    rec = JsonRecordSql(REGISTRATION_FIELDS, prefix_sql="'registrations[' || (idx - 1) || '].'")
    return f"""
with arrays as (
    select line_number, id as referral_id, updated_date_time as referral_updated_date_time,
        json_extract(raw_record, '$.registrations[*]') as elements
    from {validated_relation}
    where error is null and json_type(raw_record, '$.registrations') = 'ARRAY'
),
elements as (
    select line_number, referral_id, referral_updated_date_time,
        unnest(generate_series(1, len(elements))) as idx, unnest(elements) as elem
    from arrays
),
extracted as (
    select *, json_type(elem, {rec.paths_sql()}) as t, json_extract_string(elem, {rec.paths_sql()}) as v
    from elements
    where json_type(elem) = 'OBJECT'
),
typed as (
    select *, {rec.typed_columns()} from extracted
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
        f"""        when not regexp_full_match("{c}", '{TRAFFIC_COUNT}') then
            {{'field': '{c}', 'reason': case when regexp_full_match("{c}", '\\s*-\\s*\\d+\\s*')
                then 'count is negative: ' else 'count is not an integer: ' end || "{c}"}}"""
        for c in ("pageViews", "ctaClicks")
    )
    required = "\n".join(
        f"""        when "{c}" is null or trim("{c}") = '' then
            {{'field': '{c}', 'reason': 'required field missing or empty'}}"""
        for c in ("date", "organizationId", "offerId", "pageViews", "ctaClicks")
    )
    return f"""
with decoded as ({_decode_sql(source_relation)})
select d.line_number,
    coalesce(d.txt, cast(d.raw as varchar)) as raw_record,
    case
        when d.txt is null then {{'field': null, 'reason': 'not valid UTF-8'}}
        when s.field_count <> s.header_width then {{'field': null,
            'reason': 'not valid CSV: expected ' || s.header_width || ' fields, got ' || s.field_count}}
{required}
        when try_cast(s."date" as date) is null or not regexp_full_match(trim(s."date"), '{ISO_DATE}') then
            {{'field': 'date', 'reason': 'date does not parse: ' || s."date"}}
        when try_cast(s."date" as date) >= $snapshot_end then
            {{'field': 'date', 'reason': 'date ' || s."date" || ' lies after the snapshot date'}}
{count_checks}
    end as error,
    try_cast(s."date" as date) as date,
    trim(s."organizationId") as organization_id,
    trim(s."offerId") as offer_id,
    try_cast(s."pageViews" as bigint) as page_views,
    try_cast(s."ctaClicks" as bigint) as cta_clicks
from decoded as d
inner join {source_relation} as s using (line_number)
"""
