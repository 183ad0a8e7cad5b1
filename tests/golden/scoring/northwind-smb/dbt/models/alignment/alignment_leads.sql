{% if target.type != 'duckdb' %}{{ exceptions.raise_compiler_error('alignctl: the alignment models are written for DuckDB; target type `' ~ target.type ~ '` is not supported yet') }}{% endif %}
{{ config(materialized='table', enabled=var('alignctl_alignment', false)) }}
-- The export's rows that the report's figures may use: the first row per lead id (which one is arbitrary in a warehouse), stages in order, a known stage.
SELECT * EXCLUDE (_dup, _out_of_order, _bad_stage) FROM (
  SELECT *, row_number() OVER (PARTITION BY lead_id ORDER BY lead_id) > 1 AS _dup,
    (coalesce(mql_entered_at < inquiry_entered_at, false) OR coalesce(sal_entered_at < inquiry_entered_at, false) OR coalesce(sql_entered_at < inquiry_entered_at, false) OR coalesce(customer_entered_at < inquiry_entered_at, false) OR coalesce(sal_entered_at < mql_entered_at, false) OR coalesce(sql_entered_at < mql_entered_at, false) OR coalesce(customer_entered_at < mql_entered_at, false) OR coalesce(sql_entered_at < sal_entered_at, false) OR coalesce(customer_entered_at < sal_entered_at, false) OR coalesce(customer_entered_at < sql_entered_at, false)) AS _out_of_order,
    coalesce(lifecycle_stage NOT IN ('inquiry', 'mql', 'sal', 'sql', 'customer'), false) AS _bad_stage
  FROM {{ source('alignctl', 'crm_leads') }} WHERE lead_id IS NOT NULL
) WHERE NOT (_dup OR _out_of_order OR _bad_stage)
