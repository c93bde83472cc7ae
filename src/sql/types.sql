-- analytics: types (the first file of the install script)

--
-- Closed sets. Stored as enums (4 bytes, ordered by declaration); read and
-- written as text. An unknown value is rejected by the enum input function:
--   invalid input value for enum analytics.event_type: "foo"
--
CREATE TYPE @extschema@.event_type AS ENUM
    ('impression', 'play', 'start', 'end', 'resume', 'pause', 'seek', 'watch', 'view', 'error');
CREATE TYPE @extschema@.media_type AS ENUM ('video', 'live-stream');
CREATE TYPE @extschema@.device_type AS ENUM
    ('computer', 'phone', 'tablet', 'tv', 'console', 'wearable', 'unknown');
CREATE TYPE @extschema@.continent AS ENUM ('AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA');

-- which rollup rows and raw events make up a period: per level, the ranges
-- read as they are and the ranges taken out again (blocks that stick out
-- of the period, minus their parts outside it); built by _rollup_cover (C,
-- src/cover.c), passed to the queries as $20..$43 in this order
CREATE TYPE @extschema@._cover AS (
    raw_from timestamptz[], raw_to timestamptz[], raw_neg_from timestamptz[], raw_neg_to timestamptz[],
    fine_from timestamptz[], fine_to timestamptz[], fine_neg_from timestamptz[], fine_neg_to timestamptz[],
    hour_from timestamptz[], hour_to timestamptz[], hour_neg_from timestamptz[], hour_neg_to timestamptz[],
    day_from timestamptz[], day_to timestamptz[], day_neg_from timestamptz[], day_neg_to timestamptz[],
    week_from timestamptz[], week_to timestamptz[], week_neg_from timestamptz[], week_neg_to timestamptz[],
    w4_from timestamptz[], w4_to timestamptz[], w4_neg_from timestamptz[], w4_neg_to timestamptz[]
);

-- the answer of analytics.project_request (a named type, not OUT
-- parameters: with a NULL argument the planner folds the STRICT call away,
-- which it does not for a function returning record; README "Scaling out")
CREATE TYPE @extschema@.api_answer AS (status integer, body jsonb);
