/*
 * Fault tests at the module level (issue 7): a ring writer killed at any
 * point of a publish and resumed by a new one; a segment whose master died,
 * whatever became of its pid; the state file when the disk is full.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ingest/ct_state.h"
#include "shm/ring.h"
#include "shm/segment.h"
#include "tests/unit/fixture.h"

Suite *ring_faults_suite(void);
Suite *segment_faults_suite(void);
Suite *state_faults_suite(void);

/* ---- records that say which one they are ---- */

/*
 * Logical record L (the L-th record of a feed): each variant starts with L
 * (8 bytes, little endian), then bytes that depend on L, v and the offset.
 * A writer that neither loses nor repeats a record publishes L at seq L.
 */
static size_t
rec_len(uint64_t l, int v)
{
	return 16 + (size_t)((l * 7 + (uint64_t)v * 13) % 120);
}

static void
rec_fill(uint8_t *buf, uint64_t l, int v)
{
	size_t n = rec_len(l, v);

	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)(l >> (8 * i));
	for (size_t i = 8; i < n; i++)
		buf[i] = (uint8_t)(l * 31 + (uint64_t)v * 7 + i);
}

static uint64_t
rec_publish(struct ring_writer *w, uint64_t l)
{
	uint8_t b[RV_COUNT][160];
	struct iovec iov[RV_COUNT];

	for (int v = 0; v < RV_COUNT; v++) {
		rec_fill(b[v], l, v);
		iov[v].iov_base = b[v];
		iov[v].iov_len = rec_len(l, v);
	}
	return ring_publish(w, iov, (int64_t)l);
}

/* 0 if seq is intact and holds logical record seq (every variant, JSON
 * and frame header), 1 if it is gone (lapped), -1 if it is wrong. */
static int
rec_check(const struct shm_seg *seg, uint64_t seq)
{
	uint8_t want[160], hdr[RING_WS_HDR_MAX];
	struct iovec iov, wiov;
	int bad = 0, hl;

	/* logical record l lies at the ring's first seq + l */
	uint64_t l = seq - seg->ctl->first_seq;

	for (int v = 0; v < RV_COUNT; v++) {
		size_t n = rec_len(l, v);

		if (ring_peek(seg, seq, (enum ring_variant)v, 0, &iov, NULL) == -1 ||
		    ring_peek(seg, seq, (enum ring_variant)v, 1, &wiov, NULL) == -1)
			return 1;
		rec_fill(want, l, v);
		hl = ring_ws_header(hdr, n);
		if (iov.iov_len != n || memcmp(iov.iov_base, want, n) != 0 ||
		    wiov.iov_len != (size_t)hl + n ||
		    memcmp(wiov.iov_base, hdr, (size_t)hl) != 0)
			bad = 1;
		/* What was read counts only if the record was intact
		 * throughout (R3). */
		if (!ring_still_valid(seg, seq))
			return 1;
	}
	return bad ? -1 : 0;
}

/* The logical number in the newest record: how a new writer (like a
 * replay ingest) finds where to go on. */
static uint64_t
resume_point(const struct shm_seg *seg)
{
	uint64_t head = ring_head(seg), l = 0;
	struct iovec iov;

	if (head == 0)
		return 0;
	ck_assert_int_eq(ring_peek(seg, head - 1, RV_LITE, 0, &iov, NULL), 0);
	ck_assert_uint_ge(iov.iov_len, 8);
	for (int i = 0; i < 8; i++)
		l |= (uint64_t)((const uint8_t *)iov.iov_base)[i] << (8 * i);
	return l + 1;
}

static void
anon(struct shm_seg *seg, uint64_t nslots, uint64_t data_size)
{
	char err[256];

	ck_assert_msg(shm_seg_create_anon(seg, nslots, data_size, 1, err,
	    sizeof(err)) == 0, "%s", err);
}

static void
check_all(const struct shm_seg *seg)
{
	uint64_t head = ring_head(seg);

	for (uint64_t q = ring_tail(seg); q < head; q++)
		ck_assert_msg(rec_check(seg, q) == 0, "record %llu of [%llu, %llu)",
		    (unsigned long long)q, (unsigned long long)ring_tail(seg),
		    (unsigned long long)head);
}

