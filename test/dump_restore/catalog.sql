-- After maintenance everywhere: the partitions, their indexes, privileges
-- and row-level security, and the derived data, compared between the source
-- and each restored database.
SET TimeZone = 'UTC';
\pset null '<null>'
SELECT 'partition', partition::text, from_ts, to_ts, is_default FROM analytics.partitions() ORDER BY 2;
SELECT 'index', c.relname, i.relname, pg_get_indexdef(i.oid)
  FROM pg_catalog.pg_partition_tree('analytics.events') t
  JOIN pg_class c ON c.oid = t.relid JOIN pg_index x ON x.indrelid = c.oid JOIN pg_class i ON i.oid = x.indexrelid
 ORDER BY 2, 3;
SELECT 'table', c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.relacl::text, a.amname
  FROM pg_class c LEFT JOIN pg_am a ON a.oid = c.relam
 WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind IN ('r', 'p', 'v') ORDER BY 2;
SELECT 'policy', c.relname, p.polname, p.polcmd, p.polpermissive, p.polroles::regrole[]::text,
       pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
  FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
 WHERE c.relnamespace = 'analytics'::regnamespace ORDER BY 2, 3;
SELECT 'schema', nspacl::text FROM pg_namespace WHERE nspname = 'analytics';
SELECT 'rollup ' || r, n, h
  FROM (SELECT 'hour' AS r, count(*) AS n, md5(string_agg(x::text, '|' ORDER BY x::text)) AS h FROM analytics.rollup_hour x
        UNION ALL SELECT '5min', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_5min x
        UNION ALL SELECT 'day', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_day x
        UNION ALL SELECT 'week', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_week x
        UNION ALL SELECT 'w4', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_w4 x
        UNION ALL SELECT 'cube hour', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_cube_hour x
        UNION ALL SELECT 'cube day', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_cube_day x
        UNION ALL SELECT 'cube week', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_cube_week x
        UNION ALL SELECT 'cube w4', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_cube_w4 x
        UNION ALL SELECT 'refcube hour', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_refcube_hour x
        UNION ALL SELECT 'refcube day', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_refcube_day x
        UNION ALL SELECT 'refcube week', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_refcube_week x
        UNION ALL SELECT 'refcube w4', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_refcube_w4 x
        UNION ALL SELECT 'devcube hour', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_devcube_hour x
        UNION ALL SELECT 'devcube day', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_devcube_day x
        UNION ALL SELECT 'devcube week', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_devcube_week x
        UNION ALL SELECT 'devcube w4', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_devcube_w4 x
        UNION ALL SELECT 'viewers hour', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_viewers_hour x
        UNION ALL SELECT 'viewers day', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_viewers_day x
        UNION ALL SELECT 'ccv', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_ccv x
        UNION ALL SELECT 'watch_max', count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM analytics.rollup_watch_max x
        UNION ALL SELECT 'pending', count(*), NULL FROM analytics.rollup_pending x
        UNION ALL SELECT 'partitions', count(*), NULL FROM analytics.rollup_partitions x) s ORDER BY 1;
SELECT 'ping_sessions', s.project_id, s.session_id, s.loaded_at, s.media_id, s.media_type, md5(s.state)
  FROM analytics.ping_sessions s ORDER BY 2, 3, 4;
