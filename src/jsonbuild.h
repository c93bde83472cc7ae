/*
 * jsonbuild.h - building a jsonb value key by key (pushJsonbValue), without
 * text to parse again: the JSON API's bodies (rest.c) and the replies of
 * ingest_pings (ingest.c).
 */
#ifndef ANALYTICS_JSONBUILD_H
#define ANALYTICS_JSONBUILD_H

#include "utils/jsonb.h"
#include "utils/numeric.h"

static inline void
push_key(JsonbParseState **st, const char *key)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) key;
	v.val.string.len = strlen(key);
	(void) pushJsonbValue(st, WJB_KEY, &v);
}

/* a string, or null */
static inline void
push_string(JsonbParseState **st, JsonbIteratorToken tok, const char *s)
{
	JsonbValue	v;

	if (s == NULL)
		v.type = jbvNull;
	else
	{
		v.type = jbvString;
		v.val.string.val = (char *) s;
		v.val.string.len = strlen(s);
	}
	(void) pushJsonbValue(st, tok, &v);
}

static inline void
push_int(JsonbParseState **st, JsonbIteratorToken tok, int64 i)
{
	JsonbValue	v;

	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(i);
	(void) pushJsonbValue(st, tok, &v);
}

/* "key": string (or null) */
static inline void
kv_string(JsonbParseState **st, const char *key, const char *s)
{
	push_key(st, key);
	push_string(st, WJB_VALUE, s);
}

/* "key": integer */
static inline void
kv_int(JsonbParseState **st, const char *key, int64 i)
{
	push_key(st, key);
	push_int(st, WJB_VALUE, i);
}

#endif
