-- analytics 0.1 -> 0.2
-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION analytics UPDATE TO '0.2'" to load this file. \quit

-- 0.1 has landed: everything new in the schema goes here (CREATE EXTENSION
-- runs analytics--0.1.sql, then this script).

-- @@ rollups @@ (issue 6: derived data; src/rollup.c)

-- @@ tenancy @@ (issue 7: grants, row-level security, SECURITY DEFINER)
