/*
 * continent.c - ISO 3166-1 alpha-2 country code -> GeoNames continent code.
 *
 * The continent of each code as GeoNames assigns it (AF Africa, AN
 * Antarctica, AS Asia, EU Europe, NA North America, OC Oceania, SA South
 * America), for every officially assigned code plus XK (Kosovo, used by
 * GeoNames and the GeoIP databases). Plain C, no PostgreSQL dependency.
 */
#include "continent.h"

#include <stddef.h>

/* the codes of each continent, sorted, two letters each */
static const char *const codes_af =
"AOBFBIBJBWCDCFCGCICMCVDJDZEGEHERETGAGHGMGNGQGWKEKMLRLSLYMAMGMLMRMUMWMZNANENGRERWSCSDSHSLSNSOSSSTSZTDTGTNTZUGYTZAZMZW";
static const char *const codes_an = "AQBVGSHMTF";
static const char *const codes_as =
"AEAFAMAZBDBHBNBTCCCNCXGEHKIDILINIOIQIRJOJPKGKHKPKRKWKZLALBLKMMMNMOMVMYNPOMPHPKPSQASASGSYTHTJTMTRTWUZVNYE";
static const char *const codes_eu =
"ADALATAXBABEBGBYCHCYCZDEDKEEESFIFOFRGBGGGIGRHRHUIEIMISITJELILTLULVMCMDMEMKMTNLNOPLPTRORSRUSESISJSKSMUAVAXK";
static const char *const codes_na =
"AGAIAWBBBLBMBQBSBZCACRCUCWDMDOGDGLGPGTHNHTJMKNKYLCMFMQMSMXNIPAPMPRSVSXTCTTUSVCVGVI";
static const char *const codes_oc =
"ASAUCKFJFMGUKIMHMPNCNFNRNUNZPFPGPNPWSBTKTLTOTVUMVUWFWS";
static const char *const codes_sa = "ARBOBRCLCOECFKGFGYPEPYSRUYVE";

static int
in_list(const char *list, const char *cc)
{
	const char *p;

	for (p = list; p[0] != '\0' && p[1] != '\0'; p += 2)
	{
		if (p[0] == cc[0] && p[1] == cc[1])
			return 1;
	}
	return 0;
}

const char *
continent_of_country(const char *cc)
{
	if (cc == NULL || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z')
		return NULL;
	if (in_list(codes_eu, cc))
		return "EU";
	if (in_list(codes_as, cc))
		return "AS";
	if (in_list(codes_af, cc))
		return "AF";
	if (in_list(codes_na, cc))
		return "NA";
	if (in_list(codes_sa, cc))
		return "SA";
	if (in_list(codes_oc, cc))
		return "OC";
	if (in_list(codes_an, cc))
		return "AN";
	return NULL;
}
