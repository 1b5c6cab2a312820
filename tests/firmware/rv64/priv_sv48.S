/* Sv48: see paging.h. */
#define LEVELS 4
#define MODE 9
#define TEST_NAME priv_sv48
#include "paging.h"
