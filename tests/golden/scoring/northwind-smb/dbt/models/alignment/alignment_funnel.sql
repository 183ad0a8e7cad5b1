{% if target.type != 'duckdb' %}{{ exceptions.raise_compiler_error('alignctl: the alignment models are written for DuckDB; target type `' ~ target.type ~ '` is not supported yet') }}{% endif %}
{{ config(materialized='table', enabled=var('alignctl_alignment', false)) }}
SELECT CAST(date_trunc('month', inquiry_entered_at) AS DATE) AS period_start, 'inquiry' AS stage, count(*) AS entered, CAST(800 AS DOUBLE) AS expected, CAST(714.2857 AS DOUBLE) AS required, CAST(NULL AS DOUBLE) AS committed
FROM {{ ref('alignment_leads') }}, {{ ref('alignment_window') }} w
WHERE inquiry_entered_at >= w.start_at AND inquiry_entered_at < w.as_of GROUP BY 1
UNION ALL
SELECT CAST(date_trunc('month', mql_entered_at) AS DATE) AS period_start, 'mql' AS stage, count(*) AS entered, CAST(240.0 AS DOUBLE) AS expected, CAST(214.2857 AS DOUBLE) AS required, CAST(220 AS DOUBLE) AS committed
FROM {{ ref('alignment_leads') }}, {{ ref('alignment_window') }} w
WHERE mql_entered_at >= w.start_at AND mql_entered_at < w.as_of GROUP BY 1
UNION ALL
SELECT CAST(date_trunc('month', sal_entered_at) AS DATE) AS period_start, 'sal' AS stage, count(*) AS entered, CAST(192.0 AS DOUBLE) AS expected, CAST(171.4286 AS DOUBLE) AS required, CAST(NULL AS DOUBLE) AS committed
FROM {{ ref('alignment_leads') }}, {{ ref('alignment_window') }} w
WHERE sal_entered_at >= w.start_at AND sal_entered_at < w.as_of GROUP BY 1
UNION ALL
SELECT CAST(date_trunc('month', sql_entered_at) AS DATE) AS period_start, 'sql' AS stage, count(*) AS entered, CAST(96.0 AS DOUBLE) AS expected, CAST(85.7143 AS DOUBLE) AS required, CAST(NULL AS DOUBLE) AS committed
FROM {{ ref('alignment_leads') }}, {{ ref('alignment_window') }} w
WHERE sql_entered_at >= w.start_at AND sql_entered_at < w.as_of GROUP BY 1
UNION ALL
SELECT CAST(date_trunc('month', customer_entered_at) AS DATE) AS period_start, 'customer' AS stage, count(*) AS entered, CAST(33.6 AS DOUBLE) AS expected, CAST(30.0 AS DOUBLE) AS required, CAST(NULL AS DOUBLE) AS committed
FROM {{ ref('alignment_leads') }}, {{ ref('alignment_window') }} w
WHERE customer_entered_at >= w.start_at AND customer_entered_at < w.as_of GROUP BY 1
