/*
 * The shared-memory segment: create (replacing one left by a dead master),
 * attach with checks, anonymous variant, close, unlink. Never logs.
 */
#include "shm/segment.h"
#include "shm/atomics.h"
#include "shm/heads.h"
#include "shm/ring.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Bounds that keep every offset and slot field (uint32 sizes) sane. */
#define SEG_MIN_DATA 4096ULL
#define SEG_MAX_DATA (1ULL << 40)
#define SEG_MAX_SLOTS (1ULL << 30)
/* How long a new master waits for the children of a dead one to stop
 * (a worker's graceful stop takes 2.5 s at most). */
#define SEG_ORPHAN_WAIT_MS 5000
/* Where shm_open(3) keeps its names (glibc, Linux): to move one aside. */
#define SEG_SHM_DIR "/dev/shm"

struct seg_layout {
	uint64_t nslots, data_size;
	uint64_t off_ctl, off_slots, off_ingest, off_logs, off_workers;
	uint64_t off_limits, off_config, off_data, total;
};

static uint64_t
seg_align(uint64_t v)
{
	return (v + SHM_CACHELINE - 1) & ~(uint64_t)(SHM_CACHELINE - 1);
}

static uint64_t
seg_pow2(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

/* Every section starts on its own cache line, in layout.h order. */
static int
seg_plan(struct seg_layout *l, uint64_t nslots, uint64_t data_size,
    uint32_t nworkers, char *err, size_t errlen)
{
	if (nslots == 0 || nslots > SEG_MAX_SLOTS) {
		snprintf(err, errlen, "ring slots %llu out of range 1..%llu",
		    (unsigned long long)nslots, (unsigned long long)SEG_MAX_SLOTS);
		return -1;
	}
	if (data_size < SEG_MIN_DATA || data_size > SEG_MAX_DATA) {
		snprintf(err, errlen, "ring data size %llu out of range %llu..%llu",
		    (unsigned long long)data_size,
		    (unsigned long long)SEG_MIN_DATA,
		    (unsigned long long)SEG_MAX_DATA);
		return -1;
	}
	if (nworkers > SHM_MAX_WORKERS) {
		snprintf(err, errlen, "%u workers, at most %d", nworkers,
		    SHM_MAX_WORKERS);
		return -1;
	}
	l->nslots = seg_pow2(nslots);
	l->data_size = seg_align(data_size);
	l->off_ctl = seg_align(sizeof(struct shm_header));
	l->off_slots = seg_align(l->off_ctl + sizeof(struct ring_ctl));
	l->off_ingest = seg_align(l->off_slots +
	    l->nslots * sizeof(struct ring_slot));
	l->off_logs = seg_align(l->off_ingest + sizeof(struct shm_ingest_stats));
	l->off_workers = seg_align(l->off_logs +
	    SHM_MAX_LOGS * sizeof(struct shm_log_status));
	l->off_limits = seg_align(l->off_workers +
	    SHM_MAX_WORKERS * sizeof(struct shm_worker_stats));
	l->off_config = seg_align(l->off_limits + sizeof(struct shm_limits));
	l->off_data = seg_align(l->off_config + sizeof(struct shm_config_box));
	l->total = l->off_data + l->data_size;
	return 0;
}

static void
seg_fill_ptrs(struct shm_seg *seg, void *base, size_t size)
{
	uint8_t *b = base;
	struct shm_header *h = base;

	seg->base = base;
	seg->size = size;
	seg->hdr = h;
	seg->ctl = (struct ring_ctl *)(b + h->off_ctl);
	seg->slots = (struct ring_slot *)(b + h->off_slots);
	seg->ingest = (struct shm_ingest_stats *)(b + h->off_ingest);
	seg->logs = (struct shm_log_status *)(b + h->off_logs);
	seg->workers = (struct shm_worker_stats *)(b + h->off_workers);
	seg->limits = (struct shm_limits *)(b + h->off_limits);
	seg->config = (struct shm_config_box *)(b + h->off_config);
	seg->data = b + h->off_data;
	seg->slot_mask = h->nslots - 1;
	seg->data_size = h->data_size;
}

/* Fresh memory is zero (ftruncate, anonymous mmap): only the header is set.
 * The segment is shared with other processes only after this returns (they
 * are forked or attach later), so plain stores suffice. */
static void
seg_init_header(void *base, const struct seg_layout *l, uint32_t nworkers)
{
	struct shm_header *h = base;

	h->version = SHM_VERSION;
	h->header_size = sizeof(struct shm_header);
	h->total_size = l->total;
	h->nslots = l->nslots;
	h->data_size = l->data_size;
	h->off_ctl = l->off_ctl;
	h->off_slots = l->off_slots;
	h->off_ingest = l->off_ingest;
	h->off_logs = l->off_logs;
	h->off_workers = l->off_workers;
	h->off_limits = l->off_limits;
	h->off_config = l->off_config;
	h->off_data = l->off_data;
	h->nworkers = nworkers;
	h->master_pid = (uint32_t)getpid();
	h->created_unix = (int64_t)time(NULL);
	/* The limits table's hash is keyed, so no one outside can choose
	 * addresses that land beside another's (a fresh table each start:
	 * nothing carries over that the old seed hashed). */
	if (getrandom(&((struct shm_limits *)((uint8_t *)base +
	    l->off_limits))->seed, sizeof(uint32_t), 0) != sizeof(uint32_t))
		((struct shm_limits *)((uint8_t *)base + l->off_limits))->seed =
		    (uint32_t)getpid() ^ (uint32_t)time(NULL);
	h->magic = SHM_MAGIC;
}

/*
 * An existing segment of that name, of this user and mode 0600: 1 if it may
 * be replaced (nobody holds its lock, or it is empty/zeroed from a master
 * killed while creating it), 2 if it is not a certstream segment at all,
 * 0 if it must be kept (err filled).
 */
static int
seg_is_stale(int fd, const char *name, char *err, size_t errlen)
{
	struct shm_header h;
	struct stat st;
	ssize_t n;
	pid_t pid;

	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "fstat(%s): %s", name, strerror(errno));
		return 0;
	}
	if ((size_t)st.st_size < sizeof(h))
		return 1;
	n = pread(fd, &h, sizeof(h), 0);
	if (n != (ssize_t)sizeof(h)) {
		snprintf(err, errlen, "read header of %s: %s", name,
		    n == -1 ? strerror(errno) : "short read");
		return 0;
	}
	if (h.magic == 0)
		return 1;
	if (h.magic != SHM_MAGIC)
		return 2;
	/* The lock, not the pid: a pid in the header may belong to anything
	 * by now. Released again when the caller closes fd. */
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 1;
	if (errno != EWOULDBLOCK) {
		snprintf(err, errlen, "flock(%s): %s", name, strerror(errno));
		return 0;
	}
	/* Held, and its master is gone: the children of a master killed a
	 * moment ago are still finishing (they stop on its death). Wait for
	 * them, a bounded time. A running master is refused at once. */
	pid = (pid_t)h.master_pid;
	if (pid > 0 && kill(pid, 0) == -1 && errno == ESRCH) {
		for (int ms = 0; ms < SEG_ORPHAN_WAIT_MS; ms += 50) {
			usleep(50000);
			if (flock(fd, LOCK_EX | LOCK_NB) == 0)
				return 1;
		}
		snprintf(err, errlen, "shared memory %s is still in use by the "
		    "children of a master that died (pid %d) after %d ms",
		    name, (int)pid, SEG_ORPHAN_WAIT_MS);
		return 0;
	}
	snprintf(err, errlen, "shared memory %s is in use by a running "
	    "master (pid %u) or its children: is another certstreamd on "
	    "this port?", name, h.master_pid);
	return 0;
}

