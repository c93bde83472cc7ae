/*-------------------------------------------------------------------------
 * pgcompat.h
 *		What differs between the PostgreSQL major versions the extension
 *		builds against (README "Supported PostgreSQL versions").
 *-------------------------------------------------------------------------
 */
#ifndef ANALYTICS_PGCOMPAT_H
#define ANALYTICS_PGCOMPAT_H

#include "c.h"

/*
 * A function that never returns: PostgreSQL 18 replaced the attribute
 * pg_attribute_noreturn(), written after the declarator, by the function
 * specifier pg_noreturn, written first.  Before 18 the attribute goes first
 * as well (GCC and Clang accept it there).
 */
#ifndef pg_noreturn
#define pg_noreturn pg_attribute_noreturn()
#endif

#endif							/* ANALYTICS_PGCOMPAT_H */
