{% if target.type != 'duckdb' %}{{ exceptions.raise_compiler_error('alignctl: the alignment models are written for DuckDB; target type `' ~ target.type ~ '` is not supported yet') }}{% endif %}
{{ config(materialized='table', enabled=var('alignctl_alignment', false)) }}
-- Cohorts: leads that entered `from_stage` in the window; a lead counts once it had maturity_days (the p90 of the observed days between the stages) to convert.
WITH pairs AS (
SELECT 'inquiry' AS from_stage, 'mql' AS to_stage, true AS consecutive,
  count(*) FILTER (WHERE inquiry_entered_at + to_days(l.horizon) <= w.as_of) AS entered,
  count(mql_entered_at) FILTER (WHERE inquiry_entered_at + to_days(l.horizon) <= w.as_of) AS converted,
  count(*) FILTER (WHERE inquiry_entered_at + to_days(l.horizon) > w.as_of) AS maturing,
  any_value(l.horizon) AS maturity_days, round(any_value(l.med), 4) AS median_days, round(any_value(l.p90), 4) AS p90_days
FROM {{ ref('alignment_leads') }} c, {{ ref('alignment_window') }} w,
  (SELECT quantile_cont((epoch(mql_entered_at) - epoch(inquiry_entered_at)) / 86400.0, 0.5) AS med, quantile_cont((epoch(mql_entered_at) - epoch(inquiry_entered_at)) / 86400.0, 0.9) AS p90,
     CAST(coalesce(ceil(quantile_cont((epoch(mql_entered_at) - epoch(inquiry_entered_at)) / 86400.0, 0.9)), 0) AS INTEGER) AS horizon
   FROM {{ ref('alignment_leads') }}, {{ ref('alignment_window') }} w
   WHERE inquiry_entered_at >= w.start_at AND inquiry_entered_at < w.as_of AND mql_entered_at IS NOT NULL) l
WHERE inquiry_entered_at >= w.start_at AND inquiry_entered_at < w.as_of
UNION ALL
SELECT 'mql' AS from_stage, 'sal' AS to_stage, true AS consecutive,
  count(*) FILTER (WHERE mql_entered_at + to_days(l.horizon) <= w.as_of) AS entered,
  count(sal_entered_at) FILTER (WHERE mql_entered_at + to_days(l.horizon) <= w.as_of) AS converted,
  count(*) FILTER (WHERE mql_entered_at + to_days(l.horizon) > w.as_of) AS maturing,
  any_value(l.horizon) AS maturity_days, round(any_value(l.med), 4) AS median_days, round(any_value(l.p90), 4) AS p90_days
FROM {{ ref('alignment_leads') }} c, {{ ref('alignment_window') }} w,
  (SELECT quantile_cont((epoch(sal_entered_at) - epoch(mql_entered_at)) / 86400.0, 0.5) AS med, quantile_cont((epoch(sal_entered_at) - epoch(mql_entered_at)) / 86400.0, 0.9) AS p90,
     CAST(coalesce(ceil(quantile_cont((epoch(sal_entered_at) - epoch(mql_entered_at)) / 86400.0, 0.9)), 0) AS INTEGER) AS horizon
   FROM {{ ref('alignment_leads') }}, {{ ref('alignment_window') }} w
   WHERE mql_entered_at >= w.start_at AND mql_entered_at < w.as_of AND sal_entered_at IS NOT NULL) l
WHERE mql_entered_at >= w.start_at AND mql_entered_at < w.as_of
UNION ALL
SELECT 'sal' AS from_stage, 'sql' AS to_stage, true AS consecutive,
  count(*) FILTER (WHERE sal_entered_at + to_days(l.horizon) <= w.as_of) AS entered,
  count(sql_entered_at) FILTER (WHERE sal_entered_at + to_days(l.horizon) <= w.as_of) AS converted,
  count(*) FILTER (WHERE sal_entered_at + to_days(l.horizon) > w.as_of) AS maturing,
  any_value(l.horizon) AS maturity_days, round(any_value(l.med), 4) AS median_days, round(any_value(l.p90), 4) AS p90_days
FROM {{ ref('alignment_leads') }} c, {{ ref('alignment_window') }} w,
  (SELECT quantile_cont((epoch(sql_entered_at) - epoch(sal_entered_at)) / 86400.0, 0.5) AS med, quantile_cont((epoch(sql_entered_at) - epoch(sal_entered_at)) / 86400.0, 0.9) AS p90,
     CAST(coalesce(ceil(quantile_cont((epoch(sql_entered_at) - epoch(sal_entered_at)) / 86400.0, 0.9)), 0) AS INTEGER) AS horizon
   FROM {{ ref('alignment_leads') }}, {{ ref('alignment_window') }} w
   WHERE sal_entered_at >= w.start_at AND sal_entered_at < w.as_of AND sql_entered_at IS NOT NULL) l
WHERE sal_entered_at >= w.start_at AND sal_entered_at < w.as_of
UNION ALL
SELECT 'sql' AS from_stage, 'customer' AS to_stage, true AS consecutive,
  count(*) FILTER (WHERE sql_entered_at + to_days(l.horizon) <= w.as_of) AS entered,
  count(customer_entered_at) FILTER (WHERE sql_entered_at + to_days(l.horizon) <= w.as_of) AS converted,
  count(*) FILTER (WHERE sql_entered_at + to_days(l.horizon) > w.as_of) AS maturing,
  any_value(l.horizon) AS maturity_days, round(any_value(l.med), 4) AS median_days, round(any_value(l.p90), 4) AS p90_days
FROM {{ ref('alignment_leads') }} c, {{ ref('alignment_window') }} w,
  (SELECT quantile_cont((epoch(customer_entered_at) - epoch(sql_entered_at)) / 86400.0, 0.5) AS med, quantile_cont((epoch(customer_entered_at) - epoch(sql_entered_at)) / 86400.0, 0.9) AS p90,
     CAST(coalesce(ceil(quantile_cont((epoch(customer_entered_at) - epoch(sql_entered_at)) / 86400.0, 0.9)), 0) AS INTEGER) AS horizon
   FROM {{ ref('alignment_leads') }}, {{ ref('alignment_window') }} w
   WHERE sql_entered_at >= w.start_at AND sql_entered_at < w.as_of AND customer_entered_at IS NOT NULL) l
WHERE sql_entered_at >= w.start_at AND sql_entered_at < w.as_of
UNION ALL
SELECT 'inquiry' AS from_stage, 'customer' AS to_stage, false AS consecutive,
  count(*) FILTER (WHERE inquiry_entered_at + to_days(l.horizon) <= w.as_of) AS entered,
  count(customer_entered_at) FILTER (WHERE inquiry_entered_at + to_days(l.horizon) <= w.as_of) AS converted,
  count(*) FILTER (WHERE inquiry_entered_at + to_days(l.horizon) > w.as_of) AS maturing,
  any_value(l.horizon) AS maturity_days, round(any_value(l.med), 4) AS median_days, round(any_value(l.p90), 4) AS p90_days
FROM {{ ref('alignment_leads') }} c, {{ ref('alignment_window') }} w,
  (SELECT quantile_cont((epoch(customer_entered_at) - epoch(inquiry_entered_at)) / 86400.0, 0.5) AS med, quantile_cont((epoch(customer_entered_at) - epoch(inquiry_entered_at)) / 86400.0, 0.9) AS p90,
     CAST(coalesce(ceil(quantile_cont((epoch(customer_entered_at) - epoch(inquiry_entered_at)) / 86400.0, 0.9)), 0) AS INTEGER) AS horizon
   FROM {{ ref('alignment_leads') }}, {{ ref('alignment_window') }} w
   WHERE inquiry_entered_at >= w.start_at AND inquiry_entered_at < w.as_of AND customer_entered_at IS NOT NULL) l
WHERE inquiry_entered_at >= w.start_at AND inquiry_entered_at < w.as_of
UNION ALL
SELECT 'mql' AS from_stage, 'customer' AS to_stage, false AS consecutive,
  count(*) FILTER (WHERE mql_entered_at + to_days(l.horizon) <= w.as_of) AS entered,
  count(customer_entered_at) FILTER (WHERE mql_entered_at + to_days(l.horizon) <= w.as_of) AS converted,
  count(*) FILTER (WHERE mql_entered_at + to_days(l.horizon) > w.as_of) AS maturing,
  any_value(l.horizon) AS maturity_days, round(any_value(l.med), 4) AS median_days, round(any_value(l.p90), 4) AS p90_days
FROM {{ ref('alignment_leads') }} c, {{ ref('alignment_window') }} w,
  (SELECT quantile_cont((epoch(customer_entered_at) - epoch(mql_entered_at)) / 86400.0, 0.5) AS med, quantile_cont((epoch(customer_entered_at) - epoch(mql_entered_at)) / 86400.0, 0.9) AS p90,
     CAST(coalesce(ceil(quantile_cont((epoch(customer_entered_at) - epoch(mql_entered_at)) / 86400.0, 0.9)), 0) AS INTEGER) AS horizon
   FROM {{ ref('alignment_leads') }}, {{ ref('alignment_window') }} w
   WHERE mql_entered_at >= w.start_at AND mql_entered_at < w.as_of AND customer_entered_at IS NOT NULL) l
WHERE mql_entered_at >= w.start_at AND mql_entered_at < w.as_of
UNION ALL
SELECT 'sal' AS from_stage, 'customer' AS to_stage, false AS consecutive,
  count(*) FILTER (WHERE sal_entered_at + to_days(l.horizon) <= w.as_of) AS entered,
  count(customer_entered_at) FILTER (WHERE sal_entered_at + to_days(l.horizon) <= w.as_of) AS converted,
  count(*) FILTER (WHERE sal_entered_at + to_days(l.horizon) > w.as_of) AS maturing,
  any_value(l.horizon) AS maturity_days, round(any_value(l.med), 4) AS median_days, round(any_value(l.p90), 4) AS p90_days
FROM {{ ref('alignment_leads') }} c, {{ ref('alignment_window') }} w,
  (SELECT quantile_cont((epoch(customer_entered_at) - epoch(sal_entered_at)) / 86400.0, 0.5) AS med, quantile_cont((epoch(customer_entered_at) - epoch(sal_entered_at)) / 86400.0, 0.9) AS p90,
     CAST(coalesce(ceil(quantile_cont((epoch(customer_entered_at) - epoch(sal_entered_at)) / 86400.0, 0.9)), 0) AS INTEGER) AS horizon
   FROM {{ ref('alignment_leads') }}, {{ ref('alignment_window') }} w
   WHERE sal_entered_at >= w.start_at AND sal_entered_at < w.as_of AND customer_entered_at IS NOT NULL) l
WHERE sal_entered_at >= w.start_at AND sal_entered_at < w.as_of
)
SELECT *, round(converted / nullif(entered, 0), 4) AS rate,
  round(greatest(0, (p + 3.8414588206941254 / (2 * n) - 1.959963984540054 * sqrt(p * (1 - p) / n + 3.8414588206941254 / (4 * n * n))) / (1 + 3.8414588206941254 / n)), 4) AS ci_low,
  round(least(1, (p + 3.8414588206941254 / (2 * n) + 1.959963984540054 * sqrt(p * (1 - p) / n + 3.8414588206941254 / (4 * n * n))) / (1 + 3.8414588206941254 / n)), 4) AS ci_high
FROM (SELECT *, CAST(nullif(entered, 0) AS DOUBLE) AS n, converted / nullif(entered, 0) AS p FROM pairs)