/*
 * Who may have written an existing segment: NULL if only this user could
 * (a regular file of ours, mode 0600, as shm_seg_create makes them with
 * O_EXCL), else why not, in why. Nothing else is read from a segment that
 * is not ours: not its header, not its lock (a lock held on a planted file
 * would keep us from starting).
 */
static const char *
seg_not_ours(int fd, char *why, size_t whylen)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		snprintf(why, whylen, "fstat: %s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		snprintf(why, whylen, "not a regular file");
	else if (st.st_uid != geteuid())
		snprintf(why, whylen, "owned by uid %u, not %u", (unsigned)st.st_uid,
		    (unsigned)geteuid());
	else if ((st.st_mode & 07777) != 0600)
		snprintf(why, whylen, "mode %04o, not 0600",
		    (unsigned)(st.st_mode & 07777));
	else
		return NULL;
	return why;
}

/*
 * What to do with the segment found at name (fd open read-only, or -1 with
 * errno set): 1 replace it (ours and stale), 2 move it aside (why filled:
 * not ours, or not a certstream segment), 0 keep it and refuse (err).
 */
static int
seg_found(int fd, const char *name, char *why, size_t whylen, char *err,
    size_t errlen)
{
	int st;

	if (fd == -1) {
		snprintf(why, whylen, "cannot be opened (%s)", strerror(errno));
		return 2;
	}
	if (seg_not_ours(fd, why, whylen) != NULL)
		return 2;
	if ((st = seg_is_stale(fd, name, err, errlen)) == 2)
		snprintf(why, whylen, "not a certstream segment");
	return st;
}