/*
 * Death after the record's bytes, slot and seq are written, before head
 * moves: the record was never published. The next writer publishes the
 * same logical record at the same seq; readers never saw the first try.
 */
START_TEST(writer_killed_before_head_moves_republishes_nothing_twice)
{
	struct shm_seg seg;
	struct ring_writer w, w2;
	struct iovec iov;
	uint64_t wpos;
	struct ring_slot *s;

	anon(&seg, 16, 4096);   /* small: records wrap and lap */
	ring_writer_init(&w, &seg, NULL, 0);
	for (uint64_t l = 0; l < 40; l++)
		ck_assert_uint_eq(rec_publish(&w, l), l);
	/* The 41st: everything written, then the writer dies before W3. */
	wpos = seg.ctl->wpos;
	ck_assert_uint_eq(rec_publish(&w, 40), 40);
	s = &seg.slots[40 & seg.slot_mask];
	ck_assert_uint_eq(atomic_load(&s->seq), 40);
	atomic_store(&seg.ctl->head, 40);
	seg.ctl->wpos = wpos;
	ck_assert_int_eq(ring_peek(&seg, 40, RV_LITE, 0, &iov, NULL), -1);
	check_all(&seg);

	ring_writer_init(&w2, &seg, NULL, 0);
	ck_assert_uint_eq(resume_point(&seg), 40);
	for (uint64_t l = resume_point(&seg); l < 60; l++)
		ck_assert_uint_eq(rec_publish(&w2, l), l);
	ck_assert_uint_eq(ring_head(&seg), 60);
	check_all(&seg);
	ck_assert_uint_gt(ring_tail(&seg), 40);  /* it did wrap */
	shm_seg_close(&seg);
}
END_TEST

/*
 * Death after head moved, before wpos was saved (W3 done, wpos not): the
 * record is published; the next writer must start after its bytes.
 */
START_TEST(writer_killed_after_head_before_wpos_keeps_the_record)
{
	struct shm_seg seg;
	struct ring_writer w, w2;
	uint64_t wpos;

	anon(&seg, 64, 8192);
	ring_writer_init(&w, &seg, NULL, 0);
	for (uint64_t l = 0; l < 30; l++)
		rec_publish(&w, l);
	wpos = seg.ctl->wpos;
	ck_assert_uint_eq(rec_publish(&w, 30), 30);
	seg.ctl->wpos = wpos;   /* the store it never made */
	ring_writer_init(&w2, &seg, NULL, 0);
	ck_assert_uint_eq(resume_point(&seg), 31);
	for (uint64_t l = 31; l < 35; l++)
		ck_assert_uint_eq(rec_publish(&w2, l), l);
	check_all(&seg);
	ck_assert_int_eq(rec_check(&seg, 30), 0);
	shm_seg_close(&seg);
}
END_TEST

/*
 * Death after tail was raised and part of the new record's bytes were
 * copied over old records (W1 done, slot not written): those records are
 * below tail, so no reader trusts them; the rest are intact and the next
 * writer goes on from head.
 */
START_TEST(writer_killed_mid_copy_leaves_only_voided_records)
{
	struct shm_seg seg;
	struct ring_writer w, w2;
	uint64_t head, tail;

	anon(&seg, 64, 4096);
	ring_writer_init(&w, &seg, NULL, 0);
	for (uint64_t l = 0; l < 50; l++)
		rec_publish(&w, l);
	/* Publish 50 into a scratch copy to learn the tail it raises, then
	 * apply only that and scribble over the bytes it would take. */
	head = ring_head(&seg);
	{
		struct shm_seg copy;
		struct ring_writer wc;

		anon(&copy, 64, 4096);
		memcpy(copy.base, seg.base, seg.size);
		ring_writer_init(&wc, &copy, NULL, 0);
		rec_publish(&wc, 50);
		tail = ring_tail(&copy);
		memset(seg.data + copy.slots[head & copy.slot_mask].pos %
		    seg.data_size, 0xee, copy.slots[head & copy.slot_mask].size);
		shm_seg_close(&copy);
	}
	ck_assert_uint_gt(tail, ring_tail(&seg));
	atomic_store(&seg.ctl->tail, tail);
	check_all(&seg);        /* [tail, head) untouched */
	ring_writer_init(&w2, &seg, NULL, 0);
	ck_assert_uint_eq(resume_point(&seg), 50);
	for (uint64_t l = 50; l < 70; l++)
		ck_assert_uint_eq(rec_publish(&w2, l), l);
	check_all(&seg);
	shm_seg_close(&seg);
}
END_TEST

