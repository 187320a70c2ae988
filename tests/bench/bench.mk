# Load generator, raw fan-out ceiling and peer publisher (build/loadgen);
# tests/bench/run.sh is the `make bench` suite.
TEST_PROGS += loadgen
loadgen_SRCS := tests/bench/loadgen.c tests/bench/loadgen_client.c \
	tests/bench/loadgen_raw.c tests/bench/loadgen_pub.c tests/bench/loadgen_msgs.c \
	tests/bench/loadgen_churn.c