/*
 * Move what is at name out of the way: renamed to <name>.bad-<unix time>
 * (kept for a look), else unlinked. 0 (note says which), or -1 if neither
 * works (another user's file in the sticky /dev/shm).
 */
static int
seg_move_aside(const char *name, const char *why, char *note, size_t notelen)
{
	char from[80], to[112];
	int rerr;

	snprintf(from, sizeof(from), "%s%s", SEG_SHM_DIR, name);
	snprintf(to, sizeof(to), "%s.bad-%lld", from, (long long)time(NULL));
	if (rename(from, to) == 0) {
		snprintf(note, notelen, "%s: %s: moved aside to %s; nothing "
		    "carried over", from, why, to);
		return 0;
	}
	rerr = errno;
	if (rerr == ENOENT || shm_unlink(name) == 0 || errno == ENOENT) {
		snprintf(note, notelen, "%s: %s: removed (rename: %s); "
		    "nothing carried over", from, why, strerror(rerr));
		return 0;
	}
	snprintf(note, notelen, "%s: %s: cannot be moved aside (rename: %s; "
	    "unlink: %s)", from, why, strerror(rerr), strerror(errno));
	return -1;
}

/*
 * What a new segment keeps of the one it replaces (a master killed with -9
 * with its children): the log-status table, whose next_index is each log's
 * exact resume point while the state file lags and whose last verified tree
 * head the next one must extend, and the ring, whose newest
 * record tells a new ingest that entry was published before its position
 * advanced and from which clients resume with Last-Event-ID. Only from a
 * segment of this user, mode 0600, of this very layout (every offset and
 * size as this build computes them); counters start over. The old
 * processes are gone (its lock was free).
 */
struct seg_carry {
	void *base;
	size_t size;
	uint64_t head;          /* the old ring's head, carried or not */
};

/*
 * The first seq of a ring that starts afresh: seqs are the records' ids on
 * the wire (SSE id:, the "id" member), and a client may come back with one
 * from an earlier run, so a new ring must start above every id ever issued
 * at this name. A clean stop unlinks the segment and a killed one may not
 * carry its ring over (another geometry), so the floor is the time: the
 * start's Unix milliseconds x 1000. A run would have to publish more than
 * a thousand records a millisecond, on average over its whole life, to
 * reach the next run's first id; CT ingest is well below that. Ids stay
 * below 2^53 (exact as JSON numbers in JavaScript) until the year 2255.
 * A clock set back between two runs could break it: the old ring's head,
 * when one is found, is a second floor.
 */
static uint64_t
seg_first_seq(uint64_t floor)
{
	struct timespec ts;
	uint64_t t;

	clock_gettime(CLOCK_REALTIME, &ts);
	t = ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000) *
	    1000;
	return t > floor ? t : floor;
}

/* Map the stale segment behind fd read-only if its layout is ours; else
 * why not in why. */