/* The writer child: resume after the newest record, publish until killed. */
static void __attribute__((noreturn))
writer_child(struct shm_seg *seg)
{
	struct ring_writer w;
	uint64_t l;

	ring_writer_init(&w, seg, NULL, 0);
	l = resume_point(seg);
	for (;;) {
		if (rec_publish(&w, l) != l)
			_exit(3);
		l++;
	}
}

/* A reader child: follows the ring, checks every record it can read
 * intact, until SIGTERM. Exit 0 if all were right and some were read. */
static volatile sig_atomic_t reader_stop;

static void
reader_on_term(int sig)
{
	(void)sig;
	reader_stop = 1;
}

static void __attribute__((noreturn))
reader_child(const struct shm_seg *seg)
{
	uint64_t next = 0, ok = 0;
	int r;

	signal(SIGTERM, reader_on_term);
	while (!reader_stop) {
		if (next < ring_tail(seg))
			next = ring_tail(seg);
		if (next >= ring_head(seg))
			continue;
		r = rec_check(seg, next);
		if (r == -1)
			_exit(1);
		if (r == 0)
			ok++;
		next++;
	}
	_exit(ok > 0 ? 0 : 2);
}

/*
 * Writers SIGKILLed at random points while publishing flat out, each
 * replaced by a new one on the same segment: after every kill, every
 * record in the ring is intact and seq L holds logical record L (none
 * lost, none published twice), and a reader running throughout never
 * accepted a wrong record.
 */
START_TEST(writers_killed_at_random_resume_without_loss_or_repeat)
{
	struct shm_seg seg;
	struct timespec ts;
	pid_t rd, wr;
	uint64_t before;
	int st, rounds = 150;

	anon(&seg, 512, 32768); /* both slots and bytes run out: laps */
	srand((unsigned)getpid());
	if ((rd = fork()) == 0)
		reader_child(&seg);
	ck_assert_int_gt(rd, 0);
	for (int r = 0; r < rounds; r++) {
		before = ring_head(&seg);
		if ((wr = fork()) == 0)
			writer_child(&seg);
		ck_assert_int_gt(wr, 0);
		/* Kill it while it publishes: once it has begun, after a
		 * random few microseconds more. */
		for (int i = 0; i < 200000 && ring_head(&seg) == before; i++)
			usleep(10);
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(rand() % 300) * 1000;
		nanosleep(&ts, NULL);
		kill(wr, SIGKILL);
		ck_assert_int_eq(waitpid(wr, &st, 0), wr);
		ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		    "writer %d ended with status 0x%x", r, st);
		ck_assert_uint_gt(ring_head(&seg), before);
		check_all(&seg);
	}
	kill(rd, SIGTERM);
	ck_assert_int_eq(waitpid(rd, &st, 0), rd);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "reader: status 0x%x (1: a wrong record, 2: read nothing)", st);
	ck_assert_uint_gt(ring_head(&seg), seg.slot_mask + 1);
	shm_seg_close(&seg);
}
END_TEST

Suite *
ring_faults_suite(void)
{
	Suite *s = suite_create("ring_faults");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, writer_killed_before_head_moves_republishes_nothing_twice);
	tcase_add_test(tc, writer_killed_after_head_before_wpos_keeps_the_record);
	tcase_add_test(tc, writer_killed_mid_copy_leaves_only_voided_records);
	tcase_add_test(tc, writers_killed_at_random_resume_without_loss_or_repeat);
	suite_add_tcase(s, tc);
	return s;
}

