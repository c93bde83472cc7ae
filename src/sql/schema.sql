-- analytics: the tables, their indexes, privileges and what pg_dump dumps
-- (README: Data model). Row-level security and the tenant policies of every
-- table with a project_id column come from tenancy.sql (_secure_table).

-- The accepted range of emitted_at (README: Data model): from 1970-01-01
-- 00:00:00+00 (inclusive) to 10000-01-01 00:00:00+00 (exclusive). A row
-- outside it is refused with SQLSTATE 22008 naming the value and the range,
-- by a CHECK constraint of analytics.events (inherited by every partition,
-- the default one included) that calls a C function: every write path
-- (INSERT, COPY, UPDATE, events_import, ingest_ping) goes through it, and
-- COPY's error context names the line of the row.
-- (No SET search_path on it: it resolves no name, and a SET clause would
-- make every row COPY writes save and restore a setting.)
CREATE OR REPLACE FUNCTION @extschema@._check_emitted_at(emitted_at timestamptz)
RETURNS boolean
AS 'MODULE_PATHNAME', 'analytics_check_emitted_at'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@._check_emitted_at(timestamptz) IS
    'true, or an error (22008) when emitted_at lies outside [1970-01-01 00:00:00+00, 10000-01-01 00:00:00+00), the accepted range of analytics.events';

