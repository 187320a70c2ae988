/*
 * The fake log's /control/NAME/ endpoints: state, request list, growth
 * history, faults, growth on demand. Never counted as requests to a log.
 */
#ifndef FAKELOG_FL_CTL_H
#define FAKELOG_FL_CTL_H

#include "tests/fakelog/fl_srv.h"

/* path: what follows "/control/". */
void fl_ctl_serve(struct fl_srv *s, struct evhttp_request *req,
    const char *path, struct evkeyvalq *q);

#endif
