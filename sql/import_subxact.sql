-- analytics.events_import and subtransactions (issue 15, item 5): a row the
-- view accepted is stored exactly when the (sub)transaction that accepted
-- it commits. A subtransaction that aborts while a statement runs (a
-- PL/pgSQL EXCEPTION block in an expression, a trigger, a COPY ... WHERE)
-- drops only the rows written inside it; a statement that fails stores
-- nothing of itself; the batches of 4096 rows change nothing. Rows of the
-- projects imp, imp_t, imp_x and imp_d (no other test uses them), all at
-- 2099-01-01 (the default partition); media_id names the case.
SET TimeZone = 'UTC';
CREATE FUNCTION pg_temp.stored(media text) RETURNS bigint LANGUAGE sql AS
  $$ SELECT count(*) FROM analytics.events WHERE project_id LIKE 'imp%' AND media_id = media $$;
-- 100 / |i - k|, or 0 when i = k: the division by zero is caught by the
-- function's EXCEPTION block, a subtransaction that aborts
CREATE FUNCTION pg_temp.safe_ratio(i int, k int) RETURNS float8 LANGUAGE plpgsql AS $$
BEGIN
  RETURN abs(100.0 / (i - k));
EXCEPTION WHEN division_by_zero THEN
  RETURN 0;
END $$;
-- inserts one row (media, value i) into the view from inside its own
-- EXCEPTION block; with fail, the block then raises and undoes that row
CREATE FUNCTION pg_temp.inner_insert(i int, media text, fail boolean) RETURNS float8 LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
  VALUES ('imp', '2099-01-01 00:00:00+00', 'play', i, media);
  IF fail THEN
    RAISE EXCEPTION 'undo the inner row %', i;
  END IF;
  RETURN i;
EXCEPTION WHEN raise_exception THEN
  RETURN 0;
END $$;
-- the same without an EXCEPTION block: the inner statement runs at the
-- level of the statement that calls it
CREATE FUNCTION pg_temp.inner_insert_same_level(i int, media text) RETURNS float8 LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
  VALUES ('imp', '2099-01-01 00:00:00+00', 'play', i, media);
  RETURN i;
END $$;

-- 1. The issue: 100 rows, the expression of row 50 catches a division by
-- zero. The aborted subtransaction wrote nothing into the view (it only
-- computed a value, 0); all 100 rows are the statement's: INSERT 0 100,
-- 100 stored, one of them with value 0.
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play', pg_temp.safe_ratio(i, 50), 'c1' FROM generate_series(1, 100) i;
SELECT pg_temp.stored('c1') AS stored, count(*) FILTER (WHERE value = 0) AS zero_values
  FROM analytics.events WHERE project_id = 'imp' AND media_id = 'c1';
-- the caught error at the last row (main stored 1 row), at every row
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play', pg_temp.safe_ratio(i, 100), 'c1_last' FROM generate_series(1, 100) i;
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play', pg_temp.safe_ratio(i, i), 'c1_every' FROM generate_series(1, 100) i;
SELECT pg_temp.stored('c1_last') AS c1_last_100, pg_temp.stored('c1_every') AS c1_every_100;

-- 2. Across batches: 10000 rows (two full batches of 4096 and 1808 at the
-- end), caught errors at rows 4096, 4097, 8192 and 10000
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play',
       CASE WHEN i IN (4096, 4097, 8192, 10000) THEN pg_temp.safe_ratio(i, i) ELSE pg_temp.safe_ratio(i, 0) END, 'c2'
  FROM generate_series(1, 10000) i;
SELECT pg_temp.stored('c2') AS c2_10000,
       (SELECT count(*) FROM analytics.events WHERE project_id = 'imp' AND media_id = 'c2' AND value = 0) AS c2_zero_4;

