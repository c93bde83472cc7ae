-- set_retention accepts any interval of at least one day, rejects the rest
-- with SQLSTATE 22023 (invalid_parameter_value)
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'ok';
EXCEPTION WHEN others THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

SELECT analytics.retention();
SELECT q, pg_temp.try(q) FROM (VALUES
  ('SELECT analytics.set_retention(NULL)'),
  ('SELECT analytics.set_retention(''0'')'),
  ('SELECT analytics.set_retention(''0 days'')'),
  ('SELECT analytics.set_retention(''-1 day'')'),
  ('SELECT analytics.set_retention(''-3 months'')'),
  ('SELECT analytics.set_retention(''23 hours 59 minutes'')'),
  ('SELECT analytics.set_retention(''1 day -1 second'')'),
  ('SELECT analytics.set_retention(''1 month -40 days'')'),
  ('SELECT analytics.set_retention(''101 years'')'),
  ('SELECT analytics.set_retention(''soon'')')
) t(q);
-- the message names the value and says what is allowed
SELECT analytics.set_retention('12 hours');
SELECT analytics.set_retention(NULL);
-- nothing was stored
SELECT analytics.retention();

SELECT analytics.set_retention('1 day');
SELECT analytics.retention();
SELECT analytics.set_retention('24 hours');
SELECT analytics.retention();
SELECT analytics.set_retention('3 months');
SELECT analytics.retention();
SELECT analytics.set_retention('12 months');
SELECT analytics.retention();
SELECT analytics.set_retention('30 days');
SELECT analytics.retention();
SELECT count(*) AS setting_rows FROM analytics.settings;

-- administrative functions refuse non-administrators (42501, naming the function)
CREATE ROLE analytics_regress_nobody;
GRANT USAGE ON SCHEMA analytics TO analytics_regress_nobody;
SET ROLE analytics_regress_nobody;
SELECT pg_temp.try('SELECT analytics.set_retention(''40 days'')');
SELECT pg_temp.try('SELECT analytics.run_maintenance()');
SELECT pg_temp.try('SELECT analytics.retention()');
RESET ROLE;
REVOKE USAGE ON SCHEMA analytics FROM analytics_regress_nobody;
DROP ROLE analytics_regress_nobody;
