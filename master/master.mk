# master/: flags, pidfile, listeners, daemonizing, fork and supervise.
MASTER_SRCS += master/main.c master/master.c master/listen.c \
	master/pidfile.c master/proctitle.c master/daemon.c \
	master/privdrop.c
