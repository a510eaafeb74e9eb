/* christoize/report.h — prints a ca_result as text (for people) or JSON (for the next stages). */
#ifndef CHRISTOIZE_REPORT_H
#define CHRISTOIZE_REPORT_H

#include <stdio.h>

#include "analysis.h"

void report_text(FILE *f, const struct ca_result *r);
void report_json(FILE *f, const struct ca_result *r);

#endif
