"""DDL of the warehouse's `raw` schema: what ingestion writes and what dbt's sources read.

Ingestion has to parse every field to validate it (raw-contract.md section 4), so it stores the
parsed, typed values instead of making dbt parse the JSON a second time. The original text is
kept for quarantined records only (`raw.quarantine.raw_record`); a valid record is located by its
`source_file` and `line_number` in the landing zone (keeping its text too doubled the cost of a
load: docs/landing-zone.md, "What the warehouse keeps"). Column names are the contract's field paths in snake_case;
staging renames them to the warehouse's vocabulary. All timestamps are UTC (naive TIMESTAMP).
"""

RAW_SCHEMA = "raw"

# Every loaded row carries where it came from: snapshot date (from the file name), the file's
# path relative to the raw dir, and its 1-based line (or list-form element index).
_LINEAGE = """
    snapshot_date date not null,
    source_file varchar not null,
    line_number bigint not null,
"""

TABLES: dict[str, str] = {
    "referral_snapshots": f"""
create table if not exists raw.referral_snapshots (
    {_LINEAGE}
    id varchar not null,
    engagement_id varchar,
    organization_id varchar not null,
    organization_name varchar,
    name varchar,
    created_date_time timestamp not null,
    updated_date_time timestamp not null,
    accepted_date_time timestamp,
    closed_date_time timestamp,
    expiration_date_time timestamp,
    status varchar not null,
    substatus varchar not null,
    type varchar not null,
    qualification varchar not null,
    direction varchar not null,
    referral_program varchar,
    invited_by_organization_id varchar,
    customer_country varchar,
    deal_value double,
    deal_currency varchar,
    closing_date_time timestamp,
    ingested_at timestamp not null
)""",
    # registrations[] of each loaded referral record, one row per array element that is an
    # object (an element of another type is an optional value of the wrong type: read as absent).
    "referral_registrations": f"""
create table if not exists raw.referral_registrations (
    {_LINEAGE}
    referral_id varchar not null,
    referral_updated_date_time timestamp not null,
    registration_index integer not null,
    id varchar,
    status varchar,
    contract_value double,
    contract_currency varchar,
    approved_date_time timestamp,
    ingested_at timestamp not null
)""",
    "solution_snapshots": f"""
create table if not exists raw.solution_snapshots (
    {_LINEAGE}
    id varchar not null,
    organization_id varchar not null,
    name varchar,
    offer_id varchar,
    solution_type varchar,
    publish_status varchar not null,
    co_sell_status varchar not null,
    updated_date_time timestamp not null,
    ingested_at timestamp not null
)""",
    "marketplace_traffic": f"""
create table if not exists raw.marketplace_traffic (
    {_LINEAGE}
    date date not null,
    organization_id varchar not null,
    offer_id varchar not null,
    page_views bigint not null,
    cta_clicks bigint not null,
    ingested_at timestamp not null
)""",
    # raw-contract.md section 4: one row per bad record, named by file, line and field.
    "quarantine": """
create table if not exists raw.quarantine (
    source varchar not null,
    file_name varchar not null,
    line_number bigint,
    field varchar,
    reason varchar not null,
    raw_record varchar,
    ingested_at timestamp not null
)""",
    # One row per landed file ever seen: drives "new or changed" detection, the run summary,
    # the as-of date (latest readable referral snapshot) and per-widget quarantine counts.
    "ingested_files": """
create table if not exists raw.ingested_files (
    source varchar not null,
    file_name varchar not null,
    snapshot_date date not null,
    file_size bigint not null,
    file_mtime_ns bigint not null,
    status varchar not null,
    records_loaded bigint not null,
    records_quarantined bigint not null,
    error varchar,
    ingested_at timestamp not null
)""",
    # Files whose load invalidates incrementally built history (a re-landed file, or a snapshot
    # older than one already loaded): the next dbt build runs --full-refresh, then clears them.
    "full_refresh_requests": """
create table if not exists raw.full_refresh_requests (
    source varchar not null,
    file_name varchar not null,
    reason varchar not null,
    requested_at timestamp not null
)""",
}


def ensure_raw_schema(con) -> None:
    """Create the raw schema and its tables if missing (idempotent)."""
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    for ddl in TABLES.values():
        con.execute(ddl)
    # Warehouses built before valid records' text was dropped (issue 12) lose that column once.
    for table in ("referral_snapshots", "solution_snapshots", "marketplace_traffic"):
        con.execute(f"alter table {RAW_SCHEMA}.{table} drop column if exists raw_record")