-- The rule of events.country: two ASCII capital letters (what the regex
-- '^[A-Z][A-Z]$' accepts), checked in C: COPY calls it for every row, and a
-- regular expression costs several times more (README: Performance figures).
-- STRICT: NULL (unknown country) passes. No SET search_path, as above.
CREATE OR REPLACE FUNCTION @extschema@._check_country(country text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'analytics_check_country'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@._check_country(text) IS
    'true when country is two ASCII capital letters (an ISO 3166-1 alpha-2 code''s shape), false otherwise: the CHECK constraint events_country_check of analytics.events';

--
-- analytics.events: normalized player events, one partition per UTC day
-- (analytics.events_pYYYYMMDD), created and dropped by run_maintenance().
-- Rows that find no partition land in analytics.events_default, from which
-- maintenance moves them into their day partition (or, when already older
-- than the retention window, archives their plays and deletes them).
--
CREATE TABLE @extschema@.events (
    project_id       text NOT NULL DEFAULT 'default',
    emitted_at       timestamptz NOT NULL,
    event_type       @extschema@.event_type NOT NULL,
    value            double precision,
    media_id         text NOT NULL,
    media_type       @extschema@.media_type NOT NULL DEFAULT 'video',
    session_id       uuid,
    viewer_id        bigint,
    referrer         text NOT NULL DEFAULT '',
    continent        @extschema@.continent,
    country          text,
    device_type      @extschema@.device_type NOT NULL DEFAULT 'unknown',
    operating_system text NOT NULL DEFAULT 'unknown',
    browser          text NOT NULL DEFAULT 'unknown',
    CONSTRAINT events_emitted_at_check CHECK (pg_catalog.isfinite(emitted_at)),
    CONSTRAINT events_value_check CHECK (value >= 0 AND value < 'Infinity'::double precision),
    -- a watch event covers at most one hour: concurrent-viewer queries rely on it
    -- to bound how far past a period they look; split longer stretches
    CONSTRAINT events_watch_value_check CHECK (event_type OPERATOR(pg_catalog.<>) 'watch' OR value <= 3600),
    CONSTRAINT events_country_check CHECK (@extschema@._check_country(country)),
    CONSTRAINT events_project_id_check CHECK (project_id OPERATOR(pg_catalog.<>) '')
) PARTITION BY RANGE (emitted_at);

COMMENT ON TABLE @extschema@.events IS
    'normalized player events, range-partitioned by UTC day on emitted_at (see analytics.partitions())';

-- every leaf partition uses analytics_heap (storage.sql: its writes mark
-- their hours pending for the rollups) and has its own BRIN index on
-- emitted_at (maintenance.sql: _events_brin does it for new partitions)
CREATE TABLE @extschema@.events_default PARTITION OF @extschema@.events DEFAULT USING analytics_heap;
CREATE INDEX ON @extschema@.events_default USING brin (emitted_at) WITH (pages_per_range = 16, autosummarize = on);
COMMENT ON TABLE @extschema@.events_default IS
    'events that found no day partition; run_maintenance() moves them out';

--
-- analytics.media: optional catalogue, used by the tag filter
--
CREATE TABLE @extschema@.media (
    project_id  text NOT NULL DEFAULT 'default',
    media_id    text NOT NULL,
    media_type  @extschema@.media_type NOT NULL DEFAULT 'video',
    title       text,
    tags        text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (project_id, media_id)
);
CREATE INDEX media_tags_idx ON @extschema@.media USING gin (tags);

--
-- analytics.play_totals: plays archived from dropped partitions, so that
-- lifetime play totals survive retention (README: Retention and maintenance)
--
CREATE TABLE @extschema@.play_totals (
    project_id  text NOT NULL,
    media_id    text NOT NULL,
    media_type  @extschema@.media_type NOT NULL,
    plays       bigint NOT NULL CHECK (plays >= 0),
    updated_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (project_id, media_id, media_type)
);

--
-- analytics.settings: per-database settings, at most one row. No row means
-- the defaults; set_retention() upserts.
--
CREATE TABLE @extschema@.settings (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    retention  interval NOT NULL DEFAULT '30 days'
);

-- the retention is not a secret: query functions check periods against it
GRANT SELECT ON @extschema@.settings TO PUBLIC;

-- user data of these tables is dumped by pg_dump
SELECT pg_catalog.pg_extension_config_dump('@extschema@.events_default', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.media', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.play_totals', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.settings', '');

--
-- analytics.ping_sessions: the ingest state of each playback = (session id,
-- session.loaded_at), kept between the pings of a player; maintenance forgets
-- playbacks idle for longer than analytics.session_idle_timeout
--
CREATE TABLE @extschema@.ping_sessions (
    project_id  text NOT NULL,
    session_id  uuid NOT NULL,
    loaded_at   timestamptz NOT NULL,
    media_id    text NOT NULL,
    media_type  @extschema@.media_type NOT NULL,
    state       bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (project_id, session_id, loaded_at)
) WITH (fillfactor = 50);  -- room on each page for the new version of a state: updates stay HOT
CREATE INDEX ping_sessions_updated_at_idx ON @extschema@.ping_sessions (updated_at);

--
-- analytics.secrets: per-installation secrets, readable by the extension's
-- owner only (the viewer id key: SipHash-2-4 of user agent + IP + UTC day)
--
CREATE TABLE @extschema@.secrets (
    name   text PRIMARY KEY,
    value  bytea NOT NULL
);
REVOKE ALL ON @extschema@.secrets FROM PUBLIC;
INSERT INTO @extschema@.secrets (name, value)
SELECT 'viewer_id', substring(pg_catalog.sha256(pg_catalog.uuid_send(pg_catalog.gen_random_uuid())
                                                || pg_catalog.uuid_send(pg_catalog.gen_random_uuid())) FROM 1 FOR 16);

CREATE TABLE @extschema@.rollup_pending (
    project_id text NOT NULL,
    hour       timestamptz NOT NULL,
    xids       xid8[],
    relid      oid,
    relnode    oid,
    from_block bigint
);
COMMENT ON TABLE @extschema@.rollup_pending IS
    'hours of analytics.events written since the rollups were last refreshed (one row per writing transaction, project and hour)';
COMMENT ON COLUMN @extschema@.rollup_pending.xids IS
    'the transaction ids the rows were inserted under (the refresh adds just those rows to the hour''s rollup rows); NULL: rows were also updated or deleted, or marked otherwise (the hour is aggregated again whole)';
COMMENT ON COLUMN @extschema@.rollup_pending.relid IS
    'the partition the rows went to (with its relfilenode: blocks of a rewritten partition are not trusted) and the first of its blocks they went to (the refresh of the rows added reads no earlier block); NULL: unknown, or several partitions';

CREATE TABLE @extschema@.rollup_hour (
    project_id text NOT NULL,
    dim        smallint NOT NULL,
    bucket     timestamptz NOT NULL,
    value      text,
    media_type @extschema@.media_type,
    stats      double precision[] NOT NULL
);
CREATE INDEX rollup_hour_idx ON @extschema@.rollup_hour (project_id, dim, bucket);
-- all projects, and the refresh's deletes (dim = ANY (all dims))
CREATE INDEX rollup_hour_dim_idx ON @extschema@.rollup_hour (dim, bucket);
COMMENT ON TABLE @extschema@.rollup_hour IS
    'event_stats per UTC hour, project and dimension value (derived from analytics.events by maintenance)';

CREATE TABLE @extschema@.rollup_day (LIKE @extschema@.rollup_hour INCLUDING ALL);
COMMENT ON TABLE @extschema@.rollup_day IS
    'event_stats per UTC day, project and dimension value (sum of the day''s rollup_hour rows)';
CREATE TABLE @extschema@.rollup_week (LIKE @extschema@.rollup_hour INCLUDING ALL);
-- per 5 minutes, dimension 0 (whole project) only: the partial hours at the
-- ends of a period then cost a partial 5 minutes of raw events
CREATE TABLE @extschema@.rollup_5min (LIKE @extschema@.rollup_hour INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE INDEX rollup_5min_idx ON @extschema@.rollup_5min (project_id, dim, bucket);
CREATE INDEX rollup_5min_bucket_idx ON @extschema@.rollup_5min USING brin (bucket);
COMMENT ON TABLE @extschema@.rollup_5min IS
    'event_stats per 5 minutes and project (dim 0 only), for the ends of periods';
COMMENT ON TABLE @extschema@.rollup_week IS
    'event_stats per week (Monday 00:00 UTC), project and dimension value (sum of the week''s rollup_day rows)';

-- concurrent viewers per minute: for each project (media_id NULL) and each
-- (project, live stream), the peak number of distinct sessions / viewers watching
-- at one instant of the minute and the integral of that number over the
-- minute (watcher-seconds), as analytics.ccv computes them over the minute.
-- Peaks and integrals over whole minutes combine exactly (max and sum).
-- Videos have no rows of their own (they would be most of the rows, for a
-- metric that matters for live streams): ccv of one video reads raw events.
CREATE TABLE @extschema@.rollup_ccv (
    project_id    text NOT NULL,
    media_id      text,
    minute        timestamptz NOT NULL,
    peak_sessions integer NOT NULL,
    secs_sessions double precision NOT NULL,
    peak_viewers  integer NOT NULL,
    secs_viewers  double precision NOT NULL
);
CREATE INDEX rollup_ccv_idx ON @extschema@.rollup_ccv (project_id, media_id, minute);
-- written hour by hour, in time order: a BRIN index finds an hour's rows
CREATE INDEX rollup_ccv_minute_idx ON @extschema@.rollup_ccv USING brin (minute);
COMMENT ON TABLE @extschema@.rollup_ccv IS
    'concurrent viewers per minute, per project and per media (derived from watch events by maintenance)';

-- the longest watch event emitted in each hour, per project: how far past a
-- period the raw part of a ccv query must look (at most an hour)
CREATE TABLE @extschema@.rollup_watch_max (
    project_id text NOT NULL,
    hour       timestamptz NOT NULL,
    max_value  double precision NOT NULL,
    PRIMARY KEY (project_id, hour)
);

-- Partitions made by hand (CREATE TABLE ... PARTITION OF, ATTACH, DETACH)
-- must keep the rollups exact too: a partition of analytics.events must use
-- analytics_heap (else its writes would go unnoticed), and the rows of an
-- attached or detached partition came or went without a write, so their
-- hours become pending. rollup_partitions lists the partitions known so far.
CREATE TABLE @extschema@.rollup_partitions (relid oid PRIMARY KEY);
INSERT INTO @extschema@.rollup_partitions
SELECT i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent = '@extschema@.events'::regclass;

-- is this media id a live stream in every refreshed hour? one index lookup
CREATE INDEX rollup_week_value_idx ON @extschema@.rollup_week (project_id, dim, value);

-- event_stats per 28 days from Monday 2000-01-03, project and dimension value:
-- the sum of the block's rollup_week rows, rebuilt with them
CREATE TABLE @extschema@.rollup_w4 (LIKE @extschema@.rollup_hour INCLUDING ALL);
COMMENT ON TABLE @extschema@.rollup_w4 IS
    'event_stats per 28 days (from Monday 2000-01-03 00:00 UTC), project and dimension value (sum of the block''s rollup_week rows)';
-- a question filtered on one value (one media): its rows of a block, not
-- every value's of the project
CREATE INDEX rollup_w4_value_idx ON @extschema@.rollup_w4 (project_id, dim, value, bucket);

-- The cube (README: "Derived data: rollups"): event_stats per UTC hour,
-- project and combination of the low-cardinality dimensions (media type,
-- continent, country, device type, operating system, browser). It answers
-- questions whose filters and breakdown all are among these dimensions and
-- that no one-dimension rollup serves (two filters, a filter on one
-- dimension with a breakdown by another). Days, weeks and 28-day blocks are
-- the sums of the finer rows, rebuilt with them, as for the rollups.
CREATE TABLE @extschema@.rollup_cube_hour (
    project_id       text NOT NULL,
    bucket           timestamptz NOT NULL,
    media_type       @extschema@.media_type NOT NULL,
    continent        @extschema@.continent,
    country          text,
    device_type      @extschema@.device_type NOT NULL,
    operating_system text NOT NULL,
    browser          text NOT NULL,
    stats            double precision[] NOT NULL
);
CREATE INDEX rollup_cube_hour_idx ON @extschema@.rollup_cube_hour (project_id, bucket);
-- all projects, and the refresh's deletes; the project second, so that a
-- question about one project (a generic plan: the project a parameter)
-- prefers the index above
CREATE INDEX rollup_cube_hour_bucket_idx ON @extschema@.rollup_cube_hour (bucket, project_id);
COMMENT ON TABLE @extschema@.rollup_cube_hour IS
    'event_stats per UTC hour, project and combination of media type, continent, country, device type, operating system and browser (derived from analytics.events by maintenance)';
CREATE TABLE @extschema@.rollup_cube_day (LIKE @extschema@.rollup_cube_hour INCLUDING ALL);
COMMENT ON TABLE @extschema@.rollup_cube_day IS
    'the cube per UTC day (sum of the day''s rollup_cube_hour rows)';
CREATE TABLE @extschema@.rollup_cube_week (LIKE @extschema@.rollup_cube_hour INCLUDING ALL);
COMMENT ON TABLE @extschema@.rollup_cube_week IS
    'the cube per week from Monday 00:00 UTC (sum of the week''s rollup_cube_day rows)';
CREATE TABLE @extschema@.rollup_cube_w4 (LIKE @extschema@.rollup_cube_hour INCLUDING ALL);
COMMENT ON TABLE @extschema@.rollup_cube_w4 IS
    'the cube per 28 days from Monday 2000-01-03 00:00 UTC (sum of the block''s rollup_cube_week rows)';

-- The referrer cube (rollup_refcube_hour, _day, _week, _w4): the cube with
-- the referrer as one more column. It answers questions that combine the
-- referrer with cube dimensions (watch time by referrer for phones, plays
-- by country for one referrer); referrers of one project are few, so it
-- has about 1.4 times the cube's rows per hour. The cube's hour rows and
-- the referrer's one-dimension hour rows are its sums.
CREATE TABLE @extschema@.rollup_refcube_hour (
    project_id       text NOT NULL,
    bucket           timestamptz NOT NULL,
    referrer         text NOT NULL,
    media_type       @extschema@.media_type NOT NULL,
    continent        @extschema@.continent,
    country          text,
    device_type      @extschema@.device_type NOT NULL,
    operating_system text NOT NULL,
    browser          text NOT NULL,
    stats            double precision[] NOT NULL
);
CREATE INDEX rollup_refcube_hour_idx ON @extschema@.rollup_refcube_hour (project_id, bucket);
CREATE INDEX rollup_refcube_hour_bucket_idx ON @extschema@.rollup_refcube_hour (bucket, project_id);
COMMENT ON TABLE @extschema@.rollup_refcube_hour IS
    'event_stats per UTC hour, project and combination of referrer, media type, continent, country, device type, operating system and browser (derived from analytics.events by maintenance)';
CREATE TABLE @extschema@.rollup_refcube_day (LIKE @extschema@.rollup_refcube_hour INCLUDING ALL);
COMMENT ON TABLE @extschema@.rollup_refcube_day IS
    'the referrer cube per UTC day (sum of the day''s rollup_refcube_hour rows)';
CREATE TABLE @extschema@.rollup_refcube_week (LIKE @extschema@.rollup_refcube_hour INCLUDING ALL);
COMMENT ON TABLE @extschema@.rollup_refcube_week IS
    'the referrer cube per week from Monday 00:00 UTC (sum of the week''s rollup_refcube_day rows)';
CREATE TABLE @extschema@.rollup_refcube_w4 (LIKE @extschema@.rollup_refcube_hour INCLUDING ALL);
COMMENT ON TABLE @extschema@.rollup_refcube_w4 IS
    'the referrer cube per 28 days from Monday 2000-01-03 00:00 UTC (sum of the block''s rollup_refcube_week rows)';

-- The device cube (rollup_devcube_hour, _day, _week, _w4): the cube without
-- its geography (continent, country). It answers the questions whose
-- filters and breakdown all are among media type, device type, operating
-- system and browser (plays per day of Chrome on phones) from about a
-- tenth of the cube's rows per hour, a 25th per day (at 20M events: 16.5
-- rows per project and hour, 38 per day). Its rows are the sums of the
-- cube's, rebuilt with them, and written in project order.
CREATE TABLE @extschema@.rollup_devcube_hour (
    project_id       text NOT NULL,
    bucket           timestamptz NOT NULL,
    media_type       @extschema@.media_type NOT NULL,
    device_type      @extschema@.device_type NOT NULL,
    operating_system text NOT NULL,
    browser          text NOT NULL,
    stats            double precision[] NOT NULL
);
CREATE INDEX rollup_devcube_hour_idx ON @extschema@.rollup_devcube_hour (project_id, bucket);
CREATE INDEX rollup_devcube_hour_bucket_idx ON @extschema@.rollup_devcube_hour (bucket, project_id);
COMMENT ON TABLE @extschema@.rollup_devcube_hour IS
    'event_stats per UTC hour, project and combination of media type, device type, operating system and browser (sums of rollup_cube_hour rows)';
CREATE TABLE @extschema@.rollup_devcube_day (LIKE @extschema@.rollup_devcube_hour INCLUDING ALL);
COMMENT ON TABLE @extschema@.rollup_devcube_day IS
    'the device cube per UTC day (sum of the day''s rollup_devcube_hour rows)';
CREATE TABLE @extschema@.rollup_devcube_week (LIKE @extschema@.rollup_devcube_hour INCLUDING ALL);
COMMENT ON TABLE @extschema@.rollup_devcube_week IS
    'the device cube per week from Monday 00:00 UTC (sum of the week''s rollup_devcube_day rows)';
CREATE TABLE @extschema@.rollup_devcube_w4 (LIKE @extschema@.rollup_devcube_hour INCLUDING ALL);
COMMENT ON TABLE @extschema@.rollup_devcube_w4 IS
    'the device cube per 28 days from Monday 2000-01-03 00:00 UTC (sum of the block''s rollup_devcube_week rows)';

-- Unique viewers (README: "Derived data: rollups"): per UTC hour and day,
-- project and combination of the cube's dimensions, for each view duration
-- (the value of the view events: 3, 5, 10, 30 s) the sorted distinct
-- viewer ids of its view events: NULL when there are none, NULL ids left
-- out (a combination whose ids all are NULL has '{}', so that a breakdown
-- shows it with 0, as the raw count does). One row for the four durations:
-- a viewer who reaches 30 s reached the others, and the rows were 3.7x
-- fewer than one per duration. Distinct counts do not add up: a question
-- reads disjoint days, hours and raw events and counts the union of their
-- ids.
CREATE TABLE @extschema@.rollup_viewers_hour (
    project_id       text NOT NULL,
    bucket           timestamptz NOT NULL,
    media_type       @extschema@.media_type NOT NULL,
    continent        @extschema@.continent,
    country          text,
    device_type      @extschema@.device_type NOT NULL,
    operating_system text NOT NULL,
    browser          text NOT NULL,
    viewers_3s       bigint[],
    viewers_5s       bigint[],
    viewers_10s      bigint[],
    viewers_30s      bigint[]
);
-- the ids are hashes: compressing them gains nothing, costs every read
ALTER TABLE @extschema@.rollup_viewers_hour ALTER COLUMN viewers_3s SET STORAGE EXTERNAL, ALTER COLUMN viewers_5s SET STORAGE EXTERNAL,
    ALTER COLUMN viewers_10s SET STORAGE EXTERNAL, ALTER COLUMN viewers_30s SET STORAGE EXTERNAL;
CREATE INDEX rollup_viewers_hour_idx ON @extschema@.rollup_viewers_hour (project_id, bucket);
CREATE INDEX rollup_viewers_hour_bucket_idx ON @extschema@.rollup_viewers_hour (bucket, project_id);
COMMENT ON TABLE @extschema@.rollup_viewers_hour IS
    'the distinct viewer ids of view events per view duration (3, 5, 10, 30 s), UTC hour, project and combination of media type, continent, country, device type, operating system and browser (derived from analytics.events by maintenance)';
CREATE TABLE @extschema@.rollup_viewers_day (LIKE @extschema@.rollup_viewers_hour INCLUDING ALL);
COMMENT ON TABLE @extschema@.rollup_viewers_day IS
    'the distinct viewer ids per UTC day (union of the day''s rollup_viewers_hour rows)';

-- Rows an earlier version stored outside the range (they stopped every
-- maintenance run) are set aside here, with their plays, not lost: only
-- administrators and the rows' own tenants (row-level security) read them.
CREATE TABLE @extschema@.events_out_of_range (
    LIKE @extschema@.events INCLUDING DEFAULTS,
    set_aside_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE @extschema@.events_out_of_range IS
    'events stored by analytics < 0.6 with emitted_at outside the accepted range, set aside by the upgrade to 0.6';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.events_out_of_range', '');

-- the range check (an installation upgraded from 0.5 with events has it
-- NOT VALID until VALIDATE CONSTRAINT: see updates/0.5--0.6.sql)
ALTER TABLE @extschema@.events ADD CONSTRAINT events_emitted_at_range
    CHECK (@extschema@._check_emitted_at(emitted_at));

-- What pg_dump dumps of the extension's tables. Dumped (user data, or
-- state that cannot be rebuilt): events_default, media, play_totals,
-- settings (above), project_grants (tenancy.sql), events_out_of_range,
-- ping_sessions (the state of playbacks in progress) and secrets (the viewer
-- id key: without it a viewer pinged before and after a restore counts
-- twice). Rebuilt, not dumped: the rollups (the cubes and the viewer ids
-- included) and rollup_pending (every
-- restored row marks its hour pending, and maintenance re-aggregates it),
-- rollup_partitions (the event trigger lists each partition as the restore
-- attaches it). No sequences: every table of the extension has a natural key.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ping_sessions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.secrets', '');
