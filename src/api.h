/*-------------------------------------------------------------------------
 * api.h
 *		PostgreSQL glue of the URI router (src/api.c), shared with the
 *		JSON API (src/rest.c).
 *-------------------------------------------------------------------------
 */
#ifndef ANALYTICS_API_H
#define ANALYTICS_API_H

#include "uri.h"

/* the detail of the 400 problem when a routed string cannot be stored */
#define API_ROUTE_NOT_REPRESENTABLE "Non-ASCII characters are not supported in this database's encoding."

/* can every string of a routed request (status 200) be a database string?
 * (they are UTF-8; other database encodings take ASCII only) */
extern bool api_route_representable(const api_route *r);

#endif							/* ANALYTICS_API_H */
