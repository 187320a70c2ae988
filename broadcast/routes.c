/*
 * The worker's route table (routes.h): the one place that names the
 * paths a client may ask for, and the lookups over it.
 */
#include <string.h>

#include "broadcast/endpoints_priv.h"
#include "broadcast/routes.h"

static const struct route routes[] = {
	/* path, switch, methods, scope of a plain request, streams, the
	 * form a WebSocket upgrade streams, plain answer */

	/* The index page is static.c's; its WebSocket upgrade is the lite
	 * stream (the path certstream clients have always used). */
	{ "/", ROUTE_NEED_WEBSOCKET, ROUTE_GET | ROUTE_HEAD, AUTH_OPEN,
	    ROUTE_UP_WS, RV_LITE, ep_upgrade_required },
	{ "/full-stream", ROUTE_NEED_WEBSOCKET, ROUTE_GET | ROUTE_HEAD,
	    AUTH_OPEN, ROUTE_UP_WS, RV_FULL, ep_upgrade_required },
	{ "/domains-only", ROUTE_NEED_WEBSOCKET, ROUTE_GET | ROUTE_HEAD,
	    AUTH_OPEN, ROUTE_UP_WS, RV_DOMAINS, ep_upgrade_required },
	/* GET streams; no plain answer (HEAD: 405) */
	{ "/sse", ROUTE_NEED_SSE, ROUTE_GET, AUTH_STREAM, ROUTE_UP_SSE,
	    RV_LITE, NULL },
	{ "/health", ROUTE_NEED_HEALTH, ROUTE_GET | ROUTE_HEAD, AUTH_HEALTH,
	    0, RV_LITE, ep_health_respond },
	{ "/health/deep", ROUTE_NEED_HEALTH, ROUTE_GET | ROUTE_HEAD,
	    AUTH_HEALTH, 0, RV_LITE, ep_health_deep_respond },
	{ "/metrics", ROUTE_NEED_METRICS, ROUTE_GET | ROUTE_HEAD, AUTH_METRICS,
	    0, RV_LITE, ep_metrics_respond },
	{ "/latest.json", ROUTE_NEED_EXAMPLE_JSON, ROUTE_GET | ROUTE_HEAD,
	    AUTH_DATA, 0, RV_LITE, ep_latest_respond },
	{ "/example.json", ROUTE_NEED_EXAMPLE_JSON, ROUTE_GET | ROUTE_HEAD,
	    AUTH_DATA, 0, RV_LITE, ep_example_respond },
};

const struct route *
routes_find(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(routes[i].path, path) == 0)
			return &routes[i];
	return NULL;
}

int
routes_enabled(const struct route *r, const struct config *cfg)
{
	switch (r->need) {
	case ROUTE_NEED_WEBSOCKET:
		return cfg->protocols.websocket;
	case ROUTE_NEED_SSE:
		return cfg->protocols.sse;
	case ROUTE_NEED_HEALTH:
		return cfg->protocols.health;
	case ROUTE_NEED_METRICS:
		return cfg->protocols.metrics;
	case ROUTE_NEED_EXAMPLE_JSON:
		return cfg->protocols.example_json;
	}
	return 0;
}
