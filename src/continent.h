/*
 * continent.h - ISO 3166-1 alpha-2 country code -> GeoNames continent code.
 * Plain C, no PostgreSQL dependency.
 */
#ifndef ANALYTICS_CONTINENT_H
#define ANALYTICS_CONTINENT_H

/* "AF", "AN", "AS", "EU", "NA", "OC" or "SA" for a known upper-case code
 * (exactly two bytes at cc), NULL otherwise. */
const char *continent_of_country(const char *cc);

#endif
