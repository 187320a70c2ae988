#include "tests/fakelog/fl_ctl.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

/* on=sth,entries,tiles,other,any -> an FL_EP_* mask (0 if absent). */
static int
parse_on(const char *v)
{
	int on = 0;
	char buf[64], *save = NULL;

	if (v == NULL)
		return 0;
	snprintf(buf, sizeof(buf), "%s", v);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "sth") == 0)
			on |= FL_EP_STH;
		else if (strcmp(t, "entries") == 0)
			on |= FL_EP_ENTRIES;
		else if (strcmp(t, "tiles") == 0)
			on |= FL_EP_TILES;
		else if (strcmp(t, "other") == 0)
			on |= FL_EP_OTHER;
		else if (strcmp(t, "any") == 0)
			on |= FL_EP_ANY;
		else
			return -1;
	}
	return on;
}

static void
control_state(struct fl_srv *s, struct fl_log *l, struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL)
		return fl_srv_error(s, req, 500, "out of memory");
	evbuffer_add_printf(b, "{\"name\":\"%s\",\"type\":\"%s\",\"size\":%zu,"
	    "\"max_size\":%zu,\"requests\":%llu,\"entries_served\":%llu,"
	    "\"faults_fired\":%llu,\"garbage_pending\":%d,"
	    "\"url\":\"%s://127.0.0.1:%d/%s/\",\"key\":\"%s\",\"log_id\":\"%s\","
	    "\"published_size\":%zu,", l->name, l->is_static ? "static" : "rfc6962",
	    l->tree.n, l->max_size, (unsigned long long)l->requests,
	    (unsigned long long)l->entries_served,
	    (unsigned long long)l->faults_fired, l->garbage_pending, fl_srv_scheme(s),
	    s->port, l->name, l->key.spki_b64, l->key.log_id_b64, l->pub_n);
	fl_acct_json_counts(&l->acct, b);
	evbuffer_add_printf(b, ",\"witnesses\":[");
	for (int i = 0; s->cosig && i < s->cosig->n; i++) {
		evbuffer_add_printf(b, "%s{\"name\":\"%s\",\"key\":\"", i ? "," : "",
		    s->cosig->name[i]);
		fl_srv_b64_add(b, s->cosig->pub[i], 32);
		evbuffer_add_printf(b, "\"}");
	}
	evbuffer_add_printf(b, "],\"faults\":[");
	for (int i = 0; i < l->nfaults; i++)
		evbuffer_add_printf(b, "%s{\"kind\":\"%s\",\"count\":%d,\"on\":%d}",
		    i ? "," : "", fl_log_fault_name(l->faults[i].kind),
		    l->faults[i].count, l->faults[i].on);
	evbuffer_add_printf(b, "]}");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	fl_srv_send(s, req, 200, "OK", b);
	evbuffer_free(b);
}

/* The requests recorded, or [size, ms] for every publish kept. */
static void
control_history(struct fl_srv *s, struct fl_log *l, struct evhttp_request *req,
    int requests)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL)
		return fl_srv_error(s, req, 500, "out of memory");
	if (requests) {
		fl_acct_json_requests(&l->acct, b);
	} else {
		evbuffer_add(b, "[", 1);
		for (size_t i = 0; i < l->nhist; i++)
			evbuffer_add_printf(b, "%s[%llu,%llu]", i ? "," : "",
			    (unsigned long long)l->hist[i].size,
			    (unsigned long long)l->hist[i].ms);
		evbuffer_add(b, "]", 1);
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	fl_srv_send(s, req, 200, "OK", b);
	evbuffer_free(b);
}

void
fl_ctl_serve(struct fl_srv *s, struct evhttp_request *req, const char *path,
    struct evkeyvalq *q)
{
	const char *slash = strchr(path, '/');
	struct fl_log *l;
	const char *op, *v;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (slash == NULL || (l = fl_srv_find_log(s, path, (size_t)(slash - path))) == NULL)
		return fl_srv_error(s, req, 404, "no such log");
	op = slash + 1;
	if (strcmp(op, "state") == 0)
		return control_state(s, l, req);
	if (strcmp(op, "requests") == 0 || strcmp(op, "growth") == 0)
		return control_history(s, l, req, op[0] == 'r');
	if (strcmp(op, "fault") == 0 && cmd == EVHTTP_REQ_DELETE) {
		l->nfaults = 0;
		l->garbage_pending = 0;
		return control_state(s, l, req);
	}
	if (strcmp(op, "fault") == 0 && cmd == EVHTTP_REQ_POST) {
		int kind = fl_log_fault_parse((v = evhttp_find_header(q, "kind")) ? v : "");
		int on = parse_on(evhttp_find_header(q, "on"));
		uint64_t count = 1, param = 0;

		if (kind < 0 || on < 0 ||
		    (evhttp_find_header(q, "count") && fl_srv_get_u64(q, "count", &count) < 0) ||
		    (evhttp_find_header(q, "param") && fl_srv_get_u64(q, "param", &param) < 0) ||
		    count > 1000000)
			return fl_srv_error(s, req, 400, "bad kind, on, count or param");
		if (fl_log_fault_add(l, kind, (int)count, on, (long)param) < 0)
			return fl_srv_error(s, req, 400, "too many faults queued, or fork past the end");
		log_info("%s: queued fault %s x%llu", l->name, fl_log_fault_name(kind),
		    (unsigned long long)count);
		return control_state(s, l, req);
	}
	if (strcmp(op, "grow") == 0 && cmd == EVHTTP_REQ_POST) {
		uint64_t n = 0, max;
		char err[256];

		if (evhttp_find_header(q, "max")) {
			if (fl_srv_get_u64(q, "max", &max) < 0)
				return fl_srv_error(s, req, 400, "bad max");
			l->max_size = (size_t)max;
		}
		if (evhttp_find_header(q, "n") && fl_srv_get_u64(q, "n", &n) < 0)
			return fl_srv_error(s, req, 400, "bad n");
		if (fl_log_grow(l, (size_t)n, err, sizeof(err)) < 0) {
			log_warnx("%s: grow: %s", l->name, err);
			return fl_srv_error(s, req, 500, "grow failed");
		}
		return control_state(s, l, req);
	}
	fl_srv_error(s, req, 404, "no such control");
}