static void
seg_carry_map(struct seg_carry *c, int fd, char *why, size_t whylen)
{
	struct shm_header h;
	struct seg_layout l;
	struct stat st;
	char err[128];
	void *base;

	c->base = NULL;
	if (fstat(fd, &st) == -1 || (size_t)st.st_size < sizeof(h) ||
	    pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		snprintf(why, whylen, "no header");
		return;
	}
	if (h.magic != SHM_MAGIC || h.version != SHM_VERSION ||
	    h.header_size != sizeof(h) || (uint64_t)st.st_size != h.total_size) {
		snprintf(why, whylen, "version %u, header %u bytes, %lld bytes "
		    "(header says %llu)", h.version, h.header_size,
		    (long long)st.st_size, (unsigned long long)h.total_size);
		return;
	}
	if (seg_plan(&l, h.nslots, h.data_size, h.nworkers, err,
	    sizeof(err)) == -1 || l.nslots != h.nslots ||
	    l.data_size != h.data_size || l.total != h.total_size ||
	    l.off_ctl != h.off_ctl || l.off_slots != h.off_slots ||
	    l.off_ingest != h.off_ingest || l.off_logs != h.off_logs ||
	    l.off_workers != h.off_workers || l.off_limits != h.off_limits ||
	    l.off_config != h.off_config ||
	    l.off_data != h.off_data) {
		snprintf(why, whylen, "sizes or offsets not of this layout");
		return;
	}
	base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		snprintf(why, whylen, "mmap: %s", strerror(errno));
		return;
	}
	c->base = base;
	c->size = (size_t)st.st_size;
}

/*
 * The ring copied into seg (not yet shared with anyone): every record in
 * [tail, head) in its slot, inside the data area and below wpos, in
 * position order, its variants inside it. Checked on the copy, so that
 * what is checked is what is used.
 */
static int
seg_ring_valid(const struct shm_seg *seg, uint64_t head, uint64_t tail,
    uint64_t wpos)
{
	uint64_t end = 0;

	if (tail > head || head - tail > seg->slot_mask + 1)
		return 0;
	for (uint64_t q = tail; q < head; q++) {
		const struct ring_slot *s = &seg->slots[q & seg->slot_mask];
		uint64_t pos = s->pos, size = s->size;

		/* relaxed: a private copy */
		if (shm_load(&s->seq, relaxed) != q ||
		    size == 0 || size > seg->data_size / 4 ||
		    pos % seg->data_size + size > seg->data_size ||
		    pos < end || pos + size > wpos ||
		    (wpos > seg->data_size && pos < wpos - seg->data_size))
			return 0;
		for (int v = 0; v < RV_COUNT; v++)
			if ((uint64_t)s->voff[v] + s->whdr[v] + s->vlen[v] >
			    size || s->whdr[v] > RING_WS_HDR_MAX)
				return 0;
		end = pos + size;
	}
	return 1;
}

/* 0, or -1 (why filled) if the ring was not carried over. */
static int
seg_carry_apply(struct seg_carry *c, struct shm_seg *seg, char *why,
    size_t whylen)
{
	const struct shm_header *oh = c->base;
	const uint8_t *ob = c->base;
	const struct shm_log_status *ol;
	const struct ring_ctl *octl;
	uint64_t head, tail, wpos;
	size_t copied;
	int rc = 0;

	if (c->base == NULL)
		return 0;
	ol = (const struct shm_log_status *)(ob + oh->off_logs);
	/* relaxed, here and below: the old segment's processes are gone (its
	 * lock is free) and the new segment is not shared yet. */
	for (int i = 0; i < SHM_MAX_LOGS; i++) {
		struct shm_log_status *n = &seg->logs[i];

		if (!shm_load(&ol[i].in_use, relaxed))
			continue;
		n->type = ol[i].type;
		n->flags = ol[i].flags;
		memcpy(n->name, ol[i].name, sizeof(n->name));
		memcpy(n->url, ol[i].url, sizeof(n->url));
		n->name[sizeof(n->name) - 1] = '\0';
		n->url[sizeof(n->url) - 1] = '\0';
		shm_store(&n->next_index, shm_load(&ol[i].next_index, relaxed),
		    relaxed);
		shm_store(&n->passed, shm_load(&ol[i].passed, relaxed), relaxed);
		shm_store(&n->state, shm_load(&ol[i].state, relaxed), relaxed);
		/* the last verified tree head: the one its gen names */
		heads_carry(n, &ol[i]);
		shm_store(&n->in_use, 1, relaxed);
	}
	/* An edge's id shift and its stream's creation: without them a
	 * successor would take a stream recreated once for a new recreation
	 * and stream it all again under new ids. */
	{
		const struct shm_ingest_stats *oi =
		    (const struct shm_ingest_stats *)(ob + oh->off_ingest);

		shm_store(&seg->ingest->nats_id_shift,
		    shm_load(&oi->nats_id_shift, relaxed), relaxed);
		shm_store(&seg->ingest->nats_created,
		    shm_load(&oi->nats_created, relaxed), relaxed);
		shm_store(&seg->ingest->nats_recreated,
		    shm_load(&oi->nats_recreated, relaxed), relaxed);
	}
	/* The ring, byte for byte, when its geometry is the same: the state a
	 * killed ingest leaves (ring.c resumes from it), so a client resumes
	 * with Last-Event-ID across the restart and a new ingest sees the
	 * newest record. Only the written part of the data area is copied.
	 * head, tail and wpos are read once; the copy is checked. */
	octl = (const struct ring_ctl *)(ob + oh->off_ctl);
	head = shm_load(&octl->head, relaxed);
	tail = shm_load(&octl->tail, relaxed);
	wpos = octl->wpos;
	c->head = head;
	if (head == 0 || oh->nslots != seg->hdr->nslots ||
	    oh->data_size != seg->data_size)
		goto done;
	copied = (size_t)(wpos < seg->data_size ? wpos : seg->data_size);
	memcpy(seg->slots, ob + oh->off_slots,
	    (size_t)seg->hdr->nslots * sizeof(struct ring_slot));
	memcpy(seg->data, ob + oh->off_data, copied);
	if (!seg_ring_valid(seg, head, tail, wpos)) {
		/* Fresh memory is zero: make it so again. */
		memset(seg->slots, 0,
		    (size_t)seg->hdr->nslots * sizeof(struct ring_slot));
		memset(seg->data, 0, copied);
		snprintf(why, whylen, "its ring does not validate "
		    "(head %llu, tail %llu, wpos %llu)",
		    (unsigned long long)head, (unsigned long long)tail,
		    (unsigned long long)wpos);
		rc = -1;
		goto done;
	}
	seg->ctl->wpos = wpos;
	seg->ctl->published_total = octl->published_total;
	seg->ctl->bytes_total = octl->bytes_total;
	seg->ctl->first_seq = octl->first_seq;
	shm_store(&seg->ctl->tail, tail, relaxed);
	shm_store(&seg->ctl->head, head, relaxed);
done:
	munmap(c->base, c->size);
	c->base = NULL;
	return rc;
}

