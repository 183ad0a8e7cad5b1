{% if target.type != 'duckdb' %}{{ exceptions.raise_compiler_error('alignctl: the alignment models are written for DuckDB; target type `' ~ target.type ~ '` is not supported yet') }}{% endif %}
{{ config(materialized='table', enabled=var('alignctl_alignment', false)) }}
{% set f = var('alignctl_from', none) %}{% set t = var('alignctl_to', none) %}
SELECT CAST(coalesce({% if f %}DATE '{{ f | replace("'", "") }}'{% else %}NULL{% endif %}, CAST(min(inquiry_entered_at) AS DATE)) AS TIMESTAMP) AS start_at,
  CAST(coalesce({% if t %}DATE '{{ t | replace("'", "") }}'{% else %}NULL{% endif %}, CAST(greatest(max(inquiry_entered_at), max(mql_entered_at), max(sal_entered_at), max(sql_entered_at), max(opportunity_entered_at), max(customer_entered_at), max(sal_accepted_at), max(sal_first_touch_at), max(sql_accepted_at), max(sql_first_touch_at), max(disqualified_at)) AS DATE)) + INTERVAL 1 DAY AS TIMESTAMP) AS as_of
FROM {{ ref('alignment_leads') }}
