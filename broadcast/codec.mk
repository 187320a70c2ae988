# Protocol codecs of the workers: HTTP request heads, WebSocket, SSE.
BROADCAST_SRCS += broadcast/http.c broadcast/ws.c broadcast/sse.c
