-- analytics: ingest, player pings and imported events (README: Ingesting)

--
-- Ingest (src/ingest.c, src/ping.c, src/continent.c)
--
CREATE OR REPLACE FUNCTION @extschema@.ingest_ping(payload jsonb, user_agent text DEFAULT NULL,
                                        country text DEFAULT NULL, client_ip inet DEFAULT NULL,
                                        project_id text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'analytics_ingest_ping'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.ingest_ping(jsonb, text, text, inet, text) IS
    'normalizes one player ping (@api.video/player-analytics 1.x format) into analytics.events; returns {"session": id, ...}';

CREATE OR REPLACE FUNCTION @extschema@.ingest_pings(pings jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'analytics_ingest_pings'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.ingest_pings(jsonb) IS
    'ingest_ping for a batch in one call: pings is a JSON array of {"payload", "user_agent", "country", "client_ip", "project_id"}; returns the array of the replies, a refused ping''s being {"error", "sqlstate", "field", ...}';

CREATE OR REPLACE FUNCTION @extschema@.continent_of(country text)
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_continent_of'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.continent_of(text) IS
    'GeoNames continent code (AF AN AS EU NA OC SA) of an ISO 3166-1 alpha-2 country code, NULL when unknown';

CREATE OR REPLACE FUNCTION @extschema@.parse_user_agent(user_agent text,
    OUT device_type text, OUT operating_system text, OUT browser text)
RETURNS record
AS 'MODULE_PATHNAME', 'analytics_parse_user_agent'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.parse_user_agent(text) IS
    'device type, operating system and browser families of a user agent (ua-parser regexes of uap-core), cached per backend';
-- GeoIP (src/geoip.c)
--
CREATE OR REPLACE FUNCTION @extschema@.geoip_country(ip inet)
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_geoip_country_sql'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.geoip_country(inet) IS
    'ISO 3166-1 alpha-2 country code of an IP address from the MaxMind DB file named by analytics.geoip_database (country, else registered_country); NULL when unknown or when no database is configured';

-- COPY for tenants: PostgreSQL refuses COPY FROM into a table with
-- row-level security to the roles it applies to. COPY (or INSERT) into this
-- view instead: its triggers insert the rows into analytics.events in
-- batches, with the caller's rights (privileges, row-level security).
CREATE VIEW @extschema@.events_import WITH (security_invoker = true) AS
SELECT e.project_id, e.emitted_at, e.event_type, e.value, e.media_id, e.media_type, e.session_id, e.viewer_id,
       e.referrer, e.continent, e.country, e.device_type, e.operating_system, e.browser
  FROM @extschema@.events e WHERE false;
COMMENT ON VIEW @extschema@.events_import IS
    'COPY or INSERT events here (same columns and defaults as analytics.events): they go into analytics.events with the caller''s rights, row-level security included';
ALTER VIEW @extschema@.events_import ALTER COLUMN project_id SET DEFAULT 'default';
ALTER VIEW @extschema@.events_import ALTER COLUMN media_type SET DEFAULT 'video';
ALTER VIEW @extschema@.events_import ALTER COLUMN referrer SET DEFAULT '';
ALTER VIEW @extschema@.events_import ALTER COLUMN device_type SET DEFAULT 'unknown';
ALTER VIEW @extschema@.events_import ALTER COLUMN operating_system SET DEFAULT 'unknown';
ALTER VIEW @extschema@.events_import ALTER COLUMN browser SET DEFAULT 'unknown';

CREATE OR REPLACE FUNCTION @extschema@._import_row()
RETURNS trigger
AS 'MODULE_PATHNAME', 'analytics_import_row'
LANGUAGE C;
CREATE OR REPLACE FUNCTION @extschema@._import_flush()
RETURNS trigger
AS 'MODULE_PATHNAME', 'analytics_import_flush'
LANGUAGE C;
CREATE TRIGGER import_row INSTEAD OF INSERT ON @extschema@.events_import
    FOR EACH ROW EXECUTE FUNCTION @extschema@._import_row();
CREATE TRIGGER import_flush AFTER INSERT ON @extschema@.events_import
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._import_flush();

-- the session state of ingest_ping, as the owner (called by ingest_ping only)
CREATE OR REPLACE FUNCTION @extschema@._ping_state_lock(project_id text, session_id uuid, loaded_at timestamptz,
                                             media_id text, media_type text)
RETURNS bytea
AS 'MODULE_PATHNAME', 'analytics_ping_state_lock'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

REVOKE ALL ON FUNCTION @extschema@._ping_state_lock(text, uuid, timestamptz, text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._ping_state_store(project_id text, session_id uuid, loaded_at timestamptz, state bytea)
RETURNS void
AS 'MODULE_PATHNAME', 'analytics_ping_state_store'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

REVOKE ALL ON FUNCTION @extschema@._ping_state_store(text, uuid, timestamptz, bytea) FROM PUBLIC;

-- the session states of ingest_pings, as the owner (called by ingest_pings only)
CREATE OR REPLACE FUNCTION @extschema@._ping_states_lock(project_id text[], session_id uuid[], loaded_at timestamptz[],
                                              media_id text[], media_type text[])
RETURNS bytea[]
AS 'MODULE_PATHNAME', 'analytics_ping_states_lock'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

REVOKE ALL ON FUNCTION @extschema@._ping_states_lock(text[], uuid[], timestamptz[], text[], text[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._ping_states_store(project_id text[], "row" tid[], state bytea[])
RETURNS void
AS 'MODULE_PATHNAME', 'analytics_ping_states_store'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

REVOKE ALL ON FUNCTION @extschema@._ping_states_store(text[], tid[], bytea[]) FROM PUBLIC;