/* ---- the segment a dead master left ---- */

static void
seg_name(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "/certstream-faults-%s-%ld", what, (long)getpid());
}

/*
 * The header names a pid that runs (a dead master's pid reused by another
 * process, or by the new master itself in a fresh pid namespace): nobody
 * holds the segment, so it is replaced all the same.
 */
START_TEST(stale_segment_is_replaced_whatever_runs_under_its_pid)
{
	struct shm_seg a, b;
	char name[64], err[256];
	uint32_t pids[2] = { (uint32_t)getppid(), (uint32_t)getpid() };

	seg_name(name, sizeof(name), "reused");
	for (int i = 0; i < 2; i++) {
		shm_seg_unlink(name);
		ck_assert_msg(shm_seg_create(&a, name, 16, 65536, 1, err,
		    sizeof(err)) == 0, "%s", err);
		atomic_store(&a.ctl->head, 42);
		a.hdr->master_pid = pids[i];
		shm_seg_close(&a);      /* the master is gone */
		ck_assert_int_eq(kill((pid_t)pids[i], 0), 0);
		ck_assert_msg(shm_seg_create(&b, name, 16, 65536, 1, err,
		    sizeof(err)) == 0, "pid %u: %s", pids[i], err);
		/* a fresh ring, its ids above the old one's */
		ck_assert_uint_eq(ring_head(&b), b.ctl->first_seq);
		ck_assert_uint_gt(ring_head(&b), 42);
		ck_assert_uint_eq(b.hdr->master_pid, (uint32_t)getpid());
		shm_seg_close(&b);
	}
	shm_seg_unlink(name);
}
END_TEST

/*
 * The master died a moment ago and a child it forked is still stopping
 * (it inherited the lock): the next start waits for it instead of failing,
 * then replaces the segment. While the master lives, the same segment is
 * refused at once.
 */
