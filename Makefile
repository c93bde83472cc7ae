# analytics: PostgreSQL extension (PGXS)
EXTENSION    = analytics
MODULE_big   = analytics
OBJS         = src/analytics.o src/maintenance.o src/worker.o \
               src/stats.o src/ccv.o src/timebucket.o src/uri.o src/api.o \
               src/ping.o src/continent.o src/ingest.o src/useragent.o src/enrich.o src/siphash.o \
               src/geoip.o src/rollup.o src/tenancy.o src/brinskip.o src/cover.o src/plan.o \
               src/keptquery.o src/callbound.o src/rest.o
DATA         = $(wildcard src/sql/analytics--*.sql)
SHLIB_LINK  += -lmaxminddb

REGRESS      = setup timebucket stats ccv events lifecycle retention api_plan ingest enrich geoip ping_bounds worker maintenance_faults \
               api_data api_metric api_breakdown api_timeseries api_json api_errors ccv_sweep \
               rollup_equivalence rollup_cover kept_query brin_insert dump_layout tenancy import_subxact partition_security tenant_explain \
               hostile_input search_path
REGRESS_OPTS = --inputdir=.
# isolation specs live in test/specs, their expected output in expected/
ISOLATION      = maintenance_concurrency ingest_during_maintenance ingest_concurrency rollup_concurrency \
                 retention_drop_concurrency
ISOLATION_OPTS = --inputdir=test --outputdir=.

SHLIB_LINK += -lpcre2-8

PG_CONFIG ?= pg_config
PG_CFLAGS += -Wall -Wextra -Werror -Wno-unused-parameter  # PostgreSQL's own headers have unused parameters
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

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
test/unit/test_%: test/unit/test_%.c src/%.c src/%.h
	$(CC) -std=c99 -O1 -g -Wall -Wextra -Werror -Isrc -o $@ $(filter %.c,$^) -lm -lpcre2-8

# the uap-core corpus run (browser families must match >= 99%)
test/ua_corpus: test/ua_corpus.c src/useragent.c src/useragent.h
	$(CC) -std=c99 -O2 -Wall -Wextra -Werror -Isrc -o $@ test/ua_corpus.c src/useragent.c -lpcre2-8
