/* stats.c: placeholder, being written */
#include "postgres.h"
