# analytics: PostgreSQL extension (PGXS)
EXTENSION    = analytics
MODULE_big   = analytics
OBJS         = src/analytics.o src/maintenance.o src/worker.o \
               src/stats.o src/ccv.o src/timebucket.o src/uri.o src/api.o \
               src/ping.o src/continent.o src/ingest.o src/iso8601.o src/useragent.o src/ua_yaml.o src/ua_prefilter.o src/enrich.o src/siphash.o \
               src/geoip.o src/rollup.o src/citus.o src/tenancy.o src/import.o src/brinskip.o src/cover.o src/plan.o \
               src/keptquery.o src/callbound.o src/catalog.o src/query.o src/rest.o \
               src/ccvrollup.o src/catalogsql.o src/viewers.o src/valuesums.o src/refresh.o src/refreshpar.o src/refreshdelta.o
# SQL: the install script of EXTVERSION and the upgrade scripts to it are
# generated from the per-concern sources (src/sql/README.md); the released
# scripts of earlier versions are installed as they are
EXTVERSION   = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" analytics.control)
SQL_SOURCES  = $(addprefix src/sql/,types.sql storage.sql schema.sql stats.sql ccv.sql timebucket.sql \
               citus.sql tenancy.sql maintenance.sql rollups.sql ingest.sql restore.sql query.sql api.sql pin.sql)
SQL_UPDATES  = $(wildcard src/sql/updates/*--*.sql)
DATA         = $(wildcard src/sql/released/analytics--*.sql)
DATA_built   = build/sql/analytics--$(EXTVERSION).sql \
               $(patsubst src/sql/updates/%.sql,build/sql/analytics--%.sql,$(SQL_UPDATES))
EXTRA_CLEAN  = build/sql
SHLIB_LINK  += -lmaxminddb

REGRESS      = setup timebucket stats ccv events lifecycle retention api_plan ingest ingest_batch enrich geoip ping_bounds worker maintenance_faults \
               api_data api_metric api_breakdown api_timeseries api_json api_errors ccv_sweep \
               rollup_equivalence refresh_incremental cube refcube unique_viewers refresh_workers series_5min rollup_cover kept_query brin_insert dump_layout tenancy import_subxact partition_security tenant_explain \
               hostile_input search_path
REGRESS_OPTS = --inputdir=.
# isolation specs live in test/specs, their expected output in expected/
ISOLATION      = maintenance_concurrency ingest_during_maintenance ingest_concurrency ingest_batch_concurrency rollup_concurrency \
                 retention_drop_concurrency
ISOLATION_OPTS = --inputdir=test --outputdir=.

SHLIB_LINK += -lpcre2-8

PG_CONFIG ?= pg_config
PG_CFLAGS += -Wall -Wextra -Werror -Wno-unused-parameter  # PostgreSQL's own headers have unused parameters
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# no generated dependency files: every object is rebuilt when any header
# of src/ changes (a struct shared by two files must never differ between them)
$(OBJS): $(wildcard src/*.h)

# --- generated SQL scripts (src/sql/assemble.pl) ---------------------------

build/sql/analytics--$(EXTVERSION).sql: src/sql/assemble.pl $(SQL_SOURCES)
	@mkdir -p build/sql
	perl src/sql/assemble.pl install $(EXTVERSION) $(SQL_SOURCES) >$@.tmp && mv $@.tmp $@

build/sql/analytics--%.sql: src/sql/updates/%.sql src/sql/assemble.pl $(SQL_SOURCES)
	@mkdir -p build/sql
	perl src/sql/assemble.pl update $(subst --, ,$*) $< $(SQL_SOURCES) >$@.tmp && mv $@.tmp $@

# --- project commands ------------------------------------------------------

.PHONY: test demo gen unit deps

# install what is missing, build, install, start a private cluster, run every test
test:
	./test/run_tests.sh

# install what is missing, build, install, start a throwaway cluster, load a sample, print answers
demo:
	./test/demo.sh

deps:
	./test/deps.sh

gen: test/gen

test/gen: test/gen.c
	$(CC) -O2 -std=c99 -Wall -Wextra -Werror -o $@ $< -lm

# plain-C unit tests: test/unit/test_X.c tests src/X.c, no PostgreSQL needed
test/unit/test_%: test/unit/test_%.c src/%.c src/%.h src/parseutil.h
	$(CC) -std=c99 -O1 -g -Wall -Wextra -Werror -Isrc -o $@ $(filter %.c,$^) -lm -lpcre2-8

# the user-agent parser is several files (useragent.h is its API)
UA_SRCS = src/useragent.c src/ua_yaml.c src/ua_prefilter.c
UA_HDRS = src/useragent.h src/ua_internal.h src/parseutil.h
test/unit/test_useragent: test/unit/test_useragent.c $(UA_SRCS) $(UA_HDRS)
	$(CC) -std=c99 -O1 -g -Wall -Wextra -Werror -Isrc -o $@ $(filter %.c,$^) -lm -lpcre2-8

# the uap-core corpus run (browser families must match >= 99%)
test/ua_corpus: test/ua_corpus.c $(UA_SRCS) $(UA_HDRS)
	$(CC) -std=c99 -O2 -Wall -Wextra -Werror -Isrc -o $@ $(filter %.c,$^) -lpcre2-8

# the Debian package, built from a clean copy of the tree outside the repository (test/deb.sh)
# the extension distributed on Citus: a coordinator, two workers and a single
# node compared (test/citus_test.sh); needs Citus built by test/citus_build.sh
.PHONY: test-citus
test-citus:
	./test/citus_test.sh

.PHONY: deb deb-test
deb:
	./test/deb.sh

# install the built package into a fresh root and cluster, CREATE EXTENSION, a smoke query
deb-test:
	./test/deb_test.sh