/*
 * Map an anonymous segment in place of name, which cannot be freed: the
 * daemon runs, but nothing carries over its restart (seg->name stays "").
 */
static int
seg_create_unnamed(struct shm_seg *seg, const struct seg_layout *l,
    uint32_t nworkers, char *err, size_t errlen)
{
	void *base;

	base = mmap(NULL, l->total, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "mmap(anonymous, %llu): %s",
		    (unsigned long long)l->total, strerror(errno));
		return -1;
	}
	seg_init_header(base, l, nworkers);
	seg_fill_ptrs(seg, base, l->total);
	ring_start_at(seg, seg_first_seq(0));
	return 0;
}

int
shm_seg_create(struct shm_seg *seg, const char *name, uint64_t nslots,
    uint64_t data_size, uint32_t nworkers, char *err, size_t errlen)
{
	struct seg_layout l;
	struct seg_carry carry = { NULL, 0, 0 };
	char why[128], note[416];
	void *base = MAP_FAILED;
	int fd = -1, lockfd = -1, tries, created = 0, st;

	memset(seg, 0, sizeof(*seg));
	note[0] = '\0';
	if (name == NULL || name[0] != '/' || strlen(name) >= sizeof(seg->name)
	    || strchr(name + 1, '/') != NULL) {
		snprintf(err, errlen, "bad shared memory name \"%s\" (want "
		    "/name, under %zu bytes)", name ? name : "", sizeof(seg->name));
		return -1;
	}
	if (seg_plan(&l, nslots, data_size, nworkers, err, errlen) == -1)
		return -1;

	/* Three tries: the next after removing a stale segment or moving
	 * aside one that is not ours. The new one is always ours: O_EXCL. */
	for (tries = 0; tries < 3; tries++) {
		fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd != -1)
			break;
		if (errno != EEXIST) {
			snprintf(err, errlen, "shm_open(%s): %s", name,
			    strerror(errno));
			goto fail;
		}
		fd = shm_open(name, O_RDONLY, 0);
		if (fd == -1 && errno == ENOENT)
			continue;
		if ((st = seg_found(fd, name, why, sizeof(why), err,
		    errlen)) == 2) {
			if (fd != -1)
				close(fd);
			fd = -1;
			if (seg_move_aside(name, why, note, sizeof(note)) == 0)
				continue;
			/* Still there: run on memory of our own. */
			if (carry.base != NULL)
				munmap(carry.base, carry.size);
			carry.base = NULL;
			if (seg_create_unnamed(seg, &l, nworkers, err,
			    errlen) == -1)
				goto fail;
			snprintf(seg->note, sizeof(seg->note), "%s: running on "
			    "an unnamed segment, nothing will carry over a "
			    "restart", note);
			return 0;
		}
		if (st == 0)
			goto fail;
		if (carry.base == NULL) {
			why[0] = '\0';
			seg_carry_map(&carry, fd, why, sizeof(why));
			if (carry.base == NULL && why[0] != '\0')
				snprintf(note, sizeof(note), "%s%s: stale segment "
				    "replaced, %s: nothing carried over",
				    SEG_SHM_DIR, name, why);
		}
		close(fd);
		fd = -1;
		if (shm_unlink(name) == -1 && errno != ENOENT) {
			snprintf(err, errlen, "shm_unlink(%s) stale: %s", name,
			    strerror(errno));
			goto fail;
		}
	}
	if (fd == -1) {
		snprintf(err, errlen, "shm_open(%s): %s (created concurrently)",
		    name, strerror(EEXIST));
		goto fail;
	}
	created = 1;
	/* Ours and new: nobody else can hold the lock. A descriptor above
	 * the standard ones, so that 0 can mean none. */
	if ((lockfd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    flock(lockfd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(err, errlen, "lock %s: %s", name, strerror(errno));
		goto fail;
	}
	/* 0600 whatever the umask: the next start checks for it. */
	if (fchmod(fd, 0600) == -1) {
		snprintf(err, errlen, "fchmod(%s, 0600): %s", name,
		    strerror(errno));
		goto fail;
	}
	if (ftruncate(fd, (off_t)l.total) == -1) {
		snprintf(err, errlen, "ftruncate(%s, %llu): %s", name,
		    (unsigned long long)l.total, strerror(errno));
		goto fail;
	}
	base = mmap(NULL, l.total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "mmap(%s, %llu): %s", name,
		    (unsigned long long)l.total, strerror(errno));
		goto fail;
	}
	close(fd);
	seg_init_header(base, &l, nworkers);
	seg_fill_ptrs(seg, base, l.total);
	if (seg_carry_apply(&carry, seg, why, sizeof(why)) == -1)
		snprintf(note, sizeof(note), "%s%s: stale segment replaced, "
		    "log positions carried over, %s: its records not",
		    SEG_SHM_DIR, name, why);
	/* Nothing carried (or an empty ring): ids go on above the old ones. */
	/* relaxed: not shared yet. */
	if (shm_load(&seg->ctl->head, relaxed) == 0)
		ring_start_at(seg, seg_first_seq(carry.head));
	seg->lockfd = lockfd;
	snprintf(seg->name, sizeof(seg->name), "%s", name);
	memcpy(seg->note, note, sizeof(note));
	return 0;

fail:
	if (carry.base != NULL)
		munmap(carry.base, carry.size);
	if (lockfd != -1)
		close(lockfd);
	if (fd != -1)
		close(fd);
	if (created)
		shm_unlink(name);
	memset(seg, 0, sizeof(*seg));
	return -1;
}

int
shm_seg_create_anon(struct shm_seg *seg, uint64_t nslots, uint64_t data_size,
    uint32_t nworkers, char *err, size_t errlen)
{
	struct seg_layout l;
	void *base;

	memset(seg, 0, sizeof(*seg));
	if (seg_plan(&l, nslots, data_size, nworkers, err, errlen) == -1)
		return -1;
	base = mmap(NULL, l.total, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "mmap(anonymous, %llu): %s",
		    (unsigned long long)l.total, strerror(errno));
		return -1;
	}
	seg_init_header(base, &l, nworkers);
	seg_fill_ptrs(seg, base, l.total);
	return 0;
}

void
shm_seg_close(struct shm_seg *seg)
{
	if (seg->base != NULL)
		munmap(seg->base, seg->size);
	if (seg->lockfd > 2)
		close(seg->lockfd);
	memset(seg, 0, sizeof(*seg));
}

int
shm_seg_unlink(const char *name)
{
	return shm_unlink(name);
}