-- 3. A row written into the view inside the subtransaction that aborts:
-- every row's expression inserts a row of its own (c3_inner) in an
-- EXCEPTION block, which raises for every 10th row and so undoes that
-- inner row. The outer statement reports and stores its 100 rows; 90
-- inner rows are stored (the 10 others were rolled back by their block,
-- and no statement ever reported them as written).
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play', pg_temp.inner_insert(i, 'c3_inner', i % 10 = 0), 'c3' FROM generate_series(1, 100) i;
SELECT pg_temp.stored('c3') AS c3_100, pg_temp.stored('c3_inner') AS c3_inner_90,
       (SELECT count(*) FROM analytics.events WHERE project_id = 'imp' AND media_id = 'c3_inner' AND value::int % 10 = 0) AS undone_stored_0;
-- the same over 5000 outer rows (a batch goes in while the inner rows come
-- and go), the inner block failing every 7th row: 5000 and 5000 - 714
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play', pg_temp.inner_insert(i, 'c3b_inner', i % 7 = 0), 'c3b' FROM generate_series(1, 5000) i;
SELECT pg_temp.stored('c3b') AS c3b_5000, pg_temp.stored('c3b_inner') AS c3b_inner_4286;
-- a nested statement at the same level (no EXCEPTION block): 100 and 100
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play', pg_temp.inner_insert_same_level(i, 'c3c_inner'), 'c3c' FROM generate_series(1, 100) i;
SELECT pg_temp.stored('c3c') AS c3c_100, pg_temp.stored('c3c_inner') AS c3c_inner_100;

-- an inner level that fills batches of its own while the outer rows wait:
-- the expressions of rows 5 and 6 insert 5000 rows each in an EXCEPTION
-- block, which raises after row 6's: 10 outer rows, 5000 inner rows
CREATE FUNCTION pg_temp.inner_bulk(i int, fail boolean) RETURNS float8 LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
  SELECT 'imp', '2099-01-01 00:00:00+00', 'play', i, 'c3d_inner' FROM generate_series(1, 5000);
  IF fail THEN
    RAISE EXCEPTION 'undo the inner rows of %', i;
  END IF;
  RETURN i;
EXCEPTION WHEN raise_exception THEN
  RETURN 0;
END $$;
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play', CASE WHEN i IN (5, 6) THEN pg_temp.inner_bulk(i, i = 6) ELSE i END, 'c3d'
  FROM generate_series(1, 10) i;
SELECT pg_temp.stored('c3d') AS c3d_10, pg_temp.stored('c3d_inner') AS c3d_inner_5000,
       (SELECT count(*) FROM analytics.events WHERE project_id = 'imp' AND media_id = 'c3d_inner' AND value = 6) AS undone_stored_0;

-- 4. A statement that fails stores nothing of itself, also after one of
-- its batches went in; the transaction's other statements stay (errors
-- shown by SQLSTATE: the row's partition, named in the message, depends on
-- whether maintenance placed other tests' rows of that day yet)
\set VERBOSITY sqlstate
BEGIN;
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play', 1, 'c4' FROM generate_series(1, 10);
SAVEPOINT s;
-- row 4500 violates events_value_check: the first 4096 rows went in
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play', CASE WHEN i = 4500 THEN -1 ELSE 1 END, 'c4' FROM generate_series(1, 5000) i;
ROLLBACK TO SAVEPOINT s;
-- an uncaught error in the expression of row 5000
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play', 1 / (5000 - i), 'c4' FROM generate_series(1, 5000) i;
ROLLBACK TO SAVEPOINT s;
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play', 1, 'c4' FROM generate_series(1, 20);
COMMIT;
\set VERBOSITY default
SELECT pg_temp.stored('c4') AS c4_30;
-- the failing statement inside a PL/pgSQL block that catches its error
DO $$
BEGIN
  INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
  SELECT 'imp', '2099-01-01 00:00:00+00', 'play', 1, 'c4b' FROM generate_series(1, 3);
  BEGIN
    INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
    SELECT 'imp', '2099-01-01 00:00:00+00', 'play', CASE WHEN i = 5000 THEN -1 ELSE 1 END, 'c4b' FROM generate_series(1, 5000) i;
  EXCEPTION WHEN check_violation THEN
    RAISE NOTICE 'caught: %', SQLSTATE;
  END;
  INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
  SELECT 'imp', '2099-01-01 00:00:00+00', 'play', 1, 'c4b' FROM generate_series(1, 4);
END $$;
SELECT pg_temp.stored('c4b') AS c4b_7;

