{% if target.type != 'duckdb' %}{{ exceptions.raise_compiler_error('alignctl: the alignment models are written for DuckDB; target type `' ~ target.type ~ '` is not supported yet') }}{% endif %}
{{ config(materialized='table', enabled=var('alignctl_alignment', false)) }}
SELECT CAST(date_trunc('week', inquiry_entered_at) AS DATE) AS period_start, 'inquiry' AS stage, count(*) AS entered, CAST(500 AS DOUBLE) AS expected, CAST(453.5147 AS DOUBLE) AS required, CAST(NULL AS DOUBLE) AS committed
FROM {{ ref('alignment_leads') }}, {{ ref('alignment_window') }} w
WHERE inquiry_entered_at >= w.start_at AND inquiry_entered_at < w.as_of GROUP BY 1
UNION ALL
SELECT CAST(date_trunc('week', mql_entered_at) AS DATE) AS period_start, 'mql' AS stage, count(*) AS entered, CAST(100.0 AS DOUBLE) AS expected, CAST(90.7029 AS DOUBLE) AS required, CAST(95 AS DOUBLE) AS committed
FROM {{ ref('alignment_leads') }}, {{ ref('alignment_window') }} w
WHERE mql_entered_at >= w.start_at AND mql_entered_at < w.as_of GROUP BY 1
UNION ALL
SELECT CAST(date_trunc('week', sal_entered_at) AS DATE) AS period_start, 'sal' AS stage, count(*) AS entered, CAST(70.0 AS DOUBLE) AS expected, CAST(63.4921 AS DOUBLE) AS required, CAST(NULL AS DOUBLE) AS committed
FROM {{ ref('alignment_leads') }}, {{ ref('alignment_window') }} w
WHERE sal_entered_at >= w.start_at AND sal_entered_at < w.as_of GROUP BY 1
UNION ALL
SELECT CAST(date_trunc('week', sql_entered_at) AS DATE) AS period_start, 'sql' AS stage, count(*) AS entered, CAST(31.5 AS DOUBLE) AS expected, CAST(28.5714 AS DOUBLE) AS required, CAST(NULL AS DOUBLE) AS committed
FROM {{ ref('alignment_leads') }}, {{ ref('alignment_window') }} w
WHERE sql_entered_at >= w.start_at AND sql_entered_at < w.as_of GROUP BY 1
UNION ALL
SELECT CAST(date_trunc('week', opportunity_entered_at) AS DATE) AS period_start, 'opportunity' AS stage, count(*) AS entered, CAST(22.05 AS DOUBLE) AS expected, CAST(20.0 AS DOUBLE) AS required, CAST(NULL AS DOUBLE) AS committed
FROM {{ ref('alignment_leads') }}, {{ ref('alignment_window') }} w
WHERE opportunity_entered_at >= w.start_at AND opportunity_entered_at < w.as_of GROUP BY 1
UNION ALL
SELECT CAST(date_trunc('week', customer_entered_at) AS DATE) AS period_start, 'customer' AS stage, count(*) AS entered, CAST(6.615 AS DOUBLE) AS expected, CAST(6.0 AS DOUBLE) AS required, CAST(NULL AS DOUBLE) AS committed
FROM {{ ref('alignment_leads') }}, {{ ref('alignment_window') }} w
WHERE customer_entered_at >= w.start_at AND customer_entered_at < w.as_of GROUP BY 1
