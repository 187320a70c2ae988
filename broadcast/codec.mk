# Protocol codecs of the workers: HTTP request heads, WebSocket, SSE.
BROADCAST_SRCS += broadcast/http.c broadcast/ws.c broadcast/sse.c
UNIT_SRCS += tests/unit/check_http.c tests/unit/check_ws.c \
	tests/unit/check_sse.c
UNIT_SUITES += http ws sse
# permessage-deflate offers (the compressed frames come from the ring)
BROADCAST_SRCS += broadcast/ws_deflate.c
UNIT_SRCS += tests/unit/check_ws_deflate.c
UNIT_SUITES += ws_deflate
# SSE under Content-Encoding: gzip (the bytes come from the ring too)
BROADCAST_SRCS += broadcast/sse_gzip.c
