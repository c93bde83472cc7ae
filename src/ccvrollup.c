/*-------------------------------------------------------------------------
 * ccvrollup.c
 *		Concurrent viewers of one project (all media, or one live stream)
 *		from the per-minute rows of rollup_ccv (README: "Derived data:
 *		rollups"), for analytics.metric and analytics.timeseries (query.c).
 *
 * Every whole minute of a refreshed hour comes from its row (peak: max,
 * watcher-seconds: sum); the rest (partial minutes at the ends, hours whose
 * watch events changed, a media id that is not a live stream) from raw
 * events, one ccv (or _ccv_series) sweep per raw piece. The statements are
 * fixed fragments with $n parameters, run through the kept statements of
 * keptquery.c (planned for their values). The caller is connected to SPI.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/timestamp.h"

#include "analytics.h"
#include "catalog.h"
#include "ccvrollup.h"
#include "timebucket.h"

#define MINUTE	CAT_USECS_PER_MINUTE
#define HOUR	CAT_USECS_PER_HOUR

/* a raw piece [lo, hi) */
typedef struct CcvPiece
{
	TimestampTz lo;
	TimestampTz hi;
} CcvPiece;

/* what both questions share: the whole minutes, the pending hours, the raw pieces */
typedef struct CcvPlan
{
	TimestampTz ms;				/* [ms, me): whole minutes read from the rows */
	TimestampTz me;
	TimestampTz *pend;			/* pending hours */
	int			npend;
	Datum	   *stale;			/* hours whose rows are not read */
	int			nstale;
	CcvPiece   *pieces;			/* raw pieces, merged, in order */
	int			npieces;
} CcvPlan;

/* date_bin(stride, ts, origin of minutes and hours), as SQL computes it */
static TimestampTz
bin(int64 stride, TimestampTz ts)
{
	Interval	iv;

	iv.time = stride;
	iv.day = 0;
	iv.month = 0;
	return DatumGetTimestampTz(DirectFunctionCall3(timestamptz_bin, IntervalPGetDatum(&iv),
												   TimestampTzGetDatum(ts), TimestampTzGetDatum(0)));
}

