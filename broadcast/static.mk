# The index page: real files under broadcast/www/, compiled into the
# binary as arrays (scripts/embed-www.sh writes build/gen/www.c) and
# served by broadcast/static.c.
WWW_FILES := broadcast/www/index.html broadcast/www/app.css \
	broadcast/www/app.js broadcast/www/ratechart.js broadcast/www/icon.svg
BROADCAST_SRCS += broadcast/static.c build/gen/www.c

# (The rule must not become the default goal: restore it afterwards.)
static_mk_goal := $(.DEFAULT_GOAL)
build/gen/www.c: $(WWW_FILES) scripts/embed-www.sh
	@mkdir -p build/gen
	@scripts/embed-www.sh $@ $(WWW_FILES)
.DEFAULT_GOAL := $(static_mk_goal)