-- 5. Nested savepoints: sets of 1, 2, 4, 8, 16, 32 and 4100 rows; those
-- of 4, 8 and 32 are rolled back: 1 + 2 + 16 + 4100 = 4119
BEGIN;
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play', 1, 'c5' FROM generate_series(1, 1);
SAVEPOINT a;
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play', 2, 'c5' FROM generate_series(1, 2);
SAVEPOINT b;
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play', 4, 'c5' FROM generate_series(1, 4);
SAVEPOINT c;
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play', 8, 'c5' FROM generate_series(1, 8);
RELEASE SAVEPOINT c;
ROLLBACK TO SAVEPOINT b;
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play', 16, 'c5' FROM generate_series(1, 16);
RELEASE SAVEPOINT a;
SAVEPOINT d;
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play', 32, 'c5' FROM generate_series(1, 32);
ROLLBACK TO SAVEPOINT d;
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play', 4100, 'c5' FROM generate_series(1, 4100);
COMMIT;
SELECT value, count(*) FROM analytics.events WHERE project_id = 'imp' AND media_id = 'c5' GROUP BY 1 ORDER BY 1;

-- 6. Triggers. Rows written into the view by an AFTER row trigger (each a
-- nested statement at the end of the outer one) and by a deferred
-- constraint trigger (at COMMIT): 50 and 30
CREATE TEMP TABLE imp_staging (i int, media text);
CREATE TEMP TABLE imp_staging_deferred (i int, media text);
CREATE FUNCTION pg_temp.stage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
  VALUES ('imp', '2099-01-01 00:00:00+00', 'play', NEW.i, NEW.media);
  RETURN NULL;
END $$;
CREATE TRIGGER stage AFTER INSERT ON imp_staging FOR EACH ROW EXECUTE FUNCTION pg_temp.stage();
CREATE CONSTRAINT TRIGGER stage AFTER INSERT ON imp_staging_deferred
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pg_temp.stage();
INSERT INTO imp_staging SELECT i, 'c6' FROM generate_series(1, 50) i;
BEGIN;
INSERT INTO imp_staging_deferred SELECT i, 'c6_deferred' FROM generate_series(1, 30) i;
SELECT pg_temp.stored('c6_deferred') AS before_commit_0;
COMMIT;
SELECT pg_temp.stored('c6') AS c6_50, pg_temp.stored('c6_deferred') AS c6_deferred_30;
-- another statement trigger on the view that catches an error fires
-- before import_flush (triggers fire in name order): 100 rows
CREATE FUNCTION pg_temp.audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 / 0;
  RETURN NULL;
EXCEPTION WHEN division_by_zero THEN
  RETURN NULL;
END $$;
CREATE TRIGGER a_audit AFTER INSERT ON analytics.events_import FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.audit();
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play', 1, 'c6_audit' FROM generate_series(1, 100);
DROP TRIGGER a_audit ON analytics.events_import;
SELECT pg_temp.stored('c6_audit') AS c6_audit_100;

-- 7. COPY: a WHERE clause that catches an error (row 3): COPY 5, 5 stored
COPY analytics.events_import (project_id, emitted_at, event_type, value, media_id) FROM STDIN
  WHERE pg_temp.safe_ratio(value::int, 3) >= 0;
imp	2099-01-01 00:00:00+00	play	1	c7
imp	2099-01-01 00:00:00+00	play	2	c7
imp	2099-01-01 00:00:00+00	play	3	c7
imp	2099-01-01 00:00:00+00	play	4	c7
imp	2099-01-01 00:00:00+00	play	5	c7
\.
-- a WHERE clause writing into the view in a block that fails for even
-- rows: COPY 6; 6 rows and 3 inner rows stored
COPY analytics.events_import (project_id, emitted_at, event_type, value, media_id) FROM STDIN
  WHERE pg_temp.inner_insert(value::int, 'c7_inner', value::int % 2 = 0) >= 0;
