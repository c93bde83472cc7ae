-- analytics 0.5 -> 0.6: hardening against hostile tenants, anonymous players
-- and routine operations (see the README: Tenancy, Ingesting, Retention and
-- maintenance, Operations).

\echo Use "ALTER EXTENSION analytics UPDATE TO '0.6'" to load this file. \quit

-- Each section below belongs to one concern; keep additions inside it.

-- @@ tenancy: every partition secured, policies the planner can index @@



-- @@ maintenance: the accepted range of emitted_at, fault isolation, short drops @@



-- @@ ingest: events_import, bounded pings, tolerant headers @@



-- @@ concurrent viewers in one sweep; a bound on one call's work @@



-- @@ dump and restore @@



-- @@ search_path: every function of the extension pinned (keep this section last) @@

