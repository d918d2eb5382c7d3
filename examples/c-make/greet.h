#ifndef GREET_H
#define GREET_H
#include <stddef.h>
void greet(char *buf, size_t n, const char *name);
#endif
