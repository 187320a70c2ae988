# Fault tests at the module level (issue 7): killed ring writers, segments
# of dead masters, the state file on a full disk.
UNIT_SRCS += tests/unit/check_faults.c
UNIT_SUITES += ring_faults segment_faults state_faults
