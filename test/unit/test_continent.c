/*
 * test_continent.c - unit tests of src/continent.c (no PostgreSQL).
 * Every code of the tz database's iso3166.tab must have a continent.
 */
#include <stdio.h>
#include <string.h>

#include "continent.h"
#include "unit.h"

int
main(void)
{
	FILE	   *f;
	char		line[512];
	long		codes = 0;

	CHECK_STR(continent_of_country("FR"), "EU");
	CHECK_STR(continent_of_country("US"), "NA");
	CHECK_STR(continent_of_country("BR"), "SA");
	CHECK_STR(continent_of_country("JP"), "AS");
	CHECK_STR(continent_of_country("NG"), "AF");
	CHECK_STR(continent_of_country("AU"), "OC");
	CHECK_STR(continent_of_country("AQ"), "AN");
	CHECK_STR(continent_of_country("RU"), "EU");
	CHECK_STR(continent_of_country("TR"), "AS");
	CHECK_STR(continent_of_country("MX"), "NA");
	CHECK_STR(continent_of_country("PA"), "NA");
	CHECK_STR(continent_of_country("GF"), "SA");
	CHECK_STR(continent_of_country("RE"), "AF");
	CHECK_STR(continent_of_country("NC"), "OC");
	CHECK_STR(continent_of_country("XK"), "EU");
	CHECK_STR(continent_of_country("fr"), NULL);
	CHECK_STR(continent_of_country("ZZ"), NULL);
	CHECK_STR(continent_of_country("UK"), NULL);
	CHECK_STR(continent_of_country("F"), NULL);
	CHECK_STR(continent_of_country(""), NULL);
	CHECK_STR(continent_of_country(NULL), NULL);
	CHECK_STR(continent_of_country("\xff\xfe"), NULL);

	f = fopen("/usr/share/zoneinfo/iso3166.tab", "r");
	CHECK(f != NULL);
	if (f != NULL)
	{
		while (fgets(line, sizeof(line), f) != NULL)
		{
			if (line[0] == '#' || strlen(line) < 3)
				continue;
			codes++;
			if (continent_of_country(line) == NULL)
			{
				fprintf(stderr, "no continent for %.2s\n", line);
				CHECK(0);
			}
			else
				CHECK(1);
		}
		fclose(f);
		CHECK(codes >= 249);
	}
	return UNIT_REPORT("continent");
}