imp	2099-01-01 00:00:00+00	play	1	c7b
imp	2099-01-01 00:00:00+00	play	2	c7b
imp	2099-01-01 00:00:00+00	play	3	c7b
imp	2099-01-01 00:00:00+00	play	4	c7b
imp	2099-01-01 00:00:00+00	play	5	c7b
imp	2099-01-01 00:00:00+00	play	6	c7b
\.
SELECT pg_temp.stored('c7') AS c7_5, pg_temp.stored('c7b') AS c7b_6, pg_temp.stored('c7_inner') AS c7_inner_3;
-- a COPY that fails on its third row, and a COPY rolled back to a
-- savepoint, store nothing; the COPY between them stores its 2 rows
\set VERBOSITY terse
BEGIN;
SAVEPOINT s;
COPY analytics.events_import (project_id, emitted_at, event_type, value, media_id) FROM STDIN;
imp	2099-01-01 00:00:00+00	play	1	c7c
imp	2099-01-01 00:00:00+00	play	1	c7c
imp	2099-01-01 00:00:00+00	no_such_type	1	c7c
\.
ROLLBACK TO SAVEPOINT s;
COPY analytics.events_import (project_id, emitted_at, event_type, value, media_id) FROM STDIN;
imp	2099-01-01 00:00:00+00	play	1	c7c
imp	2099-01-01 00:00:00+00	play	1	c7c
\.
SAVEPOINT t;
COPY analytics.events_import (project_id, emitted_at, event_type, value, media_id) FROM STDIN;
imp	2099-01-01 00:00:00+00	play	1	c7c
\.
ROLLBACK TO SAVEPOINT t;
COMMIT;
\set VERBOSITY default
SELECT pg_temp.stored('c7c') AS c7c_2;

-- 8. Rights: a row goes into analytics.events with the rights of the role
-- that wrote it into the view, whoever's statement flushes it. A tenant
-- (project imp_t) calls a SECURITY DEFINER function of the superuser that
-- writes into the view (project imp_d) in every row's expression. Its own
-- rows: all stored; rows of a project it lacks (imp_x) fail the statement
-- with the policy's error, instead of being written with the superuser's
-- rights by the nested statement that ends next.
CREATE ROLE regress_imp_t;
SELECT analytics.grant_project('regress_imp_t', 'imp_t');
CREATE FUNCTION pg_temp.definer_insert(i int) RETURNS float8 LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
  VALUES ('imp_d', '2099-01-01 00:00:00+00', 'play', i, 'c8_definer');
  RETURN i;
END $$;
SET ROLE regress_imp_t;
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp_t', '2099-01-01 00:00:00+00', 'play', pg_temp.definer_insert(i), 'c8' FROM generate_series(1, 5) i;
\set VERBOSITY terse
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT CASE WHEN i < 3 THEN 'imp_x' ELSE 'imp_t' END, '2099-01-01 00:00:00+00', 'play', pg_temp.definer_insert(i), 'c8_x'
  FROM generate_series(1, 3) i;
\set VERBOSITY default
RESET ROLE;
SELECT pg_temp.stored('c8') AS c8_5, pg_temp.stored('c8_definer') AS c8_definer_5, pg_temp.stored('c8_x') AS c8_x_0;

-- 9. Rows the view accepted whose statement trigger did not run (a
-- superuser turning session_replication_role to replica in the middle of
-- the statement: PostgreSQL then fires neither the triggers of the next
-- rows nor the statement trigger) make the COMMIT fail instead of
-- vanishing: 2 rows accepted, 0 stored, the commit refused
\set VERBOSITY terse
BEGIN;
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, value, media_id)
SELECT 'imp', '2099-01-01 00:00:00+00', 'play',
       CASE WHEN i = 3 THEN length(set_config('session_replication_role', 'replica', true)) ELSE 1 END, 'c9'
  FROM generate_series(1, 3) i;
COMMIT;
\set VERBOSITY default
SHOW session_replication_role;
SELECT pg_temp.stored('c9') AS c9_0;

-- the whole picture, by case and project
SELECT project_id, media_id, count(*) FROM analytics.events WHERE project_id LIKE 'imp%' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT analytics.revoke_project('regress_imp_t', 'imp_t');
DROP ROLE regress_imp_t;
DELETE FROM analytics.events WHERE project_id LIKE 'imp%';
