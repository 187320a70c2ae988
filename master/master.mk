MASTER_SRCS += master/main.c
