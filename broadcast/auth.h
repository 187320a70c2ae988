/*
 * Token authentication of client requests (auth.* in the config): the token
 * comes in the configured header ("Bearer TOKEN" or the bare token), or, for
 * browsers whose WebSocket API cannot set headers, as ?token=TOKEN.
 * Pure: no I/O, no logging.
 */
#ifndef BROADCAST_AUTH_H
#define BROADCAST_AUTH_H

#include "broadcast/http.h"
#include "common/config.h"

/* AUTH_DATA: /latest.json and /example.json, the streams' newest records */
enum auth_scope { AUTH_STREAM, AUTH_DATA, AUTH_HEALTH, AUTH_METRICS, AUTH_OPEN };

/* Does req carry a valid token for something in scope? 1 yes (or auth off,
 * or the scope is not protected), 0 no. Tokens compare in constant time. */
int auth_allowed(const struct config *cfg, const struct http_request *req,
    enum auth_scope scope);

#endif