static int
piece_cmp(const void *a, const void *b)
{
	TimestampTz x = ((const CcvPiece *) a)->lo;
	TimestampTz y = ((const CcvPiece *) b)->lo;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * The first row of a kept statement (NULL: none): through one plan made
 * once (the statements are about one project: a few rows each, and the
 * partitions of a raw piece are pruned when the executor starts, from the
 * parameters); distributed (Citus), planned for its values, where Citus
 * tells the worker of the project from them.
 */
static HeapTuple
kept_row(const char *sql, int n, const Oid *types, const Datum *values, const bool *nulls)
{
	if (analytics_kept_run(sql, n, types, values, nulls, !analytics_citus_distributed(), NULL) == 0)
		return NULL;
	return SPI_tuptable->vals[0];
}

static Datum
kept_value(const char *sql, int n, const Oid *types, const Datum *values, const bool *nulls, bool *isnull)
{
	HeapTuple	row = kept_row(sql, n, types, values, nulls);

	if (row == NULL)
	{
		*isnull = true;
		return (Datum) 0;
	}
	return SPI_getbinval(row, SPI_tuptable->tupdesc, 1, isnull);
}

static void
ccv_plan(const char *S, const char *project, const char *media, TimestampTz pf, TimestampTz pt, CcvPlan *p)
{
	Oid			types[3] = {TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID};
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	bool		isnull;
	Datum		d;
	int			i;
	int			j;
	int			n;

	p->ms = bin(MINUTE, pf);
	p->me = bin(MINUTE, pt);
	if (p->ms < pf)
		p->ms += MINUTE;
	if (p->ms >= p->me)
		p->ms = p->me = pt;		/* no whole minute: all raw */

	/* the pending hours; an hour's watch events also cover the hour before */
	values[0] = TimestampTzGetDatum(bin(HOUR, pf));
	values[1] = TimestampTzGetDatum(pt + HOUR);
	p->npend = 0;
	p->pend = NULL;
	if (!analytics_citus_distributed())
	{
		/* the marks, and this transaction's hours: _pending_hours without its call */
		d = kept_value(psprintf("SELECT pg_catalog.array_agg(x.hour) FROM %s.rollup_pending x"
								" WHERE x.hour >= $1 AND x.hour <= $2", S), 2, types, values, nulls, &isnull);
		p->pend = analytics_pending_hours(d, isnull, DatumGetTimestampTz(values[0]), DatumGetTimestampTz(values[1]),
										  &p->npend);
	}
	else
		d = kept_value(psprintf("SELECT %s._pending_hours($1, $2)", S), 2, types, values, nulls, &isnull);
	if (p->pend == NULL && !isnull)
	{
		Datum	   *elems;
		bool	   *enulls;

		deconstruct_array(DatumGetArrayTypeP(d), TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &elems, &enulls, &n);
		p->pend = palloc(sizeof(TimestampTz) * (n + 1));
		for (i = 0; i < n; i++)
			if (!enulls[i])
				p->pend[p->npend++] = DatumGetTimestampTz(elems[i]);
	}
	p->stale = palloc(sizeof(Datum) * (2 * p->npend + 1));
	p->nstale = 0;
	for (i = 0; i < 2 * p->npend; i++)
	{
		TimestampTz h = p->pend[i / 2] - (i % 2 ? HOUR : 0);

		for (j = 0; j < p->nstale && DatumGetTimestampTz(p->stale[j]) != h; j++)
			;
		if (j == p->nstale)
			p->stale[p->nstale++] = TimestampTzGetDatum(h);
	}

	/*
	 * one media: only live streams have rows (a media id that was ever a
	 * video, or is not rolled up yet, reads raw events); every refreshed hour
	 * is in a week row, so the week rows answer that with an index lookup
	 */
	if (media != NULL && p->ms < p->me)
	{
		Oid			wtypes[3] = {TEXTOID, INT2OID, TEXTOID};

		values[0] = CStringGetTextDatum(project);
		values[1] = Int16GetDatum(CAT_DIM_MEDIA);
		values[2] = CStringGetTextDatum(media);
		d = kept_value(psprintf("SELECT pg_catalog.bool_and(r.media_type = 'live-stream') FROM %s.rollup_week r"
								" WHERE r.project_id = $1 AND r.dim = $2 AND r.value = $3", S),
					   3, wtypes, values, nulls, &isnull);
		if (isnull || !DatumGetBool(d))
			p->ms = p->me = pt;
	}

	/* the raw pieces: the ends, and the stale hours' minutes, merged */
	p->pieces = palloc(sizeof(CcvPiece) * (p->nstale + 2));
	n = 0;
	if (pf < p->ms)
	{
		p->pieces[n].lo = pf;
		p->pieces[n++].hi = p->ms;
	}
	if (p->me < pt)
	{
		p->pieces[n].lo = p->me;
		p->pieces[n++].hi = pt;
	}
	for (i = 0; i < p->nstale; i++)
	{
		TimestampTz h = DatumGetTimestampTz(p->stale[i]);

		if (h + HOUR > p->ms && h < p->me)
		{
			p->pieces[n].lo = Max(h, p->ms);
			p->pieces[n++].hi = Min(h + HOUR, p->me);
		}
	}
	for (i = j = 0; i < n; i++)
		if (p->pieces[i].lo < p->pieces[i].hi)
			p->pieces[j++] = p->pieces[i];
	n = j;
	qsort(p->pieces, n, sizeof(CcvPiece), piece_cmp);
	p->npieces = 0;
	for (i = 0; i < n; i++)
	{
		if (p->npieces > 0 && p->pieces[i].lo <= p->pieces[p->npieces - 1].hi)
			p->pieces[p->npieces - 1].hi = Max(p->pieces[p->npieces - 1].hi, p->pieces[i].hi);
		else
			p->pieces[p->npieces++] = p->pieces[i];
	}
}

/*
 * How far past a raw piece a watch event covering it can be emitted: an
 * hour when a pending hour is near, else the longest watch event of the
 * hours around (plus a microsecond). An interval datum.
 */
static Datum
piece_look(const char *S, const char *project, const CcvPlan *p, const CcvPiece *piece)
{
	static Interval one_hour = {HOUR, 0, 0};
	TimestampTz hb = bin(HOUR, piece->lo);
	Oid			types[3] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	bool		isnull;
	Datum		d;
	int			i;

	for (i = 0; i < p->npend; i++)
		if (p->pend[i] >= hb && p->pend[i] <= piece->hi + HOUR)
			return IntervalPGetDatum(&one_hour);
	values[0] = CStringGetTextDatum(project);
	values[1] = TimestampTzGetDatum(hb);
	values[2] = TimestampTzGetDatum(piece->hi + HOUR);
	d = kept_value(psprintf("SELECT coalesce(pg_catalog.max(w.max_value), 0) * interval '1 second'"
							" + interval '1 microsecond' FROM %s.rollup_watch_max w"
							" WHERE w.project_id = $1 AND w.hour >= $2 AND w.hour <= $3", S),
				   3, types, values, nulls, &isnull);
	if (isnull)
		elog(ERROR, "analytics: no look-ahead of a ccv piece");
	return PointerGetDatum(DatumGetIntervalP(datumCopy(d, false, sizeof(Interval))));
}

/* the raw statement of a piece: ccv (series: _ccv_series, bounds $5) */
static char *
raw_sql(const char *S, bool series, bool unique_viewers, bool media)
{
	return psprintf("SELECT %s.%s(%s, e.emitted_at, %s, %s) FROM %s.events e"
					" WHERE e.event_type = 'watch' AND e.value > 0 AND e.emitted_at > $1"
					" AND e.emitted_at < $2 + $3 AND e.emitted_at - e.value * interval '1 second' < $2"
					" AND e.project_id = $4%s",
					S, series ? "_ccv_series" : "ccv",
					unique_viewers ? "CASE WHEN e.viewer_id IS NULL THEN e.emitted_at ELSE e.emitted_at - e.value * interval '1 second' END"
					: "e.emitted_at - e.value * interval '1 second'",
					unique_viewers ? "e.viewer_id" : "e.session_id",
					series ? "$5" : "$1, $2", S,
					media ? (series ? " AND e.media_id = $6" : " AND e.media_id = $5") : "");
}

/* the statement of the rows: max of the peaks, sum of the watcher-seconds */
static char *
rows_sql(const char *S, bool series, bool unique_viewers, bool media)
{
	const char *pk = unique_viewers ? "c.peak_viewers" : "c.peak_sessions";
	const char *sc = unique_viewers ? "c.secs_viewers" : "c.secs_sessions";

	if (!series)
		return psprintf("SELECT pg_catalog.max(%s)::double precision, pg_catalog.sum(%s) FROM %s.rollup_ccv c"
						" WHERE c.project_id = $1 AND %s AND c.minute >= $2 AND c.minute < $3"
						" AND pg_catalog.date_bin('1 hour', c.minute, '%s') <> ALL ($4)",
						pk, sc, S, media ? "c.media_id = $5" : "c.media_id IS NULL", CAT_ORIGIN_TEXT);
	return psprintf("SELECT %s.time_bucket($1, c.minute, $2), pg_catalog.max(%s)::double precision, pg_catalog.sum(%s)"
					" FROM %s.rollup_ccv c"
					" WHERE c.project_id = $3 AND %s AND c.minute >= $4 AND c.minute < $5"
					" AND pg_catalog.date_bin('1 hour', c.minute, '%s') <> ALL ($6) GROUP BY 1",
					S, pk, sc, S, media ? "c.media_id = $7" : "c.media_id IS NULL", CAT_ORIGIN_TEXT);
}

static Datum
stale_array(const CcvPlan *p)
{
	return PointerGetDatum(construct_array(p->stale, p->nstale, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* seconds of [lo, hi), as extract(epoch FROM hi - lo)::double precision */
static double
span_secs(TimestampTz lo, TimestampTz hi)
{
	return (double) (hi - lo) / 1000000.0;
}

/*
 * The ccv of [pf, pt) of a project (media: one live stream, or NULL):
 * result[0] the peak, result[1] the average.
 */
void
analytics_ccv_from_rollups(const char *S, const char *project, const char *media, bool unique_viewers,
						   TimestampTz pf, TimestampTz pt, double result[2])
{
	CcvPlan		p;
	double		peak = 0;
	double		secs = 0;
	Oid			types[5] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZARRAYOID, TEXTOID};
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	char	   *sql;
	int			i;

	ccv_plan(S, project, media, pf, pt, &p);
	if (p.ms < p.me)
	{
		HeapTuple	row;
		bool		isnull;
		Datum		d;

		values[0] = CStringGetTextDatum(project);
		values[1] = TimestampTzGetDatum(p.ms);
		values[2] = TimestampTzGetDatum(p.me);
		values[3] = stale_array(&p);
		values[4] = media ? CStringGetTextDatum(media) : (Datum) 0;
		row = kept_row(rows_sql(S, false, unique_viewers, media != NULL), media ? 5 : 4, types, values, nulls);
		if (row != NULL)
		{
			d = SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull);
			peak = Max(peak, isnull ? 0 : DatumGetFloat8(d));
			d = SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull);
			secs = secs + (isnull ? 0 : DatumGetFloat8(d));
		}
	}
	sql = raw_sql(S, false, unique_viewers, media != NULL);
	for (i = 0; i < p.npieces; i++)
	{
		Oid			rtypes[5] = {TIMESTAMPTZOID, TIMESTAMPTZOID, INTERVALOID, TEXTOID, TEXTOID};
		Datum		look = piece_look(S, project, &p, &p.pieces[i]);
		bool		isnull;
		Datum		d;

		values[0] = TimestampTzGetDatum(p.pieces[i].lo);
		values[1] = TimestampTzGetDatum(p.pieces[i].hi);
		values[2] = look;
		values[3] = CStringGetTextDatum(project);
		values[4] = media ? CStringGetTextDatum(media) : (Datum) 0;
		d = kept_value(sql, media ? 5 : 4, rtypes, values, nulls, &isnull);
		if (!isnull)
		{
			ArrayType  *r = DatumGetArrayTypeP(d);
			Datum	   *elems;
			bool	   *enulls;
			int			n;

			deconstruct_array(r, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &enulls, &n);
			peak = Max(peak, n >= 1 && !enulls[0] ? DatumGetFloat8(elems[0]) : 0);
			secs = secs + (n >= 2 && !enulls[1] ? DatumGetFloat8(elems[1]) : 0) * span_secs(p.pieces[i].lo, p.pieces[i].hi);
		}
	}
	result[0] = peak;
	result[1] = secs / span_secs(pf, pt);
}

/* per bucket: the rows' and the raw pieces' peak and watcher-seconds */
typedef struct CcvBucket
{
	TimestampTz start;
	TimestampTz from;			/* the bucket clipped to the period */
	TimestampTz to;
	bool		has_ro;
	double		ro_pk;
	double		ro_sc;
	bool		has_ra_pk;
	bool		has_ra_sc;
	double		ra_pk;
	double		ra_sc;
} CcvBucket;

static CcvBucket *
find_bucket(CcvBucket *b, int n, TimestampTz start)
{
	int			lo = 0;
	int			hi = n - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (b[mid].start == start)
			return &b[mid];
		if (b[mid].start < start)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/*
 * The ccv series of [pf, pt) of a project (media: one live stream, or
 * NULL) in the buckets of time_buckets(bucket, pf, pt, time_zone): *starts
 * the bucket starts (timestamptz[]), *values the peaks or (average) the
 * averages (double precision[]). Empty arrays when a bucket bound inside
 * the period is not a whole UTC minute (the caller then sweeps raw events).
 */
void
analytics_ccv_series_from_rollups(const char *S, const char *project, const char *media, bool unique_viewers,
								  TimestampTz pf, TimestampTz pt, const char *bucket, const char *time_zone,
								  bool average, Datum *starts, Datum *values_out)
{
	CcvPlan		p;
	CcvBucket  *b;
	int			nb;
	Oid			types[7] = {TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZARRAYOID, TEXTOID};
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};
	int			bucket_code = analytics_parse_bucket(bucket);
	pg_tz	   *tz = analytics_parse_time_zone(time_zone);
	Datum	   *sd;
	Datum	   *vd;
	char	   *sql;
	uint64		k;
	int			i;

	/* the buckets, and their bounds clipped to the period */
	{
		Oid			btypes[4] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID};

		values[0] = CStringGetTextDatum(bucket);
		values[1] = TimestampTzGetDatum(pf);
		values[2] = TimestampTzGetDatum(pt);
		values[3] = CStringGetTextDatum(time_zone);
		nb = (int) analytics_kept_run(psprintf("SELECT x.bucket_start, greatest(x.bucket_start, $2),"
											   " least(x.bucket_end, $3) FROM %s.time_buckets($1, $2, $3, $4) x"
											   " ORDER BY x.bucket_start", S),
									  4, btypes, values, nulls, false, NULL);
		b = palloc0(sizeof(CcvBucket) * (nb + 1));
		for (k = 0; k < (uint64) nb; k++)
		{
			bool		isnull;

			b[k].start = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 1, &isnull));
			b[k].from = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 2, &isnull));
			b[k].to = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 3, &isnull));
		}
	}
	for (i = 0; i < nb; i++)
		if (b[i].from > pf && bin(MINUTE, b[i].from) != b[i].from)
		{
			*starts = PointerGetDatum(construct_empty_array(TIMESTAMPTZOID));
			*values_out = PointerGetDatum(construct_empty_array(FLOAT8OID));
			return;
		}

	ccv_plan(S, project, media, pf, pt, &p);

	/*
	 * raw pieces, cut at the bucket bounds inside them: each cell lies in one
	 * bucket
	 */
	sql = raw_sql(S, true, unique_viewers, media != NULL);
	for (i = 0; i < p.npieces; i++)
	{
		Oid			rtypes[6] = {TIMESTAMPTZOID, TIMESTAMPTZOID, INTERVALOID, TEXTOID, TIMESTAMPTZARRAYOID, TEXTOID};
		CcvPiece   *pc = &p.pieces[i];
		Datum		look = piece_look(S, project, &p, pc);
		Datum	   *bounds = palloc(sizeof(Datum) * (nb + 2));
		int			nbounds = 0;
		bool		isnull;
		Datum		d;
		int			j;

		bounds[nbounds++] = TimestampTzGetDatum(pc->lo);
		for (j = 0; j < nb; j++)
			if (b[j].from > pc->lo && b[j].from < pc->hi)
				bounds[nbounds++] = TimestampTzGetDatum(b[j].from);
		bounds[nbounds++] = TimestampTzGetDatum(pc->hi);
		values[0] = TimestampTzGetDatum(pc->lo);
		values[1] = TimestampTzGetDatum(pc->hi);
		values[2] = look;
		values[3] = CStringGetTextDatum(project);
		values[4] = PointerGetDatum(construct_array(bounds, nbounds, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[5] = media ? CStringGetTextDatum(media) : (Datum) 0;
		d = kept_value(sql, media ? 6 : 5, rtypes, values, nulls, &isnull);
		if (!isnull)
		{
			Datum	   *elems;
			bool	   *enulls;
			int			n;
			int			c;

			deconstruct_array(DatumGetArrayTypeP(d), FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &enulls, &n);
			for (c = 0; c < nbounds - 1; c++)
			{
				TimestampTz cs = DatumGetTimestampTz(bounds[c]);
				CcvBucket  *bk = find_bucket(b, nb, analytics_bucket_start(bucket_code, cs, tz));

				if (bk == NULL)
					continue;
				if (2 * c < n && !enulls[2 * c])
				{
					double		v = DatumGetFloat8(elems[2 * c]);

					bk->ra_pk = bk->has_ra_pk ? Max(bk->ra_pk, v) : v;
					bk->has_ra_pk = true;
				}
				if (2 * c + 1 < n && !enulls[2 * c + 1])
				{
					double		v = DatumGetFloat8(elems[2 * c + 1]) * span_secs(cs, DatumGetTimestampTz(bounds[c + 1]));

					bk->ra_sc = bk->has_ra_sc ? bk->ra_sc + v : v;
					bk->has_ra_sc = true;
				}
			}
		}
	}

	/* whole minutes of refreshed hours, per bucket */
	if (p.ms < p.me)
	{
		values[0] = CStringGetTextDatum(bucket);
		values[1] = CStringGetTextDatum(time_zone);
		values[2] = CStringGetTextDatum(project);
		values[3] = TimestampTzGetDatum(p.ms);
		values[4] = TimestampTzGetDatum(p.me);
		values[5] = stale_array(&p);
		values[6] = media ? CStringGetTextDatum(media) : (Datum) 0;
		analytics_kept_run(rows_sql(S, true, unique_viewers, media != NULL), media ? 7 : 6, types, values, nulls,
						   false, NULL);
		for (k = 0; k < SPI_processed; k++)
		{
			HeapTuple	row = SPI_tuptable->vals[k];
			bool		isnull;
			Datum		d = SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull);
			CcvBucket  *bk = isnull ? NULL : find_bucket(b, nb, DatumGetTimestampTz(d));

			if (bk == NULL)
				continue;
			bk->has_ro = true;
			d = SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull);
			bk->ro_pk = isnull ? 0 : DatumGetFloat8(d);
			d = SPI_getbinval(row, SPI_tuptable->tupdesc, 3, &isnull);
			bk->ro_sc = isnull ? 0 : DatumGetFloat8(d);
		}
	}

	sd = palloc(sizeof(Datum) * (nb + 1));
	vd = palloc(sizeof(Datum) * (nb + 1));
	for (i = 0; i < nb; i++)
	{
		double		ro_pk = b[i].has_ro ? b[i].ro_pk : 0;
		double		ro_sc = b[i].has_ro ? b[i].ro_sc : 0;
		double		ra_pk = b[i].has_ra_pk ? b[i].ra_pk : 0;
		double		ra_sc = b[i].has_ra_sc ? b[i].ra_sc : 0;

		sd[i] = TimestampTzGetDatum(b[i].start);
		vd[i] = Float8GetDatum(average ? (ro_sc + ra_sc) / span_secs(b[i].from, b[i].to) : Max(ro_pk, ra_pk));
	}
	*starts = PointerGetDatum(construct_array(sd, nb, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	*values_out = PointerGetDatum(construct_array(vd, nb, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