START_TEST(next_start_waits_for_the_children_of_a_dead_master)
{
	struct shm_seg b;
	struct timespec t0, t1;
	char name[64], err[256];
	int ready[2], go[2], st;
	pid_t master, child;
	long ms;
	char c;

	seg_name(name, sizeof(name), "orphan");
	shm_seg_unlink(name);
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(go), 0);
	if ((master = fork()) == 0) {
		struct shm_seg a;

		if (shm_seg_create(&a, name, 16, 65536, 1, err, sizeof(err)) == -1)
			_exit(1);
		if ((child = fork()) == 0) {
			/* The child: told the master died, stops 300 ms later. */
			(void)!read(go[0], &c, 1);
			usleep(300000);
			_exit(0);
		}
		(void)!write(ready[1], "r", 1);
		pause();        /* killed below */
		_exit(0);
	}
	ck_assert_int_gt(master, 0);
	close(go[0]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	/* Its master runs: refused at once, naming it. */
	err[0] = '\0';
	ck_assert_int_eq(shm_seg_create(&b, name, 16, 65536, 1, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "running master") != NULL, "%s", err);
	kill(master, SIGKILL);
	ck_assert_int_eq(waitpid(master, &st, 0), master);
	(void)!write(go[1], "g", 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_msg(shm_seg_create(&b, name, 16, 65536, 1, err,
	    sizeof(err)) == 0, "%s", err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_msg(ms >= 200, "replaced after %ld ms, while the child ran", ms);
	ck_assert_uint_eq(b.hdr->master_pid, (uint32_t)getpid());
	shm_seg_close(&b);
	shm_seg_unlink(name);
	close(ready[0]);
	close(ready[1]);
	close(go[1]);
}
END_TEST

/*
 * Master, ingest and workers killed with -9 at once: the state file lags,
 * but the dead segment holds each log's exact resume point and the newest
 * record. The segment that replaces it keeps both (counters start over), so
 * the next ingest neither repeats nor skips an entry.
 */
START_TEST(replacing_segment_keeps_log_positions_and_newest_record)
{
	struct shm_seg a, b;
	struct ring_writer w;
	struct iovec iov;
	char name[64], err[256];
	uint64_t seq = 0, first, old;

	seg_name(name, sizeof(name), "carry");
	shm_seg_unlink(name);
	ck_assert_msg(shm_seg_create(&a, name, 16, 65536, 1, err,
	    sizeof(err)) == 0, "%s", err);
	ring_writer_init(&w, &a, NULL, 0);
	first = a.ctl->first_seq;
	ck_assert_uint_gt(first, 0);
	for (uint64_t l = 0; l < 40; l++)       /* wraps the 16 slots */
		seq = rec_publish(&w, l);
	ck_assert_uint_eq(seq, first + 39);
	snprintf(a.logs[3].url, sizeof(a.logs[3].url), "http://log.test/a/");
	snprintf(a.logs[3].name, sizeof(a.logs[3].name), "log a");
	a.logs[3].flags = 1;
	atomic_store(&a.logs[3].next_index, 123456);
	atomic_store(&a.logs[3].errors, 9);
	atomic_store(&a.logs[3].in_use, 1);
	snprintf(a.logs[4].url, sizeof(a.logs[4].url), "http://log.test/b/");
	atomic_store(&a.logs[4].next_index, 77);   /* stopped: not kept */
	atomic_store(&a.ingest->nats_id_shift, 60);   /* an edge's, kept */
	atomic_store(&a.ingest->nats_created, 1234567);
	atomic_store(&a.ingest->nats_recreated, 1);
	shm_seg_close(&a);      /* every process of that master is gone */

	ck_assert_msg(shm_seg_create(&b, name, 16, 65536, 1, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(atomic_load(&b.logs[3].in_use), 1);
	ck_assert_str_eq(b.logs[3].url, "http://log.test/a/");
	ck_assert_str_eq(b.logs[3].name, "log a");
	ck_assert_uint_eq(b.logs[3].flags, 1);
	ck_assert_uint_eq(atomic_load(&b.logs[3].next_index), 123456);
	ck_assert_uint_eq(atomic_load(&b.logs[3].errors), 0);
	ck_assert_uint_eq(atomic_load(&b.logs[4].in_use), 0);
	ck_assert_uint_eq(atomic_load(&b.logs[4].next_index), 0);
	ck_assert_uint_eq(atomic_load(&b.ingest->nats_id_shift), 60);
	ck_assert_int_eq(atomic_load(&b.ingest->nats_created), 1234567);
	ck_assert_uint_eq(atomic_load(&b.ingest->nats_recreated), 1);
	/* The ring, every record at its seq; a writer goes on after it. */
	ck_assert_uint_eq(b.ctl->first_seq, first);
	ck_assert_uint_eq(ring_head(&b), first + 40);
	ck_assert_uint_eq(ring_tail(&b), first + 24);
	ck_assert_uint_eq(resume_point(&b), 40);
	ck_assert_int_eq(ring_peek(&b, first + 24, RV_LITE, 0, &iov, NULL), 0);
	check_all(&b);
	ring_writer_init(&w, &b, NULL, 0);
	ck_assert_uint_eq(rec_publish(&w, 40), first + 40);
	check_all(&b);
	old = ring_head(&b);
	shm_seg_close(&b);

	/* A clean stop unlinks: the next segment starts empty, its ids
	 * above every one the last ring issued (the floor is the time in ms
	 * x 1000: a run that published 41 records has lasted more than the
	 * millisecond this waits). */
	shm_seg_unlink(name);
	usleep(2000);
	ck_assert_msg(shm_seg_create(&b, name, 16, 65536, 1, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(ring_head(&b), b.ctl->first_seq);
	ck_assert_uint_gt(ring_head(&b), old);
	ck_assert_uint_eq(atomic_load(&b.logs[3].in_use), 0);
	shm_seg_close(&b);

	/* A different ring geometry keeps the positions, not the record. */
	ck_assert_msg(shm_seg_create(&a, name, 16, 65536, 1, err,
	    sizeof(err)) == 0, "%s", err);
	ring_writer_init(&w, &a, NULL, 0);
	rec_publish(&w, 0);
	snprintf(a.logs[0].url, sizeof(a.logs[0].url), "http://log.test/c/");
	atomic_store(&a.logs[0].next_index, 5);
	atomic_store(&a.logs[0].in_use, 1);
	old = a.ctl->first_seq + 1;
	shm_seg_close(&a);
	ck_assert_msg(shm_seg_create(&b, name, 32, 65536, 1, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(ring_head(&b), b.ctl->first_seq);
	ck_assert_uint_ge(ring_head(&b), old);
	ck_assert_uint_eq(atomic_load(&b.logs[0].next_index), 5);
	shm_seg_close(&b);
	shm_seg_unlink(name);
}
END_TEST

Suite *
segment_faults_suite(void)
{
	Suite *s = suite_create("segment_faults");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, stale_segment_is_replaced_whatever_runs_under_its_pid);
	tcase_add_test(tc, next_start_waits_for_the_children_of_a_dead_master);
	tcase_add_test(tc, replacing_segment_keeps_log_positions_and_newest_record);
	suite_add_tcase(s, tc);
	return s;
}

/* ---- the state file on a full disk ---- */

/*
 * A save that cannot be written whole (RLIMIT_FSIZE: write() fails with
 * EFBIG once the file would pass the limit, as it fails with ENOSPC on a
 * full disk): it fails and says why, the previous file is byte for byte
 * what it was, and no temporary file is left. Once there is room again, a
 * save goes through.
 */
START_TEST(state_save_on_a_full_disk_keeps_the_old_file)
{
	char dir[] = "/tmp/certstream-state-XXXXXX", path[256], tmp[300];
	struct ct_state st, back;
	char *before, *after, err[256], url[128];
	size_t blen = 0, alen = 0;
	uint64_t v;
	pid_t pid;
	int status;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ct_state_init(&st);
	ck_assert_int_eq(ct_state_set(&st, "https://a.example/log/", 100), 0);
	ck_assert_int_eq(ct_state_set(&st, "https://b.example/log/", 200), 0);
	ck_assert_msg(ct_state_save(&st, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_ptr_nonnull(before = fixture_slurp(path, &blen));
	ck_assert_uint_gt(blen, 0);

	/* The next state is much larger than the room left. */
	for (int i = 0; i < 200; i++) {
		snprintf(url, sizeof(url), "https://log%03d.example/ct/", i);
		ck_assert_int_eq(ct_state_set(&st, url, (uint64_t)i * 1000), 0);
	}
	ck_assert_int_eq(ct_state_set(&st, "https://a.example/log/", 999), 0);
	if ((pid = fork()) == 0) {
		struct rlimit rl = { 1024, 1024 };

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
			_exit(10);
		err[0] = '\0';
		if (ct_state_save(&st, path, err, sizeof(err)) != -1)
			_exit(11);
		if (strstr(err, strerror(EFBIG)) == NULL)
			_exit(12);
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "save under a 1 KiB limit: status 0x%x (10 setrlimit, 11 it "
	    "succeeded, 12 no reason given)", status);

	ck_assert_ptr_nonnull(after = fixture_slurp(path, &alen));
	ck_assert_uint_eq(alen, blen);
	ck_assert(memcmp(before, after, blen) == 0);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	ct_state_init(&back);
	ck_assert_msg(ct_state_load(&back, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(back.n, 2);
	ck_assert_int_eq(ct_state_get(&back, "https://a.example/log/", &v), 0);
	ck_assert_uint_eq(v, 100);

	/* Room again: the new state is saved. */
	ck_assert_msg(ct_state_save(&st, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(ct_state_load(&back, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(back.n, 202);
	ck_assert_int_eq(ct_state_get(&back, "https://a.example/log/", &v), 0);
	ck_assert_uint_eq(v, 999);

	ct_state_free(&back);
	ct_state_free(&st);
	free(before);
	free(after);
	unlink(path);
	rmdir(dir);
}
END_TEST

Suite *
state_faults_suite(void)
{
	Suite *s = suite_create("state_faults");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, state_save_on_a_full_disk_keeps_the_old_file);
	suite_add_tcase(s, tc);
	return s;
}
