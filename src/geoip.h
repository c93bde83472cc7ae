/*-------------------------------------------------------------------------
 * geoip.h
 *		Country of an IP address, from the MaxMind DB file (GeoLite2-Country
 *		or DB-IP country lite format) named by analytics.geoip_database.
 *-------------------------------------------------------------------------
 */
#ifndef ANALYTICS_GEOIP_H
#define ANALYTICS_GEOIP_H

#include "postgres.h"
#include "utils/inet.h"

/*
 * The ISO 3166-1 alpha-2 country code (upper case) of the address of ip
 * (any masklen; IPv4, IPv6, and IPv4-mapped IPv6 looked up as IPv4), written
 * to buf with its terminating NUL; returns buf, or NULL when ip is NULL, no
 * database is configured or usable, or the database knows no country for the
 * address. Uses the record's country, else its registered_country.
 *
 * Never raises an ERROR: a missing, unreadable or invalid database file
 * gives one WARNING per (setting, file version) and NULL results. ip may be
 * a packed (short-header) datum, as returned by PG_GETARG_INET_PP.
 */
extern const char *analytics_geoip_country(const inet *ip, char buf[3]);

#endif							/* ANALYTICS_GEOIP_H */
