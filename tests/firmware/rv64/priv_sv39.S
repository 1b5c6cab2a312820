/* Sv39: see paging.h. */
#define LEVELS 3
#define MODE 8
#define TEST_NAME priv_sv39
#include "paging.h"
